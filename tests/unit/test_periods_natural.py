"""Periods as people write them (SPEC, "Periods"), in Russian and English.

Today is Wednesday 2026-11-18: May is this year's May, December last year's.
"""

from __future__ import annotations

from datetime import date

import pytest

from kpi.models import Period
from kpi.periods import (
    CALENDAR,
    ROLLING,
    SO_FAR,
    PeriodError,
    _natural,
    looks_like_period,
    parse_period,
    split_period_account,
    split_period_words,
)

TODAY = date(2026, 11, 18)


def d(text: str) -> date:
    return date.fromisoformat(text)


NATURAL_FORMS = [
    # (text, start, end, kind)
    ("сегодня", "2026-11-18", "2026-11-18", CALENDAR),
    ("Today", "2026-11-18", "2026-11-18", CALENDAR),
    ("вчера", "2026-11-17", "2026-11-17", CALENDAR),
    ("yesterday", "2026-11-17", "2026-11-17", CALENDAR),
    ("позавчера", "2026-11-16", "2026-11-16", CALENDAR),
    ("the day before yesterday", "2026-11-16", "2026-11-16", CALENDAR),
    # a month name alone: the latest one that has begun
    ("май", "2026-05-01", "2026-05-31", CALENDAR),
    ("Май", "2026-05-01", "2026-05-31", CALENDAR),
    ("мае", "2026-05-01", "2026-05-31", CALENDAR),
    ("мая", "2026-05-01", "2026-05-31", CALENDAR),
    ("за май", "2026-05-01", "2026-05-31", CALENDAR),
    ("в мае", "2026-05-01", "2026-05-31", CALENDAR),
    ("may", "2026-05-01", "2026-05-31", CALENDAR),
    ("in May", "2026-05-01", "2026-05-31", CALENDAR),
    ("декабрь", "2025-12-01", "2025-12-31", CALENDAR),
    ("дек.", "2025-12-01", "2025-12-31", CALENDAR),
    ("February", "2026-02-01", "2026-02-28", CALENDAR),
    ("ноябрь", "2026-11-01", "2026-11-18", CALENDAR),  # contains today: ends today
    # with a year
    ("за май 2024", "2024-05-01", "2024-05-31", CALENDAR),
    ("в мае 2024 года", "2024-05-01", "2024-05-31", CALENDAR),
    ("мая 2024 г.", "2024-05-01", "2024-05-31", CALENDAR),
    ("May 2024", "2024-05-01", "2024-05-31", CALENDAR),
    ("feb 2024", "2024-02-01", "2024-02-29", CALENDAR),
    ("05.2024", "2024-05-01", "2024-05-31", CALENDAR),
    ("5.2024", "2024-05-01", "2024-05-31", CALENDAR),
    ("2024 год", "2024-01-01", "2024-12-31", CALENDAR),
    ("в 2024 году", "2024-01-01", "2024-12-31", CALENDAR),
    ("q2 2024", "2024-04-01", "2024-06-30", CALENDAR),
    ("2 квартал 2024", "2024-04-01", "2024-06-30", CALENDAR),
    ("3-й квартал", "2026-07-01", "2026-09-30", CALENDAR),
    # days
    ("31.05.24", "2024-05-31", "2024-05-31", CALENDAR),
    ("31.05", "2026-05-31", "2026-05-31", CALENDAR),
    ("15 мая", "2026-05-15", "2026-05-15", CALENDAR),
    ("15 мая 2024", "2024-05-15", "2024-05-15", CALENDAR),
    ("May 15, 2024", "2024-05-15", "2024-05-15", CALENDAR),
    ("29 февраля", "2024-02-29", "2024-02-29", CALENDAR),  # the latest leap day
    # ranges
    ("с 1 по 15 мая", "2026-05-01", "2026-05-15", ROLLING),
    ("с 1 по 15 мая 2024", "2024-05-01", "2024-05-15", ROLLING),
    ("с 1 мая по 15 июня", "2026-05-01", "2026-06-15", ROLLING),
    ("1-15 мая", "2026-05-01", "2026-05-15", ROLLING),
    ("1–15 мая", "2026-05-01", "2026-05-15", ROLLING),
    ("may 1-15", "2026-05-01", "2026-05-15", ROLLING),
    ("from May 1 to May 15", "2026-05-01", "2026-05-15", ROLLING),
    ("с 20 декабря по 10 января", "2025-12-20", "2026-01-10", ROLLING),
    ("с 20 декабря по 10 января 2025", "2024-12-20", "2025-01-10", ROLLING),
    ("01.05.24-31.05.24", "2024-05-01", "2024-05-31", ROLLING),
    ("с 01.05.2024 по 31.05.2024", "2024-05-01", "2024-05-31", ROLLING),
    ("с 1 ноября", "2026-11-01", "2026-11-18", ROLLING),  # since: up to today
    ("since Oct 20", "2026-10-20", "2026-11-18", ROLLING),
    # rolling spans
    ("last 7 days", "2026-11-12", "2026-11-18", ROLLING),
    ("past 30 days", "2026-10-20", "2026-11-18", ROLLING),
    ("за последние 7 дней", "2026-11-12", "2026-11-18", ROLLING),
    ("последние 2 недели", "2026-11-05", "2026-11-18", ROLLING),
    ("30 дней", "2026-10-20", "2026-11-18", ROLLING),
    ("последнюю неделю", "2026-11-12", "2026-11-18", ROLLING),
    ("past week", "2026-11-12", "2026-11-18", ROLLING),
    ("за последний месяц", "2026-10-19", "2026-11-18", ROLLING),
    ("3 months", "2026-08-19", "2026-11-18", ROLLING),
    # the calendar unit before
    ("прошлый квартал", "2026-07-01", "2026-09-30", CALENDAR),
    ("в прошлом квартале", "2026-07-01", "2026-09-30", CALENDAR),
    ("last quarter", "2026-07-01", "2026-09-30", CALENDAR),
    ("прошлая неделя", "2026-11-09", "2026-11-15", CALENDAR),
    ("на прошлой неделе", "2026-11-09", "2026-11-15", CALENDAR),
    ("за прошлую неделю", "2026-11-09", "2026-11-15", CALENDAR),
    ("last week", "2026-11-09", "2026-11-15", CALENDAR),
    ("прошлый месяц", "2026-10-01", "2026-10-31", CALENDAR),
    ("в прошлом месяце", "2026-10-01", "2026-10-31", CALENDAR),
    ("last month", "2026-10-01", "2026-10-31", CALENDAR),
    ("прошлый год", "2025-01-01", "2025-12-31", CALENDAR),
    ("в прошлом году", "2025-01-01", "2025-12-31", CALENDAR),
    ("previous year", "2025-01-01", "2025-12-31", CALENDAR),
    # this unit so far
    ("этот год", "2026-01-01", "2026-11-18", SO_FAR),
    ("в этом году", "2026-01-01", "2026-11-18", SO_FAR),
    ("this year", "2026-01-01", "2026-11-18", SO_FAR),
    ("этот месяц", "2026-11-01", "2026-11-18", SO_FAR),
    ("в этом месяце", "2026-11-01", "2026-11-18", SO_FAR),
    ("this month", "2026-11-01", "2026-11-18", SO_FAR),
    ("эта неделя", "2026-11-16", "2026-11-18", SO_FAR),
    ("на этой неделе", "2026-11-16", "2026-11-18", SO_FAR),
    ("this week", "2026-11-16", "2026-11-18", SO_FAR),
    ("текущий квартал", "2026-10-01", "2026-11-18", SO_FAR),
]


