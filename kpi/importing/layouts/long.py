"""Long tables: one row per (date, metric, value); ready-made ratios converted at the end."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kpi.importing.cells import cell_text
from kpi.importing.columns import LOCAL_RATIOS, RATIO_ORDER, Role, classify
from kpi.importing.layouts.base import Detection, Evidence, Layout
from kpi.importing.reader import Cell
from kpi.metrics import METRICS

if TYPE_CHECKING:
    from kpi.importing.core import ImportContext


def read_row(ctx: ImportContext, n: int, cells: list[Cell]) -> bool:
    day = ctx.day(n, cells, fallback=True)
    if day is None:
        return False
    name_col, value_col = ctx.first(Role.METRIC_NAME), ctx.first(Role.VALUE)
    assert name_col is not None and value_col is not None
    name = cell_text(ctx.cell(cells, name_col.index))
    role, metric = classify(name, web=ctx.result.platform in ("ga4", "yandex_metrica"))
    if role is not Role.METRIC or metric is None:
        if name:
            ctx.ignored.setdefault(name, "unknown_metric")
        ctx.skip("unknown_metric")
        return False
    key = (ctx.account(cells), day)
    raw = ctx.cell(cells, value_col.index)
    if metric in METRICS:
        v = ctx.number(n, value_col, raw)
        if v is None:
            ctx.skip("no_values")
            return False
        ctx.add(key, {metric: v})
    else:
        spec = LOCAL_RATIOS[metric]
        if spec.duration:
            rate = ctx.duration(n, value_col, raw)
        else:
            rate = ctx.number(n, value_col, raw, percent_ok=True)
        if rate is None:
            return False
        if spec.percent is None and not ("%" in cell_text(raw) or rate > 1):
            rate *= 100  # a fraction: keep every stored rate in percent
        ctx.long_ratios.setdefault(key, {})[metric] = rate
    return True


def detect(ev: Evidence) -> Detection | None:
    if Role.METRIC_NAME in ev.roles and Role.VALUE in ev.roles:
        return Detection(90, "metric_and_value_columns")
    return None


def finish(ctx: ImportContext) -> None:
    for key, ratios in ctx.long_ratios.items():
        group = ctx.result.values.setdefault(key, {})
        for name in RATIO_ORDER:
            if name not in ratios:
                continue
            spec = LOCAL_RATIOS[name]
            denominator = group.get(spec.denominator)
            if spec.counter in group and name not in (
                "page_depth",
                "avg_post_reach",
                "avg_post_views",
            ):
                continue
            if denominator is None:
                ctx.ignored.setdefault(name, "ratio_without_denominator")
                continue
            share = ratios[name] / 100 if spec.percent is None else ratios[name]
            if spec.complement:
                share = 1 - share
            group.setdefault(spec.counter, share * denominator)
    for key in [k for k, g in ctx.result.values.items() if not g]:
        del ctx.result.values[key]


LAYOUT = Layout(
    "long",
    frozenset({Role.DATE, Role.ACCOUNT, Role.PLATFORM, Role.METRIC_NAME, Role.VALUE}),
    uses_metrics=False,
    detect=detect,
    read_row=read_row,
    finish=finish,
    day_from_caption=True,
)
