"""Alerts end to end: `python -m bot` over real HTTP, the scheduled check
(ALERTS_CHECK_SECONDS=1) on data seeded straight into its SQLite file."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kpi.alerts import latest_complete_week
from storage import Storage
from tests.e2e.conftest import BotProcess
from tests.fakeapi.server import FakeBotAPI

pytestmark = pytest.mark.e2e

GROUP = -100900
OTHER_CHAT = 7002
ADMIN, MEMBER = 5001, 5002


def _judged_day() -> date:
    """A day inside the latest complete week, as the bot sees it (Europe/Moscow)."""
    today = datetime.now(ZoneInfo("Europe/Moscow")).date()
    return latest_complete_week(today).start + timedelta(days=2)


async def _seed(db_url: str, latest_bounces: float, *, create: bool) -> None:
    storage = await Storage.open(db_url)
    try:
        if create:
            await storage.workspaces.ensure(GROUP, "supergroup", "Team", "Europe/Moscow")
            await storage.workspaces.set_language(GROUP, "en")
        ws = await storage.workspaces.get_by_chat(GROUP)
        assert ws is not None
        day = _judged_day()
        values: dict[tuple[str, date], dict[str, float]] = {}
        if create:
            for k in range(1, 6):
                values[("main", day - timedelta(days=7 * k))] = {"sessions": 1000, "bounces": 400}
        values[("main", day)] = {"sessions": 1000, "bounces": latest_bounces}
        await storage.metrics.apply_import(ws.id, source="seed", user_id=None, values=values)
    finally:
        await storage.close()


async def test_scheduled_alert_fires_once_recovers_once_and_guards_its_buttons(
    api: FakeBotAPI, bot_process: BotProcess, db_url: str
) -> None:
    await _seed(db_url, 600, create=True)  # 60 % against 40 %: +50 %
    await bot_process.start(ALERTS_CHECK_SECONDS="1")

    (photo,) = await api.wait_for("sendPhoto", chat_id=GROUP, timeout=20)
    caption = (photo.visible_text or "").splitlines()
    assert caption[0] == "🔴 Bounce rate: 50% above the usual level"
    assert caption[2] == (
        "Bounce rate = 600 / 1,000 × 100 = 60%; median of the 4 weeks before: 40% → +50%"
    )
    assert photo.files["photo"].data.startswith(b"\x89PNG")
    assert [d.split(":")[1] for d in photo.callback_data] == ["d", "w", "m", "r"]
    rule_id = int(photo.callback_data[0].split(":")[2])

    # Several more ticks: still one alert.
    await asyncio.sleep(1.5)
    assert len(api.sent("sendPhoto", chat_id=GROUP)) == 1

    # The number is corrected: one short recovery message.
    await _seed(db_url, 410, create=False)
    (recovery,) = await api.wait_for("sendMessage", chat_id=GROUP, timeout=20)
    assert (recovery.visible_text or "").startswith(
        "✅ Bounce rate is back to normal: 41% for the week "
    )
    await asyncio.sleep(1.5)
    assert len(api.sent("sendMessage", chat_id=GROUP)) == 1
    assert len(api.sent("sendPhoto", chat_id=GROUP)) == 1

    # Snooze pressed by a group member who is not an admin, and from another chat.
    assert photo.message_id is not None
    api.set_chat_member(GROUP, MEMBER, "member")
    api.callback(GROUP, photo.message_id, f"al:w:{rule_id}:0", user_id=MEMBER,
                 language_code="en")  # fmt: skip
    api.message(OTHER_CHAT, "/start", language_code="en")
    await api.wait_for("sendMessage", chat_id=OTHER_CHAT)
    api.callback(OTHER_CHAT, 1, f"al:w:{rule_id}:0", language_code="en")
    first, second = await api.wait_for("answerCallbackQuery", count=2, timeout=20)
    assert first.params["text"] == "Only chat administrators can do this."
    assert second.params["text"] == "This rule is not in this chat (or it was deleted)."
    await asyncio.sleep(0.5)
    assert len(api.sent("sendMessage", chat_id=GROUP)) == 1  # no "snoozed" note
    assert await bot_process.stop() == 0

    storage = await Storage.open(db_url)
    try:
        ws = await storage.workspaces.get_by_chat(GROUP)
        assert ws is not None
        rule = await storage.alerts.get_rule(ws.id, rule_id)
        assert rule is not None
        assert (rule.enabled, rule.snoozed_until, rule.state) == (True, None, "ok")
        assert [e.event for e in await storage.alerts.events(ws.id)] == ["fired", "recovered"]
    finally:
        await storage.close()
