from __future__ import annotations

import logging

import pytest

from bot.texts import COMMANDS
from tests.conftest import TEST_TOKEN
from tests.dispatcher.conftest import Harness

GROUP = -100500


async def test_start_in_russian_for_ru_user(harness: Harness) -> None:
    text = await harness.say_text("/start", chat_id=555, language_code="ru")
    assert text.startswith("Привет! Я считаю SMM-KPI вашей команды.")
    assert "/log охват=12000 лайки=340" in text
    ws = await harness.storage.workspaces.get_by_chat(555)
    assert ws is not None and ws.chat_type == "private"


async def test_start_in_english_for_en_user(harness: Harness) -> None:
    text = await harness.say_text("/start", chat_id=556, language_code="en")
    assert text.startswith("Hi! I count your SMM KPIs.")
    assert "/help lists every command" in text


async def test_unknown_user_language_falls_back_to_russian(harness: Harness) -> None:
    text = await harness.say_text("/start", chat_id=557, language_code="de")
    assert text.startswith("Привет!")


async def test_help_lists_every_command(harness: Harness) -> None:
    text = await harness.say_text("/help", language_code="en")
    for info in COMMANDS:
        if info.command != "start":
            assert f"/{info.command} — " in text, info.command


async def test_workspace_language_overrides_user_language(harness: Harness) -> None:
    assert "Bot language: English." in await harness.say_text("/lang en", language_code="ru")
    text = await harness.say_text("/start", language_code="ru")
    assert text.startswith("Hi!")
    assert "Язык бота: русский." in await harness.say_text("/lang ru", language_code="en")
    ws = await harness.storage.workspaces.get_by_chat(1001)
    assert ws is not None and ws.language == "ru"


async def test_settings_show_language_timezone_margin(harness: Harness) -> None:
    await harness.say("/margin 35%")
    text = await harness.say_text("/settings", language_code="en")
    assert "Time zone: Europe/Moscow" in text
    assert "Margin for ROI: 35%" in text
    assert "Weekly digest: on, Mon 10:00" in text


async def test_timezone_change_and_bad_name(harness: Harness) -> None:
    text = await harness.say_text("/timezone Mars/Olympus", language_code="en")
    assert text.startswith("Unknown time zone “Mars/Olympus”")
    assert "Europe/Moscow" in text and "Asia/Almaty" in text
    ws = await harness.storage.workspaces.get_by_chat(1001)
    assert ws is not None and ws.timezone == "Europe/Moscow"
    assert await harness.say_text("/timezone asia/almaty", language_code="en") == (
        "Time zone set: Asia/Almaty."
    )
    ws = await harness.storage.workspaces.get_by_chat(1001)
    assert ws is not None and ws.timezone == "Asia/Almaty"


async def test_bad_margin_changes_nothing(harness: Harness) -> None:
    text = await harness.say_text("/margin lots", language_code="en")
    assert text.startswith("Give the profit margin in percent, from 0 to 100")
    ws = await harness.storage.workspaces.get_by_chat(1001)
    assert ws is not None and ws.margin == 1.0


async def test_group_member_who_is_not_admin_cannot_change_settings(harness: Harness) -> None:
    harness.fake.set_chat_member(GROUP, 2002, "member")
    calls = await harness.say(
        "/timezone Asia/Almaty",
        chat_id=GROUP,
        chat_type="supergroup",
        user_id=2002,
        language_code="en",
    )
    assert [c.method for c in calls] == ["getChatMember", "sendMessage"]
    assert calls[1].visible_text == (
        "Only chat administrators can change this. Anyone can ask for KPIs."
    )
    ws = await harness.storage.workspaces.get_by_chat(GROUP)
    assert ws is not None and ws.timezone == "Europe/Moscow"
    # ...but can read
    text = await harness.say_text(
        "/settings", chat_id=GROUP, chat_type="supergroup", user_id=2002, language_code="en"
    )
    assert "Time zone: Europe/Moscow" in text


async def test_group_admin_can_change_settings_and_check_is_cached(harness: Harness) -> None:
    harness.fake.set_chat_member(GROUP, 2003, "administrator")
    kw = {"chat_id": GROUP, "chat_type": "supergroup", "user_id": 2003, "language_code": "en"}
    assert await harness.say_text("/timezone UTC", **kw) == "Time zone set: UTC."
    calls = await harness.say("/margin 50", **kw)
    assert [c.method for c in calls] == ["sendMessage"]  # no second getChatMember
    ws = await harness.storage.workspaces.get_by_chat(GROUP)
    assert ws is not None and (ws.timezone, ws.margin) == ("UTC", 0.5)


