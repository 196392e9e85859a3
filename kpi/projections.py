"""A KPI's history as a series, and its forecast (`/forecast`, the forecast line of `/chart`).

Pure. The history is one `PeriodData` per bucket from the one aggregation
(`storage.metrics.aggregate`), as the digest's sparklines and `/chart` get their points:
each bucket's KPI is the KPI of its own sums, so the forecast continues the very figures
the user sees.

History: complete buckets only, the partial current week or today would look like a drop
in every counter. Weekly: the 52 complete ISO weeks before the current one. Daily: the 84
days before today (12 weeks, enough for Holt-Winters' weekday season).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from kpi.digest import Granularity, kpi_series, report_week, week_buckets
from kpi.forecast import Forecast, NotEnoughHistory, forecast
from kpi.models import Period, PeriodData

HISTORY_WEEKS = 52
HISTORY_DAYS = 84
CHART_HORIZON = {"week": 4, "day": 7}


def forecast_bounds(kpi: str) -> tuple[float | None, float | None]:
    """What a KPI can't go past: counts, money, rates and durations not below 0, shares
    not above 100 %, ROI not below −100 % (all the money lost); growth is unbounded."""
    if kpi == "growth":
        return None, None
    if kpi == "roi":
        return -100.0, None
    if kpi in ("bounce", "visitors"):
        return 0.0, 100.0
    return 0.0, None


def history_buckets(today: date, granularity: Granularity) -> list[Period]:
    """The complete buckets a forecast made on `today` learns from, oldest first."""
    if granularity == "week":
        return week_buckets(report_week(today), HISTORY_WEEKS)
    return [Period(d, d) for d in (today - timedelta(days=k) for k in range(HISTORY_DAYS, 0, -1))]


def first_forecast_day(today: date, granularity: Granularity) -> date:
    """The first bucket the forecast is for: this week's Monday, or today."""
    return report_week(today).end + timedelta(days=1) if granularity == "week" else today


def series_forecast(
    history: Sequence[PeriodData], kpi: str, granularity: Granularity, horizon: int
) -> Forecast | NotEnoughHistory:
    """Forecast `kpi` for `horizon` buckets after `history` (the aggregation of
    `history_buckets(today, granularity)`), from `first_forecast_day(today, granularity)`."""
    low, high = forecast_bounds(kpi)
    return forecast(
        kpi_series(history, kpi), horizon, granularity, lower_bound=low, upper_bound=high
    )


def forecast_points(
    result: Forecast, today: date, granularity: Granularity
) -> tuple[tuple[date, float, float, float], ...]:
    """(bucket start, value, low, high) for a chart."""
    first = first_forecast_day(today, granularity)
    step = 7 if granularity == "week" else 1
    return tuple(
        (first + timedelta(days=step * k), v, lo, hi)
        for k, (v, lo, hi) in enumerate(zip(result.values, result.lower, result.upper, strict=True))
    )


__all__ = [
    "CHART_HORIZON",
    "forecast_bounds",
    "forecast_points",
    "history_buckets",
    "series_forecast",
]