@pytest.mark.parametrize(("text", "start", "end", "kind"), NATURAL_FORMS)
def test_natural_forms(text: str, start: str, end: str, kind: str) -> None:
    assert parse_period(text, TODAY) == Period(d(start), d(end))
    natural = _natural(text.lower(), TODAY)
    assert natural is not None and natural.kind == kind
    assert looks_like_period(text)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("31 февраля", "bad_date"),
        ("31.02.24", "bad_date"),
        ("13.2024", "bad_date"),
        ("с 15 по 1 мая", "reversed"),
        ("декабрь 2026", "future"),  # December 2026 has not begun on 18 Nov 2026
        ("15 декабря 2026", "future"),
        ("май 1999", "out_of_range"),
        ("last 0 days", "zero"),
        ("banana", "unknown"),
        ("за", "unknown"),
        ("q2", "unknown"),  # which year's? (2024-Q2 or q2 2024)
    ],
)
def test_natural_forms_refused(text: str, code: str) -> None:
    with pytest.raises(PeriodError) as info:
        parse_period(text, TODAY)
    assert (info.value.code, info.value.token) == (code, text)


@pytest.mark.parametrize(
    ("args", "start", "end", "account"),
    [
        ("вчера vk:shop", "2026-11-17", "2026-11-17", "vk:shop"),
        ("vk:shop вчера", "2026-11-17", "2026-11-17", "vk:shop"),
        ("май", "2026-05-01", "2026-05-31", None),
        ("за май 2024 vk:brand", "2024-05-01", "2024-05-31", "vk:brand"),
        ("vk:brand с 1 по 15 мая", "2026-05-01", "2026-05-15", "vk:brand"),
        ("last month", "2026-10-01", "2026-10-31", None),
        ("site last 7 days", "2026-11-12", "2026-11-18", "site"),
        ("1 - 15 мая", "2026-05-01", "2026-05-15", None),
    ],
)
def test_split_natural_period_and_account(
    args: str, start: str, end: str, account: str | None
) -> None:
    assert split_period_account(args, TODAY) == (Period(d(start), d(end)), account)


def test_split_words_keeps_every_non_period_word() -> None:
    period, others = split_period_words("banana вчера vk:shop", TODAY)
    assert period == Period(d("2026-11-17"), d("2026-11-17"))
    assert others == ["banana", "vk:shop"]
    assert split_period_words("banana", TODAY) == (None, ["banana"])
    with pytest.raises(PeriodError) as info:
        split_period_words("май 30d", TODAY)
    assert (info.value.code, info.value.token) == ("two_periods", "30d")
