"""Plain data passed between storage, the KPI formulas, imports and charts.

Frozen dataclasses, no I/O. Storage builds these from SQL aggregates; the KPI
functions in `kpi.kpis` read them.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

# Followers moving by more than this share in one day look misread (a sanity flag).
FOLLOWER_JUMP = 0.5
# An account whose last follower count is this many days older than the newest
# account's is stale: its end would cover a shorter span than the others'.
STALE_AFTER_DAYS = 7


# How a period was asked for, which decides its previous period (SPEC, "Periods").
ROLLING = "rolling"  # `30d`, `12w`, `3m`, a typed range or day: the equal span just before
CALENDAR_UNITS = ("week", "month", "quarter", "year")  # an ISO week, a month, quarter, year
SO_FAR = "so_far"  # `week`, `month`, `quarter`, `ytd`: the unit up to today


@dataclass(frozen=True, slots=True)
class Period:
    """A closed range of days (both ends included) in the workspace's time zone.

    `kind` is how it was asked for: `rolling`, a calendar unit (`week`, `month`,
    `quarter`, `year`) or `so_far:<unit>` (`so_far:month` = this month up to today).
    It decides `previous()` and is not part of equality: the same days are the
    same period whichever way they were typed.
    """

    start: date
    end: date
    kind: str = field(default=ROLLING, compare=False)

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"period ends before it starts: {self.start}..{self.end}")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period this one is compared with (SPEC, "Periods").

        * calendar month, quarter, year, ISO week: the calendar one before
          (October → September, 2024-Q1 → 2023-Q4, 2024 → 2023);
        * so far (`week`, `month`, `quarter`, `ytd`, or a calendar unit cut at
          today): the same days of the unit before (1–18 Nov → 1–18 Oct; a day
          the shorter unit lacks is clamped: 1–31 Mar → 1–28 Feb);
        * rolling (`30d`, a typed range): the equal span just before.
        """
        unit = self.kind.removeprefix(SO_FAR + ":")
        if unit not in CALENDAR_UNITS:
            end = self.start - timedelta(days=1)
            return Period(end - timedelta(days=self.days - 1), end, ROLLING)
        first = _unit_start(self.start, unit)
        if first != self.start:  # not aligned to its unit: treat as rolling
            return Period(self.start, self.end, ROLLING).previous()
        prev_first = _shift(first, unit, -1)
        full_end = _shift(first, unit, 1) - timedelta(days=1)
        if self.kind == unit and self.end == full_end:
            return Period(prev_first, first - timedelta(days=1), unit)
        # So far: the same days of the unit before, clamped to that unit.
        prev_end = min(_shift(self.end, unit, -1), first - timedelta(days=1))
        return Period(prev_first, max(prev_first, prev_end), f"{SO_FAR}:{unit}")

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def _unit_start(day: date, unit: str) -> date:
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    if unit == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return date(day.year, 1, 1)


def _shift(day: date, unit: str, n: int) -> date:
    if unit == "week":
        return day + timedelta(days=7 * n)
    return _add_months(day, n * {"month": 1, "quarter": 3, "year": 12}[unit])


def period_kind(period: Period, *, rolling: bool = False, unit: str | None = None) -> Period:
    """`period` with its kind: `rolling` as asked; with `unit` (the form named a month,
    quarter or year) that unit, or that unit so far when the period is cut at today;
    else read from the dates: a span that is exactly an ISO week, month, quarter or
    year is that unit, one that starts a month/quarter/year and ends inside it is
    the smallest such unit so far (a month's name typed on the 15th is that month
    so far), anything else is rolling."""
    if rolling:
        return Period(period.start, period.end, ROLLING)
    units = (unit,) if unit is not None else CALENDAR_UNITS
    aligned = [u for u in units if _unit_start(period.start, u) == period.start]
    for u in aligned:
        if period.end == _shift(period.start, u, 1) - timedelta(days=1):
            return Period(period.start, period.end, u)
    for u in aligned:
        # A partial week is read as rolling unless the form named a week.
        if (u != "week" or unit is not None) and period.end < _shift(
            period.start, u, 1
        ) - timedelta(days=1):
            return Period(period.start, period.end, f"{SO_FAR}:{u}")
    return Period(period.start, period.end, ROLLING)


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
    reactions: float | None = None  # Telegram reaction total, counted as interactions


@dataclass(frozen=True, slots=True)
class PairSums:
    """One ratio (`kpi.registry.PAIRS`) of one account over one period.

    `days`: account-days on which both sides have a value; `sums`: Σ of each of
    the pair's metrics over those days (metrics with at least one value there);
    `unpaired`: account-days with a value on the numerator side only, and on the
    denominator side only (left out).
    """

    days: int
    sums: Mapping[str, float]
    unpaired: tuple[int, int] = (0, 0)


@dataclass(frozen=True, slots=True)
class FollowerEdges:
    """One account's follower values around one period: the newest before it, the
    first and last inside it (with their days), the mean inside it and the largest
    day-over-day relative move inside it (`jump`, a share; None when not measured)."""

    before: float | None = None
    before_day: date | None = None
    first: float | None = None
    first_day: date | None = None
    last: float | None = None
    last_day: date | None = None
    avg: float | None = None
    jump: float | None = None
    jump_day: date | None = None


@dataclass(frozen=True, slots=True)
class AccountData:
    """One account's share of a period: its paired ratios, plain sums and followers."""

    name: str
    pairs: Mapping[str, PairSums] = field(default_factory=dict)
    sums: Mapping[str, float] = field(default_factory=dict)
    followers: FollowerEdges = field(default_factory=FollowerEdges)


