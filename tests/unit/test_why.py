"""/why's decomposition: contributions add up to the total change (property test on random
multi-account data), hand-computed splits, and the refusals."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpi.kpis import KPI_FUNCTIONS, _synthesized
from kpi.models import AccountData, Period, PeriodData
from kpi.registry import PAIRS
from kpi.why import CannotSplit, Why, explain, rounded_parts

CUR = Period(date(2026, 11, 1), date(2026, 11, 30))
PREV = CUR.previous()

METRICS = {
    "engagement": ("likes", "comments", "shares", "reach", "impressions"),
    "conversion": ("conversions", "link_clicks", "sessions"),
    "bounce": ("bounces", "sessions"),
    "visitors": ("new_visitors", "returning_visitors"),
    "time_on_page": ("time_on_page_s", "pageviews"),
    "cac": ("ad_spend", "content_cost", "new_customers"),
    "roi": ("revenue", "ad_spend", "content_cost"),
    "reach": ("reach",),
    "clicks": ("link_clicks",),
    "mentions": ("mentions",),
}


def _data(period: Period, sums: Mapping[str, float], margin: float = 1.0) -> PeriodData:
    return PeriodData(period=period, sums=dict(sums), days_with_data=1, margin=margin)


def _total(period: Period, accounts: list[dict[str, float]], margin: float = 1.0) -> PeriodData:
    """The selection as the aggregation gives it: each account's sums as one account-day,
    its pairs taken on that day (both sides present), the totals summed."""
    sums: dict[str, float] = {}
    shares = []
    for i, acc in enumerate(accounts):
        for name, value in acc.items():
            sums[name] = sums.get(name, 0.0) + value
        one = _data(period, acc, margin)
        pairs = {key: _synthesized(one, key) for key in PAIRS}
        shares.append(AccountData(f"acc{i}", pairs=pairs, sums=dict(acc)))
    return PeriodData(
        period=period, sums=sums, days_with_data=1, margin=margin, accounts=tuple(shares)
    )


def _explain(kpi: str, cur: list[dict[str, float]], prev: list[dict[str, float]], margin=1.0):
    total = (_total(CUR, cur, margin), _total(PREV, prev, margin))
    return explain(kpi, *total), total


# Counts and money: 0, or at least a cent (no subnormal floats a metric never holds).
_value = st.one_of(st.just(0.0), st.integers(1, 10**7).map(float), st.floats(0.01, 1e7))


@st.composite
def _account(draw: st.DrawFn, kpi: str) -> dict[str, float]:
    """One account's sums: any subset of the KPI's metrics (partial metrics, gaps)."""
    names = draw(st.lists(st.sampled_from(METRICS[kpi]), unique=True))
    return {name: draw(_value) for name in names}


@settings(max_examples=300, deadline=None)
@given(data=st.data(), kpi=st.sampled_from(sorted(METRICS)), margin=st.floats(0.1, 1.0))
def test_contributions_add_up_to_the_total_change(
    data: st.DataObject, kpi: str, margin: float
) -> None:
    n = data.draw(st.integers(1, 5))
    cur = [data.draw(_account(kpi)) for _ in range(n)]
    prev = [data.draw(_account(kpi)) for _ in range(n)]
    why, (total_now, total_before) = _explain(kpi, cur, prev, margin)
    func = KPI_FUNCTIONS[kpi]
    now, before = func(total_now).value, func(total_before).value
    if now is None or before is None:
        assert why == CannotSplit(kpi, "no_value")
        return
    assert isinstance(why, Why), why
    assert why.current == now and why.previous == before
    # Exact up to float rounding, which is relative to the size of the terms added.
    terms = [c.change for c in why.contributions]
    scale = max(1.0, abs(now), abs(before), *(abs(t) for t in terms))
    assert math.isclose(math.fsum(terms), now - before, abs_tol=1e-9 * scale)
    if why.kind == "ratio":
        effects = [why.numerator_effect, why.denominator_effect]
        assert effects[0] is not None and effects[1] is not None
        scale = max(scale, abs(effects[0]), abs(effects[1]))
        assert math.isclose(math.fsum(effects), now - before, abs_tol=1e-9 * scale)
    assert sorted(c.account for c in why.contributions) == [f"acc{i}" for i in range(n)]


def test_err_split_by_hand() -> None:
    # brand: interactions 100 → 110 on reach 1000 → 2000; ads: 50 → 50 on 1000 → 1000.
    # ERR 150/2000 = 7.5 % → 160/3000 = 5.333… %: ΔR = −2.1667 pp.
    # k_N = 100 · ½ (1/2000 + 1/3000) = 0.041667; k_D = 100 · ½ · 310 / 6e6 = 0.0025833
    # brand: 10 · k_N − 1000 · k_D = 0.41667 − 2.58333 = −2.16667; ads: 0.
    cur = [{"likes": 110.0, "reach": 2000.0}, {"likes": 50.0, "reach": 1000.0}]
    prev = [{"likes": 100.0, "reach": 1000.0}, {"likes": 50.0, "reach": 1000.0}]
    why, _ = _explain("engagement", cur, prev)
    assert isinstance(why, Why)
    assert why.change == pytest.approx(160 / 30 - 7.5)
    brand, ads = why.contributions
    assert brand.account == "acc0" and brand.change == pytest.approx(-13 / 6)
    assert brand.numerator_change == 10 and brand.denominator_change == 1000
    assert ads.change == pytest.approx(0.0)
    assert why.numerator_effect == pytest.approx(10 * 100 * 0.5 * (1 / 2000 + 1 / 3000))
    assert why.denominator_effect == pytest.approx(-1000 * 100 * 0.5 * 310 / 6e6)
    assert (why.numerator_name, why.denominator_name) == ("interactions", "reach")
    assert why.numerator == (150, 160) and why.denominator == (2000, 3000)


def test_counter_split_names_accounts_without_data() -> None:
    cur = [{"reach": 500.0}, {}, {"reach": 300.0}]
    prev = [{"reach": 200.0}, {"reach": 100.0}, {}]
    why, _ = _explain("reach", cur, prev)
    assert isinstance(why, Why) and why.kind == "counter"
    assert why.change == 500
    assert [(c.account, c.change, c.missing_in) for c in why.contributions] == [
        ("acc0", 300, None),
        ("acc2", 300, "previous"),
        ("acc1", -100, "current"),
    ]


def test_refusals() -> None:
    why, _ = _explain("bounce", [{"bounces": 5.0, "sessions": 10.0}], [{}])
    assert why == CannotSplit("bounce", "no_value")
    why = explain("hashtags", _total(CUR, [{}]), _total(PREV, [{}]))
    assert why == CannotSplit("hashtags", "unknown_kpi")


def test_rounded_parts_add_up_on_screen() -> None:
    parts = [1.004, 1.004, 1.004, -0.002]
    shown = rounded_parts(parts, 2)
    assert sum(shown) == pytest.approx(round(sum(parts), 2))
    assert rounded_parts([0.333, 0.333, 0.334], 1) == [0.3, 0.3, 0.4]
    assert rounded_parts([-1.26, -1.26], 1) == [-1.2, -1.3]  # ties: the first


def test_a_counter_of_millions_with_kopecks_still_splits() -> None:
    """The float rounding of two sums of millions (16,777,216.01) is not a sign that the
    accounts do not add up (hypothesis found it with clicks; revenue in roubles and
    kopecks is where it happens)."""
    cur = [{}, {"link_clicks": 8388607.0}, {"link_clicks": 8388608.0}]
    prev = [{"link_clicks": 8388608.0}, {"link_clicks": 8388608.0}, {"link_clicks": 0.01}]
    why, _totals = _explain("clicks", cur, prev)
    assert isinstance(why, Why), why
    assert math.isclose(why.change, 16_777_215.0 - 16_777_216.01, rel_tol=1e-12)
    assert math.isclose(math.fsum(c.change for c in why.contributions), why.change, abs_tol=1e-8)
