"""Number formatting in Russian and English."""

from __future__ import annotations

import math
from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpi.numbers import (
    currency_code,
    default_currency,
    format_change,
    format_day,
    format_duration,
    format_moment,
    format_money,
    format_number,
    format_percent,
    format_period,
    format_value,
)

NB = "\u00a0"  # no-break space: the Russian thousands separator
MINUS = "\u2212"


@pytest.mark.parametrize(
    ("x", "ru", "en"),
    [
        (0, "0", "0"),
        (-0.0, "0", "0"),
        (7, "7", "7"),
        (12345, f"12{NB}345", "12,345"),
        (1234567, f"1{NB}234{NB}567", "1,234,567"),
        (12345.6, f"12{NB}345,6", "12,345.6"),
        # big values: at most one decimal (1234.56 → 1234.6)
        (1234.56, f"1{NB}234,6", "1,234.6"),
        (987654.321, f"987{NB}654,3", "987,654.3"),
        # 3 significant digits from 1 up: 45.3, 4.53
        (45.3, "45,3", "45.3"),
        (45.34, "45,3", "45.3"),
        (4.531, "4,53", "4.53"),
        (4.5, "4,5", "4.5"),
        # trailing zeros dropped: 2.50 → 2.5, 3.001 → 3.00 → 3
        (2.50, "2,5", "2.5"),
        (3.001, "3", "3"),
        # small values keep 3 significant digits, never "0.0"
        (0.0179, "0,0179", "0.0179"),
        (0.5, "0,5", "0.5"),
        (0.12345, "0,123", "0.123"),
        (0.000123456, "0,000123", "0.000123"),
        (-3.14159, f"{MINUS}3,14", f"{MINUS}3.14"),
        (-12345.6, f"{MINUS}12{NB}345,6", f"{MINUS}12,345.6"),
        # 99.96 rounds to 100.0 with one decimal → "100"
        (99.96, "100", "100"),
        (0.99996, "1", "1"),
    ],
)
def test_format_number(x: float, ru: str, en: str) -> None:
    assert format_number(x, "ru") == ru
    assert format_number(x, "en") == en


def test_format_number_digits_and_unknown_language() -> None:
    # 1.23456 with 5 significant digits: 1.2346
    assert format_number(1.23456, "en", digits=5) == "1.2346"
    assert format_number(0.0123456, "ru", digits=2) == "0,012"
    # every language by its own CLDR data; a code Babel does not know, the English way
    assert format_number(1234.5, "de") == "1.234,5"
    assert format_number(1234.5, "xx") == "1,234.5"
    assert format_number(1234.5, "ru-RU") == f"1{NB}234,5"


def test_format_number_non_finite_is_not_a_number() -> None:
    assert format_number(math.nan, "ru") == "—"
    assert format_number(math.inf, "en") == "∞"
    assert format_number(-math.inf, "en") == f"{MINUS}∞"


@pytest.mark.parametrize(
    ("x", "ru", "en"),
    [
        (45.3, f"45,3{NB}%", "45.3%"),
        (0.0179, f"0,0179{NB}%", "0.0179%"),
        (100, f"100{NB}%", "100%"),
        (-12.5, f"{MINUS}12,5{NB}%", f"{MINUS}12.5%"),
    ],
)
def test_format_percent(x: float, ru: str, en: str) -> None:
    assert format_percent(x, "ru") == ru
    assert format_percent(x, "en") == en


@pytest.mark.parametrize(
    ("x", "ru", "en"),
    [
        (12345.6, f"12{NB}345,60", "12,345.60"),
        (0, "0", "0"),  # whole amounts have no decimals
        (1.005, "1", "1"),  # 1.005 is 1.00499… in binary
        (2.675, "2,67", "2.67"),
        (-1500, f"{MINUS}1{NB}500", f"{MINUS}1,500"),
        (-0.001, "0", "0"),  # no "−0"
    ],
)
def test_format_money(x: float, ru: str, en: str) -> None:
    assert format_money(x, "ru") == ru
    assert format_money(x, "en") == en


@pytest.mark.parametrize(
    ("x", "lang", "currency", "expected"),
    [
        (518, "ru", "RUB", f"518{NB}₽"),
        (518, "en", "USD", "$518"),
        (12345.6, "ru", "RUB", f"12{NB}345,60{NB}₽"),
        (12345.6, "en", "EUR", "€12,345.60"),
        (-3.5, "en", "USD", f"{MINUS}$3.50"),
        (-3.5, "ru", "RUB", f"{MINUS}3,50{NB}₽"),
        (518.4, "ru", "KZT", f"518,40{NB}₸"),
        (518, "ru", "USD", f"518{NB}$"),
        (1000, "en", "BYN", f"Br{NB}1,000"),
    ],
)
def test_format_money_with_currency(x: float, lang: str, currency: str, expected: str) -> None:
    assert format_money(x, lang, currency) == expected


@pytest.mark.parametrize(
    ("word", "code"),
    [("₽", "RUB"), ("руб.", "RUB"), ("р.", "RUB"), ("руб", "RUB"), ("$", "USD"),
     ("€", "EUR"), ("₸", "KZT"), ("kzt", "KZT"), ("тенге", "KZT"), ("GBP", "GBP"),
     ("деньги", None), ("%", None)],
)  # fmt: skip
def test_currency_words(word: str, code: str | None) -> None:
    assert currency_code(word) == code


