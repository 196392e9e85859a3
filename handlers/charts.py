"""/chart <kpi> [period] [account]: a PNG line chart of one KPI by day or by week.

Each point is the KPI of that day's (or week's) sums, computed by the same KPI
functions and the same aggregation as the text answers
(`storage.metrics.MetricsRepo.aggregate`), never an average of daily ratios.
Periods up to 62 days are drawn by day, longer ones by ISO week (partial weeks
at the ends are clipped to the period). The previous period (`Period.previous`,
as in the text answers) is drawn faintly behind.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message
from aiogram.utils.i18n import gettext as _

from bot.services.rendering import ChartRenderer
from bot.texts import bold, code, metric_display_name
from handlers.insights_texts import model_name
from handlers.kpi_texts import change_text, format_period, kpi_name, value_text
from handlers.replies import CAPTION_LIMIT, current_currency, current_language
from handlers.selection import read_period_account
from kpi.charts import LineChartSpec, ValueFormat, render_line_chart
from kpi.digest import Granularity, chart_buckets, granularity_for, kpi_series
from kpi.forecast import Forecast
from kpi.kpis import (
    KPI_FUNCTIONS,
    KPI_KEYS,
    Change,
    KpiResult,
    compare,
    needed_metrics,
    resolve_kpi,
)
from kpi.models import Period
from kpi.numbers import currency_sign, format_change, format_number
from kpi.projections import CHART_HORIZON, forecast_points, history_buckets, series_forecast
from storage import Storage
from storage.records import Workspace

log = logging.getLogger(__name__)

CHARTABLE: tuple[str, ...] = tuple(k for k in KPI_KEYS if k in KPI_FUNCTIONS)


def unit_text(unit: str) -> str:
    return {
        "percent": "%",
        "money": currency_sign(current_currency(), current_language()),
        "duration": _("min:sec"),
    }.get(unit) or _("count")


def short_change(change: Change, unit: str, lang: str) -> str | None:
    """The change without arrow or colour, for a dashboard tile (it draws its own):
    `+4,1 п.п.` for percent KPIs (a change of a percentage), else `+12 %`."""
    if change.absolute is None:
        return None
    if unit != "percent" and change.relative is not None:
        return format_change(change.relative, lang)
    number = format_number(change.absolute, lang)
    sign = "+" if change.absolute > 0 and number.strip("0,.\u00a0") else ""
    if unit == "percent":
        return _("{number} pp").format(number=sign + number)
    return None


def kpi_list() -> str:
    return ", ".join(f"{code(k)} ({html.escape(kpi_name(k))})" for k in CHARTABLE)


def _usage() -> str:
    return _(
        "Which KPI? <code>/chart bounce 90d vk:brand</code> — a KPI, then a period "
        "and an account if you like.\nKPIs: {kpis}."
    ).format(kpis=kpi_list())


async def cmd_chart(
    message: Message,
    command: CommandObject,
    storage: Storage,
    renderer: ChartRenderer,
    workspace: Workspace,
    clock: Callable[[], datetime],
) -> None:
    words = (command.args or "").split(maxsplit=1)
    if not words:
        await message.reply(_usage())
        return
    kpi = resolve_kpi(words[0])
    if kpi is None or kpi not in KPI_FUNCTIONS:
        if kpi == "hashtags":
            intro = _("Hashtags are compared per post, not drawn over time: try /hashtags.")
        else:
            intro = _("I don't know the KPI “{value}”.").format(value=html.escape(words[0][:64]))
        await message.reply(f"{intro}\n{_usage()}")
        return
    lang = current_language()
    today = clock().astimezone(ZoneInfo(workspace.timezone)).date()
    asked = await read_period_account(
        words[1] if len(words) > 1 else "", "chart " + words[0], storage, workspace, today
    )
    if asked.error is not None:
        await message.reply(asked.error)
        return
    period = asked.period
    account_id = asked.account.id if asked.account else None
    account_label = asked.account.name if asked.account else ""

    chart = await kpi_chart(storage, workspace, kpi, period, account_id, account_label, lang)
    name = kpi_name(kpi)
    period_text = format_period(period, lang)
    if chart is None:
        metrics = ", ".join(metric_display_name(m) for m in needed_metrics(kpi))
        await message.reply(
            _(
                "No data for {kpi} in {period}, so there is nothing to draw. "
                "It is computed from: {metrics}. Add them with /log or a file."
            ).format(kpi=name, period=period_text, metrics=metrics)
        )
        return
    spec, current, earlier = chart.spec, chart.current, chart.earlier
    granularity = chart.granularity
    unit = current.unit
    caption = _chart_caption(name, account_label, period_text, current, earlier, lang)
    if period.end == today:
        projected = await _forecast(storage, workspace, kpi, today, granularity, account_id)
        if projected is not None:
            spec = replace(
                spec,
                forecast=forecast_points(projected, today, granularity),
                forecast_label=_("forecast"),
            )
            caption += "\n" + _(
                "Dashed: the forecast, {model}; the band comes from its backtest errors (±{mae})."
            ).format(model=model_name(projected.model), mae=value_text(projected.mae, unit, lang))
    try:
        png = await renderer.render(render_line_chart, spec)
    except Exception:
        # The numbers still answer the question; say so rather than apologise.
        log.exception("chart rendering failed for workspace %s, kpi %s", workspace.id, kpi)
        await message.reply(caption)
        return
    await message.answer_photo(
        BufferedInputFile(png, filename=f"{kpi}.png"), caption=caption[:CAPTION_LIMIT]
    )


@dataclass(frozen=True, slots=True)
class KpiChart:
    spec: LineChartSpec
    current: KpiResult  # the KPI for the whole period
    earlier: KpiResult  # ... and for the previous one
    granularity: Granularity


async def kpi_chart(
    storage: Storage,
    workspace: Workspace,
    kpi: str,
    period: Period,
    account_id: int | None,
    account_label: str,
    lang: str,
) -> KpiChart | None:
    """The line chart of `kpi` over `period` (by day, or by week past ~60 days) with the
    previous period behind it; None when no point has a value. `/chart` and the PDF
    report draw the same chart."""
    previous = period.previous()
    granularity = granularity_for(period)
    buckets = chart_buckets(period, granularity)
    prev_buckets = chart_buckets(previous, granularity)
    # One aggregation for the points, the previous period's points and both wholes:
    # the same figures every KPI answer gives for these periods.
    data = await storage.metrics.aggregate(
        workspace.id,
        [*prev_buckets, *buckets, previous, period],
        account_id=account_id,
        margin=workspace.margin,
    )
    *points, whole_prev, whole = data
    prev_values = kpi_series(points[: len(prev_buckets)], kpi)
    values = kpi_series(points[len(prev_buckets) :], kpi)
    if all(v is None for v in values):
        return None
    name = kpi_name(kpi)
    func = KPI_FUNCTIONS[kpi]
    current, earlier = func(whole), func(whole_prev)
    unit = current.unit
    title = f"{name} · {account_label}" if account_label else name
    by = _("{unit}, by day") if granularity == "day" else _("{unit}, by week")
    spec = LineChartSpec(
        points=tuple((b.start, v) for b, v in zip(buckets, values, strict=True)),
        previous=tuple((b.start, v) for b, v in zip(prev_buckets, prev_values, strict=True)),
        title=title,
        unit_label=by.format(unit=unit_text(unit)),
        current_label=format_period(period, lang),
        previous_label=_("previous period"),
        higher_is_better=current.higher_is_better,
        value_format=value_format(unit),
        currency=current_currency() if unit == "money" else "",
        granularity=granularity,
        week_label=_("W{week}"),
        lang=lang,
    )
    return KpiChart(spec, current, earlier, granularity)


async def _forecast(
    storage: Storage,
    workspace: Workspace,
    kpi: str,
    today: date,
    granularity: Granularity,
    account_id: int | None,
) -> Forecast | None:
    """The chart's forecast line (`kpi.projections`), None with too little history."""
    buckets = history_buckets(today, granularity)
    data = await storage.metrics.aggregate(
        workspace.id, buckets, account_id=account_id, margin=workspace.margin
    )
    result = await asyncio.to_thread(
        series_forecast, data, kpi, granularity, CHART_HORIZON[granularity]
    )
    return result if isinstance(result, Forecast) else None


def value_format(unit: str) -> ValueFormat:
    if unit in ("percent", "money", "duration"):
        return unit  # type: ignore[return-value]
    return "count"


def _chart_caption(
    name: str,
    account: str,
    period_text: str,
    current: KpiResult,
    earlier: KpiResult,
    lang: str,
) -> str:
    head = bold(name)
    if account:
        head += f" · {html.escape(account)}"
    lines = [f"{head} · {period_text}"]
    if current.value is None:
        lines.append(_("No value for the whole period."))
    else:
        lines.append(
            _("For the period: {value}").format(value=value_text(current.value, current.unit, lang))
        )
    if earlier.value is not None:
        moved = change_text(compare(current, earlier), current.unit, lang)
        text = _("Previous period: {value}").format(
            value=value_text(earlier.value, current.unit, lang)
        )
        lines.append(f"{text} ({moved})" if moved else text)
    lines.append(
        _("Days with data: {days} of {total}").format(
            days=current.days_with_data, total=current.days
        )
    )
    return "\n".join(lines)


def create_router() -> Router:
    router = Router(name="charts")
    router.message.register(cmd_chart, Command("chart"))
    return router