async def test_accounts_add_list_rename_delete(harness: Harness) -> None:
    en = {"language_code": "en"}
    assert await harness.say_text("/account add VK:@Brand", **en) == "Account vk:brand added."
    assert await harness.say_text("/account add vk:brand", **en) == (
        "Account vk:brand already exists."
    )
    assert await harness.say_text("/account add ????", **en) == (
        "“????” is not an account name. Use platform:handle, e.g. vk:brand."
    )
    assert await harness.say_text("/account rename vk:brand vk:new", **en) == (
        "Account vk:brand renamed to vk:new."
    )
    listing = await harness.say_text("/account list", **en)
    assert "• main (default)" in listing and "• vk:new" in listing
    assert await harness.say_text("/account delete main", **en) == (
        "The default account can't be deleted."
    )
    assert await harness.say_text("/account delete vk:new", **en) == (
        "Account vk:new and its numbers are deleted."
    )
    ws = await harness.storage.workspaces.get_by_chat(1001)
    assert ws is not None
    assert [a.name for a in await harness.storage.workspaces.list_accounts(ws.id)] == ["main"]


async def test_bot_added_to_group_greets_and_removed_marks_inactive(harness: Harness) -> None:
    calls = await harness.feed(
        harness.fake.my_chat_member(-777, "left", "member", chat_type="group", push=False)
    )
    assert [c.method for c in calls] == ["sendMessage"]
    assert (calls[0].visible_text or "").startswith("Привет!")
    ws = await harness.storage.workspaces.get_by_chat(-777)
    assert ws is not None and ws.active
    await harness.feed(harness.fake.my_chat_member(-777, "member", "kicked", push=False))
    ws = await harness.storage.workspaces.get_by_chat(-777)
    assert ws is not None and not ws.active


async def test_group_migration_keeps_workspace(harness: Harness) -> None:
    harness.fake.set_chat_member(-888, 1001, "creator")
    await harness.say("/account add vk:brand", chat_id=-888, chat_type="group")
    old = await harness.storage.workspaces.get_by_chat(-888)
    for update in harness.fake.migrate(-888, -100888, push=False):
        await harness.feed(update)
    new = await harness.storage.workspaces.get_by_chat(-100888)
    assert new is not None and old is not None and new.id == old.id
    assert new.chat_type == "supergroup"
    names = [a.name for a in await harness.storage.workspaces.list_accounts(new.id)]
    assert names == ["main", "vk:brand"]


async def test_delete_all_needs_confirmation_and_is_scoped(harness: Harness) -> None:
    calls = await harness.say("/delete_all", language_code="en")
    buttons = calls[0].callback_data
    assert len(buttons) == 2
    ws = await harness.storage.workspaces.get_by_chat(1001)
    assert ws is not None
    # the same button pressed in another chat does nothing
    other = await harness.press(2002, calls[0].message_id or 1, buttons[0], language_code="en")
    assert [c.method for c in other] == ["answerCallbackQuery"]
    assert await harness.storage.workspaces.get_by_chat(1001) is not None
    done = await harness.press(1001, calls[0].message_id or 1, buttons[0], language_code="en")
    assert [c.method for c in done] == ["answerCallbackQuery", "editMessageText"]
    assert await harness.storage.workspaces.get_by_chat(1001) is None


async def test_handler_error_is_logged_and_user_gets_apology(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args, **kwargs):
        raise RuntimeError(f"database exploded {TEST_TOKEN}")

    await harness.say("/start")
    monkeypatch.setattr(harness.storage.workspaces, "list_accounts", broken)
    harness.allow_apology = True
    caplog.set_level(logging.ERROR)
    text = await harness.say_text("/account list", language_code="en")
    assert text == (
        "Sorry, something went wrong on our side. The error is logged; please try again."
    )
    failures = [r for r in caplog.records if r.name == "handlers.errors"]
    assert failures and "RuntimeError" in failures[0].getMessage()
    assert "update " in failures[0].getMessage()


async def test_reply_refused_by_a_blocked_chat_is_a_warning_not_an_error(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await harness.say("/start")
    harness.fake.block_chat(1001)
    caplog.set_level(logging.INFO)
    calls = await harness.say("/help", language_code="en")
    # one refused reply, and no apology sent after it
    assert [(c.method, c.status) for c in calls] == [("sendMessage", 403)]
    records = [r for r in caplog.records if r.name == "handlers.errors"]
    assert [r.levelno for r in records] == [logging.WARNING]
    assert "the chat refused the reply" in records[0].getMessage()
    assert "blocked" in records[0].getMessage()