def test_default_currency_follows_the_language() -> None:
    assert (default_currency("ru"), default_currency("en")) == ("RUB", "USD")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0:00"),
        (5, "0:05"),
        (59.4, "0:59"),
        (59.6, "1:00"),
        (95, "1:35"),  # 60 + 35
        (599, "9:59"),
        (3599, "59:59"),
        (3600, "1:00:00"),
        (3725, "1:02:05"),  # 3600 + 2 × 60 + 5
        (90061, "25:01:01"),  # 25 × 3600 + 60 + 1
        (-95, f"{MINUS}1:35"),
        (math.nan, "—"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("pct", "ru", "en"),
    [
        (12.5, f"+12,5{NB}%", "+12.5%"),
        (-3.1, f"{MINUS}3,1{NB}%", f"{MINUS}3.1%"),
        (0, f"0{NB}%", "0%"),
        (0.5, f"+0,5{NB}%", "+0.5%"),
        (-0.0179, f"{MINUS}0,0179{NB}%", f"{MINUS}0.0179%"),
        (1e-20, f"0{NB}%", "0%"),  # rounds to nothing: no sign
        (250, f"+250{NB}%", "+250%"),
    ],
)
def test_format_change(pct: float, ru: str, en: str) -> None:
    assert format_change(pct, "ru") == ru
    assert format_change(pct, "en") == en


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (45.3, "percent", "45.3%"),
        (12.5, "money", "12.50"),
        (95, "duration", "1:35"),
        (12000, "count", "12,000"),
        (1.8456, "ratio", "1.85"),
    ],
)
def test_format_value_by_unit(value: float, unit: str, text: str) -> None:
    assert format_value(value, unit, "en") == text


def _parse(text: str, lang: str) -> float:
    """An independent reader for what `format_number` writes."""
    text = text.replace(MINUS, "-")
    if lang == "ru":
        return float(text.replace(NB, "").replace(",", "."))
    return float(text.replace(",", ""))


@given(st.integers(min_value=-(10**15), max_value=10**15), st.sampled_from(["ru", "en"]))
def test_integers_round_trip(n: int, lang: str) -> None:
    text = format_number(n, lang)
    assert _parse(text, lang) == n
    assert "." not in text if lang == "en" else "," not in text


@given(st.floats(min_value=1e-9, max_value=1e12), st.sampled_from(["ru", "en"]))
def test_small_and_large_values_keep_three_significant_digits(x: float, lang: str) -> None:
    shown = _parse(format_number(x, lang), lang)
    assert shown != 0
    # 3 significant digits → relative error at most 0.5 × 10^−2 (an upper bound
    # for half a unit in the third digit)
    assert abs(shown - x) <= 0.005 * x


# --- dates: Babel's locale data, the year as a bare number ------------------------------


@pytest.mark.parametrize(
    ("start", "end", "ru", "en", "de"),
    [
        (date(2026, 12, 1), date(2026, 12, 1), "1 дек. 2026", "Dec 1, 2026", "1. Dez. 2026"),
        (date(2026, 11, 1), date(2026, 11, 30), "1–30 нояб. 2026", "Nov 1–30, 2026",
         "1.–30. Nov. 2026"),
        (date(2026, 10, 26), date(2026, 11, 1), "26 окт. – 1 нояб. 2026", "Oct 26 – Nov 1, 2026",
         "26. Okt. – 1. Nov. 2026"),
        (date(2025, 12, 15), date(2026, 1, 13), "15 дек. 2025 – 13 янв. 2026",
         "Dec 15, 2025 – Jan 13, 2026", "15. Dez. 2025 – 13. Jan. 2026"),
    ],
)  # fmt: skip
def test_days_and_periods(start: date, end: date, ru: str, en: str, de: str) -> None:
    assert [format_period(start, end, lang) for lang in ("ru", "en", "de")] == [ru, en, de]
    if start == end:
        assert [format_day(start, lang) for lang in ("ru", "en", "de")] == [ru, en, de]


def test_no_narrow_spaces_and_a_moment_on_the_24_hour_clock() -> None:
    # CLDR's U+202F / U+2009 become a no-break / plain space or none (Telegram fonts).
    for lang in ("ru", "en", "de", "kk", "ja"):
        text = format_period(date(2025, 12, 15), date(2026, 1, 13), lang)
        assert "\u202f" not in text and "\u2009" not in text
    assert format_moment(datetime(2026, 12, 1, 9, 56), "en") == "Dec 1, 2026 09:56"
    assert format_moment(datetime(2026, 12, 1, 21, 5), "ru") == "1 дек. 2026 21:05"


def test_default_currency_and_separators_come_from_the_locale() -> None:
    assert [default_currency(x) for x in ("ru", "en", "kk", "de", "en-GB")] == [
        "RUB", "USD", "KZT", "EUR", "GBP",
    ]  # fmt: skip
    assert format_percent(-45.3, "ru") == f"{MINUS}45,3{NB}%"
    assert format_money(518, "en", "RUB") == "₽518"
