"""Engagement of a Telegram channel: ER by followers as the value without reach or
impressions, ERR by views (TGStat) alongside; both computed by hand."""

from __future__ import annotations

from datetime import date

import pytest

from bot.i18n import create_i18n
from handlers import kpi_texts
from kpi.arithmetic import formula_numbers
from kpi.kpis import compare, engagement
from kpi.models import Period, PeriodData

WEEK = Period(date(2024, 5, 1), date(2024, 5, 7))


def test_channel_er_by_followers_is_the_value() -> None:
    # 30 reactions + 6 comments = 36 interactions over 4 posts = 9 per post;
    # 9 / 1 500 average followers × 100 = 0.6 %.
    # ERR by views = 6 000 views / 4 posts / 1 500 × 100 = 100 %.
    data = PeriodData(
        period=WEEK,
        sums={"reactions": 30, "comments": 6, "posts": 4, "views": 6000},
        followers_avg=1500,
    )
    result = engagement(data)
    assert result.value == pytest.approx(0.6)
    assert result.formula == "er_followers"
    assert result.notes == ("by_followers",)
    assert result.extras["er_followers"] == pytest.approx(0.6)
    assert result.extras["err_views"] == pytest.approx(100.0)
    assert result.extras["interactions"] == 36
    assert dict(result.inputs) == {
        "comments": 6,
        "reactions": 30,
        "posts": 4,
        "followers_avg": 1500,
    }
    assert formula_numbers(result, "en") == "(6 + 30) / 4 / 1,500 × 100"
    with create_i18n("ru").context() as i18n, i18n.use_locale("en"):
        lines = kpi_texts.extras_lines(result, "en")
        line = kpi_texts.report_line(result, compare(result, result), "en")
        formula = kpi_texts.formula_line(result, "en")
    assert "ER by followers: 0.6% per post" not in lines  # it is the value itself
    assert "ERR by views: 100% (Σ views / Σ posts / average followers × 100)" in lines
    assert formula == (
        "Formula: ER by followers = Σ interactions / Σ posts / average followers × 100"
        " = (6 + 30) / 4 / 1,500 × 100 = 0.6%"
    )
    assert line.startswith("• ")
    assert "<b>0.6%</b> (by followers), ERR by views 100%" in line


def test_reach_still_wins_and_views_are_an_extra() -> None:
    # reach known: ERR by reach = 50 / 1 000 × 100 = 5 %; views 900 / 3 posts / 600 × 100 = 50 %
    data = PeriodData(
        period=WEEK,
        sums={"likes": 50, "reach": 1000, "posts": 3, "views": 900},
        followers_avg=600,
    )
    result = engagement(data)
    assert result.value == pytest.approx(5.0)
    assert result.formula == "err_reach"
    assert result.extras["err_views"] == pytest.approx(50.0)
    assert result.extras["er_followers"] == pytest.approx(50 / 3 / 600 * 100)


def test_views_without_followers_or_posts_give_no_err_by_views() -> None:
    no_followers = engagement(PeriodData(period=WEEK, sums={"views": 900, "posts": 3}))
    assert no_followers.extras["err_views"] is None
    assert no_followers.value is None
    no_posts = engagement(PeriodData(period=WEEK, sums={"views": 900}, followers_avg=600))
    assert no_posts.extras["err_views"] is None


def test_views_only_channel_report_shows_err_by_views() -> None:
    # no interactions: no engagement value, but ERR by views = 1 200 / 2 / 400 × 100 = 150 %
    data = PeriodData(period=WEEK, sums={"views": 1200, "posts": 2}, followers_avg=400)
    result = engagement(data)
    assert result.value is None
    assert result.extras["err_views"] == pytest.approx(150.0)
    with create_i18n("ru").context() as i18n, i18n.use_locale("en"):
        text = kpi_texts.report_answer(
            [(result, compare(result, result))], None, False, WEEK, "@chan", 7, "en"
        )
    assert "• ERR by views: <b>150%</b>" in text
