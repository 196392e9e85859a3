"""Daily tables (a date column and metric columns), span rows and date-less totals.

Span rows (`period_start`/`period_end`) count on the span's last day; a table
without any date takes its day from the caption, else the file's title lines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kpi.importing.columns import Role
from kpi.importing.layouts.base import Detection, Evidence, Layout
from kpi.importing.reader import Cell

if TYPE_CHECKING:
    from kpi.importing.core import ImportContext


def read_row(ctx: ImportContext, n: int, cells: list[Cell]) -> bool:
    day = ctx.day(n, cells, fallback=False)
    if day is None:
        return False
    values = ctx.row_values(n, cells)
    if not values:
        ctx.skip("no_values")
        return False
    ctx.add((ctx.account(cells), day), values)
    return True


def _wide(ev: Evidence) -> Detection | None:
    if not ev.has_metrics or ev.roles & {Role.PERIOD_START, Role.PERIOD_END} or not ev.has_date:
        return None
    return Detection(20, "date_column")


def _span(ev: Evidence) -> Detection | None:
    if ev.has_metrics and ev.roles & {Role.PERIOD_START, Role.PERIOD_END}:
        return Detection(30, "period_columns")
    return None


def _aggregate(ev: Evidence) -> Detection | None:
    return Detection(10, "no_dates") if ev.has_metrics and not ev.has_date else None


_COMMON = frozenset({Role.ACCOUNT, Role.PLATFORM})
WIDE = Layout(
    "wide", _COMMON | {Role.DATE, Role.MONTH}, uses_metrics=True, detect=_wide, read_row=read_row
)
SPAN = Layout(
    "span",
    _COMMON | {Role.PERIOD_START, Role.PERIOD_END},
    uses_metrics=True,
    detect=_span,
    read_row=read_row,
)
AGGREGATE = Layout(
    "aggregate", _COMMON, uses_metrics=True, detect=_aggregate, read_row=read_row,
    day_from_caption=True,
)  # fmt: skip
