"""`/log` argument parsing and ratio conversion."""

from __future__ import annotations

import contextlib
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpi.logcmd import LogError, LogRequest, convert_ratios, parse_log_args

TODAY = date(2024, 6, 1)


def test_russian_names_and_spaces_in_numbers() -> None:
    r = parse_log_args("охват=12 000 лайки=340", TODAY)
    assert r == LogRequest(TODAY, None, {"reach": 12000, "likes": 340}, {})


def test_date_account_and_ratio() -> None:
    r = parse_log_args("вчера vk:brand reach=1,5k bounce_rate=45% сеансы=200", TODAY)
    assert r.day == date(2024, 5, 31)
    assert r.account == "vk:brand"
    assert r.values == {"reach": 1500, "sessions": 200}
    assert r.ratios == {"bounce_rate": 45}


@pytest.mark.parametrize(
    ("args", "day"),
    [
        ("2024-05-30 reach=1", date(2024, 5, 30)),
        ("30.05.2024 reach=1", date(2024, 5, 30)),
        ("yesterday reach=1", date(2024, 5, 31)),
        ("today reach=1", TODAY),
        ("сегодня reach=1", TODAY),
        ("позавчера reach=1", date(2024, 5, 30)),
        ("reach=1", TODAY),
    ],
)
def test_dates(args: str, day: date) -> None:
    assert parse_log_args(args, TODAY).day == day


def test_account_then_date_in_any_order_and_after_values() -> None:
    assert parse_log_args("site 2024-05-30 sessions=10", TODAY).account == "site"
    r = parse_log_args("охват=100 vk:brand", TODAY)
    assert (r.account, r.values) == ("vk:brand", {"reach": 100})


def test_multiword_names_and_spaces_around_equals() -> None:
    r = parse_log_args("link clicks = 12 просмотры страниц=1 000", TODAY)
    assert r.values == {"link_clicks": 12, "pageviews": 1000}


def test_duration_ratio() -> None:
    r = parse_log_args("время на странице=1:23 просмотры страниц=10", TODAY)
    assert r.ratios == {"avg_time_on_page": 83}


def test_time_on_site_is_per_visit_and_multiplies_sessions() -> None:
    # Metrica's "Время на сайте" is per visit: × sessions, not × pageviews.
    r = parse_log_args("время на сайте=2:30 визиты=40 просмотры страниц=100", TODAY)
    assert r.ratios == {"avg_session_duration": 150}
    values, unresolved = convert_ratios(r.values, r.ratios)
    assert values["time_on_page_s"] == pytest.approx(150 * 40)
    assert unresolved == {}


@pytest.mark.parametrize(
    ("args", "code", "token"),
    [
        ("", "empty", ""),
        ("vk:brand", "no_values", "vk:brand"),
        ("охват=12 000 блабла=3", "unknown_metric", "блабла"),
        ("блабла=3", "unknown_metric", "блабла"),
        ("охват=", "empty_value", "охват"),
        ("foo охват=1", "unknown_token", "foo"),
        ("2024-07-01 охват=1", "future_date", "2024-07-01"),
        ("2024-02-30 охват=1", "bad_date", "2024-02-30"),
        ("охват=-5", "negative", "-5"),
        ("охват=abc", "bad_value", "abc"),
        ("охват=1 reach=2", "duplicate", "reach"),
        ("bounce_rate=120%", "out_of_range", "120%"),
        ("вчера сегодня охват=1", "two_dates", "сегодня"),
        ("vk:a vk:b охват=1", "two_accounts", "vk:b"),
        ("охват=nan", "bad_value", "nan"),
    ],
)
def test_errors(args: str, code: str, token: str) -> None:
    with pytest.raises(LogError) as exc:
        parse_log_args(args, TODAY)
    assert exc.value.code == code
    assert exc.value.token == token
    assert isinstance(exc.value, ValueError)


def test_convert_ratios() -> None:
    values, unresolved = convert_ratios({"sessions": 200}, {"bounce_rate": 45})
    assert values == {"sessions": 200, "bounces": pytest.approx(90)}
    assert unresolved == {}
    values, unresolved = convert_ratios({"pageviews": 10}, {"avg_time_on_page": 83})
    assert values["time_on_page_s"] == pytest.approx(830)
    values, unresolved = convert_ratios({"reach": 1}, {"bounce_rate": 45})
    assert values == {"reach": 1}
    assert unresolved == {"bounce_rate": 45}
    # A counter typed outright wins over the one the ratio would give.
    values, _ = convert_ratios({"sessions": 200, "bounces": 7}, {"bounce_rate": 45})
    assert values["bounces"] == 7


@given(st.text(max_size=60))
def test_junk_raises_only_log_error(text: str) -> None:
    with contextlib.suppress(LogError):
        parse_log_args(text, TODAY)
