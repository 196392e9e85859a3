"""The weekly digest and `/chart`: week math, send times, per-bucket KPIs, caption fitting.

Pure: no I/O, no clock (the caller passes `now`), no aiogram. Texts arrive
already translated; this module only arranges them.

Decisions the spec leaves open:

* The digest reports the last *complete* ISO week in the workspace's time zone,
  whatever the send day: on Monday 10:00 that is the week that ended last night;
  on Friday 18:00 it is still that week (a half-finished week would look like a
  collapse in every counter). The digest log key is that reported week
  (`2026-W48`), so one schedule slot ↔ one log row.
* The send time is computed with zoneinfo for every week anew (`local_send_time`),
  so Monday 10:00 in New York is 15:00 UTC in winter and 14:00 UTC in summer. A
  wall time that does not exist (02:30 on the night clocks jump forward) is read
  with the offset before the jump (02:30 CET = 03:30 CEST): the digest comes an
  hour later that one week instead of not at all; an ambiguous one (the night
  clocks go back) is the first of the two (`fold=0`).
* A series bucket's KPI is the KPI of the bucket's sums (ratio of sums), never an
  average of daily ratios: storage's one aggregation (`MetricsRepo.aggregate`)
  gives one `PeriodData` per bucket, exactly as for a whole period.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from kpi.kpis import KPI_FUNCTIONS, Change, compare
from kpi.models import Period, PeriodData

Granularity = Literal["day", "week"]

SPARK_WEEKS = 12
# `/chart` switches from days to weeks for periods longer than this.
DAILY_MAX_DAYS = 62
CAPTION_LIMIT = 1024
# The dashboard's KPIs: every period KPI (hashtags are per post, not a weekly figure).
DASHBOARD_KPIS: tuple[str, ...] = tuple(KPI_FUNCTIONS)

# --------------------------------------------------------------------------- schedule input

_WEEKDAYS: Mapping[str, int] = {
    **{w: i for i, w in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))},
    **{
        w: i
        for i, w in enumerate(
            ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        )
    },
    **{w: i for i, w in enumerate(("пн", "вт", "ср", "чт", "пт", "сб", "вс"))},
    **{
        w: i
        for i, w in enumerate(
            ("понедельник", "вторник", "среда", "четверг", "пятница", "суббота", "воскресенье")
        )
    },
    # "в среду", "в пятницу", "в субботу": the accusative a Russian speaker types.
    "среду": 2,
    "пятницу": 4,
    "субботу": 5,
    "tues": 1,
    "thur": 3,
    "thurs": 3,
    "пон": 0,
    "вто": 1,
    "чет": 3,
    "пят": 4,
    "суб": 5,
    "вос": 6,
    "воскр": 6,
}
_TIME = re.compile(r"(\d{1,2})(?:[:.](\d{2}))?(?:\s*([ap])\.?m\.?)?")


def parse_weekday(word: str) -> int | None:
    """0 = Monday … 6 = Sunday for `fri`, `Friday`, `пт`, `пятница`, `пятницу`; else None."""
    return _WEEKDAYS.get(word.strip().lower().rstrip(".,").replace("ё", "е"))


def parse_time(text: str) -> str | None:
    """`18:00`, `9.30`, `9`, `6pm` → "HH:MM"; None if it is not a time of day."""
    m = _TIME.fullmatch(text.strip().lower())
    if m is None:
        return None
    hour, minute = int(m[1]), int(m[2] or 0)
    if m[3]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if m[3] == "p" else 0)
    if hour > 23 or minute > 59:
        return None
    return f"{hour:02d}:{minute:02d}"


def _clock_time(hhmm: str) -> time:
    hour, minute = hhmm.split(":")
    return time(int(hour), int(minute))


# --------------------------------------------------------------------------- weeks


def week_start(day: date) -> date:
    """The Monday of `day`'s ISO week."""
    return day - timedelta(days=day.weekday())


