"""catalogue metrics: views, reactions, visitors, net_followers

Revision ID: 0002_c13_metrics
Revises: 0001
Create Date: 2026-12-01 09:00:00

One nullable Float column per new catalogue metric (storage keeps a column
per metric, see storage/schema.py). Existing rows get NULL: no value stored.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_c13_metrics"
down_revision = "0001"
branch_labels = None
depends_on = None

_NEW = ("views", "reactions", "visitors", "net_followers")


def upgrade() -> None:
    for name in _NEW:
        op.add_column("daily_metrics", sa.Column(name, sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("daily_metrics", schema=None) as batch_op:
        for name in reversed(_NEW):
            batch_op.drop_column(name)
