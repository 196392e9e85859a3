"""Plain data passed between storage, the KPI formulas, imports and charts.

Frozen dataclasses, no I/O. Storage builds these from SQL aggregates; the KPI
functions in `kpi.kpis` read them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta


@dataclass(frozen=True, slots=True)
class Period:
    """A closed range of days (both ends included) in the workspace's time zone."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"period ends before it starts: {self.start}..{self.end}")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period of equal length that ends the day before this one starts."""
        end = self.start - timedelta(days=1)
        return Period(end - timedelta(days=self.days - 1), end)

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


@dataclass(frozen=True, slots=True)
class PostRecord:
    """One post with its own counters (None = not given by the source)."""

    account: str
    day: date
    post_id: str
    format: str | None = None
    hashtags: tuple[str, ...] = ()
    text: str | None = None
    reach: float | None = None
    impressions: float | None = None
    likes: float | None = None
    comments: float | None = None
    shares: float | None = None
    saves: float | None = None
    link_clicks: float | None = None


@dataclass(frozen=True, slots=True)
class PeriodData:
    """Everything the KPI formulas need for one period and one account selection.

    `sums` holds Σ over the period for every counter metric that has at least one
    stored value in it; a metric with no value at all is absent (not 0), so a
    formula can tell "missing" from "zero".
    """

    period: Period
    sums: Mapping[str, float]
    days_with_data: int = 0  # distinct days with any stored metric value
    metric_days: Mapping[str, int] = field(default_factory=dict)  # days with data per metric
    followers_start: float | None = None  # last value before the period, else first inside
    followers_end: float | None = None  # last value inside the period
    followers_avg: float | None = None  # mean of the stored daily values inside the period
    posts: tuple[PostRecord, ...] = ()
    margin: float = 1.0  # share of revenue that is profit, for ROI (1.0 = 100 %)
    # Days of the period the follower figures span (see `follower_span`); None: unknown.
    followers_days: int | None = None


def follower_span(
    period: Period, accounts: Iterable[tuple[bool, date | None, date | None]]
) -> int | None:
    """Days of `period` that the start-to-end follower figures cover.

    Per account: (has a value before the period, first day with a value inside,
    last day with a value inside). An account's figures start on the period's
    first day when it has a value before it, else on its first day inside, and
    end on its last day inside; the selection's span runs from the latest start
    to the earliest end. Two snapshots (the day before and the last day) cover
    the whole period; a last count ten days before the end does not.
    """
    starts: list[date] = []
    ends: list[date] = []
    for before, first_in, last_in in accounts:
        if last_in is None or first_in is None:
            continue
        starts.append(period.start if before else first_in)
        ends.append(last_in)
    if not ends:
        return None
    return max(0, (min(ends) - max(starts)).days + 1)


@dataclass(frozen=True, slots=True)
class AudienceBucket:
    dimension: str  # age, gender, city, country
    bucket: str  # "18-24", "female", "Москва"
    value: float
    is_share: bool  # True: value is a share in %, False: a count