@dataclass(frozen=True, slots=True)
class PeriodData:
    """Everything the KPI formulas need for one period and one account selection.

    `sums` holds Σ over the period for every counter metric that has at least one
    stored value in it; a metric with no value at all is absent (not 0), so a
    formula can tell "missing" from "zero". `accounts` holds the per-account
    figures the aggregation gives (paired ratios, follower edges); `pair_days`
    the days on which any account has a pair's both sides. Built by hand (tests,
    a single account's sums), `accounts` may be empty: the formulas then read
    `sums` as one account's figures.
    """

    period: Period
    sums: Mapping[str, float]
    days_with_data: int = 0  # distinct days with any stored metric value
    metric_days: Mapping[str, int] = field(default_factory=dict)  # days with data per metric
    followers_start: float | None = None  # Σ start over the accounts with both ends
    followers_end: float | None = None  # Σ end over the same accounts
    followers_avg: float | None = None  # Σ over accounts of the mean value inside the period
    posts: tuple[PostRecord, ...] = ()
    margin: float = 1.0  # share of revenue that is profit, for ROI (1.0 = 100 %)
    # Days of the period the follower figures span (see `follower_span`); None: unknown.
    followers_days: int | None = None
    accounts: tuple[AccountData, ...] = ()
    pair_days: Mapping[str, int] = field(default_factory=dict)


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
class LeftOut:
    """An account's data a figure could not use, and why.

    `reason`: `unpaired` (`days` account-days of `have` without `lacking`),
    `stale` (no follower value in the period; the last was on `day`),
    `started` (its follower values begin inside the period, on `day`, while
    other accounts have one before it), `one_value` (a single follower value,
    on `day`, is no change)."""

    account: str
    reason: str
    days: int = 0
    have: str = ""
    lacking: str = ""
    day: date | None = None


@dataclass(frozen=True, slots=True)
class Flag:
    """A value that cannot be right, so an input looks misread. `code`:
    `frequency_below_1` (impressions < reach), `rate_over_100` (`input` exceeds its
    denominator), `followers_jump` (a day-over-day move of more than half), with
    the account it was seen on (None: the selection's total)."""

    code: str
    account: str | None = None
    input: str = ""
    day: date | None = None


@dataclass(frozen=True, slots=True)
class Followers:
    """The follower gauge over the accounts with a value at both ends."""

    start: float | None
    end: float | None
    avg: float | None
    days: int | None  # the span the figures cover (see `follower_span`)
    used: tuple[str, ...]
    left_out: tuple[LeftOut, ...]
    jumps: tuple[Flag, ...] = ()
    by_account: tuple[tuple[str, float, float], ...] = ()  # (account, start, end) of `used`

    @property
    def net(self) -> float | None:
        return None if self.start is None or self.end is None else self.end - self.start


def combine_followers(period: Period, accounts: Sequence[tuple[str, FollowerEdges]]) -> Followers:
    """Follower figures of a selection (SPEC, "Several accounts and sources").

    Per account, start = the newest value before the period, else the first
    inside it; end = the last inside it. An account counts when it has an end
    and a start that is an earlier observation. Left out and named: accounts
    without a value inside the period, or whose last value is more than
    `STALE_AFTER_DAYS` older than the newest account's (`stale`), with one value
    only (`one_value`), and, when other accounts have a value before the period,
    accounts whose values begin inside it (`started`). Either way their growth
    would cover fewer days than the others'. Start and end are Σ over the
    accounts that count.
    """
    candidates: list[tuple[str, FollowerEdges]] = []
    left: list[LeftOut] = []
    jumps: list[Flag] = []
    for name, e in accounts:
        if e.jump is not None and e.jump > FOLLOWER_JUMP:
            jumps.append(Flag("followers_jump", name, "followers", e.jump_day))
        if e.before is None and e.first is None:
            continue
        if e.last is None:
            left.append(LeftOut(name, "stale", day=e.before_day))
        elif e.before is None and e.first_day == e.last_day:
            left.append(LeftOut(name, "one_value", day=e.first_day))
        else:
            candidates.append((name, e))
    if any(e.before is not None for _, e in candidates):
        for name, e in candidates:
            if e.before is None:
                left.append(LeftOut(name, "started", day=e.first_day))
        candidates = [(n, e) for n, e in candidates if e.before is not None]
    newest = max((e.last_day for _, e in candidates if e.last_day is not None), default=None)
    if newest is not None:
        for name, e in candidates:
            if e.last_day is not None and (newest - e.last_day).days > STALE_AFTER_DAYS:
                left.append(LeftOut(name, "stale", day=e.last_day))
        candidates = [
            (n, e)
            for n, e in candidates
            if e.last_day is None or (newest - e.last_day).days <= STALE_AFTER_DAYS
        ]
    if not candidates:
        return Followers(None, None, None, None, (), tuple(left), tuple(jumps))
    start = sum(e.before if e.before is not None else (e.first or 0.0) for _, e in candidates)
    end = sum(e.last or 0.0 for _, e in candidates)
    avg = sum(e.avg or 0.0 for _, e in candidates)
    span = follower_span(
        period, ((e.before is not None, e.first_day, e.last_day) for _, e in candidates)
    )
    by_account = tuple(
        (n, float(e.before if e.before is not None else (e.first or 0.0)), float(e.last or 0.0))
        for n, e in candidates
    )
    return Followers(
        float(start), float(end), float(avg), span, tuple(n for n, _ in candidates),
        tuple(left), tuple(jumps), by_account,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class AudienceBucket:
    dimension: str  # age, gender, city, country
    bucket: str  # "18-24", "female", "Москва"
    value: float
    is_share: bool  # True: value is a share in %, False: a count
