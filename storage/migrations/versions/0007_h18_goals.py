"""goals: a KPI target per workspace (and account) for a recurring or fixed period

Revision ID: 0005_h18_goals
Revises: 0004_d15_faults
Create Date: 2026-12-01 09:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_h18_goals"
down_revision = "0004_d15_faults"
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "goals",
        sa.Column("id", _Id, autoincrement=True, nullable=False),
        sa.Column("workspace_id", _Id, nullable=False),
        sa.Column("kpi", sa.String(length=32), nullable=False),
        sa.Column("op", sa.String(length=2), nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("period_kind", sa.String(length=16), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=True),
        sa.Column("period_end", sa.Date(), nullable=True),
        sa.Column("account_id", _Id, nullable=True),
        sa.Column("alert", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("alert_state", sa.String(length=16), nullable=False, server_default="ok"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_goals_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_goals_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goals")),
    )
    op.create_index("ix_goals_ws", "goals", ["workspace_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_goals_ws", table_name="goals")
    op.drop_table("goals")
