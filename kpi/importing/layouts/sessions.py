"""Visits, one row per session (GA-derived data): sessions, page counts and durations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kpi.importing.cells import cell_text
from kpi.importing.columns import Role
from kpi.importing.layouts.base import Detection, Evidence, Layout
from kpi.importing.reader import Cell

if TYPE_CHECKING:
    from kpi.importing.core import ImportContext


def _visitor_kind(text: str) -> str | None:
    low = text.lower()
    if "new" in low or "нов" in low:
        return "new_visitors"
    if "return" in low or "вернув" in low or "повтор" in low:
        return "returning_visitors"
    return None


def read_row(ctx: ImportContext, n: int, cells: list[Cell]) -> bool:
    day = ctx.day(n, cells, fallback=True)
    if day is None:
        return False
    out = ctx.row_values(n, cells, ratios=False)
    out["sessions"] = out.get("sessions", 0.0) + 1
    for c in ctx.session_cols:
        if c.role is Role.PAGE_COUNT:
            v = ctx.number(n, c, ctx.cell(cells, c.index))
            if v is not None:
                out["pageviews"] = out.get("pageviews", 0.0) + v
        elif c.role is Role.PAGE_DURATION:
            v = ctx.duration(n, c, ctx.cell(cells, c.index))
            if v is not None:
                out["time_on_page_s"] = out.get("time_on_page_s", 0.0) + v
        elif c.role is Role.VISITOR_TYPE:
            kind = _visitor_kind(cell_text(ctx.cell(cells, c.index)))
            if kind is not None:
                out[kind] = out.get(kind, 0.0) + 1
    ctx.apply_ratios(n, cells, out)
    ctx.add((ctx.account(cells), day), out)
    return True


def detect(ev: Evidence) -> Detection | None:
    has_sessions = any(c.metric == "sessions" for c in ev.metric_cols)
    if (
        ev.roles & {Role.VISITOR_TYPE, Role.PAGE_COUNT}
        and not has_sessions
        and Role.DATE not in ev.roles
    ):
        return Detection(60, "one_row_per_visit")
    return None


LAYOUT = Layout(
    "sessions",
    frozenset(
        {Role.MONTH, Role.ACCOUNT, Role.PLATFORM, Role.VISITOR_TYPE, Role.PAGE_COUNT,
         Role.PAGE_DURATION}
    ),
    uses_metrics=True,
    detect=detect,
    read_row=read_row,
    day_from_caption=True,
)  # fmt: skip
