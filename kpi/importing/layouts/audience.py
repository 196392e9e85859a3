"""Audience breakdowns: dimension (age, gender, city…) → bucket → share or count."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kpi.importing.cells import cell_text
from kpi.importing.columns import AUDIENCE_DIMENSIONS, Role
from kpi.importing.layouts.base import Detection, Evidence, Layout
from kpi.importing.reader import Cell
from kpi.metrics import normalize_name
from kpi.models import AudienceBucket

if TYPE_CHECKING:
    from kpi.importing.core import ImportContext


def read_row(ctx: ImportContext, n: int, cells: list[Cell]) -> bool:
    dim_col, bucket_col = ctx.first(Role.DIMENSION), ctx.first(Role.BUCKET)
    implicit = ctx.first(Role.AUDIENCE_DIM)
    if dim_col is not None and bucket_col is not None:
        dim = cell_text(ctx.cell(cells, dim_col.index))
        bucket = cell_text(ctx.cell(cells, bucket_col.index))
    elif implicit is not None:
        dim, bucket = implicit.header, cell_text(ctx.cell(cells, implicit.index))
    else:
        return False
    if not dim or not bucket:
        ctx.skip("no_values")
        return False
    value_col = ctx.first(Role.SHARE) or ctx.first(Role.COUNT) or ctx.first(Role.VALUE)
    if value_col is None:
        value_col = next(c for c in ctx.columns if normalize_name(c.header) == "share")
        value_col.role = Role.SHARE
    raw = ctx.cell(cells, value_col.index)
    v = ctx.number(n, value_col, raw, percent_ok=True)
    if v is None:
        ctx.skip("no_values")
        return False
    if value_col.role is Role.SHARE:
        is_share = True
    elif value_col.role is Role.COUNT:
        is_share = False
    else:
        is_share = "%" in cell_text(raw) or "%" in value_col.header
    dimension = AUDIENCE_DIMENSIONS.get(normalize_name(dim), normalize_name(dim))
    ctx.result.audience.append(AudienceBucket(dimension, bucket, v, is_share))
    return True


def detect(ev: Evidence) -> Detection | None:
    roles = ev.roles
    dims = (Role.DIMENSION in roles and Role.BUCKET in roles) or Role.AUDIENCE_DIM in roles
    shareish = bool(roles & {Role.SHARE, Role.COUNT, Role.VALUE}) or ev.share_header
    only_share = all(normalize_name(c.header) == "share" for c in ev.metric_cols)
    if dims and shareish and not ev.has_date and only_share:
        return Detection(100, "dimension_and_share")
    return None


def finish(ctx: ImportContext) -> None:
    """Shares written as fractions (`0.41`) become percent, like `41 %` and `41,0`."""
    shares = [b for b in ctx.result.audience if b.is_share]
    if not shares or any(b.value > 1 for b in shares):
        return
    per_dim: dict[str, float] = {}
    for b in shares:
        per_dim[b.dimension] = per_dim.get(b.dimension, 0.0) + b.value
    # Top-N lists (cities) need not add up; one full dimension adding up to 1 is enough.
    if any(0.95 <= total <= 1.05 for total in per_dim.values()):
        ctx.result.audience = [
            AudienceBucket(b.dimension, b.bucket, b.value * 100, True) if b.is_share else b
            for b in ctx.result.audience
        ]


LAYOUT = Layout(
    "audience",
    frozenset({Role.DIMENSION, Role.BUCKET, Role.AUDIENCE_DIM, Role.SHARE, Role.COUNT, Role.VALUE}),
    uses_metrics=False,
    detect=detect,
    read_row=read_row,
    finish=finish,
)
