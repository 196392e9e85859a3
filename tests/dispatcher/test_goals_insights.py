"""/goal, /goals (buttons), /forecast, /why and /content through the real dispatcher.

The clock is fixed at Friday 2026-11-20 12:00 Moscow time: "month" is Nov 1–30 (20 days
so far, 10 left), the last complete ISO week is Nov 9–15.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.app import create_bot, create_dispatcher
from bot.config import Settings
from handlers.filters import born
from kpi.models import PostRecord
from storage import Storage
from storage.records import Workspace
from tests.dispatcher.conftest import Harness
from tests.fakeapi.recording import RecordingSession

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
CHAT = 1001
GROUP = -100555
ADMIN, MEMBER = 501, 502
EN = {"language_code": "en"}
RU = {"language_code": "ru"}
NB = "\u00a0"


@pytest.fixture
async def h(storage: Storage, settings: Settings) -> AsyncIterator[Harness]:
    session = RecordingSession()
    bot = create_bot(settings, session=session)
    dp = create_dispatcher(storage, settings, clock=lambda: NOW)
    yield Harness(dp, bot, session, storage, settings)
    await bot.session.close()


async def _ws(h: Harness, chat_id: int = CHAT, chat_type: str = "private") -> Workspace:
    ws, _ = await h.storage.workspaces.ensure(chat_id, chat_type, None, "Europe/Moscow")
    return ws


def _days(first: date, count: int) -> list[date]:
    return [first + timedelta(k) for k in range(count)]


async def _put(h: Harness, ws: Workspace, values: dict, posts: list[PostRecord] = ()) -> None:  # type: ignore[assignment, type-arg]
    await h.storage.metrics.apply_import(
        ws.id, source="test", user_id=None, values=values, posts_in=list(posts)
    )


async def _seed_november(h: Harness, ws: Workspace) -> None:
    # main: reach 8 500 a day on Nov 1–20 → 170 000; at this pace 170 000 / 20 × 30 =
    # 255 000 = 85 % of 300 000. vk:ads: cost 4 800 for 10 new customers → CAC 480.
    values = {("main", d): {"reach": 8500.0} for d in _days(date(2026, 11, 1), 20)}
    # (cost and customers on the same day: a ratio pairs its sides per account-day)
    values[("vk:ads", date(2026, 11, 5))] = {
        "ad_spend": 4000.0,
        "content_cost": 800.0,
        "new_customers": 10.0,
    }
    await _put(h, ws, values)


async def test_goal_and_goals_with_pace_in_english(h: Harness) -> None:
    ws = await _ws(h)
    await _seed_november(h, ws)
    text = await h.say_text("/goal reach 300000 month", **EN)
    assert text.split("\n") == [
        "Goal saved.",
        "🎯 Reach ≥ 300,000 · this month (Nov 1–30, 2026)",
        "▓▓▓▓▓▓░░░░ 56.7% · 170,000 so far",
        # 10 of 30 days left (a third) and off pace: at risk, red.
        "at this pace 85% of the goal by Nov 30, 2026 🔴",
    ]
    text = await h.say_text("/goal cac < 500 month vk:ads", **EN)
    assert text.split("\n")[1:] == [
        "🎯 CAC < $500 · this month (Nov 1–30, 2026) · vk:ads",
        "$480 so far: on track 🟢",
    ]
    (msg,) = await h.say("/goals", **EN)
    assert msg.visible_text is not None
    assert msg.visible_text.split("\n")[0] == "Goals (2)"
    goals = await h.storage.goals.list_goals(ws.id)
    assert msg.callback_data == [
        f"goal:{a}:{g.id}:{born(g.created_at)}" for g in goals for a in "ax"
    ]
    assert all(len(d.encode()) <= 64 for d in msg.callback_data)
    # A new target for the same KPI, period and account replaces the old one.
    await h.say("/goal reach 170000 month", **EN)
    goals = await h.storage.goals.list_goals(ws.id)
    assert [(g.spec.kpi, g.spec.target) for g in goals] == [("cac", 500), ("reach", 170000)]
    text = await h.say_text("/goals", **EN)
    assert "▓▓▓▓▓▓▓▓▓▓ 100% · 170,000 so far · goal met ✅" in text.split("\n")


async def test_goal_in_russian(h: Harness) -> None:
    ws = await _ws(h)
    await _seed_november(h, ws)
    text = await h.say_text("/goal охват 300 000 месяц", **RU)
    assert text.split("\n") == [
        "Цель сохранена.",
        "🎯 Охват ≥ 300 000 · этот месяц (1–30 нояб. 2026)".replace(" 000", f"{NB}000"),
        f"▓▓▓▓▓▓░░░░ 56,7{NB}% · 170{NB}000 на сегодня",
        f"в таком темпе 85{NB}% цели к 30 нояб. 2026 🔴",
    ]


async def test_goal_errors_change_nothing(h: Harness) -> None:
    ws = await _ws(h)
    for args, first in [
        ("/goal wat 5", "I don't know the KPI “wat”."),
        (
            "/goal reach lots",
            "“lots” is not a number: the target is a number such as 300000 or 4%.",
        ),
        ("/goal reach 100 30d", "“30d”: a goal is for a calendar period"),
        ("/goal reach 100 month vk:nobody", "There is no account vk:nobody. See /account list."),
    ]:
        text = await h.say_text(args, **EN)
        assert text.startswith(first), text
    assert (await h.say_text("/goal", **EN)).startswith("Set a goal: /goal <kpi>")
    assert await h.storage.goals.list_goals(ws.id) == []


async def test_only_admins_set_and_delete_goals_in_groups(h: Harness) -> None:
    h.fake.set_chat_member(GROUP, ADMIN, "administrator")
    h.fake.set_chat_member(GROUP, MEMBER, "member")
    kw = {"chat_type": "supergroup", **EN}
    text = await h.say_text("/goal reach 1000", chat_id=GROUP, user_id=MEMBER, **kw)
    assert text == "Only chat administrators can change this. Anyone can ask for KPIs."
    ws = await h.storage.workspaces.get_by_chat(GROUP)
    assert ws is not None and await h.storage.goals.list_goals(ws.id) == []
    await h.say("/goal reach 1000", chat_id=GROUP, user_id=ADMIN, **kw)
    (goal,) = await h.storage.goals.list_goals(ws.id)
    (listing,) = await h.say("/goals", chat_id=GROUP, user_id=MEMBER, **kw)
    assert listing.message_id is not None
    data = f"goal:x:{goal.id}"
    calls = await h.press(GROUP, listing.message_id, data, user_id=MEMBER, **EN)
    answers = [c.params for c in calls if c.method == "answerCallbackQuery"]
    assert answers[0]["text"] == "Only chat administrators can do this."
    assert len(await h.storage.goals.list_goals(ws.id)) == 1
    calls = await h.press(GROUP, listing.message_id, data, user_id=ADMIN, **EN)
    answers = [c.params for c in calls if c.method == "answerCallbackQuery"]
    assert answers[0]["text"] == "Goal deleted: Reach ≥ 1,000."
    (edit,) = [c for c in calls if c.method == "editMessageText"]
    assert (edit.visible_text or "").startswith("No goals yet.")
    assert await h.storage.goals.list_goals(ws.id) == []
    # A second press (or a forged id) finds nothing.
    calls = await h.press(GROUP, listing.message_id, data, user_id=ADMIN, **EN)
    answers = [c.params for c in calls if c.method == "answerCallbackQuery"]
    assert answers[0]["text"] == "This goal no longer exists."


async def test_goal_ids_of_another_chat_are_not_found(h: Harness) -> None:
    other = await _ws(h, 2002)
    goal = await h.storage.goals.add_goal(other.id, (await _parse("reach 5")), None, NOW)
    await _ws(h)
    (msg,) = await h.say("/goals", **EN)
    calls = await h.press(CHAT, 1, f"goal:x:{goal.id}", **EN)
    answers = [c.params for c in calls if c.method == "answerCallbackQuery"]
    assert answers[0]["text"] == "This goal no longer exists."
    assert len(await h.storage.goals.list_goals(other.id)) == 1
    assert msg.visible_text is not None


async def _parse(args: str):  # type: ignore[no-untyped-def]
    from kpi.goals import parse_goal

    return parse_goal(args, NOW.date())


# --------------------------------------------------------------------------- /forecast


async def _seed_weeks(h: Harness, ws: Workspace, weeks: int, account: str = "ig:brand") -> None:
    # Weekly reach 7 000 + 700·k: an exact line, ending with the week of Nov 9–15.
    first = date(2026, 11, 9) - timedelta(days=7 * (weeks - 1))
    values = {}
    for w in range(weeks):
        for d in _days(first + timedelta(days=7 * w), 7):
            values[(account, d)] = {"reach": 1000.0 + 100 * w}
    await _put(h, ws, values)


async def test_forecast_of_a_straight_line(h: Harness) -> None:
    ws = await _ws(h)
    await _seed_weeks(h, ws, 12)
    text = await h.say_text("/forecast reach 3 ig:brand", **EN)
    # Week 12 (Nov 16–22) continues the line: 7 000 + 700 · 12 = 15 400, then 16 100, 16 800.
    # Drift fits a line exactly: every backtest error is 0, so the band is the line itself.
    # The backtest runs from origin 4 to 11 (8 origins), 3, 3, …, 2, 1 steps: 21 forecasts.
    # Naive's errors: 700·h at each step h → MAE (6·(700+1400+2100) + 700+1400 + 700) / 21.
    # = 28 000 / 21 = 1 333.3.
    assert text.split("\n") == [
        "📈 Reach · ig:brand",
        "Forecast by week, with an 80 % band from the backtest errors:",
        "• Nov 16–22, 2026: 15,400 (15,400 – 15,400)",
        "• Nov 23–29, 2026: 16,100 (16,100 – 16,100)",
        "• Nov 30 – Dec 6, 2026: 16,800 (16,800 – 16,800)",
        "Model: drift (the line from the first to the last value), chosen by a rolling "
        "backtest over 12 weeks (21 test forecasts).",
        "Mean absolute error in the backtest: 0 (sMAPE 0%); naive forecast: 1,333.3.",
        "A forecast carries the past on; it does not know about campaigns you plan.",
    ]


async def test_forecast_says_how_much_history_is_missing(h: Harness) -> None:
    ws = await _ws(h)
    await _seed_weeks(h, ws, 5)
    text = await h.say_text("/forecast reach", **EN)
    assert text == (
        "Reach: a forecast needs at least 8 weeks of history without gaps; there are 5. "
        "Add 3 more weeks of data (a file or /log) and ask again."
    )
    text = await h.say_text("/forecast охват", **RU)
    assert text == (
        "Охват: для прогноза нужна история без пропусков не меньше 8 нед., сейчас 5. "
        "Добавьте данные ещё за 3 нед. (файлом или /log) и спросите снова."
    )


async def test_forecast_bad_input(h: Harness) -> None:
    await _ws(h)
    assert (await h.say_text("/forecast reach 40", **EN)) == (
        "“40”: give the number of weeks ahead, from 1 to 12."
    )
    assert (await h.say_text("/forecast wat", **EN)).startswith("I don't know the KPI “wat”.")
    assert (await h.say_text("/forecast reach vk:nobody", **EN)) == (
        "There is no account vk:nobody. See /account list."
    )


# --------------------------------------------------------------------------- /why


async def test_why_err_adds_up(h: Harness) -> None:
    ws = await _ws(h)
    # Nov 1–10 vs Oct 22–31.
    # main: likes 100 → 120, reach 1 000 → 1 500; vk:brand: likes 50 → 60, reach 1 000 → 1 000.
    # ERR 150 / 2 000 = 7.5 % → 180 / 2 500 = 7.2 %: −0.3 pp.
    # k_N = 100·½(1/2000 + 1/2500) = 0.045, k_D = 100·½·330/(2000·2500) = 0.0033
    # interactions: +30 · 0.045 = +1.35 pp; reach: −500 · 0.0033 = −1.65 pp.
    # main: 20 · 0.045 − 500 · 0.0033 = −0.75 pp; vk:brand: 10 · 0.045 = +0.45 pp.
    await _put(
        h,
        ws,
        {
            ("main", date(2026, 10, 25)): {"likes": 100.0, "reach": 1000.0},
            ("main", date(2026, 11, 3)): {"likes": 120.0, "reach": 1500.0},
            ("vk:brand", date(2026, 10, 25)): {"likes": 50.0, "reach": 1000.0},
            ("vk:brand", date(2026, 11, 3)): {"likes": 60.0, "reach": 1000.0},
            # No ERR inputs at all: adds nothing and is not listed.
            ("vk:ads", date(2026, 11, 3)): {"ad_spend": 500.0},
        },
    )
    text = await h.say_text("/why er 2026-11-01..2026-11-10", **EN)
    assert text.split("\n") == [
        "❓ Engagement (ERR) · Nov 1–10, 2026 · all accounts",
        "Engagement (ERR): 7.5% → 7.2% (−0.3 pp)",
        "interactions +20% gave +1.35 pp; reach +25% gave −1.65 pp.",
        "By account (adds up to the change):",
        "• main: −0.75 pp (interactions +20, reach +500)",
        "• vk:brand: +0.45 pp (interactions +10, reach 0)",
        "Against Oct 22–31, 2026.",
    ]
    ru = (await h.say_text("/why er 2026-11-01..2026-11-10", **RU)).split("\n")
    assert ru[2] == (f"взаимодействия +20{NB}% дали +1,35 п.п.; охват +25{NB}% дали −1,65 п.п.")


async def test_why_counter_in_russian_and_without_data(h: Harness) -> None:
    ws = await _ws(h)
    await _put(
        h,
        ws,
        {
            ("main", date(2026, 10, 25)): {"reach": 1000.0},
            ("main", date(2026, 11, 3)): {"reach": 1500.0},
            ("vk:brand", date(2026, 11, 4)): {"reach": 700.0},
        },
    )
    text = await h.say_text("/why охват 2026-11-01..2026-11-10", **RU)
    assert text.split("\n") == [
        "❓ Охват · 1–10 нояб. 2026 · все аккаунты",
        f"Охват: 1{NB}000 → 2{NB}200 (+1{NB}200)",
        "По аккаунтам (в сумме — всё изменение):",
        "• vk:brand: +700 · нет данных в прошлом периоде",
        "• main: +500",
        "Сравнение с периодом 22–31 окт. 2026.",
    ]
    text = await h.say_text("/why bounce", **EN)
    assert text.split("\n")[1] == (
        "Bounce rate has no value in this period or the one before, so there is no change "
        "to explain. See /bounce for what is missing."
    )


async def test_why_and_content_read_period_and_account_as_every_kpi_command(h: Harness) -> None:
    """The shared reading (handlers/selection.py): the same replies as /roi gives."""
    ws = await _ws(h)
    await _put(h, ws, {("vk:brand", date(2026, 11, 3)): {"reach": 700.0}})
    neither = await h.say_text("/why reach banana", **EN)
    assert neither.split("\n")[0] == "“banana” is neither a period nor an account of this chat."
    assert "vk:brand" in neither  # the accounts it could have been
    assert neither.split("\n")[-1] == (
        "Example: /why reach 30d vk:brand (period and account in any order)."
    )
    assert (await h.say_text("/roi banana", **EN)).split("\n")[1:-1] == neither.split("\n")[1:-1]
    unknown = await h.say_text("/content 30d vk:nope", **EN)
    assert unknown.split("\n")[0] == "There is no account “vk:nope” in this chat."
    two = await h.say_text("/content vk:brand main", **EN)
    assert two == await h.say_text("/reach vk:brand main", **EN)
    # In either order, like the KPI commands.
    text = await h.say_text("/why reach vk:brand 2026-11-01..2026-11-10", **EN)
    assert text.split("\n")[0] == "❓ Reach · Nov 1–10, 2026 · vk:brand"


# --------------------------------------------------------------------------- /content


async def test_content_names_a_clearly_better_format(h: Harness) -> None:
    ws = await _ws(h)
    posts = []
    for k in range(10):
        day = date(2026, 11, 2) + timedelta(days=k)
        posts.append(PostRecord("main", day, f"r{k}", "reel", reach=1000, likes=80 + (k % 3) * 4))
        posts.append(PostRecord("main", day, f"p{k}", "photo", reach=1000, likes=20 + (k % 3) * 2))
    posts.append(PostRecord("main", date(2026, 11, 3), "x", "live", reach=1000, likes=500))
    await _put(h, ws, {}, posts)
    text = await h.say_text("/content 2026-11-01..2026-11-20", **EN)
    lines = text.split("\n")
    # Reels: likes 80·10 + 4·(0+1+2+0+1+2+0+1+2+0) = 836 on 10 000 reach = 8.36 %.
    # All 21 posts: (836 + 218 + 500) / 21 000 = 7.4 %.
    assert lines[0] == "🧪 What content worked · Nov 1–20, 2026 · all accounts"
    assert lines[1] == (
        "Posts: 21, ERR 7.4% (by reach). A claim needs at least 5 posts and a 90 % interval "
        "that stays clear of this ERR."
    )
    assert lines[2] == "Formats"
    assert lines[3].startswith("🟢 Better: reel: ERR 8.36% (")
    assert lines[3].endswith(", +13%), posts: 10")
    assert lines[4].startswith("🔴 Worse: photo: ERR 2.18% (")
    assert lines[5:7] == ["Weekdays", "No clear difference (groups with enough posts: 1)."]
    assert "Posting hours are unknown for imported posts: only weekdays are compared." in lines


# --------------------------------------------------------------------------- the digest


async def test_digest_leads_with_goals_and_a_why_that_adds_up(h: Harness) -> None:
    ws = await _ws(h)
    # 12 weeks, Aug 24 – Nov 15, two accounts. Every day main has reach 1 000 and likes 50,
    # vk:brand reach 500 and likes 20, except in the reported week (Nov 9–15): main reach
    # 1 500, vk:brand likes 30.
    values = {}
    for d in _days(date(2026, 8, 24), 84):
        reported = d >= date(2026, 11, 9)
        values[("main", d)] = {"reach": 1500.0 if reported else 1000.0, "likes": 50.0}
        values[("vk:brand", d)] = {"reach": 500.0, "likes": 30.0 if reported else 20.0}
    # Posts of the last 4 weeks: 8 reels at 10 % ERR, 8 photos at 2 %, all Tuesdays or so.
    posts = [
        PostRecord("main", date(2026, 10, 19) + timedelta(days=3 * k), f"r{k}", "reel",
                   reach=1000, likes=95 + (k % 3) * 5)
        for k in range(8)
    ] + [
        PostRecord("main", date(2026, 10, 20) + timedelta(days=3 * k), f"p{k}", "photo",
                   reach=1000, likes=18 + (k % 3) * 2)
        for k in range(8)
    ]  # fmt: skip
    await _put(h, ws, values, posts)
    await h.say("/goal reach 60000 2026-11-01..2026-11-20", **EN)
    await h.say("/goal er >= 4% month", **EN)
    calls = await h.say("/digest now", **EN)
    assert [c.method for c in calls] == ["sendPhoto"]
    lines = (calls[0].visible_text or "").split("\n")
    assert lines[:6] == [
        "Your SMM KPIs · weekly digest",
        "Week 46, Nov 9–15, 2026",
        # Goals as of Nov 16. Reach Nov 1–15: 8 × 1 500 + 7 × 2 000 = 26 000 in 15 days →
        # 26 000 / 15 × 20 = 34 667 = 57.8 % of 60 000, with 4 of 20 days left: at risk.
        "🎯 Reach ≥ 60,000: at this pace 57.8% by Nov 20, 2026 🔴",
        # ERR Nov 1–16: likes 8 × 70 + 7 × 80 = 1 120 on reach 26 000 = 4.31 %.
        "🎯 Engagement (ERR) ≥ 4%: 4.31%, on track 🟢",
        # Reach 10 500 → 14 000: all of it main's.
        "❓ Reach +3,500: most from main (+3,500)",
        # ERR 490 / 10 500 = 4.67 % → 560 / 14 000 = 4 %: −0.67 pp. Split (see kpi.why):
        # interactions +70 · 100·½(1/10 500 + 1/14 000) = +0.58 pp, reach −3 500 ·
        # 100·½·1 050/(10 500 · 14 000) = −1.25 pp; main −1.25 pp, vk:brand +0.58 pp.
        "❓ Engagement (ERR) −0.67 pp: interactions +14.3%, reach +33.3%, "
        "most from main (−1.25 pp)",
    ]
    # Reels: likes 8 · 95 + 5 · (0+1+2+0+1+2+0+1) = 795 on 8 000 = 9.94 %; all 16 posts:
    # (795 + 8 · 18 + 2 · 7 = 953) / 16 000 = 5.96 %, so reels are +66.8 %.
    assert lines[6].startswith("🧪 Worked best: reel: ERR 9.94% (")
    assert lines[6].endswith(", +66.8%), posts: 8")
    assert len(calls[0].params["caption"]) <= 1024
    why = await _why(h, ws)
    assert why.numerator_effect == pytest.approx(70 * 50 * (1 / 10500 + 1 / 14000))
    assert why.denominator_effect == pytest.approx(-3500 * 50 * 1050 / (10500 * 14000))
    assert sum(c.change for c in why.contributions) == pytest.approx(4 - 490 / 105)


async def _why(h: Harness, ws: Workspace):  # type: ignore[no-untyped-def]
    from bot.services.insights import why_for
    from kpi.models import Period
    from kpi.why import Why

    why = await why_for(h.storage, ws, "engagement", Period(date(2026, 11, 9), date(2026, 11, 15)))
    assert isinstance(why, Why)
    return why


async def test_goals_show_in_the_kpi_answer_and_in_report(h: Harness) -> None:
    ws = await _ws(h)
    await _seed_november(h, ws)
    await h.say("/goal reach 300000 month", **EN)
    await h.say("/goal cac < 500 month vk:ads", **EN)
    reach = (await h.say_text("/reach month", **EN)).split("\n")
    assert reach[0] == "Reach · Nov 1–20, 2026 · all accounts"
    # Only the goal of this KPI and scope, at the end of the answer.
    assert reach[-1] == "🎯 Reach ≥ 300,000: at this pace 85% by Nov 30, 2026 🔴"
    assert not any("CAC" in line for line in reach)
    cac = (await h.say_text("/cac month vk:ads", **EN)).split("\n")
    assert cac[-1] == "🎯 CAC < $500 (vk:ads): $480, on track 🟢"
    report = (await h.say_text("/report month", **EN)).split("\n")
    assert report[:2] == [
        "Report · Nov 1–20, 2026 · all accounts",
        "🎯 Reach ≥ 300,000: at this pace 85% by Nov 30, 2026 🔴",
    ]
    assert not any("CAC <" in line for line in report)  # vk:ads' goal is not all accounts'


# --------------------------------------------------------------------------- at-risk alert


async def test_goal_at_risk_alert_is_off_by_default_and_fires_once(h: Harness) -> None:
    ws = await _ws(h)
    await _seed_november(h, ws)
    await h.say("/lang en", **EN)  # the scheduled check speaks the workspace's language
    await h.say("/goal reach 300000 month", **EN)
    (goal,) = await h.storage.goals.list_goals(ws.id)
    assert (goal.alert, goal.alert_state) == (False, "ok")
    runner = h.dp["goal_alerts"]
    assert await runner.run_all(h.bot) == 0  # off: nothing, though the goal is at risk
    (listing,) = await h.say("/goals", **EN)
    b = born(goal.created_at)
    assert listing.callback_data == [f"goal:a:{goal.id}:{b}", f"goal:x:{goal.id}:{b}"]
    buttons = listing.reply_markup["inline_keyboard"][0]  # type: ignore[index]
    assert [b["text"] for b in buttons] == ["🔕 at-risk alert: off", "🗑 Reach ≥ 300,000"]
    assert listing.message_id is not None
    calls = await h.press(CHAT, listing.message_id, f"goal:a:{goal.id}", **EN)
    answers = [c.params for c in calls if c.method == "answerCallbackQuery"]
    assert answers[0]["text"] == "Reach ≥ 300,000: I'll warn when it is at risk."
    (edit,) = [c for c in calls if c.method == "editMessageText"]
    assert edit.reply_markup["inline_keyboard"][0][0]["text"] == "🔔 at-risk alert: on"  # type: ignore[index]
    before = len(h.session.calls)
    # 85 % at this pace with 10 of 30 days left: at risk → one message.
    assert await runner.run_all(h.bot) == 1
    (sent,) = h.session.calls[before:]
    assert sent.method == "sendMessage" and sent.chat_id == CHAT
    assert (sent.visible_text or "").split("\n") == [
        "⚠️ Goal at risk",
        "🎯 Reach ≥ 300,000 · this month (Nov 1–30, 2026)",
        "▓▓▓▓▓▓░░░░ 56.7% · 170,000 so far",
        "at this pace 85% of the goal by Nov 30, 2026 🔴",
        "Days left: 10. All goals: /goals",
    ]
    assert await runner.run_all(h.bot) == 0  # fires once
    # Back on pace (more reach on Nov 20): the alert clears quietly, ready for next time.
    await _put(h, ws, {("vk:brand", date(2026, 11, 20)): {"reach": 60000.0}})
    assert await runner.run_all(h.bot) == 0
    (goal,) = await h.storage.goals.list_goals(ws.id)
    assert (goal.alert, goal.alert_state) == (True, "ok")
    # A new target for the same goal keeps the switch.
    await h.say("/goal reach 900000 month", **EN)
    (goal,) = await h.storage.goals.list_goals(ws.id)
    assert goal.alert is True and goal.spec.target == 900000


async def test_data_change_checks_goal_alerts(h: Harness) -> None:
    ws = await _ws(h)
    await _seed_november(h, ws)
    await h.say("/goal reach 300000 month", **EN)
    (goal,) = await h.storage.goals.list_goals(ws.id)
    await h.storage.goals.set_alert(ws.id, goal.id, True)
    calls = await h.say("/log 2026-11-20 main likes=5", **EN)
    texts = [c.visible_text or "" for c in calls if c.method == "sendMessage"]
    assert any(t.startswith("⚠️ Goal at risk") for t in texts), texts
