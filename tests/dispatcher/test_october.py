"""The October scenario of issue #12 through the real dispatcher: six files sent as a
new user would, then `/growth`, `/engagement`, `/bounce` and `/reach` for October,
all accounts. Every expected figure is computed here from the files' rows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest

from bot.app import create_bot, create_dispatcher
from bot.config import Settings
from kpi.numbers import format_number, format_percent
from storage import Storage
from tests.dispatcher.conftest import Harness
from tests.fakeapi.recording import RecordingSession
from tests.kpi_engine.october import FILES, as_csv, stored_values

CHAT = 4242
NOW = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
async def oct_bot(storage: Storage, settings: Settings) -> AsyncIterator[Harness]:
    session = RecordingSession()
    bot = create_bot(settings, session=session)
    dp = create_dispatcher(storage, settings, clock=lambda: NOW)
    harness = Harness(dp, bot, session, storage, settings)
    for account, rows in FILES.items():
        name = account.replace(":", "_") + ".csv"
        update = harness.fake.document(
            CHAT, f"file-{name}", name, account, data=as_csv(rows), push=False,
            language_code="en",
        )  # fmt: skip
        calls = await harness.feed(update)
        replies = " ".join(c.visible_text or "" for c in calls)
        assert "Imported" in replies or "imported" in replies, replies
    yield harness
    await bot.session.close()


def _october(account_prefix: str | None = None) -> dict[tuple[str, date], dict[str, float]]:
    return {
        (a, d): r
        for (a, d), r in stored_values().items()
        if (d.year, d.month) == (2026, 10) and (account_prefix is None or a == account_prefix)
    }


def _n(x: float) -> str:
    return format_number(x, "en", digits=len(str(int(abs(x)))) + 2)


async def test_growth_uses_the_accounts_with_both_ends(oct_bot: Harness) -> None:
    text = await oct_bot.say_text("/growth 2026-10", CHAT, language_code="en")
    lines = text.split("\n")
    values = stored_values()
    ends = {a: values[(a, date(2026, 10, 31))]["followers"] for a in ("vk:brand", "vk:shop")}
    starts = {a: values[(a, date(2026, 9, 30))]["followers"] for a in ("vk:brand", "vk:shop")}
    assert (ends, starts) == ({"vk:brand": 13568, "vk:shop": 8180},
                              {"vk:brand": 12008, "vk:shop": 8000})  # fmt: skip
    growth = (13568 + 8180 - 12008 - 8000) / 20008 * 100
    assert round(growth, 2) == 8.70
    assert lines[0] == "<b>Audience growth</b> · Oct 1–31, 2026 · all accounts" or lines[0] == (
        "Audience growth · Oct 1–31, 2026 · all accounts"
    )
    assert lines[1] == format_percent(growth, "en") == "8.7%"
    assert "Net new followers: +1,740 (from follower counts)" in lines
    assert (
        "Formula: Growth = (followers at end − followers at start) / followers at start × 100"
        " = (13,568 + 8,180 − 12,008 − 8,000) / 20,008 × 100 = 8.7%"
    ) in lines
    assert (
        "ℹ️ left out: tg:channel — no follower count in the period (the last is from Sep 10, 2026)"
    ) in lines
    assert lines[2].startswith("Previous period (Sep 1–30, 2026): ")


async def test_engagement_is_from_the_vk_rows_alone(oct_bot: Harness) -> None:
    text = await oct_bot.say_text("/engagement 2026-10", CHAT, language_code="en")
    lines = text.split("\n")
    vk = [r for (a, _), r in _october().items() if a.startswith("vk:")]
    likes = sum(r["likes"] for r in vk)
    comments = sum(r["comments"] for r in vk)
    shares = sum(r["shares"] for r in vk)
    reach = sum(r["reach"] for r in vk)
    err = (likes + comments + shares) / reach * 100
    assert lines[1] == format_percent(err, "en")
    assert (
        f"Formula: ERR = Σ interactions / Σ reach × 100 = ({_n(likes)} + {_n(comments)} + "
        f"{_n(shares)}) / {_n(reach)} × 100 = {format_percent(err, 'en')}"
    ) in lines
    assert "ℹ️ left out: ig:brand — 31 days of interactions without reach" in lines
    assert lines[2].startswith("Previous period (Sep 1–30, 2026): ")


async def test_bounce_is_from_the_sites_own_sessions(oct_bot: Harness) -> None:
    text = await oct_bot.say_text("/bounce 2026-10", CHAT, language_code="en")
    lines = text.split("\n")
    site = [r for (a, _), r in _october().items() if a == "site"]
    bounces = sum(r["bounces"] for r in site)
    sessions = sum(r["sessions"] for r in site)
    assert bounces != round(bounces)  # a rate-derived counter: shown rounded
    rate = bounces / sessions * 100
    assert 40.5 <= rate <= 41.0
    assert lines[1] == format_percent(rate, "en")
    assert (
        "Formula: Bounce rate = Σ bounces / Σ sessions × 100 = "
        f"≈ {format_number(round(bounces), 'en', digits=6)} / {_n(sessions)} × 100"
        f" = {format_percent(rate, 'en')}"
    ) in lines
    assert "ℹ️ left out: site:lp — 31 days of sessions without bounces" in lines


async def test_reach_compares_october_with_september(oct_bot: Harness) -> None:
    text = await oct_bot.say_text("/reach 2026-10", CHAT, language_code="en")
    lines = text.split("\n")
    values = stored_values()
    october = sum(r.get("reach", 0) for (_, d), r in values.items() if d.month == 10)
    september = sum(r.get("reach", 0) for (_, d), r in values.items() if d.month == 9)
    assert lines[1] == format_number(october, "en")
    assert lines[2].startswith(
        f"Previous period (Sep 1–30, 2026): {format_number(september, 'en')} "
        "(data for 30 of 30 days)"
    )
    # Σ reach is the value: the formula does not print it twice.
    assert f"Formula: Reach = Σ reach = {format_number(october, 'en')}" in lines


async def test_report_names_what_it_left_out_once(oct_bot: Harness) -> None:
    """One `ℹ️ left out` block for the whole report, not one line per KPI."""
    text = await oct_bot.say_text("/report 2026-10", CHAT, language_code="en")
    lines = text.split("\n")
    ig_days = len(_october("ig:brand"))
    lp_days = len([r for r in _october("site:lp").values() if "bounces" not in r])
    last_tg = max(d for (a, d) in stored_values() if a == "tg:channel")
    assert (ig_days, lp_days, last_tg) == (31, 31, date(2026, 9, 10))
    start = lines.index("ℹ️ left out:")
    assert lines[start - 1] == ""
    assert lines[start : start + 5] == [
        "ℹ️ left out:",
        f"• ig:brand — {ig_days} days of interactions without reach",
        f"• site:lp — {lp_days} days of sessions without bounces",
        "• tg:channel — no follower count in the period (the last is from Sep 10, 2026)",
        "",
    ]
    assert sum("left out" in line for line in lines) == 1
