"""KPI formulas: hand-computed tables, zero denominators, missing metrics, properties,
and one check against the real UCI Facebook metrics export."""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from datetime import date
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpi.kpis import (
    FORMULAS,
    KPI_FUNCTIONS,
    KPI_KEYS,
    AudienceRow,
    KpiResult,
    audience,
    bounce,
    cac,
    clicks,
    compare,
    conversion,
    engagement,
    formats,
    growth,
    hashtags,
    mentions,
    needed_metrics,
    reach,
    resolve_kpi,
    roi,
    time_on_page,
    visitors,
)
from kpi.metrics import COUNTERS, METRICS
from kpi.models import AudienceBucket, Period, PeriodData, PostRecord, follower_span
from kpi.registry import KPIS
from tests.shareddata import SMM_DATA

MAY = Period(date(2024, 5, 1), date(2024, 5, 31))
FACEBOOK_CSV = SMM_DATA / "uci_facebook_metrics.csv"  # third-party: tests marked shared_data


def pd(sums: Mapping[str, float], period: Period = MAY, **kwargs: Any) -> PeriodData:
    return PeriodData(period=period, sums=dict(sums), **kwargs)


# --- one table for the value, unit, inputs and notes of every period KPI -----------

CASES = [
    # id, function, sums, extra PeriodData fields, value, inputs, notes
    (
        "reach",
        reach,
        {"reach": 12000, "impressions": 18000},
        {},
        12000,
        [("reach", 12000)],
        ("reach_sum_overstates",),
    ),
    (
        # 300 + 40 + 20 + 40 = 400 interactions; 400 / 10 000 × 100 = 4 %
        "err by reach",
        engagement,
        {"likes": 300, "comments": 40, "shares": 20, "saves": 40, "reach": 10000},
        {},
        4.0,
        [("likes", 300), ("comments", 40), ("shares", 20), ("saves", 40), ("reach", 10000)],
        (),
    ),
    (
        # saves unknown: 300 + 40 + 20 = 360; 360 / 12 000 × 100 = 3 %
        "err from the parts that exist",
        engagement,
        {"likes": 300, "comments": 40, "shares": 20, "reach": 12000},
        {},
        3.0,
        [("likes", 300), ("comments", 40), ("shares", 20), ("reach", 12000)],
        (),
    ),
    (
        # only a platform total: 500 / 10 000 × 100 = 5 %
        "err from the interactions total",
        engagement,
        {"interactions": 500, "reach": 10000},
        {},
        5.0,
        [("interactions", 500), ("reach", 10000)],
        ("interactions_total",),
    ),
    (
        # parts win over the total: 100 + 20 = 120 (not 999); 120 / 4000 × 100 = 3 %
        "err parts over total",
        engagement,
        {"likes": 100, "comments": 20, "interactions": 999, "reach": 4000},
        {},
        3.0,
        [("likes", 100), ("comments", 20), ("reach", 4000)],
        (),
    ),
    (
        # no reach: 400 / 20 000 impressions × 100 = 2 %, labelled
        "err by impressions",
        engagement,
        {"likes": 400, "impressions": 20000},
        {},
        2.0,
        [("likes", 400), ("impressions", 20000)],
        ("by_impressions",),
    ),
    (
        # 25 / 500 × 100 = 5 %
        "conversion by clicks",
        conversion,
        {"conversions": 25, "link_clicks": 500, "sessions": 1000},
        {},
        5.0,
        [("conversions", 25), ("link_clicks", 500)],
        (),
    ),
    (
        # no link clicks: 25 / 1000 sessions × 100 = 2.5 %
        "conversion by sessions",
        conversion,
        {"conversions": 25, "sessions": 1000},
        {},
        2.5,
        [("conversions", 25), ("sessions", 1000)],
        ("sessions_denominator",),
    ),
    (
        # (1100 − 1000) / 1000 × 100 = 10 %
        "growth by followers",
        growth,
        {"new_followers": 500},
        {"followers_start": 1000, "followers_end": 1100},
        10.0,
        [("followers_end", 1100), ("followers_start", 1000)],
        (),
    ),
    (
        # net = 150 − 30 = 120; 120 / 1200 × 100 = 10 %
        "growth from flows",
        growth,
        {"new_followers": 150, "unfollows": 30},
        {"followers_start": 1200},
        10.0,
        [("new_followers", 150), ("unfollows", 30), ("followers_start", 1200)],
        ("from_follower_flows",),
    ),
    (
        # unfollows only: net = 0 − 30; −30 / 1000 × 100 = −3 %
        "growth from unfollows only",
        growth,
        {"unfollows": 30},
        {"followers_start": 1000},
        -3.0,
        [("new_followers", 0), ("unfollows", 30), ("followers_start", 1000)],
        ("from_follower_flows",),
    ),
    (
        "clicks",
        clicks,
        {"link_clicks": 250, "impressions": 50000},
        {},
        250,
        [("link_clicks", 250)],  # the formula is Σ link clicks; CTR is an extra
        (),
    ),
    (
        # 450 / 1000 × 100 = 45 %
        "bounce",
        bounce,
        {"bounces": 450, "sessions": 1000},
        {},
        45.0,
        [("bounces", 450), ("sessions", 1000)],
        (),
    ),
    (
        # 300 / (300 + 700) × 100 = 30 %
        "visitors",
        visitors,
        {"new_visitors": 300, "returning_visitors": 700},
        {},
        30.0,
        [("new_visitors", 300), ("returning_visitors", 700)],
        (),
    ),
    (
        # 9000 s / 100 pageviews = 90 s
        "time on page",
        time_on_page,
        {"time_on_page_s": 9000, "pageviews": 100},
        {},
        90.0,
        [("time_on_page_s", 9000), ("pageviews", 100)],
        (),
    ),
    (
        # (30 000 + 10 000) / 80 = 500
        "cac",
        cac,
        {"ad_spend": 30000, "content_cost": 10000, "new_customers": 80},
        {},
        500.0,
        [("ad_spend", 30000), ("content_cost", 10000), ("new_customers", 80)],
        (),
    ),
    (
        # content cost unknown counts as 0: 30 000 / 80 = 375
        "cac without content cost",
        cac,
        {"ad_spend": 30000, "new_customers": 80},
        {},
        375.0,
        [("ad_spend", 30000), ("content_cost", 0), ("new_customers", 80)],
        ("partial_cost",),
    ),
    (
        "mentions",
        mentions,
        {"mentions": 200, "mentions_positive": 120, "mentions_negative": 20},
        {},
        200,
        [("mentions", 200)],
        (),
    ),
    (
        # (100 000 × 1 − 40 000) / 40 000 × 100 = 150 %
        "roi",
        roi,
        {"revenue": 100000, "ad_spend": 30000, "content_cost": 10000},
        {},
        150.0,
        [("revenue", 100000), ("margin", 1.0), ("ad_spend", 30000), ("content_cost", 10000)],
        (),
    ),
    (
        # margin 30 %: (100 000 × 0.3 − 40 000) / 40 000 × 100 = −10 000 / 40 000 × 100 = −25 %
        "roi with margin",
        roi,
        {"revenue": 100000, "ad_spend": 30000, "content_cost": 10000},
        {"margin": 0.3},
        -25.0,
        [("revenue", 100000), ("margin", 0.3), ("ad_spend", 30000), ("content_cost", 10000)],
        (),
    ),
    (
        # content cost only: (5000 − 2000) / 2000 × 100 = 150 %
        "roi without ad spend",
        roi,
        {"revenue": 5000, "content_cost": 2000},
        {},
        150.0,
        [("revenue", 5000), ("margin", 1.0), ("ad_spend", 0), ("content_cost", 2000)],
        ("partial_cost",),
    ),
]


