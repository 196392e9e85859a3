"""workspace currency, the private chat user's language, digest schedule changes

Revision ID: 0004_f14_workspace_currency
Revises: 0005_h18_goals
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_f14_workspace_currency"
down_revision = "0005_h18_goals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL: the language's currency (RUB for Russian, USD for English).
    with op.batch_alter_table("workspaces") as batch_op:
        batch_op.add_column(sa.Column("currency", sa.String(length=3), nullable=True))
        # A private chat's user's Telegram language (digests and alerts sent on a schedule).
        batch_op.add_column(sa.Column("user_language", sa.String(length=8), nullable=True))
        # When the digest schedule last changed: slots due before it are not sent.
        batch_op.add_column(
            sa.Column("digest_changed_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("workspaces") as batch_op:
        batch_op.drop_column("digest_changed_at")
        batch_op.drop_column("user_language")
        batch_op.drop_column("currency")