def iso_week_key(day: date) -> str:
    """`2026-W48`: the ISO week `day` belongs to (ISO year, which may differ at New Year)."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def iso_week(day: date) -> Period:
    monday = week_start(day)
    return Period(monday, monday + timedelta(days=6))


def report_week(local_today: date) -> Period:
    """The last complete ISO week before the one containing `local_today`."""
    return iso_week(week_start(local_today) - timedelta(days=7))


def week_buckets(last_week: Period, count: int = SPARK_WEEKS) -> list[Period]:
    """`count` consecutive ISO weeks ending with `last_week`, oldest first."""
    return [
        Period(last_week.start - timedelta(days=7 * k), last_week.end - timedelta(days=7 * k))
        for k in range(count - 1, -1, -1)
    ]


def local_send_time(week_monday: date, weekday: int, hhmm: str, tz: str) -> datetime:
    """UTC moment of the digest slot in the ISO week starting `week_monday` (see module doc)."""
    zone = ZoneInfo(tz)
    local = datetime.combine(week_monday + timedelta(days=weekday), _clock_time(hhmm), zone)
    # fold=0: in a spring-forward gap the offset before the jump applies, in an
    # autumn overlap the first occurrence.
    return local.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class DigestSlot:
    """This week's digest of one workspace: the reported week, its log key and when it is due."""

    week: str  # log key: the reported ISO week, "2026-W48"
    report: Period
    due_at: datetime  # aware UTC
    local_day: date  # the workspace's today at `now`


def digest_slot(now: datetime, weekday: int, hhmm: str, tz: str) -> DigestSlot:
    """The slot of the ISO week that contains `now` in the workspace's time zone."""
    local_day = now.astimezone(ZoneInfo(tz)).date()
    report = report_week(local_day)
    due = local_send_time(week_start(local_day), weekday, hhmm, tz)
    return DigestSlot(iso_week_key(report.start), report, due, local_day)


def next_send_time(now: datetime, weekday: int, hhmm: str, tz: str) -> datetime:
    """The next scheduled send at or after `now` (UTC), for showing the schedule."""
    monday = week_start(now.astimezone(ZoneInfo(tz)).date())
    due = local_send_time(monday, weekday, hhmm, tz)
    if due < now:
        due = local_send_time(monday + timedelta(days=7), weekday, hhmm, tz)
    return due


def is_due(slot: DigestSlot, now: datetime, created_at: datetime | None = None) -> bool:
    """Due once the slot's time has passed, unless the workspace is younger than the slot.

    A chat that adds the bot on Wednesday gets its first digest next week, not a
    surprise one for a week it had no part in a minute after its first import.
    """
    if now < slot.due_at:
        return False
    return created_at is None or created_at <= slot.due_at


# --------------------------------------------------------------------------- buckets


def granularity_for(period: Period) -> Granularity:
    return "day" if period.days <= DAILY_MAX_DAYS else "week"


def chart_buckets(period: Period, granularity: Granularity) -> list[Period]:
    """Days of the period, or its ISO weeks clipped to the period (partial weeks at the ends)."""
    if granularity == "day":
        return [Period(d, d) for d in _days(period.start, period.end)]
    buckets = []
    start = period.start
    while start <= period.end:
        end = min(week_start(start) + timedelta(days=6), period.end)
        buckets.append(Period(start, end))
        start = end + timedelta(days=1)
    return buckets


def _days(start: date, end: date) -> Iterable[date]:
    for k in range((end - start).days + 1):
        yield start + timedelta(days=k)


def kpi_series(periods: Sequence[PeriodData], kpi: str) -> list[float | None]:
    """The KPI of each bucket's own sums."""
    func = KPI_FUNCTIONS[kpi]
    return [func(p).value for p in periods]


# --------------------------------------------------------------------------- dashboard data


