"""The previous period (SPEC, "Periods"; issue #12): calendar units compare with the
calendar unit before, "so far" periods with the same days of the unit before,
rolling spans with the equal span just before. A table of edge cases: months of
28–31 days, leap years, quarters, ISO weeks across years, so-far periods, and the
workspace's time zone deciding what "today" is."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from kpi.models import Period, period_kind
from kpi.periods import parse_period


def d(text: str) -> date:
    return date.fromisoformat(text)


CASES = [
    # (typed, today, period, previous)
    # calendar months of 28–31 days → the calendar month before
    ("2026-10", "2026-12-01", ("2026-10-01", "2026-10-31"), ("2026-09-01", "2026-09-30")),
    ("2026-03", "2026-12-01", ("2026-03-01", "2026-03-31"), ("2026-02-01", "2026-02-28")),
    ("2024-03", "2026-12-01", ("2024-03-01", "2024-03-31"), ("2024-02-01", "2024-02-29")),
    ("2024-02", "2026-12-01", ("2024-02-01", "2024-02-29"), ("2024-01-01", "2024-01-31")),
    ("2026-01", "2026-12-01", ("2026-01-01", "2026-01-31"), ("2025-12-01", "2025-12-31")),
    ("last-month", "2026-03-15", ("2026-02-01", "2026-02-28"), ("2026-01-01", "2026-01-31")),
    ("прошлый-месяц", "2024-03-01", ("2024-02-01", "2024-02-29"), ("2024-01-01", "2024-01-31")),
    # quarters and years
    ("2024-Q1", "2026-12-01", ("2024-01-01", "2024-03-31"), ("2023-10-01", "2023-12-31")),
    ("2024-Q2", "2026-12-01", ("2024-04-01", "2024-06-30"), ("2024-01-01", "2024-03-31")),
    ("last-quarter", "2026-05-10", ("2026-01-01", "2026-03-31"), ("2025-10-01", "2025-12-31")),
    ("2024", "2026-12-01", ("2024-01-01", "2024-12-31"), ("2023-01-01", "2023-12-31")),
    ("last-year", "2025-06-01", ("2024-01-01", "2024-12-31"), ("2023-01-01", "2023-12-31")),
    # ISO weeks, across New Year (2026-W01 starts on Dec 29, 2025)
    ("last-week", "2026-01-07", ("2025-12-29", "2026-01-04"), ("2025-12-22", "2025-12-28")),
    ("last-week", "2021-01-06", ("2020-12-28", "2021-01-03"), ("2020-12-21", "2020-12-27")),
    ("2025-12-29..2026-01-04", "2026-02-01", ("2025-12-29", "2026-01-04"),
     ("2025-12-22", "2025-12-28")),
    # so far: the same days of the unit before (clamped to a shorter unit)
    ("week", "2026-12-01", ("2026-11-30", "2026-12-01"), ("2026-11-23", "2026-11-24")),
    ("неделя", "2026-01-01", ("2025-12-29", "2026-01-01"), ("2025-12-22", "2025-12-25")),
    ("month", "2026-11-18", ("2026-11-01", "2026-11-18"), ("2026-10-01", "2026-10-18")),
    ("month", "2026-03-31", ("2026-03-01", "2026-03-31"), ("2026-02-01", "2026-02-28")),
    ("month", "2024-03-30", ("2024-03-01", "2024-03-30"), ("2024-02-01", "2024-02-29")),
    ("month", "2026-12-01", ("2026-12-01", "2026-12-01"), ("2026-11-01", "2026-11-01")),
    ("2026-12", "2026-12-15", ("2026-12-01", "2026-12-15"), ("2026-11-01", "2026-11-15")),
    ("quarter", "2026-05-31", ("2026-04-01", "2026-05-31"), ("2026-01-01", "2026-02-28")),
    ("ytd", "2024-02-29", ("2024-01-01", "2024-02-29"), ("2023-01-01", "2023-02-28")),
    ("ytd", "2026-12-01", ("2026-01-01", "2026-12-01"), ("2025-01-01", "2025-12-01")),
    ("2026", "2026-03-15", ("2026-01-01", "2026-03-15"), ("2025-01-01", "2025-03-15")),
    # rolling: the equal span just before
    ("30d", "2026-12-01", ("2026-11-02", "2026-12-01"), ("2026-10-03", "2026-11-01")),
    ("7d", "2026-11-18", ("2026-11-12", "2026-11-18"), ("2026-11-05", "2026-11-11")),
    ("31d", "2026-10-31", ("2026-10-01", "2026-10-31"), ("2026-08-31", "2026-09-30")),
    ("2w", "2024-03-01", ("2024-02-17", "2024-03-01"), ("2024-02-03", "2024-02-16")),
    ("2026-11-01..2026-11-23", "2026-12-01", ("2026-11-01", "2026-11-23"),
     ("2026-10-09", "2026-10-31")),
    ("2026-05-01", "2026-12-01", ("2026-05-01", "2026-05-01"), ("2026-04-30", "2026-04-30")),
]  # fmt: skip


@pytest.mark.parametrize(("typed", "today", "period", "previous"), CASES)
def test_previous_period(
    typed: str, today: str, period: tuple[str, str], previous: tuple[str, str]
) -> None:
    p = parse_period(typed, d(today))
    assert (p.start, p.end) == (d(period[0]), d(period[1]))
    before = p.previous()
    assert (before.start, before.end) == (d(previous[0]), d(previous[1])), p.kind
    assert before.end < p.start


@pytest.mark.parametrize(
    ("now", "tz", "month", "previous"),
    [
        # 23:30 UTC on Oct 31 is already Nov 1 in Moscow: this month so far is 1 day
        ("2026-10-31T23:30", "Europe/Moscow", ("2026-11-01", "2026-11-01"),
         ("2026-10-01", "2026-10-01")),
        # ... and still Oct 31 in New York: the whole of October so far
        ("2026-10-31T23:30", "America/New_York", ("2026-10-01", "2026-10-31"),
         ("2026-09-01", "2026-09-30")),
        # Jan 1, 02:00 in Almaty is Dec 31 in UTC: ytd is one day, compared with Jan 1
        ("2026-12-31T21:00", "Asia/Almaty", ("2027-01-01", "2027-01-01"),
         ("2026-01-01", "2026-01-01")),
    ],
)  # fmt: skip
def test_today_in_the_workspace_time_zone_decides_the_so_far_periods(
    now: str, tz: str, month: tuple[str, str], previous: tuple[str, str]
) -> None:
    moment = datetime.fromisoformat(now).replace(tzinfo=UTC)
    today = moment.astimezone(ZoneInfo(tz)).date()
    p = parse_period("ytd" if month[0].endswith("01-01") else "month", today)
    assert (p.start, p.end) == (d(month[0]), d(month[1]))
    before = p.previous()
    assert (before.start, before.end) == (d(previous[0]), d(previous[1]))


@pytest.mark.parametrize(
    ("start", "end", "kind"),
    [
        ("2026-10-01", "2026-10-31", "month"),
        ("2026-10-01", "2026-12-31", "quarter"),
        ("2026-01-01", "2026-12-31", "year"),
        ("2026-11-23", "2026-11-29", "week"),
        ("2026-10-01", "2026-10-15", "so_far:month"),
        ("2026-10-02", "2026-10-31", "rolling"),
        ("2026-11-23", "2026-11-25", "rolling"),  # part of a week reads as a span
    ],
)
def test_kind_from_the_dates(start: str, end: str, kind: str) -> None:
    """Forms the parser does not name (a month's name, for one) get a kind from their
    dates, so a new natural form compares like the canonical one."""
    assert period_kind(Period(d(start), d(end))).kind == kind


def test_kind_is_not_part_of_equality() -> None:
    assert Period(d("2026-10-01"), d("2026-10-31"), "month") == Period(
        d("2026-10-01"), d("2026-10-31")
    )
