"""Period grammar (SPEC, "Periods"): every accepted form, bad forms, month ends, leap years."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpi.models import Period
from kpi.periods import (
    ACCEPTED_FORMS,
    PeriodError,
    default_period,
    looks_like_period,
    parse_period,
    split_period_account,
)

# A Wednesday in the middle of a month and a quarter.
TODAY = date(2026, 11, 18)


def d(text: str) -> date:
    return date.fromisoformat(text)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        # 7 days ending today: 18 − 6 = 12
        ("7d", "2026-11-12", "2026-11-18"),
        ("7D", "2026-11-12", "2026-11-18"),
        ("7д", "2026-11-12", "2026-11-18"),
        ("1d", "2026-11-18", "2026-11-18"),
        # 30 days: 18 Nov − 29 days = 20 Oct
        ("30d", "2026-10-20", "2026-11-18"),
        ("30д", "2026-10-20", "2026-11-18"),
        # 12 weeks = 84 days: 18 Nov − 83 days = 27 Aug (Nov 18 → Oct 18 is 31, → Sep 18 is 61,
        # → Aug 27 is 61 + 22 = 83)
        ("12w", "2026-08-27", "2026-11-18"),
        ("12н", "2026-08-27", "2026-11-18"),
        # 3 months: 18 Aug + 1 day
        ("3m", "2026-08-19", "2026-11-18"),
        ("3м", "2026-08-19", "2026-11-18"),
        ("3мес", "2026-08-19", "2026-11-18"),
        # 2026-11-18 is a Wednesday: its ISO week starts on Monday the 16th
        ("week", "2026-11-16", "2026-11-18"),
        ("неделя", "2026-11-16", "2026-11-18"),
        ("Неделя", "2026-11-16", "2026-11-18"),
        ("last-week", "2026-11-09", "2026-11-15"),
        ("last_week", "2026-11-09", "2026-11-15"),
        ("прошлая-неделя", "2026-11-09", "2026-11-15"),
        ("month", "2026-11-01", "2026-11-18"),
        ("месяц", "2026-11-01", "2026-11-18"),
        ("last-month", "2026-10-01", "2026-10-31"),
        ("прошлый-месяц", "2026-10-01", "2026-10-31"),
        ("quarter", "2026-10-01", "2026-11-18"),
        ("квартал", "2026-10-01", "2026-11-18"),
        ("last-quarter", "2026-07-01", "2026-09-30"),
        ("прошлый-квартал", "2026-07-01", "2026-09-30"),
        ("ytd", "2026-01-01", "2026-11-18"),
        ("YTD", "2026-01-01", "2026-11-18"),
        ("год", "2026-01-01", "2026-11-18"),
        ("last-year", "2025-01-01", "2025-12-31"),
        ("прошлый-год", "2025-01-01", "2025-12-31"),
        ("2024-05", "2024-05-01", "2024-05-31"),
        ("2024-5", "2024-05-01", "2024-05-31"),
        ("2024-04", "2024-04-01", "2024-04-30"),
        # leap year February has 29 days, a common year 28
        ("2024-02", "2024-02-01", "2024-02-29"),
        ("2023-02", "2023-02-01", "2023-02-28"),
        ("2024-Q1", "2024-01-01", "2024-03-31"),
        ("2024-Q2", "2024-04-01", "2024-06-30"),
        ("2024-q3", "2024-07-01", "2024-09-30"),
        ("2024-Q4", "2024-10-01", "2024-12-31"),
        ("2024-К2", "2024-04-01", "2024-06-30"),  # Cyrillic К
        ("2024-к2", "2024-04-01", "2024-06-30"),
        ("2024-Й2", "2024-04-01", "2024-06-30"),  # Q typed on a Russian layout
        ("2024Q2", "2024-04-01", "2024-06-30"),
        ("2024", "2024-01-01", "2024-12-31"),
        ("2024-05-01..2024-05-31", "2024-05-01", "2024-05-31"),
        ("2024-05-01-2024-05-31", "2024-05-01", "2024-05-31"),
        ("2024-05-01–2024-05-31", "2024-05-01", "2024-05-31"),  # en dash
        ("01.05.2024-31.05.2024", "2024-05-01", "2024-05-31"),
        ("01.05.2024..31.05.2024", "2024-05-01", "2024-05-31"),
        ("1.5.2024-31.5.2024", "2024-05-01", "2024-05-31"),
        ("2024-05-01..31.05.2024", "2024-05-01", "2024-05-31"),
        ("2024-05-07", "2024-05-07", "2024-05-07"),
        ("07.05.2024", "2024-05-07", "2024-05-07"),
        ("29.02.2024", "2024-02-29", "2024-02-29"),
    ],
)
def test_parse_period_forms(text: str, start: str, end: str) -> None:
    assert parse_period(text, TODAY) == Period(d(start), d(end))


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        # Periods that contain today end today (module docstring).
        ("2026-11", "2026-11-01", "2026-11-18"),
        ("2026-Q4", "2026-10-01", "2026-11-18"),
        ("2026", "2026-01-01", "2026-11-18"),
        ("2026-11-01..2026-11-30", "2026-11-01", "2026-11-18"),
        ("2026-11-18", "2026-11-18", "2026-11-18"),
    ],
)
def test_periods_containing_today_end_today(text: str, start: str, end: str) -> None:
    assert parse_period(text, TODAY) == Period(d(start), d(end))


@pytest.mark.parametrize(
    ("today", "text", "start", "end"),
    [
        # 3m from 31 May: 31 Feb clamps to 29 Feb (leap), + 1 day = 1 Mar
        ("2024-05-31", "3m", "2024-03-01", "2024-05-31"),
        # common year: 31 Feb → 28 Feb, + 1 = 1 Mar
        ("2023-05-31", "3m", "2023-03-01", "2023-05-31"),
        # 1m from 31 Mar 2024: 29 Feb + 1 = 1 Mar
        ("2024-03-31", "1m", "2024-03-01", "2024-03-31"),
        # 1m from 30 Mar 2024: 29 Feb + 1 = 1 Mar; from 29 Mar: 29 Feb + 1 = 1 Mar too
        ("2024-03-29", "1m", "2024-03-01", "2024-03-29"),
        # 1m from 28 Mar 2024: 28 Feb + 1 = 29 Feb
        ("2024-03-28", "1m", "2024-02-29", "2024-03-28"),
        # 12m from 29 Feb 2024: 28 Feb 2023 + 1 = 1 Mar 2023
        ("2024-02-29", "12m", "2023-03-01", "2024-02-29"),
        # last-month in January is December of the year before
        ("2025-01-10", "last-month", "2024-12-01", "2024-12-31"),
        # last-month from March in a leap year is the 29-day February
        ("2024-03-15", "прошлый-месяц", "2024-02-01", "2024-02-29"),
        # Monday: the week is just today; last week is the 7 days before
        ("2026-11-16", "week", "2026-11-16", "2026-11-16"),
        ("2026-11-16", "last-week", "2026-11-09", "2026-11-15"),
        # Sunday: the ISO week started 6 days ago
        ("2026-11-22", "week", "2026-11-16", "2026-11-22"),
        # last week across a year end: 1 Jan 2026 is a Thursday
        ("2026-01-01", "last-week", "2025-12-22", "2025-12-28"),
        ("2026-01-01", "week", "2025-12-29", "2026-01-01"),
        # first quarter day: last-quarter is the previous year's Q4
        ("2026-01-01", "last-quarter", "2025-10-01", "2025-12-31"),
        ("2026-03-31", "quarter", "2026-01-01", "2026-03-31"),
        ("2026-04-01", "quarter", "2026-04-01", "2026-04-01"),
    ],
)
def test_relative_periods_at_month_and_year_edges(
    today: str, text: str, start: str, end: str
) -> None:
    assert parse_period(text, d(today)) == Period(d(start), d(end))


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "unknown"),
        ("   ", "unknown"),
        ("garbage", "unknown"),
        ("30days", "unknown"),
        ("7x", "unknown"),
        ("d7", "unknown"),
        ("-7d", "unknown"),
        ("2024-Q5", "unknown"),
        ("2024-Q0", "unknown"),
        ("Q2", "unknown"),
        ("2024-05-01..", "unknown"),
        ("0d", "zero"),
        ("0w", "zero"),
        ("0m", "zero"),
        ("3661d", "too_long"),  # the limit is 3660 days
        ("523w", "too_long"),  # 523 × 7 = 3661
        ("121m", "too_long"),  # 121 × 28 = 3388 < 3660, but 121 months ≈ 3683 days
        ("9999999d", "too_long"),
        ("9999999m", "too_long"),
        ("2024-13", "bad_date"),
        ("2024-00", "bad_date"),
        ("2023-02-29", "bad_date"),  # 2023 is not a leap year
        ("31.04.2024", "bad_date"),
        ("2024-05-32..2024-06-01", "bad_date"),
        ("31.05.2024-01.05.2024", "reversed"),
        ("2024-05-31..2024-05-01", "reversed"),
        ("1999", "out_of_range"),
        ("1999-12", "out_of_range"),
        ("31.12.1999-05.01.2000", "out_of_range"),
        ("2028-01", "out_of_range"),  # more than a year after today
        ("2026-11-01..2030-01-01", "out_of_range"),
        ("2026-12", "future"),
        ("2027-11-18", "future"),  # exactly a year ahead: in range, but starts after today
        ("2000-01-01..2026-11-18", "too_long"),
    ],
)
def test_bad_periods_are_refused_with_a_code(text: str, code: str) -> None:
    with pytest.raises(PeriodError) as info:
        parse_period(text, TODAY)
    assert info.value.code == code
    assert info.value.token == text


def test_period_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="zero"):
        parse_period("0d", TODAY)


def test_max_length_is_accepted() -> None:
    period = parse_period("3660d", TODAY)
    assert period.days == 3660
    # 120 months from 18 Nov 2026 = 18 Nov 2016, +1 day; 2016-11-19..2026-11-18 is
    # 10 years of 365 days plus 3 leap days (2020, 2024 and 29 Feb 2016 is before) = 3652
    assert parse_period("120m", TODAY) == Period(d("2016-11-19"), TODAY)
    assert parse_period("120m", TODAY).days == 3652


def test_every_accepted_form_parses() -> None:
    for form in ACCEPTED_FORMS:
        assert isinstance(parse_period(form, TODAY), Period), form
        assert looks_like_period(form), form


def test_default_period_is_the_last_30_days_including_today() -> None:
    period = default_period(TODAY)
    assert period == Period(d("2026-10-20"), TODAY)
    assert period.days == 30
    assert period == parse_period("30d", TODAY)


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("30d", True),
        ("неделя", True),
        ("LAST-WEEK", True),
        ("2024-Q2", True),
        ("01.05.2024-31.05.2024", True),
        ("30days", True),  # malformed, but digit-led: reported as a bad period
        ("2024-13", True),
        ("x..y", True),
        ("vk:brand", False),
        ("tg:2024channel", False),
        ("site", False),
        ("ads:vk", False),
        ("weekly", False),
        ("", False),
    ],
)
def test_looks_like_period(token: str, expected: bool) -> None:
    assert looks_like_period(token) is expected


@pytest.mark.parametrize(
    ("args", "start", "end", "account"),
    [
        ("", "2026-10-20", "2026-11-18", None),
        ("   ", "2026-10-20", "2026-11-18", None),
        ("30d vk:brand", "2026-10-20", "2026-11-18", "vk:brand"),
        ("vk:brand 30d", "2026-10-20", "2026-11-18", "vk:brand"),
        ("site", "2026-10-20", "2026-11-18", "site"),
        ("7d", "2026-11-12", "2026-11-18", None),
        ("прошлая неделя vk:brand", "2026-11-09", "2026-11-15", "vk:brand"),
        ("ig:brand Last Month", "2026-10-01", "2026-10-31", "ig:brand"),
        ("01.05.2024 - 31.05.2024 site", "2024-05-01", "2024-05-31", "site"),
        ("2024-05-01 .. 2024-05-31", "2024-05-01", "2024-05-31", None),
    ],
)
def test_split_period_account(args: str, start: str, end: str, account: str | None) -> None:
    assert split_period_account(args, TODAY) == (Period(d(start), d(end)), account)


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ("30d 7d", "two_periods"),
        ("vk:brand ig:brand", "extra_args"),
        ("vk brand", "extra_args"),
        ("30days vk:brand", "unknown"),
        ("vk:brand 0d", "zero"),
    ],
)
def test_split_period_account_errors(args: str, code: str) -> None:
    with pytest.raises(PeriodError) as info:
        split_period_account(args, TODAY)
    assert info.value.code == code


@given(
    # From 2011 on, 3660 days back never reaches before 2000.
    today=st.dates(min_value=date(2011, 1, 1), max_value=date(2090, 12, 31)),
    n=st.integers(min_value=1, max_value=3660),
)
def test_n_days_is_n_days_ending_today(today: date, n: int) -> None:
    period = parse_period(f"{n}d", today)
    assert period.end == today
    assert period.days == n


@given(
    today=st.dates(min_value=date(2011, 1, 1), max_value=date(2090, 12, 31)),
    n=st.integers(min_value=1, max_value=120),
)
def test_n_months_ends_today_and_meets_the_day_n_months_ago(today: date, n: int) -> None:
    period = parse_period(f"{n}m", today)
    assert period.end == today
    # The day before the start is the same day of month n months back (or that
    # month's last day when it is shorter).
    before = period.start - timedelta(days=1)
    assert (before.year * 12 + before.month) - (today.year * 12 + today.month) == -n
    assert before.day == min(today.day, calendar.monthrange(before.year, before.month)[1])


@given(st.dates(min_value=date(2001, 1, 1), max_value=date(2090, 12, 31)))
def test_week_and_last_week_are_iso_weeks(today: date) -> None:
    week = parse_period("week", today)
    last = parse_period("last-week", today)
    assert week.start.isoweekday() == 1
    assert week.end == today
    assert last.days == 7
    assert last.start.isoweekday() == 1
    assert last.end + timedelta(days=1) == week.start
