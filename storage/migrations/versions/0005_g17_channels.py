"""telegram channels: posts' reactions and time, channel links, joins, campaign links

Revision ID: 0004_g17_channels
Revises: 0004_i16_next_digest_at
Create Date: 2026-12-01 09:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_g17_channels"
down_revision = "0004_i16_next_digest_at"
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("posts", sa.Column("reactions", sa.Float(), nullable=True))
    op.add_column("posts", sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "channels",
        sa.Column("account_id", _Id, nullable=False),
        sa.Column("workspace_id", _Id, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("missing_rights", sa.String(length=256), nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_channels_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_channels_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_channels")),
    )
    op.create_index("ix_channels_chat", "channels", ["chat_id"])
    op.create_table(
        "channel_messages",
        sa.Column("workspace_id", _Id, nullable=False),
        sa.Column("account_id", _Id, nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("post_key", sa.String(length=512), nullable=False),
        sa.Column("reactions", sa.Float(), nullable=True),
        sa.Column("reactions_update_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_channel_messages_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_channel_messages_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "account_id", "message_id", name=op.f("pk_channel_messages")
        ),
    )
    op.create_table(
        "campaign_links",
        sa.Column("id", _Id, autoincrement=True, nullable=False),
        sa.Column("workspace_id", _Id, nullable=False),
        sa.Column("account_id", _Id, nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("invite_link", sa.String(length=256), nullable=False),
        sa.Column("cost", sa.Float(), nullable=True),
        sa.Column("revenue", sa.Float(), nullable=True),
        sa.Column("conversions", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_campaign_links_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_campaign_links_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_links")),
        sa.UniqueConstraint(
            "workspace_id", "name", name=op.f("uq_campaign_links_workspace_id_name")
        ),
    )
    op.create_index("ix_campaign_links_link", "campaign_links", ["invite_link"])
    op.create_table(
        "channel_joins",
        sa.Column("id", _Id, autoincrement=True, nullable=False),
        sa.Column("workspace_id", _Id, nullable=False),
        sa.Column("account_id", _Id, nullable=False),
        sa.Column("member_hash", sa.String(length=64), nullable=False),
        sa.Column("link_id", _Id, nullable=True),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("joined_update_id", sa.BigInteger(), nullable=True),
        sa.Column("left_update_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_channel_joins_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["campaign_links.id"],
            name=op.f("fk_channel_joins_link_id_campaign_links"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_channel_joins_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_joins")),
    )
    op.create_index(
        "ix_channel_joins_member", "channel_joins", ["workspace_id", "account_id", "member_hash"]
    )
    op.create_index("ix_channel_joins_link", "channel_joins", ["link_id"])
    op.create_table(
        "channel_join_requests",
        sa.Column("workspace_id", _Id, nullable=False),
        sa.Column("account_id", _Id, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_channel_join_requests_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_channel_join_requests_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "account_id", "day", name=op.f("pk_channel_join_requests")
        ),
    )


def downgrade() -> None:
    op.drop_table("channel_join_requests")
    op.drop_index("ix_channel_joins_link", table_name="channel_joins")
    op.drop_index("ix_channel_joins_member", table_name="channel_joins")
    op.drop_table("channel_joins")
    op.drop_index("ix_campaign_links_link", table_name="campaign_links")
    op.drop_table("campaign_links")
    op.drop_table("channel_messages")
    op.drop_index("ix_channels_chat", table_name="channels")
    op.drop_table("channels")
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_column("published_at")
        batch_op.drop_column("reactions")
