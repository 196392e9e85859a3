"""A CRM table with a "customer since" date: one new customer per row on that day."""

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
    ctx.add((ctx.account(cells), day), {"new_customers": 1.0})
    return True


def detect(ev: Evidence) -> Detection | None:
    if Role.CUSTOMER_SINCE in ev.roles and not ev.roles & {Role.TEXT, Role.HASHTAGS}:
        return Detection(80, "customer_since")
    return None


LAYOUT = Layout(
    "customers",
    frozenset({Role.CUSTOMER_SINCE, Role.ACCOUNT, Role.PLATFORM}),
    uses_metrics=False,
    detect=detect,
    read_row=read_row,
)
