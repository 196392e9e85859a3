"""Periods as people write them (SPEC, "Periods"), in Russian and English.

Today is Wednesday 2026-11-18: May is this year's May, December last year's.
"""

from __future__ import annotations

from datetime import date

import pytest

from kpi.models import Period
from kpi.periods import (
    PeriodError,
    _natural,
    looks_like_period,
    parse_period,
    split_period_account,
    split_period_words,
)

TODAY = date(2026, 11, 18)
# The kind of each form, in the words of `kpi.models.Period.kind` (previous-period rule).
ROLLING, DAY, RANGE = "rolling", "rolling", "range"


def d(text: str) -> date:
    return date.fromisoformat(text)


NATURAL_FORMS = [
    # (text, start, end, kind)
    ("сегодня", "2026-11-18", "2026-11-18", DAY),
    ("Today", "2026-11-18", "2026-11-18", DAY),
    ("вчера", "2026-11-17", "2026-11-17", DAY),
    ("yesterday", "2026-11-17", "2026-11-17", DAY),
    ("позавчера", "2026-11-16", "2026-11-16", DAY),
    ("the day before yesterday", "2026-11-16", "2026-11-16", DAY),
    # a month name alone: the latest one that has begun
    ("май", "2026-05-01", "2026-05-31", "month"),
    ("Май", "2026-05-01", "2026-05-31", "month"),
    ("мае", "2026-05-01", "2026-05-31", "month"),
    ("мая", "2026-05-01", "2026-05-31", "month"),
    ("за май", "2026-05-01", "2026-05-31", "month"),
    ("в мае", "2026-05-01", "2026-05-31", "month"),
    ("may", "2026-05-01", "2026-05-31", "month"),
    ("in May", "2026-05-01", "2026-05-31", "month"),
    ("декабрь", "2025-12-01", "2025-12-31", "month"),
    ("дек.", "2025-12-01", "2025-12-31", "month"),
    ("February", "2026-02-01", "2026-02-28", "month"),
    ("ноябрь", "2026-11-01", "2026-11-18", "month"),  # contains today: ends today
    # with a year
    ("за май 2024", "2024-05-01", "2024-05-31", "month"),
    ("в мае 2024 года", "2024-05-01", "2024-05-31", "month"),
    ("мая 2024 г.", "2024-05-01", "2024-05-31", "month"),
    ("May 2024", "2024-05-01", "2024-05-31", "month"),
    ("feb 2024", "2024-02-01", "2024-02-29", "month"),
    ("05.2024", "2024-05-01", "2024-05-31", "month"),
    ("5.2024", "2024-05-01", "2024-05-31", "month"),
    ("2024 год", "2024-01-01", "2024-12-31", "year"),
    ("в 2024 году", "2024-01-01", "2024-12-31", "year"),
    ("q2 2024", "2024-04-01", "2024-06-30", "quarter"),
    ("2 квартал 2024", "2024-04-01", "2024-06-30", "quarter"),
    ("3-й квартал", "2026-07-01", "2026-09-30", "quarter"),
    # days
    ("31.05.24", "2024-05-31", "2024-05-31", DAY),
    ("31.05", "2026-05-31", "2026-05-31", DAY),
    ("15 мая", "2026-05-15", "2026-05-15", DAY),
    ("15 мая 2024", "2024-05-15", "2024-05-15", DAY),
    ("May 15, 2024", "2024-05-15", "2024-05-15", DAY),
    ("29 февраля", "2024-02-29", "2024-02-29", DAY),  # the latest leap day
    # ranges
    ("с 1 по 15 мая", "2026-05-01", "2026-05-15", RANGE),
    ("с 1 по 15 мая 2024", "2024-05-01", "2024-05-15", RANGE),
    ("с 1 мая по 15 июня", "2026-05-01", "2026-06-15", RANGE),
    ("1-15 мая", "2026-05-01", "2026-05-15", RANGE),
    ("1–15 мая", "2026-05-01", "2026-05-15", RANGE),
    ("may 1-15", "2026-05-01", "2026-05-15", RANGE),
    ("from May 1 to May 15", "2026-05-01", "2026-05-15", RANGE),
    ("с 20 декабря по 10 января", "2025-12-20", "2026-01-10", RANGE),
    ("с 20 декабря по 10 января 2025", "2024-12-20", "2025-01-10", RANGE),
    ("01.05.24-31.05.24", "2024-05-01", "2024-05-31", RANGE),
    ("с 01.05.2024 по 31.05.2024", "2024-05-01", "2024-05-31", RANGE),
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
    ("за неделю", "2026-11-12", "2026-11-18", ROLLING),
    ("за сутки", "2026-11-18", "2026-11-18", ROLLING),
    ("за последний месяц", "2026-10-19", "2026-11-18", ROLLING),
    ("3 months", "2026-08-19", "2026-11-18", ROLLING),
    # the calendar unit before
    ("прошлый квартал", "2026-07-01", "2026-09-30", "quarter"),
    ("в прошлом квартале", "2026-07-01", "2026-09-30", "quarter"),
    ("last quarter", "2026-07-01", "2026-09-30", "quarter"),
    ("прошлая неделя", "2026-11-09", "2026-11-15", "week"),
    ("на прошлой неделе", "2026-11-09", "2026-11-15", "week"),
    ("за прошлую неделю", "2026-11-09", "2026-11-15", "week"),
    ("last week", "2026-11-09", "2026-11-15", "week"),
    ("прошлый месяц", "2026-10-01", "2026-10-31", "month"),
    ("в прошлом месяце", "2026-10-01", "2026-10-31", "month"),
    ("last month", "2026-10-01", "2026-10-31", "month"),
    ("прошлый год", "2025-01-01", "2025-12-31", "year"),
    ("в прошлом году", "2025-01-01", "2025-12-31", "year"),
    ("previous year", "2025-01-01", "2025-12-31", "year"),
    # this unit so far
    ("этот год", "2026-01-01", "2026-11-18", "so_far:year"),
    ("в этом году", "2026-01-01", "2026-11-18", "so_far:year"),
    ("this year", "2026-01-01", "2026-11-18", "so_far:year"),
    ("этот месяц", "2026-11-01", "2026-11-18", "so_far:month"),
    ("в этом месяце", "2026-11-01", "2026-11-18", "so_far:month"),
    ("this month", "2026-11-01", "2026-11-18", "so_far:month"),
    ("эта неделя", "2026-11-16", "2026-11-18", "so_far:week"),
    ("на этой неделе", "2026-11-16", "2026-11-18", "so_far:week"),
    ("this week", "2026-11-16", "2026-11-18", "so_far:week"),
    ("текущий квартал", "2026-10-01", "2026-11-18", "so_far:quarter"),
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


@pytest.mark.parametrize(
    ("text", "kind", "prev_start", "prev_end"),
    [
        # a month by name: the calendar month before, whatever its length
        ("май", "month", "2026-04-01", "2026-04-30"),
        ("за март 2024", "month", "2024-02-01", "2024-02-29"),
        # the current month by name, cut at today: the same days of October
        ("ноябрь", "so_far:month", "2026-10-01", "2026-10-18"),
        ("этот год", "so_far:year", "2025-01-01", "2025-11-18"),
        ("прошлый квартал", "quarter", "2026-04-01", "2026-06-30"),
        ("на прошлой неделе", "week", "2026-11-02", "2026-11-08"),
        ("last 7 days", "rolling", "2026-11-05", "2026-11-11"),
        ("вчера", "rolling", "2026-11-16", "2026-11-16"),
        # typed days: a whole month is that month, part of one the equal span before
        ("с 1 по 31 мая", "month", "2026-04-01", "2026-04-30"),
        ("с 1 по 15 мая", "rolling", "2026-04-16", "2026-04-30"),
    ],
)
def test_natural_forms_carry_their_kind_to_the_previous_period(
    text: str, kind: str, prev_start: str, prev_end: str
) -> None:
    period = parse_period(text, TODAY)
    assert period.kind == kind
    assert period.previous() == Period(d(prev_start), d(prev_end))
