"""/alert, /alerts, the alert buttons and the evaluation runner, through the real
dispatcher with a fixed clock, a recording Bot API session and real SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from bot.app import create_bot, create_dispatcher
from bot.config import Settings
from bot.services.alerts import AlertRunner
from bot.services.delivery import PacedSender
from handlers.filters import born
from storage import Storage
from storage.records import Workspace
from tests.dispatcher.conftest import Harness
from tests.fakeapi.recording import RecordingSession

NBSP = "\u00a0"
CHAT = 1001
OTHER = 2002
GROUP = -100500
ADMIN, MEMBER = 3001, 3002
# Wednesday 25 Nov 2026, 12:00 in Moscow: the latest complete week is 16–22 Nov,
# its baseline weeks 19 Oct – 15 Nov.
START = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
LATEST = date(2026, 11, 18)  # a day inside the week judged


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
async def h(storage: Storage, settings: Settings, clock: Clock) -> AsyncIterator[Harness]:
    session = RecordingSession()
    bot = create_bot(settings, session=session)
    # No pacing between messages to one chat (SEND_PACING=false): the budget has its own tests.
    sender = PacedSender()
    dp = create_dispatcher(storage, settings, sender=sender, clock=clock)
    harness = Harness(dp, bot, session, storage, settings)
    yield harness
    await bot.session.close()


def runner(h: Harness) -> AlertRunner:
    alerts = h.dp["alerts"]
    assert isinstance(alerts, AlertRunner)
    return alerts


async def workspace(h: Harness, chat_id: int = CHAT, lang: str = "en", **kw: Any) -> Workspace:
    """The chat's workspace, speaking `lang` (alerts sent by the bot use the workspace's
    language, else the default, Russian)."""
    await h.say(f"/lang {lang}", chat_id=chat_id, language_code=lang, **kw)
    ws = await h.storage.workspaces.get_by_chat(chat_id)
    assert ws is not None
    return ws


async def seed_bounce(
    h: Harness, ws: Workspace, latest_bounces: float, *, account: str = "main"
) -> None:
    """Eleven weeks at 40 % bounce (400 of 1 000 sessions), then the week judged."""
    values: dict[tuple[str, date], dict[str, float]] = {}
    for k in range(1, 12):
        values[(account, LATEST - timedelta(days=7 * k))] = {"sessions": 1000, "bounces": 400}
    values[(account, LATEST)] = {"sessions": 1000, "bounces": latest_bounces}
    await h.storage.metrics.apply_import(ws.id, source="test", user_id=None, values=values)


async def changed(h: Harness, ws: Workspace, first: date = LATEST, last: date = LATEST) -> list:
    before = len(h.session.calls)
    fresh = await h.storage.workspaces.get(ws.id)
    assert fresh is not None
    await h.dp["data_changed"].emit(h.bot, fresh, first, last)
    return h.session.calls[before:]


async def rule_of(h: Harness, ws: Workspace, kpi: str = "bounce"):
    rules = [r for r in await h.storage.alerts.list_rules(ws.id) if r.kpi == kpi]
    assert len(rules) == 1
    return rules[0]


def answers(calls: list) -> list[dict[str, Any]]:
    return [c.params for c in calls if c.method == "answerCallbackQuery"]


# --------------------------------------------------------------------------- firing


async def test_a_data_change_fires_the_default_bounce_rule_once(h: Harness) -> None:
    ws = await workspace(h)
    await seed_bounce(h, ws, 600)
    calls = await changed(h, ws)
    assert [c.method for c in calls] == ["sendPhoto"]
    photo = calls[0]
    assert photo.chat_id == CHAT
    assert photo.params.get("disable_notification") in (None, False)
    assert photo.files["photo"].data.startswith(b"\x89PNG")
    assert photo.visible_text == "\n".join(
        (
            "🔴 Bounce rate: 50% above the usual level",
            "Week Nov 16–22, 2026 · all accounts",
            "Bounce rate = 600 / 1,000 × 100 = 60%; median of the 4 weeks before: 40% → +50%",
            "Rule: Bounce rate +20% vs the median of 4 weeks · all accounts; "
            "at least 100 sessions a week.",
        )
    )
    rule = await rule_of(h, ws)
    b = born(rule.created_at)  # the rule's creation time: a reused id is not this rule
    assert photo.callback_data == [
        f"al:d:{rule.id}:0:{b}",
        f"al:w:{rule.id}:0:{b}",
        f"al:m:{rule.id}:0:{b}",
        f"al:r:{rule.id}:{date(2026, 11, 16).toordinal()}:{b}",
    ]
    assert all(len(d.encode()) <= 64 for d in photo.callback_data)
    assert (rule.state, rule.state_since) == ("firing", START)
    (event,) = await h.storage.alerts.events(ws.id)
    assert (event.event, event.rule_id, event.value, event.baseline) == ("fired", rule.id, 60, 40)
    assert (event.period_start, event.period_end) == (date(2026, 11, 16), date(2026, 11, 22))

    # Again after another change, and on the schedule: nothing new.
    assert await changed(h, ws) == []
    assert await runner(h).run_all(h.bot) == 0
    assert len(await h.storage.alerts.events(ws.id)) == 1


async def test_the_alert_in_russian(h: Harness) -> None:
    ws = await workspace(h, lang="ru")
    await seed_bounce(h, ws, 600)
    (photo,) = await changed(h, ws)
    assert photo.visible_text == "\n".join(
        (
            f"🔴 Показатель отказов: на 50{NBSP}% выше обычного уровня",
            "Неделя 16–22 нояб. 2026 · все аккаунты",
            f"Показатель отказов = 600 / 1{NBSP}000 × 100 = 60{NBSP}%; "
            f"медиана за 4 недели до этого: 40{NBSP}% → +50{NBSP}%",
            f"Правило: Показатель отказов +20{NBSP}% к медиане за 4 недели · все аккаунты; "
            "не меньше 100 визитов в неделю.",
        )
    )
    assert photo.reply_markup is not None
    labels = [b["text"] for row in photo.reply_markup["inline_keyboard"] for b in row]
    assert labels == [
        "🔕 Тишина на день",
        "🔕 Тишина на неделю",
        "🔇 Выключить правило",
        "📊 Отчёт за неделю",
    ]


async def test_a_change_outside_the_weeks_judged_is_skipped(h: Harness) -> None:
    ws = await workspace(h)
    await seed_bounce(h, ws, 600)
    # Only days of the current week, or before the baseline: no evaluation.
    assert await changed(h, ws, date(2026, 11, 23), date(2026, 11, 25)) == []
    assert await changed(h, ws, date(2026, 9, 1), date(2026, 10, 18)) == []
    assert (await rule_of(h, ws)).state == "ok"
    # The scheduled run evaluates anyway.
    assert await runner(h).run_all(h.bot) == 1
    assert (await rule_of(h, ws)).state == "firing"


async def test_recovery_says_how_long_the_alert_lasted(h: Harness, clock: Clock) -> None:
    ws = await workspace(h)
    await seed_bounce(h, ws, 600)
    await changed(h, ws)
    # Still above the recovery line (48 × 0.95 = 45.6 %): no message.
    await seed_bounce(h, ws, 470)
    assert await changed(h, ws) == []
    clock.now = START + timedelta(days=2, hours=3)
    await seed_bounce(h, ws, 410)
    (msg,) = await changed(h, ws)
    assert msg.method == "sendMessage"
    assert msg.visible_text == "\n".join(
        (
            "✅ Bounce rate is back to normal: 41% for the week Nov 16–22, 2026.",
            "Median of the 4 weeks before: 40%.",
            "Rule: Bounce rate +20% vs the median of 4 weeks · all accounts. "
            "The alert lasted 2 d 3 h.",
        )
    )
    rule = await rule_of(h, ws)
    assert (rule.state, rule.state_since) == ("ok", clock.now)
    assert [e.event for e in await h.storage.alerts.events(ws.id)] == ["fired", "recovered"]
    assert await changed(h, ws) == []


async def test_low_volume_week_does_not_fire(h: Harness) -> None:
    ws = await workspace(h)
    values = {("main", LATEST - timedelta(days=7 * k)): {"sessions": 1000.0, "bounces": 400.0}
              for k in range(1, 5)}  # fmt: skip
    values[("main", LATEST)] = {"sessions": 99.0, "bounces": 90.0}  # 91 %, 99 sessions
    await h.storage.metrics.apply_import(ws.id, source="t", user_id=None, values=values)
    assert await changed(h, ws) == []
    assert (await rule_of(h, ws)).state == "ok"


async def test_snooze_holds_the_alert_until_it_ends(h: Harness, clock: Clock) -> None:
    ws = await workspace(h)
    rule = await rule_of(h, ws)
    await h.storage.alerts.snooze(ws.id, rule.id, START + timedelta(days=1))
    await seed_bounce(h, ws, 600)
    assert await changed(h, ws) == []
    clock.now = START + timedelta(hours=23)
    assert await runner(h).run_all(h.bot) == 0
    clock.now = START + timedelta(days=1)
    assert await runner(h).run_all(h.bot) == 1
    assert (await rule_of(h, ws)).state == "firing"


async def test_a_blocked_chat_marks_the_workspace_inactive(h: Harness) -> None:
    ws = await workspace(h)
    await seed_bounce(h, ws, 600)
    h.fake.block_chat(CHAT)
    calls = await changed(h, ws)
    assert [(c.method, c.status) for c in calls] == [("sendPhoto", 403)]
    fresh = await h.storage.workspaces.get(ws.id)
    assert fresh is not None and not fresh.active
    # The transition is undone: the rule fires when the chat is back.
    assert (await rule_of(h, ws)).state == "ok"
    assert await h.storage.alerts.events(ws.id) == []
    assert await runner(h).run_all(h.bot) == 0  # inactive workspaces are skipped


async def test_rejected_html_falls_back_to_plain_text(h: Harness) -> None:
    ws = await workspace(h)
    await seed_bounce(h, ws, 600)
    h.fake.fail_next("sendPhoto", status=400, description="Bad Request: can't parse entities: test")
    calls = await changed(h, ws)
    assert [(c.method, c.status) for c in calls] == [("sendPhoto", 400), ("sendPhoto", 200)]
    assert calls[1].params.get("parse_mode") is None
    assert calls[1].text is not None and calls[1].text.startswith("🔴 Bounce rate: 50% above")
    assert "<b>" not in calls[1].text
    assert (await rule_of(h, ws)).state == "firing"


async def test_threshold_rule_on_one_account_with_the_threshold_in_the_text(
    h: Harness,
) -> None:
    ws = await workspace(h)
    await h.say("/account add vk:brand", language_code="en")
    text = await h.say_text("/alert bounce > 55% vk:brand", language_code="en")
    assert text.startswith(
        "Rule added: Bounce rate > 55% · vk:brand; at least 100 sessions a week."
    )
    await seed_bounce(h, ws, 600, account="vk:brand")
    calls = await changed(h, ws)
    photos = [c for c in calls if c.method == "sendPhoto"]
    assert len(photos) == 2  # the default spike rule over all accounts, and this one
    threshold = next(p for p in photos if "threshold" in (p.visible_text or ""))
    assert (threshold.visible_text or "").splitlines()[:3] == [
        "🔴 Bounce rate: 60%, above the 55% threshold",
        "Week Nov 16–22, 2026 · vk:brand",
        "Bounce rate = 600 / 1,000 × 100 = 60%; threshold 55%; "
        "median of the 4 weeks before: 40% → +50%",
    ]


async def test_adding_a_rule_that_is_already_breached_alerts_at_once(h: Harness) -> None:
    ws = await workspace(h)
    await seed_bounce(h, ws, 300)  # 30 %, a fall: the default rule stays quiet
    assert await changed(h, ws) == []
    calls = await h.say("/alert bounce < 35%", language_code="en")
    assert [c.method for c in calls] == ["sendMessage", "sendPhoto"]
    assert (calls[1].visible_text or "").startswith("🟢 Bounce rate: 30%, below the 35% threshold")


# --------------------------------------------------------------------------- /alert


async def test_alert_adds_rules_in_english_and_russian(h: Harness) -> None:
    ws = await workspace(h)
    assert await h.say_text("/alert cac > 1500", language_code="en") == "\n".join(
        (
            "Rule added: CAC > $1,500 · all accounts; at least 3 new customers a week.",
            "I check the latest complete week (Monday–Sunday) after every import and every "
            "hour, and write here once when the rule breaks and once when it is back to "
            "normal. All rules: /alerts",
        )
    )
    await h.say("/lang ru")
    text = await h.say_text("/alert охват -30% мин=5000", language_code="ru")
    assert text.startswith(
        f"Правило добавлено: Охват −30{NBSP}% к медиане за 4 недели · все аккаунты; "
        f"охват не меньше 5{NBSP}000 в неделю."
    )
    rules = await h.storage.alerts.list_rules(ws.id)
    assert [(r.kpi, r.kind, r.op, r.value, r.min_volume) for r in rules] == [
        ("bounce", "spike", "+", 20.0, 100.0),
        ("cac", "spike", "+", 25.0, 3.0),
        ("cac", "threshold", ">", 1500.0, None),
        ("reach", "spike", "-", 30.0, 5000.0),
    ]
    # Refused, naming the rule it repeats.
    assert await h.say_text("/alert cac > 1500", language_code="ru") == (
        f"Такое правило уже есть: 3. CAC > 1{NBSP}500{NBSP}₽ · все аккаунты. Все правила: /alerts."
    )


@pytest.mark.parametrize(
    ("args", "lang", "first_line"),
    [
        ("bounce 60%", "en", "After the KPI write a condition: “> 60%”, “< 100%” (a threshold) "
                             "or “+25%”, “-30%” (a change against the usual level)."),
        ("отказы 60%", "ru", "После KPI напишите условие: «> 60%», «< 100%» (порог) или «+25%», "
                             "«-30%» (изменение к обычному уровню)."),
        ("likes > 5", "en", "I don't know the KPI “likes”."),
        ("лайки > 5", "ru", "Не знаю KPI «лайки»."),
        ("cac > 15%", "en", "“15%”: this KPI is not a percentage; give the threshold as a "
                            "plain number."),
        ("cac > 15%", "ru", "«15%»: этот KPI не в процентах, укажите порог обычным числом."),
        ("hashtags > 2", "ru", "«hashtags» — не одно число, для него нельзя завести оповещение."),
        ("reach -150%", "en",
         "“-150%”: a change must be from 1 % to 1000 % (a fall: up to 100 %)."),
        ("bounce > 60% <b>x</b>", "en", "I don't understand “<b>x</b>”."),
    ],
)  # fmt: skip
async def test_bad_alert_syntax_answers_with_examples(
    h: Harness, args: str, lang: str, first_line: str
) -> None:
    ws = await workspace(h, lang=lang)
    text = await h.say_text(f"/alert {args}", language_code=lang)
    lines = text.splitlines()
    assert lines[0] == first_line
    example = (
        "/alert bounce > 60% — bounce rate above 60 %"
        if lang == "en"
        else "/alert отказы > 60% — показатель отказов выше 60 %"
    )
    assert example in lines
    assert len(await h.storage.alerts.list_rules(ws.id)) == 2


async def test_alert_without_arguments_shows_usage(h: Harness) -> None:
    text = await h.say_text("/alert", language_code="en")
    assert text.startswith("Add an alert rule: /alert <KPI> <condition> [account]\n\nExamples:")


async def test_alert_for_an_unknown_account(h: Harness) -> None:
    ws = await workspace(h)
    text = await h.say_text("/alert bounce > 60% vk:nobody", language_code="en")
    assert text == "There is no account vk:nobody in this chat. See /account list."
    assert len(await h.storage.alerts.list_rules(ws.id)) == 2


async def test_only_admins_add_rules_in_groups(h: Harness) -> None:
    h.fake.set_chat_member(GROUP, MEMBER, "member")
    kw = {"chat_type": "supergroup", "language_code": "en"}
    text = await h.say_text("/alert roi < 100%", chat_id=GROUP, user_id=MEMBER, **kw)
    assert text == "Only chat administrators can change this. Anyone can ask for KPIs."
    ws = await h.storage.workspaces.get_by_chat(GROUP)
    assert ws is not None and len(await h.storage.alerts.list_rules(ws.id)) == 2
    h.fake.set_chat_member(GROUP, ADMIN, "administrator")
    text = await h.say_text("/alert roi < 100%", chat_id=GROUP, user_id=ADMIN, **kw)
    assert text.startswith("Rule added: ROI < 100% · all accounts; cost of at least 1,000 a week.")


# --------------------------------------------------------------------------- /alerts


async def test_alerts_lists_rules_with_state_snooze_and_minimum(h: Harness, clock: Clock) -> None:
    ws = await workspace(h)
    await seed_bounce(h, ws, 600)
    await changed(h, ws)
    cac = await rule_of(h, ws, "cac")
    await h.storage.alerts.snooze(ws.id, cac.id, START + timedelta(days=7))
    (msg,) = await h.say("/alerts", language_code="en")
    assert msg.visible_text == "\n".join(
        (
            "Alert rules",
            "1. Bounce rate +20% vs the median of 4 weeks · all accounts",
            "    at least 100 sessions a week · 🔴 alert since Nov 25, 2026 12:00",
            "2. CAC +25% vs the median of 4 weeks · all accounts",
            # No CAC inputs last week: not "✅ ok" (before), it says so.
            "    at least 3 new customers a week · ⚪ no data last week · 🔕 snoozed until "
            "Dec 2, 2026 12:00",
            "",
            "Add: /alert bounce > 60%, /alert cac +25% vk:brand. "
            "Weeks run Monday–Sunday, time zone Europe/Moscow.",
        )
    )
    bounce = await rule_of(h, ws)
    b1, b2 = born(bounce.created_at), born(cac.created_at)
    assert msg.callback_data == [
        f"al:t:{bounce.id}:0:{b1}",
        f"al:x:{bounce.id}:0:{b1}",
        f"al:t:{cac.id}:0:{b2}",
        f"al:x:{cac.id}:0:{b2}",
    ]


async def test_switch_off_and_on_and_delete_from_the_list(h: Harness) -> None:
    ws = await workspace(h)
    (listing,) = await h.say("/alerts", language_code="en")
    bounce = await rule_of(h, ws)
    calls = await h.press(CHAT, listing.message_id, f"al:t:{bounce.id}:0", language_code="en")
    assert answers(calls)[0].get("text") == "Rule switched off."
    (edit,) = [c for c in calls if c.method == "editMessageText"]
    assert "    at least 100 sessions a week · 🔇 off" in (edit.visible_text or "")
    assert not (await rule_of(h, ws)).enabled
    # A muted rule never fires.
    await seed_bounce(h, ws, 600)
    assert await changed(h, ws) == []
    # Switched on again while breached: it fires at once.
    calls = await h.press(CHAT, listing.message_id, f"al:t:{bounce.id}:0", language_code="en")
    assert [c.method for c in calls] == ["answerCallbackQuery", "editMessageText", "sendPhoto"]
    calls = await h.press(CHAT, listing.message_id, f"al:x:{bounce.id}:0", language_code="en")
    assert answers(calls)[0].get("text") == "Rule deleted."
    assert [r.kpi for r in await h.storage.alerts.list_rules(ws.id)] == ["cac"]


# --------------------------------------------------------------------------- buttons


async def fired_group(h: Harness) -> tuple[Workspace, int, int]:
    """A supergroup whose bounce rule fired; returns (workspace, rule id, alert message id)."""
    h.fake.set_chat_member(GROUP, ADMIN, "administrator")
    h.fake.set_chat_member(GROUP, MEMBER, "member")
    ws = await workspace(h, GROUP, chat_type="supergroup", user_id=ADMIN)
    await seed_bounce(h, ws, 600)
    (photo,) = await changed(h, ws)
    assert photo.message_id is not None
    return ws, (await rule_of(h, ws)).id, photo.message_id


async def test_admin_snoozes_for_a_day_and_a_week(h: Harness) -> None:
    ws, rule_id, message_id = await fired_group(h)
    calls = await h.press(GROUP, message_id, f"al:d:{rule_id}:0", user_id=ADMIN, language_code="en")
    assert answers(calls)[0].get("text") == "Snoozed until Nov 26, 2026 12:00."
    (note,) = [c for c in calls if c.method == "sendMessage"]
    assert note.visible_text == (
        "🔕 Bounce rate +20% vs the median of 4 weeks · all accounts: "
        "quiet until Nov 26, 2026 12:00."
    )
    assert (await rule_of(h, ws)).snoozed_until == START + timedelta(days=1)
    await h.press(GROUP, message_id, f"al:w:{rule_id}:0", user_id=ADMIN, language_code="en")
    assert (await rule_of(h, ws)).snoozed_until == START + timedelta(days=7)


async def test_admin_mutes_the_rule_from_the_alert(h: Harness) -> None:
    ws, rule_id, message_id = await fired_group(h)
    calls = await h.press(GROUP, message_id, f"al:m:{rule_id}:0", user_id=ADMIN, language_code="en")
    assert answers(calls)[0].get("text") == "Rule muted."
    rule = await rule_of(h, ws)
    assert (rule.enabled, rule.state) == (False, "ok")


async def test_non_admin_press_only_gets_a_polite_answer(h: Harness) -> None:
    ws, rule_id, message_id = await fired_group(h)
    before = await rule_of(h, ws)
    for action in ("d", "w", "m", "t", "x"):
        calls = await h.press(
            GROUP, message_id, f"al:{action}:{rule_id}:0", user_id=MEMBER, language_code="en"
        )
        assert {c.method for c in calls} <= {"getChatMember", "answerCallbackQuery"}
        assert answers(calls) == [
            {
                "callback_query_id": answers(calls)[0]["callback_query_id"],
                "text": "Only chat administrators can do this.",
                "show_alert": True,
            }
        ]
    assert await rule_of(h, ws) == before


async def test_a_press_from_another_chat_does_nothing(h: Harness) -> None:
    ws, rule_id, _message_id = await fired_group(h)
    before = await h.storage.alerts.list_rules(ws.id)
    await workspace(h, OTHER)
    for action in ("d", "m", "x", "t", "r"):
        calls = await h.press(OTHER, 1, f"al:{action}:{rule_id}:739000", language_code="en")
        assert [c.method for c in calls] == ["answerCallbackQuery"]
        assert answers(calls)[0]["text"] == "This rule is not in this chat (or it was deleted)."
    assert await h.storage.alerts.list_rules(ws.id) == before


async def test_week_report_for_anyone(h: Harness) -> None:
    ws, rule_id, message_id = await fired_group(h)
    week = date(2026, 11, 16).toordinal()
    calls = await h.press(
        GROUP, message_id, f"al:r:{rule_id}:{week}", user_id=MEMBER, language_code="en"
    )
    assert [c.method for c in calls] == ["answerCallbackQuery", "sendMessage"]
    assert calls[1].visible_text == "\n".join(
        (
            "📊 Week Nov 16–22, 2026 · all accounts",
            "Bounce rate: 60% (+50% vs the week before)",
        )
    )
    assert (await rule_of(h, ws)).snoozed_until is None


async def test_forged_button_data_is_refused_politely(h: Harness) -> None:
    ws = await workspace(h)
    rule = await rule_of(h, ws)
    for data in (f"al:zz:{rule.id}:0", f"al:r:{rule.id}:99999999999"):
        calls = await h.press(CHAT, 5, data, language_code="en")
        assert [c.method for c in calls] == ["answerCallbackQuery"]
        assert answers(calls)[0]["text"] == "This button is out of date."


# --------------------------------------------------------------------------- through /log


async def test_log_fires_and_a_corrected_log_recovers(h: Harness) -> None:
    ws = await workspace(h)
    await seed_bounce(h, ws, 400)  # every week at 40 %
    calls = await h.say("/log 2026-11-18 sessions=1000 bounces=600", language_code="en")
    (photo,) = [c for c in calls if c.method == "sendPhoto"]
    assert (photo.visible_text or "").startswith("🔴 Bounce rate: 50% above the usual level")
    # Today's numbers do not touch the week judged: no evaluation, no message.
    calls = await h.say("/log 2026-11-25 sessions=10 bounces=10", language_code="en")
    assert [c.method for c in calls] == ["sendMessage"]
    calls = await h.say("/log 2026-11-18 sessions=1000 bounces=410", language_code="en")
    texts = [c.visible_text or "" for c in calls if c.method == "sendMessage"]
    assert len(texts) == 2
    assert any(
        t.startswith("✅ Bounce rate is back to normal: 41% for the week Nov 16–22, 2026.")
        for t in texts
    )
    assert [e.event for e in await h.storage.alerts.events(ws.id)] == ["fired", "recovered"]


async def test_an_unfollows_spike_fires_for_its_account(h: Harness) -> None:
    ws = await workspace(h)
    await h.say("/account add vk:brand", language_code="en")
    text = await h.say_text("/alert unfollows +50% vk:brand", language_code="en")
    assert text.startswith("Rule added: Unfollows +50% vs the median of 4 weeks · vk:brand")
    # Eleven weeks of 10 unfollows, then 15 in the week judged: median 10, 15 = +50 %.
    values: dict[tuple[str, date], dict[str, float]] = {
        ("vk:brand", LATEST - timedelta(days=7 * k)): {"unfollows": 10} for k in range(1, 12)
    }
    values[("vk:brand", LATEST)] = {"unfollows": 15}
    await h.storage.metrics.apply_import(ws.id, source="test", user_id=None, values=values)
    calls = await changed(h, ws)
    (photo,) = [c for c in calls if c.method == "sendPhoto"]
    assert (photo.visible_text or "").splitlines() == [
        "🔴 Unfollows: 50% above the usual level",  # more unfollows is worse: red
        "Week Nov 16–22, 2026 · vk:brand",
        "Unfollows = 15; median of the 4 weeks before: 10 → +50%",
        "Rule: Unfollows +50% vs the median of 4 weeks · vk:brand; no minimum volume.",
    ]


async def test_an_old_button_of_a_deleted_rule_does_not_act_on_a_new_rule_with_its_id(
    h: Harness, clock: Clock
) -> None:
    # SQLite gives a new row the id of a deleted last row: the old message's "Delete"
    # names the id and the old rule's creation time, so it finds no rule.
    ws = await workspace(h)
    (listing,) = await h.say("/alerts", language_code="en")
    old = await rule_of(h, ws, "cac")
    old_delete = f"al:x:{old.id}:0:{born(old.created_at)}"
    assert old_delete in listing.callback_data
    calls = await h.press(CHAT, listing.message_id, old_delete, language_code="en")
    assert answers(calls)[0].get("text") == "Rule deleted."
    clock.now = START + timedelta(minutes=5)
    await h.say("/alert cac +40%", language_code="en")
    new = await rule_of(h, ws, "cac")
    if h.storage.engine.dialect.name == "sqlite":
        assert new.id == old.id  # the id was reused (PostgreSQL's sequence never does)
    calls = await h.press(CHAT, listing.message_id, old_delete, language_code="en")
    assert answers(calls)[0].get("text") == "This rule is not in this chat (or it was deleted)."
    assert [
        (r.id, r.value) for r in await h.storage.alerts.list_rules(ws.id) if r.kpi == "cac"
    ] == [(new.id, 40.0)]
    # A button sent before buttons carried the creation time still works.
    calls = await h.press(CHAT, listing.message_id, f"al:t:{new.id}:0", language_code="en")
    assert answers(calls)[0].get("text") == "Rule switched off."
