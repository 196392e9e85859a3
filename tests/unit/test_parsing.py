"""kpi.parsing: numbers, durations, days and column date formats."""

from __future__ import annotations

import contextlib
from datetime import date
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpi.parsing import (
    DateFormat,
    DecimalGuesser,
    infer_date_format,
    parse_day,
    parse_duration,
    parse_number,
)

MSK = ZoneInfo("Europe/Moscow")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12000", 12000),
        ("12 000", 12000),
        ("12\u00a0000", 12000),
        ("12\u202f000", 12000),
        ("1'234'567", 1234567),
        ("1,234.5", 1234.5),
        ("1.234,5", 1234.5),
        ("1,234,567", 1234567),
        ("1.234.567", 1234567),
        ("12,5", 12.5),
        ("0,125", 0.125),
        ("1,234", 1234),  # a count, unless the column says the comma is decimal
        ("45%", 45),
        ("45,5 %", 45.5),
        ("₽1 200", 1200),
        ("1 200 руб.", 1200),
        ("1 200 р.", 1200),
        ("1200р", 1200),
        ("$1,234.50", 1234.5),
        ("€ 99", 99),
        ("12k", 12000),
        ("1,5 тыс", 1500),
        ("2 млн", 2_000_000),
        ("+3", 3),
        ("-5", -5),
        ("−5", -5),
        ("(1 234)", -1234),
        ("1.2E+05", 120000),
        (".5", 0.5),
    ],
)
def test_parse_number(text: str, expected: float) -> None:
    assert parse_number(text) == pytest.approx(expected)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "abc",
        "nan",
        "NaN",
        "inf",
        "-inf",
        "1e20",
        "5.40E+17",
        "1,2,3.4.5",
        "12..5",
        "1 2 3 x",
        "%",
        "₽",
        "--5",
        "1_000",
        "0x10",
        "1/2",
    ],
)
def test_parse_number_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a number"):
        parse_number(text)


def test_parse_number_decimal_hint() -> None:
    assert parse_number("1,234", decimal=",") == pytest.approx(1.234)
    assert parse_number("1.234", decimal=",") == 1234
    assert parse_number("1.234", decimal=".") == pytest.approx(1.234)


@given(st.text(max_size=30))
def test_parse_number_only_value_error(text: str) -> None:
    try:
        value = parse_number(text)
    except ValueError:
        return
    assert abs(value) <= 1e15


@given(st.integers(min_value=0, max_value=10**12))
def test_parse_number_grouped_roundtrip(n: int) -> None:
    assert parse_number(f"{n:,}".replace(",", " ")) == n
    assert parse_number(f"{n:,}".replace(",", "\u00a0")) == n
    assert parse_number(f"{n:,}") == n


def test_decimal_guesser() -> None:
    g = DecimalGuesser()
    for v in ["1,234", "12,5", "3"]:
        g.feed(v)
    assert g.result() == ","
    g = DecimalGuesser()
    for v in ["1,234", "1,234.56"]:
        g.feed(v)
    assert g.result() == "."
    g = DecimalGuesser()
    g.feed("1,234")
    assert g.result() is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("00:01:23", 83),
        ("1:23", 83),
        ("1:00:00", 3600),
        ("<00:00:01", 0.5),
        ("83", 83),
        ("83,5", 83.5),
        ("1 мин 5 с", 65),
        ("1m 5s", 65),
        ("2 h", 7200),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "abc", "1:99", "1:2:3:4", "-5", "12 parsecs"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-31", date(2024, 5, 31)),
        ("2024/05/31", date(2024, 5, 31)),
        ("31.05.2024", date(2024, 5, 31)),
        ("31.05.24", date(2024, 5, 31)),
        ("31/05/2024", date(2024, 5, 31)),
        ("31-05-2024", date(2024, 5, 31)),
        ("5/31/2024", date(2024, 5, 31)),
        ("20240531", date(2024, 5, 31)),
        ("2024-05-31 10:00:00", date(2024, 5, 31)),
        ("2024-05-31T22:30:00Z", date(2024, 6, 1)),  # 01:30 in Moscow
        ("2015-02-24 11:35:52 -0800", date(2015, 2, 24)),
        ("2015-02-24 14:35:52 -0800", date(2015, 2, 25)),  # 01:35 in Moscow
        ("Mon Dec 01 19:30:03 +0000 2014", date(2014, 12, 1)),
        ("Mon Dec 01 22:30:03 +0000 2014", date(2014, 12, 2)),
        ("Mon, 01 Dec 2014 19:30:03 GMT", date(2014, 12, 1)),
        ("1 мая 2024 г.", date(2024, 5, 1)),
        ("May 1, 2024", date(2024, 5, 1)),
        ("2024-05", date(2024, 5, 31)),
        ("май 2024", date(2024, 5, 31)),
    ],
)
def test_parse_day(text: str, expected: date) -> None:
    assert parse_day(text, tz=MSK) == expected


def test_parse_day_without_tz_keeps_the_written_day() -> None:
    assert parse_day("2015-02-24 23:35:52 -0800") == date(2015, 2, 24)


def test_parse_day_ambiguous_is_day_first() -> None:
    assert parse_day("03/04/2024") == date(2024, 4, 3)
    assert parse_day("03/04/2024", DateFormat.MDY) == date(2024, 3, 4)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "2024-13-01",
        "31.02.2024",
        "32/01/2024",
        "12",
        "abc 2024 def",
        "2024-05-31 25:00",
        "Mon Foo 01 2014",
    ],
)
def test_parse_day_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a date"):
        parse_day(text)


def test_infer_date_format() -> None:
    assert infer_date_format(["01/06/2021", "13/06/2021"]) is DateFormat.DMY
    assert infer_date_format(["06/01/2021", "06/13/2021"]) is DateFormat.MDY
    # No value above 12: consecutive rows decide.
    assert infer_date_format(["06/01/2021", "06/02/2021", "06/03/2021"]) is DateFormat.MDY
    assert infer_date_format(["01/06/2021", "02/06/2021", "03/06/2021"]) is DateFormat.DMY
    assert infer_date_format(["5/3/2024"]) is DateFormat.MDY  # unpadded: US spreadsheet
    assert infer_date_format(["05.03.2024"]) is DateFormat.DMY
    assert infer_date_format(["2024-05-03"]) is DateFormat.ISO
    assert infer_date_format(["20240503"]) is DateFormat.COMPACT
    assert infer_date_format(["Mon Dec 01 19:30:03 +0000 2014"]) is DateFormat.TEXT


@given(st.text(max_size=40))
def test_parse_day_only_value_error(text: str) -> None:
    with contextlib.suppress(ValueError):
        parse_day(text, tz=MSK)


@given(st.dates(min_value=date(1971, 1, 1), max_value=date(2099, 12, 31)))
def test_parse_day_roundtrip(d: date) -> None:
    assert parse_day(d.isoformat()) == d
    assert parse_day(d.strftime("%d.%m.%Y")) == d
    fmt = infer_date_format([d.strftime("%m/%d/%Y")])
    if d.day > 12:
        assert fmt is DateFormat.MDY
        assert parse_day(d.strftime("%m/%d/%Y"), fmt) == d
