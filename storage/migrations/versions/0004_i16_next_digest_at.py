"""workspaces.next_digest_at: the next digest's UTC moment, indexed (issue #16)

Revision ID: 0004_i16_next_digest_at
Revises: 0003_c13_mappings
Create Date: 2026-12-01 09:50:00

Backfill: every active workspace with the digest on gets the first slot after
"a week ago" (never before it was created), i.e. this week's slot if it has
already passed. The first tick then treats them exactly as the old full scan
did: a passed slot not in the digest log is due, a logged one is moved on to
next week.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

from kpi.schedule import first_digest_at

revision = "0004_i16_next_digest_at"
down_revision = "0003_c13_mappings"
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)


def upgrade() -> None:
    with op.batch_alter_table("workspaces") as batch:
        batch.add_column(sa.Column("next_digest_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_workspaces_next_digest_at", ["next_digest_at"])
    ws = sa.table(
        "workspaces",
        sa.column("id"),
        sa.column("timezone"),
        sa.column("active"),
        sa.column("digest_enabled"),
        sa.column("digest_weekday"),
        sa.column("digest_time"),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("next_digest_at", sa.DateTime(timezone=True)),
    )
    bind = op.get_bind()
    since = datetime.now(UTC) - timedelta(days=7)
    rows = bind.execute(
        sa.select(ws).where(ws.c.active.is_(True), ws.c.digest_enabled.is_(True))
    ).all()
    values = []
    for row in rows:
        created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
        try:
            at = first_digest_at(
                since, int(row.digest_weekday), row.digest_time, row.timezone, created
            )
        except (ValueError, KeyError) as error:  # ZoneInfoNotFoundError is a KeyError
            log.warning(
                "workspace %s: no digest scheduled, zone %r: %s", row.id, row.timezone, error
            )
            continue
        values.append({"ws_id": row.id, "at": at})
    if values:
        bind.execute(
            sa.update(ws)
            .where(ws.c.id == sa.bindparam("ws_id"))
            .values(next_digest_at=sa.bindparam("at")),
            values,
        )


def downgrade() -> None:
    with op.batch_alter_table("workspaces") as batch:
        batch.drop_index("ix_workspaces_next_digest_at")
        batch.drop_column("next_digest_at")