@pytest.mark.parametrize(
    ("func", "sums", "fields", "value", "inputs", "notes"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_kpi_values(func, sums, fields, value, inputs, notes) -> None:
    result = func(pd(sums, **fields))
    assert result.value == pytest.approx(value)
    assert result.inputs == tuple(inputs)
    assert result.notes == notes
    assert result.reason is None
    assert result.missing == ()
    assert result.ok


# --- secondary figures ------------------------------------------------------------


def test_reach_extras_and_one_day_note() -> None:
    # frequency = 18 000 / 12 000 = 1.5
    result = reach(pd({"reach": 12000, "impressions": 18000}))
    assert result.extras == {"impressions": 18000, "frequency": 1.5}
    assert result.unit == "count"
    one_day = reach(pd({"reach": 100}, Period(date(2024, 5, 1), date(2024, 5, 1))))
    # a single day's reach is not a sum of days: no overstatement note
    assert one_day.notes == ()
    assert one_day.extras["frequency"] is None


def test_engagement_extras() -> None:
    # ER by followers = 400 / 10 posts / 2000 followers × 100 = 2 %
    # ERR by impressions alongside = 400 / 20 000 × 100 = 2 %; ERR by reach 400 / 8000 = 5 %
    data = pd({"likes": 400, "reach": 8000, "impressions": 20000, "posts": 10}, followers_avg=2000)
    result = engagement(data)
    assert result.value == pytest.approx(5.0)
    assert result.extras["interactions"] == 400
    assert result.extras["er_followers"] == pytest.approx(2.0)
    assert result.extras["err_impressions"] == pytest.approx(2.0)
    assert result.formula == "err_reach"


@pytest.mark.parametrize(
    ("sums", "followers_avg"),
    [
        ({"likes": 400, "reach": 8000}, 2000),  # posts unknown
        ({"likes": 400, "reach": 8000, "posts": 0}, 2000),  # no posts
        ({"likes": 400, "reach": 8000, "posts": 10}, None),  # followers unknown
        ({"likes": 400, "reach": 8000, "posts": 10}, 0),
    ],
)
def test_er_by_followers_needs_posts_and_followers(sums, followers_avg) -> None:
    result = engagement(pd(sums, followers_avg=followers_avg))
    assert result.extras["er_followers"] is None
    assert result.value == pytest.approx(5.0)


def test_by_impressions_fallback_is_labelled() -> None:
    result = engagement(pd({"comments": 50, "impressions": 5000}))
    assert result.formula == "err_impressions"
    assert "by_impressions" in result.notes
    # 50 / 5000 × 100 = 1 %
    assert result.value == pytest.approx(1.0)
    # with reach present the same data is by reach and not labelled
    by_reach = engagement(pd({"comments": 50, "impressions": 5000, "reach": 2500}))
    assert by_reach.formula == "err_reach"
    assert "by_impressions" not in by_reach.notes
    assert by_reach.value == pytest.approx(2.0)


def test_growth_extras_net() -> None:
    result = growth(pd({}, followers_start=1000, followers_end=950))
    # (950 − 1000) / 1000 × 100 = −5 %, net −50
    assert result.value == pytest.approx(-5.0)
    assert result.extras["net"] == -50
    assert result.formula == "growth"


def test_growth_from_flows_without_start_gives_only_net() -> None:
    result = growth(pd({"new_followers": 150, "unfollows": 30}))
    assert result.value is None
    assert result.reason == "missing"
    assert result.missing == ("followers",)
    assert result.extras["net"] == 120
    assert result.formula == "growth_flows"
    assert result.notes == ("from_follower_flows",)


def test_gauge_is_not_summed() -> None:
    # followers in `sums` (as if someone summed a gauge) must not feed growth:
    # the gauge comes from followers_start/followers_end only
    result = growth(pd({"followers": 5000}, followers_start=1000, followers_end=1200))
    assert result.value == pytest.approx(20.0)
    assert "followers" not in dict(result.inputs)


def test_clicks_ctr() -> None:
    # 250 / 50 000 × 100 = 0.5 %
    assert clicks(pd({"link_clicks": 250, "impressions": 50000})).extras["ctr"] == 0.5
    # 9 / 50 000 × 100 = 0.018 %: small, but a number
    assert clicks(pd({"link_clicks": 9, "impressions": 50000})).extras["ctr"] == pytest.approx(
        0.018
    )
    no_impressions = clicks(pd({"link_clicks": 250}))
    assert no_impressions.value == 250
    assert no_impressions.extras["ctr"] is None
    zero_impressions = clicks(pd({"link_clicks": 250, "impressions": 0}))
    assert zero_impressions.value == 250
    assert zero_impressions.extras["ctr"] is None


def test_visitors_returning_share() -> None:
    result = visitors(pd({"new_visitors": 300, "returning_visitors": 700}))
    assert result.extras["returning_share"] == pytest.approx(70.0)


def test_mentions_sentiment_shares() -> None:
    # 120 / 200 × 100 = 60 %, 20 / 200 × 100 = 10 %
    result = mentions(pd({"mentions": 200, "mentions_positive": 120, "mentions_negative": 20}))
    assert result.extras == {"positive_share": 60.0, "negative_share": 10.0}
    only_total = mentions(pd({"mentions": 200}))
    assert only_total.extras == {"positive_share": None, "negative_share": None}
    none_at_all = mentions(pd({"mentions": 0, "mentions_positive": 0}))
    assert none_at_all.value == 0
    assert none_at_all.extras["positive_share"] is None


def test_roi_and_cac_extras() -> None:
    result = roi(pd({"revenue": 100000, "ad_spend": 30000, "content_cost": 10000}))
    assert result.extras == {"cost": 40000, "profit": 60000}
    assert cac(pd({"ad_spend": 300, "new_customers": 3})).extras == {"cost": 300}


def test_units_and_directions() -> None:
    units = {key: func(pd({})).unit for key, func in KPI_FUNCTIONS.items()}
    assert units == {
        "reach": "count",
        "engagement": "percent",
        "conversion": "percent",
        "growth": "percent",
        "clicks": "count",
        "bounce": "percent",
        "visitors": "percent",
        "time_on_page": "duration",
        "cac": "money",
        "mentions": "count",
        "roi": "percent",
    }
    lower = {key for key, func in KPI_FUNCTIONS.items() if not func(pd({})).higher_is_better}
    assert lower == {"bounce", "cac"}


# --- no number from zero or nothing -------------------------------------------------

ZERO_CASES = [
    ("err reach 0", engagement, {"likes": 10, "reach": 0}, {}),
    ("err impressions 0", engagement, {"likes": 10, "impressions": 0}, {}),
    ("conversion clicks 0", conversion, {"conversions": 5, "link_clicks": 0, "sessions": 100}, {}),
    ("conversion sessions 0", conversion, {"conversions": 5, "sessions": 0}, {}),
    ("growth start 0", growth, {}, {"followers_start": 0, "followers_end": 10}),
    ("growth flows start 0", growth, {"new_followers": 10}, {"followers_start": 0}),
    ("bounce", bounce, {"bounces": 0, "sessions": 0}, {}),
    ("visitors", visitors, {"new_visitors": 0, "returning_visitors": 0}, {}),
    ("time on page", time_on_page, {"time_on_page_s": 100, "pageviews": 0}, {}),
    ("cac", cac, {"ad_spend": 1000, "new_customers": 0}, {}),
    ("roi", roi, {"revenue": 1000, "ad_spend": 0, "content_cost": 0}, {}),
]


@pytest.mark.parametrize(
    ("func", "sums", "fields"), [c[1:] for c in ZERO_CASES], ids=[c[0] for c in ZERO_CASES]
)
def test_zero_denominator_gives_no_value(func, sums, fields) -> None:
    result = func(pd(sums, **fields))
    assert result.value is None
    assert result.reason == "zero_denominator"
    assert result.missing == ()
    assert not result.ok


MISSING_CASES = [
    ("reach", reach, {"impressions": 10}, ("reach",)),
    ("err nothing", engagement, {}, ("interactions", "reach")),
    ("err no reach", engagement, {"likes": 5}, ("reach",)),
    ("err no interactions", engagement, {"reach": 100}, ("interactions",)),
    ("conversion", conversion, {"link_clicks": 100}, ("conversions",)),
    ("conversion no denominator", conversion, {"conversions": 3}, ("link_clicks",)),
    ("growth", growth, {}, ("followers",)),
    ("clicks", clicks, {"impressions": 100}, ("link_clicks",)),
    ("bounce", bounce, {"bounces": 10}, ("sessions",)),
    ("visitors", visitors, {"new_visitors": 10}, ("returning_visitors",)),
    ("time on page", time_on_page, {}, ("time_on_page_s", "pageviews")),
    ("cac no cost", cac, {"new_customers": 3}, ("ad_spend", "content_cost")),
    ("cac no customers", cac, {"ad_spend": 300}, ("new_customers",)),
    ("mentions", mentions, {"mentions_positive": 3}, ("mentions",)),
    ("roi no revenue", roi, {"ad_spend": 300}, ("revenue",)),
    ("roi nothing", roi, {}, ("revenue", "ad_spend", "content_cost")),
]


@pytest.mark.parametrize(
    ("func", "sums", "missing"), [c[1:] for c in MISSING_CASES], ids=[c[0] for c in MISSING_CASES]
)
def test_missing_metrics_give_no_value_and_are_named(func, sums, missing) -> None:
    result = func(pd(sums))
    assert result.value is None
    assert result.reason == "missing"
    assert result.missing == missing
    # every missing name is a real metric the user can add
    assert set(result.missing) <= set(METRICS)
    assert set(result.missing) <= set(needed_metrics(result.kpi))


def test_zero_counter_is_not_missing() -> None:
    # 0 conversions out of 200 clicks is a real 0 %, not "missing"
    result = conversion(pd({"conversions": 0, "link_clicks": 200}))
    assert result.value == 0.0
    assert result.reason is None


# --- completeness -------------------------------------------------------------------


def test_days_with_data_and_days() -> None:
    data = pd(
        {"bounces": 10, "sessions": 100, "reach": 5},
        days_with_data=20,
        metric_days={"bounces": 12, "sessions": 15, "reach": 20},
    )
    result = bounce(data)
    # the best-covered input (sessions, 15 days), not the 20 days that reach has
    assert (result.days_with_data, result.days) == (15, 31)
    # without per-metric counts the period's figure is used
    assert bounce(pd({"bounces": 1, "sessions": 2}, days_with_data=7)).days_with_data == 7


def test_growth_completeness_is_the_span_of_the_follower_figures() -> None:
    # 31 days of reach; followers from weekly snapshots: the span the start and end
    # figures cover counts, not the 4 snapshot days and not the 31 days of reach.
    def data(span: int | None) -> PeriodData:
        return pd(
            {"reach": 5},
            days_with_data=31,
            metric_days={"reach": 31, "followers": 4},
            followers_start=1000,
            followers_end=1100,
            followers_days=span,
        )

    assert growth(data(31)).value == 10.0
    assert (growth(data(31)).days_with_data, growth(data(31)).days) == (31, 31)
    assert growth(data(21)).days_with_data == 21  # the last count 10 days before the end
    assert growth(data(None)).days_with_data == 31  # span unknown: the period's days


def D(day: int) -> date:  # a day of May 2024, short for the table below
    return date(2024, 5, day)


@pytest.mark.parametrize(
    ("accounts", "days"),
    [
        ([], None),
        ([(True, None, None)], None),  # a value before, none inside: no end figure
        ([(True, date(2024, 5, 31), date(2024, 5, 31))], 31),  # before + last day
        ([(True, date(2024, 5, 3), date(2024, 5, 21))], 21),  # May 1 .. 21
        ([(False, date(2024, 5, 3), date(2024, 5, 21))], 19),  # May 3 .. 21
        # two accounts: latest start (May 10) to earliest end (May 20)
        ([(False, D(10), D(31)), (True, D(1), D(20))], 11),
        ([(False, D(25), D(31)), (True, D(1), D(20))], 0),  # no common day
    ],
)  # fmt: skip
def test_follower_span(
    accounts: list[tuple[bool, date | None, date | None]], days: int | None
) -> None:
    assert follower_span(MAY, accounts) == days


# --- compare --------------------------------------------------------------------------


def _r(kpi: str, value: float | None, higher_is_better: bool = True) -> KpiResult:
    return KpiResult(kpi, value, "percent", kpi, higher_is_better=higher_is_better)


@pytest.mark.parametrize(
    ("current", "previous", "absolute", "relative", "better"),
    [
        # 150 − 100 = 50; 50 / 100 × 100 = 50 %
        (_r("roi", 150), _r("roi", 100), 50, 50, True),
        # ROI falling from 100 to −25: −125, −125 %
        (_r("roi", -25), _r("roi", 100), -125, -125, False),
        # from a negative ROI upward: −50 → −25 is +25 and better; relative by |−50|: +50 %
        (_r("roi", -25), _r("roi", -50), 25, 50, True),
        # bounce 40 → 45: +5 points, 5 / 40 × 100 = 12.5 %, worse
        (_r("bounce", 45, False), _r("bounce", 40, False), 5, 12.5, False),
        # CAC 500 → 375: −125, −25 %, better
        (_r("cac", 375, False), _r("cac", 500, False), -125, -25, True),
        # previous 0: no relative change, the direction still counts
        (_r("mentions", 10), _r("mentions", 0), 10, None, True),
        (_r("roi", 100), _r("roi", 100), 0, 0, None),
        (_r("roi", 100), _r("roi", None), None, None, None),
        (_r("roi", None), _r("roi", 100), None, None, None),
    ],
)
def test_compare(current, previous, absolute, relative, better) -> None:
    change = compare(current, previous)
    assert change.absolute == (None if absolute is None else pytest.approx(absolute))
    assert change.relative == (None if relative is None else pytest.approx(relative))
    assert change.better is better
    assert (change.current, change.previous) == (current.value, previous.value)


# --- hashtags and formats -------------------------------------------------------------


def _post(pid: str, tags: tuple[str, ...], fmt: str | None, reach_: float, **kw: Any):
    return PostRecord("vk:brand", date(2024, 5, 1), pid, fmt, tags, reach=reach_, **kw)


POSTS = (
    _post("p1", ("sale", "promo"), "photo", 1000, likes=50, comments=10),  # 60
    _post("p2", ("#sale",), "video", 2000, likes=100, shares=20),  # 120
    _post("p3", ("promo", "Sale"), "photo", 1000, likes=10),  # 10
    _post("p4", ("rare", "best"), "reel", 500, likes=100),  # 100
    _post("p5", (), "photo", 500, likes=10),  # 10
    _post("p6", ("best",), "video", 500, likes=50),  # 50
)
# Overall: 60 + 120 + 10 + 100 + 10 + 50 = 350 interactions over
# 1000 + 2000 + 1000 + 500 + 500 + 500 = 5500 reach → 350 / 5500 × 100 = 6.3636… %


def test_hashtags_rows_hand_computed() -> None:
    rows = hashtags(POSTS)
    assert [r.key for r in rows] == ["best", "sale", "promo"]  # "rare" has 1 post
    best, sale, promo = rows
    baseline = 350 / 5500 * 100
    # best: p4 + p6 = 150 / 1000 × 100 = 15 %; lift = 15 / 6.3636 − 1 = 135.714… %
    assert best.posts == 2
    assert best.err == pytest.approx(15.0)
    assert best.lift == pytest.approx((15 * 55 / 350 - 1) * 100)
    assert best.avg_reach == pytest.approx(500)
    # sale (p1, p2, p3, "#sale" and "Sale" fold together): 190 / 4000 × 100 = 4.75 %
    assert sale.posts == 3
    assert sale.err == pytest.approx(4.75)
    assert sale.avg_reach == pytest.approx(4000 / 3)
    assert sale.avg_interactions == pytest.approx(190 / 3)
    assert sale.lift == pytest.approx((4.75 * 55 / 350 - 1) * 100)  # −25.357… %
    # promo (p1, p3): 70 / 2000 × 100 = 3.5 %; 3.5 × 55 / 350 = 0.55 → −45 %
    assert promo.err == pytest.approx(3.5)
    assert promo.lift == pytest.approx(-45.0)
    assert all(r.baseline_err == pytest.approx(baseline) for r in rows)
    assert all(r.basis == "reach" for r in rows)


def test_hashtags_min_posts() -> None:
    assert {r.key for r in hashtags(POSTS, min_posts=1)} == {"best", "sale", "promo", "rare"}
    assert hashtags(POSTS, min_posts=4) == []


def test_hashtags_from_text_when_not_given() -> None:
    posts = [
        PostRecord(
            "ig:b", date(2024, 5, 1), "a", text="Новинка #Скидки #скидки #ai", reach=100, likes=10
        ),
        PostRecord("ig:b", date(2024, 5, 2), "b", text="#скидки again", reach=100, likes=30),
    ]
    rows = hashtags(posts)
    # "#Скидки #скидки" in one post counts once: 2 posts, 40 / 200 × 100 = 20 %
    assert [(r.key, r.posts) for r in rows] == [("скидки", 2)]
    assert rows[0].err == pytest.approx(20.0)
    assert rows[0].lift == pytest.approx(0.0)  # the tag is on every post


def test_formats_rows_hand_computed() -> None:
    rows = formats(POSTS)
    # reel has one post: left out
    assert [r.key for r in rows] == ["video", "photo"]
    video, photo = rows
    # video: p2 + p6 = 170 / 2500 × 100 = 6.8 %; 6.8 × 55 / 350 = 1.0686 → +6.857 %
    assert video.err == pytest.approx(6.8)
    assert video.lift == pytest.approx((6.8 * 55 / 350 - 1) * 100)
    # photo: p1 + p3 + p5 = 80 / 2500 × 100 = 3.2 %; 3.2 × 55 / 350 − 1 = −49.714 %
    assert photo.posts == 3
    assert photo.err == pytest.approx(3.2)
    assert photo.lift == pytest.approx(-49.714285714)


def test_formats_by_impressions_when_no_post_has_reach() -> None:
    posts = [
        PostRecord("a", date(2024, 5, 1), "1", "Photo", impressions=1000, likes=20),
        PostRecord("a", date(2024, 5, 1), "2", "photo", impressions=3000, likes=20),
        PostRecord("a", date(2024, 5, 1), "3", "video", impressions=1000, likes=60),
        PostRecord("a", date(2024, 5, 1), "4", "video", impressions=1000, likes=40),
    ]
    rows = formats(posts)
    # video: 100 / 2000 × 100 = 5 %; photo ("Photo" folds in): 40 / 4000 × 100 = 1 %
    # overall: 140 / 6000 × 100 = 2.333… %
    assert [(r.key, r.basis) for r in rows] == [("video", "impressions"), ("photo", "impressions")]
    assert rows[0].err == pytest.approx(5.0)
    assert rows[1].err == pytest.approx(1.0)
    assert rows[0].baseline_err == pytest.approx(140 / 6000 * 100)
    assert rows[0].avg_reach is None


def test_posts_without_reach_or_interactions_have_no_err() -> None:
    posts = [
        PostRecord("a", date(2024, 5, 1), "1", "story", likes=5),
        PostRecord("a", date(2024, 5, 1), "2", "story", likes=15),
    ]
    [row] = formats(posts)
    assert row.err is None and row.lift is None and row.basis is None
    assert row.avg_interactions == pytest.approx(10.0)
    assert hashtags([]) == []


# --- audience -------------------------------------------------------------------------


def test_audience_groups_and_shares() -> None:
    buckets = [
        AudienceBucket("city", "Москва", 300, False),
        AudienceBucket("gender", "female", 62.5, True),
        AudienceBucket("gender", "male", 37.5, True),
        AudienceBucket("age", "18-24", 40, True),
        AudienceBucket("age", "25-34", 60, True),
        AudienceBucket("city", "Казань", 100, False),
        AudienceBucket("city", "Москва", 100, False),  # another account: counts add up
        AudienceBucket("language", "ru", 90, True),
    ]
    result = audience(buckets)
    assert list(result) == ["age", "gender", "city", "language"]
    # city counts: Москва 300 + 100 = 400, Казань 100; 400 / 500 × 100 = 80 %
    assert result["city"] == (
        AudienceRow("Москва", 400, 80.0, False),
        AudienceRow("Казань", 100, 20.0, False),
    )
    assert [r.bucket for r in result["age"]] == ["25-34", "18-24"]
    assert result["gender"][0].share == 62.5
    assert audience([AudienceBucket("age", "18-24", 0, False)])["age"][0].share is None


# --- catalogue ------------------------------------------------------------------------


def test_catalogue() -> None:
    assert len(KPI_KEYS) == 12
    assert len(set(KPI_KEYS)) == 12
    assert set(KPI_FUNCTIONS) == set(KPI_KEYS) - {"hashtags"}
    for key in KPI_KEYS:  # every alias and command of the registry names its own KPI
        for word in (*KPIS[key].aliases, *KPIS[key].commands):
            assert resolve_kpi(word) == key, word
    for key in KPI_KEYS:
        assert set(needed_metrics(key)) <= set(METRICS), key
    for key, func in KPI_FUNCTIONS.items():
        assert func(pd({})).kpi == key
        assert func(pd({})).formula in FORMULAS


@pytest.mark.parametrize(
    ("word", "key"),
    [
        ("er", "engagement"),
        ("/ER", "engagement"),
        ("ctr", "clicks"),
        ("roi", "roi"),
        ("timeonpage", "time_on_page"),
        ("time-on-page", "time_on_page"),
        ("охват", "reach"),
        ("Вовлечённость", "engagement"),
        ("вовлеченность", "engagement"),
        ("конверсия", "conversion"),
        ("рост", "growth"),
        ("клики", "clicks"),
        ("отказы", "bounce"),
        ("посетители", "visitors"),
        ("время", "time_on_page"),
        ("хэштеги", "hashtags"),
        ("упоминания", "mentions"),
        ("погода", None),
    ],
)
def test_resolve_kpi(word: str, key: str | None) -> None:
    assert resolve_kpi(word) == key


def test_needed_metrics() -> None:
    assert needed_metrics("roi") == ("revenue", "ad_spend", "content_cost")
    assert needed_metrics("ctr") == ("link_clicks", "impressions")
    with pytest.raises(KeyError):
        needed_metrics("weather")


# --- properties ------------------------------------------------------------------------

money = st.floats(min_value=0.01, max_value=1e9, allow_nan=False)


@given(revenue=money, ad=money, content=money, k=st.floats(min_value=1e-3, max_value=1e3))
def test_roi_is_unchanged_when_revenue_and_cost_scale_together(revenue, ad, content, k) -> None:
    base = roi(pd({"revenue": revenue, "ad_spend": ad, "content_cost": content}))
    scaled = roi(pd({"revenue": revenue * k, "ad_spend": ad * k, "content_cost": content * k}))
    assert base.value is not None and scaled.value is not None
    assert scaled.value == pytest.approx(base.value, rel=1e-9, abs=1e-9)


counts = st.integers(min_value=0, max_value=10**12)  # counters count whole things


@given(likes=counts, comments=counts, shares=counts, saves=counts, reach_=counts)
def test_err_is_non_negative_and_finite(likes, comments, shares, saves, reach_) -> None:
    result = engagement(
        pd(
            {
                "likes": likes,
                "comments": comments,
                "shares": shares,
                "saves": saves,
                "reach": reach_,
            }
        )
    )
    if reach_ == 0:
        assert result.value is None
    else:
        assert result.value is not None
        assert 0 <= result.value < math.inf


@given(
    sums=st.dictionaries(
        st.sampled_from(COUNTERS), st.floats(min_value=-1e300, max_value=1e300), max_size=12
    ),
    start=st.none() | st.floats(min_value=0, max_value=1e300),
    end=st.none() | st.floats(min_value=0, max_value=1e300),
)
def test_no_kpi_ever_returns_nan_or_infinity(sums, start, end) -> None:
    data = pd(sums, followers_start=start, followers_end=end, followers_avg=end)
    for func in KPI_FUNCTIONS.values():
        result = func(data)
        assert result.value is None or math.isfinite(result.value)
        assert (result.value is None) == (result.reason is not None)
        for extra in result.extras.values():
            assert extra is None or math.isfinite(extra)


# --- the real UCI Facebook export --------------------------------------------------------


def _read_facebook() -> list[dict[str, str]]:
    with FACEBOOK_CSV.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.mark.shared_data
def test_err_and_ctr_proxy_from_the_uci_facebook_file() -> None:
    rows = _read_facebook()
    # The file: 500 posts, CR-only line ends, 6 empty cells (1 Paid, 1 like, 4 share).
    assert len(rows) == 500
    assert sum(v == "" for row in rows for v in row.values()) == 6

    def total(column: str) -> float:
        # an empty cell is "no value", so it adds nothing to the sum
        return sum(float(row[column]) for row in rows if row[column] != "")

    data = pd(
        {
            "reach": total("Lifetime Post Total Reach"),
            "impressions": total("Lifetime Post Total Impressions"),
            "likes": total("like"),
            "comments": total("comment"),
            "shares": total("share"),
            # Consumptions (clicks on the post of any kind) stand in for link clicks.
            "link_clicks": total("Lifetime Post Consumptions"),
        }
    )
    err = engagement(data)
    ctr = clicks(data).extras["ctr"]

    # Independent path: the export's own "Total Interactions" column and exact fractions.
    interactions = sum(Fraction(row["Total Interactions"]) for row in rows)
    reach_sum = sum(Fraction(row["Lifetime Post Total Reach"]) for row in rows)
    consumptions = sum(Fraction(row["Lifetime Post Consumptions"]) for row in rows)
    impressions = sum(Fraction(row["Lifetime Post Total Impressions"]) for row in rows)
    assert interactions == 106060 and reach_sum == 6951680
    assert err.value == pytest.approx(float(interactions / reach_sum * 100), rel=1e-12)
    assert err.value == pytest.approx(1.52567, abs=1e-5)  # 106 060 / 6 951 680 × 100
    assert ctr == pytest.approx(float(consumptions / impressions * 100), rel=1e-12)
    assert ctr == pytest.approx(4.78312, abs=1e-5)  # 707 565 / 14 792 974 × 100

    # A ratio of sums, not the average of per-post ratios (which is 2.41 % here).
    mean_of_ratios = (
        sum(
            Fraction(row["Total Interactions"]) / Fraction(row["Lifetime Post Total Reach"])
            for row in rows
        )
        / len(rows)
        * 100
    )
    assert err.value is not None
    assert abs(err.value - float(mean_of_ratios)) > 0.5


@pytest.mark.shared_data
def test_formats_from_the_uci_facebook_file() -> None:
    rows = _read_facebook()

    def num(value: str) -> float | None:
        return float(value) if value != "" else None

    posts = [
        PostRecord(
            "fb:page",
            date(2014, 1, 1),
            str(i),
            row["Type"],
            reach=num(row["Lifetime Post Total Reach"]),
            impressions=num(row["Lifetime Post Total Impressions"]),
            likes=num(row["like"]),
            comments=num(row["comment"]),
            shares=num(row["share"]),
        )
        for i, row in enumerate(rows)
    ]
    rows_by_format = {r.key: r for r in formats(posts)}
    assert set(rows_by_format) == {"photo", "status", "link", "video"}

    # Independent: accumulate per type from the Total Interactions column.
    acc: dict[str, list[Fraction]] = {}
    for row in rows:
        pair = acc.setdefault(row["Type"].lower(), [Fraction(0), Fraction(0), Fraction(0)])
        pair[0] += Fraction(row["Total Interactions"])
        pair[1] += Fraction(row["Lifetime Post Total Reach"])
        pair[2] += 1
    overall = Fraction(106060, 6951680)
    for key, (inter, reach_sum, n) in acc.items():
        got = rows_by_format[key]
        assert got.posts == n
        assert got.err == pytest.approx(float(inter / reach_sum * 100), rel=1e-12)
        assert got.lift == pytest.approx(float((inter / reach_sum / overall - 1) * 100), rel=1e-9)
    errs = [r.err for r in formats(posts) if r.err is not None]
    assert len(errs) == 4
    assert errs == sorted(errs, reverse=True)
