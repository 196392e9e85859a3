"""The database schema (SQLAlchemy Core). Every table is keyed by workspace.

Daily metrics are stored one row per (workspace, account, day) with one column
per metric of the catalogue: for 1000 workspaces × 3 accounts × 365 days × 15
metrics this is ~9× smaller than one row per metric value (see README, "Storage"),
and a period aggregate is one indexed range scan with `SUM(col)` per metric.
A NULL cell means "no value stored", which the KPI layer tells apart from 0.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from kpi.metrics import METRIC_NAMES

# Stable constraint names so Alembic migrations and both dialects agree.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Ids are BIGINT on PostgreSQL; on SQLite an INTEGER PRIMARY KEY is the rowid.
_Id = BigInteger().with_variant(Integer(), "sqlite")

workspaces = Table(
    "workspaces",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("chat_id", BigInteger, nullable=False, unique=True),
    Column("chat_type", String(16), nullable=False),
    Column("title", String(256)),
    # NULL: follow each user's Telegram language.
    Column("language", String(8)),
    # A private chat's user's Telegram language, for messages sent outside an update.
    Column("user_language", String(8)),
    Column("timezone", String(64), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    # Share of revenue that is profit, for ROI; 1.0 = 100 %.
    Column("margin", Float, nullable=False, default=1.0),
    # ISO 4217 code of every money value; NULL: the language's (RUB for ru, USD for en).
    Column("currency", String(3)),
    Column("digest_enabled", Boolean, nullable=False, default=True),
    Column("digest_weekday", Integer, nullable=False, default=0),  # 0 = Monday
    Column("digest_time", String(5), nullable=False, default="10:00"),
    # When the schedule last changed: slots before it are never sent.
    Column("digest_changed_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # The UTC moment of the next weekly digest (kpi/schedule.py); NULL: none is
    # scheduled (digest off, inactive, unusable zone). The minute tick reads
    # `next_digest_at <= now` through this index instead of every workspace.
    Column("next_digest_at", DateTime(timezone=True)),
    Index("ix_workspaces_next_digest_at", "next_digest_at"),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("workspace_id", _Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("is_default", Boolean, nullable=False, default=False),
    # For tg: channels whose member count is recorded daily.
    Column("channel_chat_id", BigInteger),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("workspace_id", "name"),
)

daily_metrics = Table(
    "daily_metrics",
    metadata,
    Column("workspace_id", _Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("account_id", _Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("day", Date, nullable=False),
    # The import batch that last wrote this row (for /undo).
    Column("batch_id", _Id),
    *(Column(name, Float) for name in METRIC_NAMES),
    PrimaryKeyConstraint("workspace_id", "account_id", "day"),
    Index("ix_daily_metrics_ws_day", "workspace_id", "day"),
    # On SQLite the primary key is the table itself (WITHOUT ROWID): one B-tree.
    sqlite_with_rowid=False,
)

posts = Table(
    "posts",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("workspace_id", _Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("account_id", _Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("day", Date, nullable=False),
    Column("post_key", String(512), nullable=False),
    Column("format", String(32)),
    Column("hashtags", Text),  # space-separated, lower-case, without '#'
    Column("text", Text),
    Column("reach", Float),
    Column("impressions", Float),
    Column("likes", Float),
    Column("comments", Float),
    Column("shares", Float),
    Column("saves", Float),
    Column("link_clicks", Float),
    # Telegram channel posts (handlers/channels.py): reaction total and publication time.
    Column("reactions", Float),
    Column("published_at", DateTime(timezone=True)),
    Column("batch_id", _Id),
    UniqueConstraint("workspace_id", "account_id", "post_key"),
    Index("ix_posts_ws_day", "workspace_id", "day"),
)

audience = Table(
    "audience",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("workspace_id", _Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("account_id", _Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("day", Date, nullable=False),
    Column("dimension", String(16), nullable=False),
    Column("bucket", String(128), nullable=False),
    Column("value", Float, nullable=False),
    Column("is_share", Boolean, nullable=False),
    Column("batch_id", _Id),
    UniqueConstraint("workspace_id", "account_id", "day", "dimension", "bucket"),
)

import_batches = Table(
    "import_batches",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("workspace_id", _Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", BigInteger),
    Column("source", String(256), nullable=False),  # "log", "add", a file name
    Column("summary", JSON),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("undone", Boolean, nullable=False, default=False),
    Index("ix_import_batches_ws", "workspace_id", "id"),
)

# What an import overwrote, so /undo can put it back: one row per touched
# account-day that already existed (new rows are simply deleted on undo).
import_undo = Table(
    "import_undo",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("batch_id", _Id, ForeignKey("import_batches.id", ondelete="CASCADE"), nullable=False),
    Column("target", String(16), nullable=False),  # "metrics", "posts", "audience"
    Column("account_id", _Id, nullable=False),
    Column("day", Date, nullable=False),
    Column("key", String(512)),  # post key or "dimension\tbucket"
    Column("previous", JSON, nullable=False),  # column -> value before, or whole row
    Column("previous_batch_id", _Id),
    Index("ix_import_undo_batch", "batch_id"),
)

# A file reading the user confirmed, by the file's header signature (a hash of
# its normalised headers): next week's export of the same kind is read the same way.
import_mappings = Table(
    "import_mappings",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("workspace_id", _Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("signature", String(64), nullable=False),
    Column("headers", Text, nullable=False),  # the headers as the file wrote them, tab-separated
    Column("overrides", JSON, nullable=False),  # column index (str) -> metric, "" = ignored
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("workspace_id", "signature"),
)

digest_log = Table(
    "digest_log",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("workspace_id", _Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("week", String(10), nullable=False),  # ISO week, "2026-W48"
    Column("status", String(16), nullable=False),  # claimed, sent, failed, skipped
    Column("message_id", BigInteger),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("workspace_id", "week"),
)

# Bookkeeping of the running process (storage/runtime.py), not the users' data.
# One polling process per bot and database: the holder renews `heartbeat_at`;
# a row older than the stale interval belongs to a crashed process.
instance_lock = Table(
    "instance_lock",
    metadata,
    Column("bot_id", BigInteger, primary_key=True, autoincrement=False),
    Column("holder", String(128), nullable=False),
    Column("heartbeat_at", DateTime(timezone=True), nullable=False),
)

# Updates that changed something, so a redelivered one (same update_id) runs once.
processed_updates = Table(
    "processed_updates",
    metadata,
    Column("bot_id", BigInteger, nullable=False),
    Column("update_id", BigInteger, nullable=False),
    Column("processed_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("bot_id", "update_id"),
)

# Files imported per workspace, by Telegram's file_unique_id (the same file sent again).
imported_files = Table(
    "imported_files",
    metadata,
    Column("workspace_id", _Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("file_unique_id", String(64), nullable=False),
    Column("file_name", String(256), nullable=False),
    Column("batch_id", _Id),
    Column("imported_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("workspace_id", "file_unique_id"),
)

# Things to tell a chat once (a stored time zone that no longer loads was replaced).
workspace_notices = Table(
    "workspace_notices",
    metadata,
    Column("workspace_id", _Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("details", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("workspace_id", "kind"),
)

alert_rules = Table(
    "alert_rules",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("workspace_id", _Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("kpi", String(32), nullable=False),
    Column("kind", String(16), nullable=False),  # threshold, spike
    Column("op", String(2), nullable=False),  # ">", "<", "+", "-"
    Column("value", Float, nullable=False),
    Column("min_volume", Float),
    Column("account_id", _Id, ForeignKey("accounts.id", ondelete="CASCADE")),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("snoozed_until", DateTime(timezone=True)),
    Column("state", String(16), nullable=False, default="ok"),  # ok, firing
    Column("state_since", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

alert_events = Table(
    "alert_events",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("rule_id", _Id, ForeignKey("alert_rules.id", ondelete="CASCADE"), nullable=False),
    Column("workspace_id", _Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("event", String(16), nullable=False),  # fired, recovered
    Column("value", Float),
    Column("baseline", Float),
    Column("period_start", Date),
    Column("period_end", Date),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_alert_events_ws", "workspace_id", "created_at"),
)

# --- Telegram channels the bot administers (handlers/channels.py) ---------------------

# One row per linked channel account: when collecting started, which of the rights it
# needs the bot was missing then, and the salt that hashes subscriber ids (README, privacy).
channels = Table(
    "channels",
    metadata,
    Column("account_id", _Id, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True),
    Column("workspace_id", _Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("chat_id", BigInteger, nullable=False),
    Column("linked_at", DateTime(timezone=True), nullable=False),
    Column("missing_rights", String(256), nullable=False, default=""),
    Column("salt", String(64), nullable=False),
    Index("ix_channels_chat", "chat_id"),
)

# A channel message and the post it belongs to (an album is several messages, one post);
# its reaction total is the last message_reaction_count Telegram sent for it.
channel_messages = Table(
    "channel_messages",
    metadata,
    Column("workspace_id", _Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("account_id", _Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("message_id", BigInteger, nullable=False),
    Column("post_key", String(512), nullable=False),
    Column("reactions", Float),
    # The update that brought the total: updates are handled concurrently, so an older
    # total that is written late must not replace a newer one.
    Column("reactions_update_id", BigInteger),
    PrimaryKeyConstraint("workspace_id", "account_id", "message_id"),
)

# Named invite links (/campaign) with what the team attached to them.
campaign_links = Table(
    "campaign_links",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("workspace_id", _Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("account_id", _Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(32), nullable=False),
    Column("invite_link", String(256), nullable=False),
    Column("cost", Float),
    Column("revenue", Float),
    Column("conversions", Float),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    UniqueConstraint("workspace_id", "name"),
    Index("ix_campaign_links_link", "invite_link"),
)

# One row per join (or unmatched leave) seen in chat_member updates: the subscriber only
# as a salted hash (to match a leave to its join), the campaign link it came through, and
# when it left. No name, username or raw id is stored.
channel_joins = Table(
    "channel_joins",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("workspace_id", _Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("account_id", _Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("member_hash", String(64), nullable=False),
    Column("link_id", _Id, ForeignKey("campaign_links.id", ondelete="SET NULL")),
    # NULL: a leave seen without its join (the person joined before the bot collected, or
    # the join's update is handled after the leave's: updates run concurrently, the update
    # ids put them in order).
    Column("joined_at", DateTime(timezone=True)),
    Column("left_at", DateTime(timezone=True)),
    Column("joined_update_id", BigInteger),
    Column("left_update_id", BigInteger),
    Index("ix_channel_joins_member", "workspace_id", "account_id", "member_hash"),
    Index("ix_channel_joins_link", "link_id"),
)

# Join requests per day (channels that approve joins by request).
channel_join_requests = Table(
    "channel_join_requests",
    metadata,
    Column("workspace_id", _Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("account_id", _Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    Column("day", Date, nullable=False),
    Column("requests", Integer, nullable=False),
    PrimaryKeyConstraint("workspace_id", "account_id", "day"),
)

goals = Table(
    "goals",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("workspace_id", _Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("kpi", String(32), nullable=False),
    Column("op", String(2), nullable=False),  # "<", "<=", ">", ">="
    Column("target", Float, nullable=False),
    Column("period_kind", String(16), nullable=False),  # week, month, quarter, year, fixed
    Column("period_start", Date),  # fixed goals only
    Column("period_end", Date),
    Column("account_id", _Id, ForeignKey("accounts.id", ondelete="CASCADE")),
    # The "goal at risk" alert: off by default; state ok/firing so it fires once.
    Column("alert", Boolean, nullable=False, default=False),
    Column("alert_state", String(16), nullable=False, default="ok"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_goals_ws", "workspace_id"),
)

# --- Agencies (handlers/agency.py) -------------------------------------------------------

# A client workspace linked to an agency workspace, with the consent of both chats'
# admins: the agency issued a one-time code, the client's admin sent it. A client has at
# most one agency; `name` is how the agency's chat calls it (`/client <name> ...`).
agency_links = Table(
    "agency_links",
    metadata,
    Column("agency_id", _Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("client_id", _Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("linked_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("agency_id", "client_id"),
    UniqueConstraint("client_id"),
    UniqueConstraint("agency_id", "name"),
)

# One-time link codes: only their SHA-256 is stored; single use, 24 hours.
agency_codes = Table(
    "agency_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("agency_id", _Id, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
    Column("used_by", _Id),
    Index("ix_agency_codes_agency", "agency_id"),
)

# A workspace's brand (/brand) and its roll-up settings (/clients kpis).
agency_brands = Table(
    "agency_brands",
    metadata,
    Column("workspace_id", _Id, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(128)),
    Column("logo_png", LargeBinary),  # downscaled PNG, at most LOGO_MAX_PX a side
    Column("colour", String(7)),  # "#rrggbb"
    Column("rollup_kpis", String(256)),  # space-separated KPI keys; NULL: the default
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
