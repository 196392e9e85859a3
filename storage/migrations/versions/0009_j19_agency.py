"""agencies: links between an agency's and its clients' workspaces, one-time link codes,
the brand (name, logo, colour) and roll-up settings

Revision ID: 0009_j19_agency
Revises: 0004_f14_workspace_currency
Create Date: 2026-12-01 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_j19_agency"
down_revision = "0004_f14_workspace_currency"
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _workspace_fk(column: str, table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        ["workspaces.id"],
        name=op.f(f"fk_{table}_{column}_workspaces"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "agency_links",
        sa.Column("agency_id", _Id, nullable=False),
        sa.Column("client_id", _Id, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        _workspace_fk("agency_id", "agency_links"),
        _workspace_fk("client_id", "agency_links"),
        sa.PrimaryKeyConstraint("agency_id", "client_id", name=op.f("pk_agency_links")),
        sa.UniqueConstraint("client_id", name=op.f("uq_agency_links_client_id")),
        sa.UniqueConstraint("agency_id", "name", name=op.f("uq_agency_links_agency_id_name")),
    )
    op.create_table(
        "agency_codes",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("agency_id", _Id, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by", _Id, nullable=True),
        _workspace_fk("agency_id", "agency_codes"),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_agency_codes")),
    )
    op.create_index("ix_agency_codes_agency", "agency_codes", ["agency_id"], unique=False)
    op.create_table(
        "agency_brands",
        sa.Column("workspace_id", _Id, nullable=False),
        sa.Column("name", sa.String(length=128), nullable=True),
        sa.Column("logo_png", sa.LargeBinary(), nullable=True),
        sa.Column("colour", sa.String(length=7), nullable=True),
        sa.Column("rollup_kpis", sa.String(length=256), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _workspace_fk("workspace_id", "agency_brands"),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_agency_brands")),
    )


def downgrade() -> None:
    op.drop_table("agency_brands")
    op.drop_index("ix_agency_codes_agency", table_name="agency_codes")
    op.drop_table("agency_codes")
    op.drop_table("agency_links")
