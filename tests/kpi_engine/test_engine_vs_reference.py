"""The KPI engine (SQL aggregation + `kpi.kpis`) against the brute-force reference
(`tests.kpi_engine.reference`) on random multi-account data: gaps, stale accounts,
partial metrics, rate-derived counters; every period KPI; several period kinds,
all accounts and one account."""

from __future__ import annotations

import itertools
import math
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpi.kpis import KPI_FUNCTIONS, KpiResult
from kpi.models import Period
from kpi.periods import parse_period
from storage import Storage
from tests.kpi_engine import reference

FIRST = date(2026, 1, 1)
SPAN = 134  # days of data: Jan 1 .. May 14
TODAY = FIRST + timedelta(days=SPAN - 1)
METRIC_POOL = (
    "reach", "impressions", "likes", "comments", "shares", "saves", "interactions", "posts",
    "link_clicks", "sessions", "bounces", "pageviews", "time_on_page_s", "new_visitors",
    "returning_visitors", "conversions", "new_customers", "revenue", "ad_spend",
    "content_cost", "mentions", "mentions_positive", "new_followers", "unfollows",
)  # fmt: skip
PROFILES = (
    ("reach", "impressions", "likes", "comments", "shares", "saves", "posts", "link_clicks"),
    ("interactions", "impressions", "mentions", "mentions_positive", "new_followers"),
    ("sessions", "bounces", "pageviews", "time_on_page_s", "new_visitors",
     "returning_visitors", "conversions"),
    ("ad_spend", "content_cost", "link_clicks", "impressions", "new_customers", "revenue",
     "conversions"),
)  # fmt: skip
PERIODS = ("30d", "7d", "2026-04", "2026-03", "2026-Q1", "month", "week", "last-week", "ytd")
_chats = itertools.count(10_000)


@st.composite
def accounts_data(draw: st.DrawFn) -> dict[tuple[str, date], dict[str, float]]:
    """1–4 accounts, each with its own metrics, its own days (gaps), sometimes
    followers that stop early (stale) or start late, sometimes fractional counters
    (bounces = rate × sessions)."""
    values: dict[tuple[str, date], dict[str, float]] = {}
    names = draw(st.lists(st.sampled_from(["vk:a", "vk:b", "ig:c", "site", "tg:d"]),
                          min_size=2, max_size=5, unique=True))  # fmt: skip
    for name in names:
        profile = draw(st.sampled_from(PROFILES))
        mask = draw(st.integers(0, 2**16 - 1))
        metrics = [m for k, m in enumerate(profile) if (mask >> (2 * k)) % 4]  # partial
        metrics += draw(st.lists(st.sampled_from(METRIC_POOL), max_size=2, unique=True))
        metrics = list(dict.fromkeys(metrics)) or ["reach"]
        first = draw(st.integers(0, 90))
        last = min(SPAN - 1, first + draw(st.integers(0, SPAN)))
        gap = draw(st.sampled_from([0.0, 0.2, 0.5]))
        follow = draw(st.sampled_from(["none", "all", "stops", "starts"]))
        stop = draw(st.integers(first, last))
        base = draw(st.integers(100, 20_000))
        seed = draw(st.integers(0, 10_000))
        for i in range(first, last + 1):
            day = FIRST + timedelta(days=i)
            h = (seed * 7919 + i * 104729) % 1000 / 1000
            row: dict[str, float] = {}
            if h >= gap:
                for k, m in enumerate(metrics):
                    if (seed + i + k) % 5 == 0:
                        continue  # a metric missing on some days
                    v = float((seed + 31 * i + 17 * k) % 900)
                    row[m] = v + 0.37 if m == "bounces" and k % 2 else v
            has_followers = (
                follow == "all"
                or (follow == "stops" and i <= stop)
                or (follow == "starts" and i >= stop)
            )
            if has_followers and (seed + i) % 3 != 0:
                row["followers"] = float(base + 3 * i + (seed % 7) * i)
            if row:
                values[(name, day)] = row
    return values


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


# The numerator side of each checked ratio, as the engine names it.
_NUMERATOR = {"engagement": "interactions", "conversion": "conversions", "bounce": "bounces",
              "time_on_page": "time_on_page_s", "visitors": "new_visitors", "cac": "cost",
              "roi": "revenue"}  # fmt: skip


def _left(result: KpiResult) -> set[tuple[str, str]]:
    """The engine's left-out items in the reference's words."""
    out = set()
    for item in result.left_out:
        if item.reason == "unpaired":
            side = "numerator" if item.have == _NUMERATOR[result.kpi] else "denominator"
            out.add((item.account, side))
        else:
            out.add((item.account, item.reason))
    return out


_CHECK_LEFT = {"engagement", "conversion", "bounce", "time_on_page", "visitors", "cac", "roi",
               "growth"}  # fmt: skip


async def _check(storage: Storage, values: dict, period: Period, account: str | None) -> None:
    chat = next(_chats)
    ws, _ = await storage.workspaces.ensure(chat, "private", None, "Europe/Moscow")
    await storage.metrics.apply_import(ws.id, source="t", user_id=None, values=values)
    ids = {a.name: a.id for a in await storage.workspaces.list_accounts(ws.id)}
    account_id = ids[account] if account is not None else None
    previous = period.previous()
    current, before = await storage.metrics.period_pair(
        ws.id, period, account_id=account_id, margin=0.6
    )
    for data, p in ((current, period), (before, previous)):
        for name, func in KPI_FUNCTIONS.items():
            got = func(data)
            want = reference.kpi(name, values, p.start, p.end, account, margin=0.6)
            context = f"{name} {p} {account}: engine {got.value}, reference {want.value}"
            assert _close(got.value, want.value), context
            if want.value is not None and want.days:
                assert got.days_with_data == want.days, context
            if name in _CHECK_LEFT:
                assert _left(got) == want.left_out, context
            if name == "growth" and "followers_start" in want.sums:
                used = dict(got.inputs)
                assert _close(used["followers_start"], want.sums["followers_start"]), context


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    values=accounts_data(),
    period_text=st.sampled_from(PERIODS),
    one_account=st.booleans(),
)
async def test_engine_matches_the_reference(
    storage: Storage, values: dict, period_text: str, one_account: bool
) -> None:
    period = parse_period(period_text, TODAY)
    account = sorted({a for a, _ in values})[0] if one_account else None
    await _check(storage, values, period, account)


@pytest.mark.parametrize("period_text", PERIODS)
async def test_the_october_files_match_the_reference(storage: Storage, period_text: str) -> None:
    from tests.kpi_engine.october import stored_values

    period = parse_period(period_text, date(2026, 10, 31))
    await _check(storage, stored_values(), period, None)