@dataclass(frozen=True, slots=True)
class TileData:
    """One dashboard KPI: the reported week's value, its change, 12 weekly values."""

    kpi: str
    unit: str  # count, percent, money, duration
    value: float | None
    change: Change
    spark: tuple[float | None, ...]
    higher_is_better: bool
    formula: str = ""  # the week's formula id (`kpi.registry.FORMULAS`), names the tile

    @property
    def score(self) -> float:
        """How big the change is, for ordering "top changes" (0 when unknown)."""
        change = self.change
        if change.relative is not None:
            return abs(change.relative)
        if change.absolute is not None and self.unit == "percent":
            return abs(change.absolute)
        return 0.0


def dashboard_tiles(weeks: Sequence[PeriodData]) -> list[TileData]:
    """Tiles for every KPI with a value in any of the weeks (oldest first; last = reported).

    A KPI that has history but no value in the reported week keeps its tile
    (value None): the sparkline shows where it went.
    """
    tiles = []
    current, previous = weeks[-1], (weeks[-2] if len(weeks) > 1 else None)
    for kpi in DASHBOARD_KPIS:
        func = KPI_FUNCTIONS[kpi]
        spark = tuple(func(w).value for w in weeks)
        if all(v is None for v in spark):
            continue
        now = func(current)
        before = func(previous) if previous is not None else None
        change = (
            compare(now, before)
            if before is not None
            else Change(kpi, now.value, None, None, None, None)
        )
        tiles.append(
            TileData(kpi, now.unit, now.value, change, spark, now.higher_is_better, now.formula)
        )
    return tiles


def top_changes(tiles: Sequence[TileData], count: int = 3) -> list[TileData]:
    """The tiles whose value moved most against the previous week, biggest first."""
    moved = [
        t
        for t in tiles
        if t.change.absolute not in (None, 0.0) and not t.change.negligible and t.score > 0
    ]
    return sorted(moved, key=lambda t: -t.score)[:count]


def trend(change: Change) -> Literal["up", "down", "flat"] | None:
    if change.absolute is None:
        return None
    if change.negligible or math.isclose(change.absolute, 0.0, abs_tol=1e-12):
        return "flat"
    return "up" if change.absolute > 0 else "down"


# --------------------------------------------------------------------------- captions


def fit_caption(
    head: Sequence[str],
    items: Sequence[str],
    tail: Sequence[str] = (),
    *,
    limit: int = CAPTION_LIMIT,
    more: Callable[[int], str] | None = None,
) -> tuple[str, list[str]]:
    """A caption of `head`, as many `items` as fit, and `tail`, within `limit` characters.

    Returns (caption, items left out); `more(n)` adds a line such as "n more below"
    when some are left out. Lines are joined with newlines; HTML tags count
    towards the limit, so the result is within it whatever Telegram strips.
    """

    def build(shown: int) -> str:
        lines = [*head, *items[:shown]]
        if shown < len(items) and more is not None:
            lines.append(more(len(items) - shown))
        lines.extend(tail)
        return "\n".join(lines)

    for shown in range(len(items), -1, -1):
        caption = build(shown)
        if len(caption) <= limit:
            return caption, list(items[shown:])
    # Even the head does not fit: cut it (a title of 256 characters cannot do this alone).
    return build(0)[: limit - 1] + "…", list(items)


__all__ = [
    "CAPTION_LIMIT",
    "DAILY_MAX_DAYS",
    "DASHBOARD_KPIS",
    "SPARK_WEEKS",
    "DigestSlot",
    "TileData",
    "chart_buckets",
    "dashboard_tiles",
    "digest_slot",
    "fit_caption",
    "granularity_for",
    "is_due",
    "iso_week",
    "iso_week_key",
    "kpi_series",
    "local_send_time",
    "next_send_time",
    "parse_time",
    "parse_weekday",
    "report_week",
    "top_changes",
    "trend",
    "week_buckets",
    "week_start",
]
