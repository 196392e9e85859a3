"""Tests of the fake Bot API (tests/fakeapi): spec validation, HTTP server, recording session."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.filters import CommandStart
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)

from tests.fakeapi import DEFAULT_TOKEN, FakeBotAPI, RecordingSession
from tests.fakeapi.spec import check_html, html_to_text, validate, validate_call

CHAT = 4242
GROUP = -1001234567890


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(token=DEFAULT_TOKEN) as server:
        yield server


def make_bot(api: FakeBotAPI, token: str = DEFAULT_TOKEN) -> Bot:
    return Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api.base_url)))


@pytest.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    b = make_bot(api)
    try:
        yield b
    finally:
        await b.session.close()


# ------------------------------------------------------------------------------------------
# spec.py (pure)
# ------------------------------------------------------------------------------------------


def test_validate_call_accepts_wire_format() -> None:
    markup = {"inline_keyboard": [[{"text": "ok", "callback_data": "kpi:er:7d"}]]}
    params = {
        "chat_id": "42",
        "text": "<b>ER</b> &amp; reach",
        "parse_mode": "HTML",
        "disable_notification": "true",
        "reply_markup": json.dumps(markup),
    }
    assert validate_call("sendMessage", params) == []
    assert validate_call("SENDMESSAGE", params) == []  # method names are case-insensitive


def test_validate_call_reports_problems() -> None:
    assert any("unknown method" in p for p in validate_call("sendMessages", {}))
    assert any("missing required" in p for p in validate_call("sendMessage", {"chat_id": 1}))
    assert any("unknown parameter" in p for p in validate_call("getMe", {"foo": "1"}))
    problems = validate_call("sendMessage", {"chat_id": "x", "text": "a", "protect_content": "7"})
    assert any("expected Boolean" in p for p in problems)
    assert any(
        "4096" in p for p in validate_call("sendMessage", {"chat_id": 1, "text": "я" * 4097})
    )
    # the limit is measured after entities parsing
    assert validate_call("sendMessage", {"chat_id": 1, "text": f"<b>{'x' * 4096}</b>",
                                         "parse_mode": "HTML"}) == []  # fmt: skip
    photo = {"chat_id": 1, "photo": "id", "caption": "c" * 1025}
    assert any("1024" in p for p in validate_call("sendPhoto", photo))
    assert validate_call("answerCallbackQuery", {"callback_query_id": "1", "text": "t" * 200}) == []
    assert validate_call("answerCallbackQuery", {"callback_query_id": "1", "text": "t" * 201})
    assert validate_call("getUpdates", {"limit": "101"})


def test_validate_callback_data_bytes_and_commands() -> None:
    ok = {"inline_keyboard": [[{"text": "b", "callback_data": "я" * 32}]]}  # 64 bytes
    bad = {"inline_keyboard": [[{"text": "b", "callback_data": "я" * 33}]]}  # 66 bytes
    base = {"chat_id": 1, "text": "t"}
    assert validate_call("sendMessage", {**base, "reply_markup": json.dumps(ok)}) == []
    (problem,) = validate("sendMessage", {**base, "reply_markup": json.dumps(bad)})
    assert problem.path == "reply_markup.inline_keyboard[0][0].callback_data"
    assert problem.description == "Bad Request: BUTTON_DATA_INVALID"

    def cmds(command: str, description: str) -> dict[str, str]:
        return {"commands": json.dumps([{"command": command, "description": description}])}

    assert validate_call("setMyCommands", {**cmds("kpi_help", "d"), "language_code": "ru"}) == []
    assert validate_call("setMyCommands", cmds("Start", "d"))  # uppercase not allowed
    assert validate_call("setMyCommands", cmds("x" * 33, "d"))
    assert validate_call("setMyCommands", cmds("ok", "d" * 257))
    assert validate_call("setMyCommands", cmds("ok", ""))


def test_validate_files() -> None:
    assert validate_call("sendDocument", {"chat_id": 1, "document": "attach://f1"}, ["f1"]) == []
    assert validate_call("sendDocument", {"chat_id": 1}, ["document"]) == []
    assert validate_call("sendDocument", {"chat_id": 1, "document": "attach://nope"}, ["f1"])


@pytest.mark.parametrize(
    "text",
    [
        "plain",
        "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>i</ins><s>s</s>"
        "<strike>s</strike><del>d</del><tg-spoiler>x</tg-spoiler>",
        '<span class="tg-spoiler">x</span> <a href="https://t.me/x?a=1&amp;b=2">link</a>',
        '<pre><code class="language-python">1 &lt; 2 &gt; 0</code></pre>',
        "<blockquote expandable>q</blockquote> <b><i>nested</i></b>",
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji> &quot;q&quot; &#8381; &#x20BD;',
    ],
)
def test_check_html_accepts(text: str) -> None:
    assert check_html(text) is None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("<div>x</div>", 'Unsupported start tag "div"'),
        ("<br>", 'Unsupported start tag "br"'),
        ("<b>x", "Can't find end tag"),
        ("<b><i>x</b></i>", "Unmatched end tag"),
        ("x</b>", "Unexpected end tag"),
        ("ER < 5%", 'Unsupported start tag ""'),
        ("ER > 5%", '">"'),
        ("R&D", '"&"'),
        ("&nbsp;", '"&"'),
        ("<span>x</span>", "tg-spoiler"),
        ("<b", "Unclosed start tag"),
    ],
)
def test_check_html_rejects(text: str, fragment: str) -> None:
    err = check_html(text)
    assert err is not None
    assert err.startswith("can't parse entities: ")
    assert fragment in err


def test_html_to_text() -> None:
    assert html_to_text("<b>ER</b> &lt;5% &amp; &#8381;") == "ER <5% & ₽"


# ------------------------------------------------------------------------------------------
# HTTP server driven by aiogram's real Bot
# ------------------------------------------------------------------------------------------


async def test_send_message_ok(api: FakeBotAPI, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == 123456 and me.is_bot
    first = await bot.send_message(CHAT, "<b>Охват</b>: 1 000", parse_mode="HTML")
    second = await bot.send_message(CHAT, "ещё")
    other = await bot.send_message(GROUP, "группа")
    assert isinstance(first, Message)
    assert first.text == "Охват: 1 000"
    assert first.from_user is not None and first.from_user.id == me.id
    assert first.chat.id == CHAT and first.chat.type == "private"
    assert second.message_id == first.message_id + 1
    assert other.message_id == 1 and other.chat.type == "supergroup"
    calls = api.sent("sendMessage", chat_id=CHAT)
    assert [c.params["text"] for c in calls] == ["<b>Охват</b>: 1 000", "ещё"]
    assert calls[0].visible_text == "Охват: 1 000"
    assert calls[0].chat_id == CHAT and calls[0].message_id == first.message_id
    assert api.violations == []


async def test_too_long_text_rejected_and_recorded(api: FakeBotAPI, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(CHAT, "x" * 4097)
    assert len(api.violations) == 1 and "4096" in api.violations[0]
    assert api.sent("sendMessage") == []
    assert api.calls[-1].status == 400
    # visible length is what counts
    await bot.send_message(CHAT, f"<i>{'x' * 4096}</i>", parse_mode="HTML")


async def test_bad_html_rejected(api: FakeBotAPI, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(CHAT, "CTR < 2% <div>x</div>", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_photo(CHAT, "photo-id", caption="<b>x</i>", parse_mode="HTML")
    assert len(api.violations) == 2
    await bot.send_message(CHAT, "CTR < 2%")  # without parse_mode it is plain text


async def test_unknown_param_rejected_raw_post(api: FakeBotAPI) -> None:
    url = f"{api.base_url}/bot{api.token}/sendMessage"
    async with aiohttp.ClientSession() as http:
        async with http.post(url, json={"chat_id": CHAT, "text": "hi", "colour": "red"}) as r:
            body = await r.json()
            assert r.status == 400
        assert body["ok"] is False and body["error_code"] == 400
        assert "colour" in body["description"]
        async with http.post(url, data={"chat_id": str(CHAT), "text": "form"}) as r:
            assert r.status == 200
            assert (await r.json())["result"]["text"] == "form"
        async with http.get(url, params={"chat_id": str(CHAT), "text": "query"}) as r:
            assert r.status == 200
        async with http.post(f"{api.base_url}/bot{api.token}/noSuchMethod") as r:
            assert r.status == 404
    assert len(api.violations) == 2
    assert any("colour" in v for v in api.violations)
    assert [c.params["text"] for c in api.sent("sendMessage")] == ["form", "query"]


async def test_raw_multipart_upload_records_file(api: FakeBotAPI) -> None:
    form = aiohttp.FormData()
    form.add_field("chat_id", str(CHAT))
    form.add_field("caption", "отчёт")
    form.add_field("document", io.BytesIO(b"a;b\n1;2\n"), filename="kpi.csv")
    url = f"{api.base_url}/bot{api.token}/sendDocument"
    async with aiohttp.ClientSession() as http, http.post(url, data=form) as r:
        body = await r.json()
    assert r.status == 200, body
    assert body["result"]["document"]["file_name"] == "kpi.csv"
    (call,) = api.sent("sendDocument")
    assert call.files["document"].data == b"a;b\n1;2\n"
    assert call.files["document"].filename == "kpi.csv"


async def test_callback_data_too_long_rejected(api: FakeBotAPI, bot: Bot) -> None:
    too_long = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="b", callback_data="период:" + "я" * 30)]]
    )
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(CHAT, "choose", reply_markup=too_long)
    assert any("callback_data" in v for v in api.violations)
    fine = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="b", callback_data="я" * 32)]]
    )
    msg = await bot.send_message(CHAT, "choose", reply_markup=fine)
    assert msg.reply_markup is not None
    assert msg.reply_markup.inline_keyboard[0][0].callback_data == "я" * 32
    assert api.last("sendMessage").callback_data == ["я" * 32]


async def test_retry_after_surfaces(api: FakeBotAPI, bot: Bot) -> None:
    api.fail_next("sendMessage", count=1, status=429, retry_after=3)
    with pytest.raises(TelegramRetryAfter) as exc_info:
        await bot.send_message(CHAT, "flood")
    assert exc_info.value.retry_after == 3
    await bot.send_message(CHAT, "after")  # fault consumed
    assert len(api.sent("sendMessage")) == 1
    assert api.violations == []


async def test_rate_limit_per_chat(api: FakeBotAPI, bot: Bot) -> None:
    api.rate_limit(per_second=30, per_chat_per_second=1, per_chat_burst=2)
    await bot.send_message(CHAT, "1")
    await bot.send_message(CHAT, "2")
    with pytest.raises(TelegramRetryAfter) as exc_info:
        await bot.send_message(CHAT, "3")
    assert exc_info.value.retry_after >= 1
    await bot.send_message(CHAT + 1, "other chat is fine")
    await bot.send_chat_action(CHAT, "typing")  # not a message
    assert len(api.flood_hits) == 1


async def test_rate_limit_per_group_minute(api: FakeBotAPI, bot: Bot) -> None:
    api.rate_limit(per_chat_per_second=1000, per_chat_burst=1000, per_group_per_minute=3)
    for i in range(3):
        await bot.send_message(GROUP, str(i))
    with pytest.raises(TelegramRetryAfter) as exc_info:
        await bot.send_message(GROUP, "4th")
    assert exc_info.value.retry_after >= 10


async def test_blocked_chat_forbidden(api: FakeBotAPI, bot: Bot) -> None:
    api.block_chat(CHAT)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(CHAT, "hello?")
    await bot.send_message(CHAT + 1, "others still work")
    api.unblock_chat(CHAT)
    await bot.send_message(CHAT, "back")


async def test_server_errors_drops_and_delays(api: FakeBotAPI, bot: Bot) -> None:
    api.fail_next("sendMessage", status=502)
    with pytest.raises(TelegramServerError):
        await bot.send_message(CHAT, "x")
    api.drop_next("sendMessage", chat_id=CHAT)
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(CHAT, "x")
    api.slow("getMe", 0.3, count=1)
    started = time.monotonic()
    await bot.get_me()
    assert time.monotonic() - started >= 0.3
    await bot.send_message(CHAT, "recovered")
    assert api.violations == []


async def test_wrong_token_unauthorized(api: FakeBotAPI) -> None:
    other = make_bot(api, token="999:WRONG")
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await other.get_me()
    finally:
        await other.session.close()


async def test_get_file_download_round_trip(api: FakeBotAPI, bot: Bot) -> None:
    payload = bytes(range(256)) * 1000
    api.add_file("doc-1", payload)
    file = await bot.get_file("doc-1")
    assert file.file_size == len(payload) and file.file_path
    buf = await bot.download("doc-1")
    assert buf is not None and buf.read() == payload
    with pytest.raises(TelegramBadRequest, match="invalid file_id"):
        await bot.get_file("missing")
    api.add_file("huge", b"x", file_size=21 * 1024 * 1024)
    with pytest.raises(TelegramBadRequest, match="file is too big"):
        await bot.get_file("huge")


async def test_uploaded_photo_is_downloadable(api: FakeBotAPI, bot: Bot) -> None:
    msg = await bot.send_photo(CHAT, BufferedInputFile(b"\x89PNG...", "chart.png"), caption="ER")
    assert msg.photo and msg.caption == "ER"
    (call,) = api.sent("sendPhoto")
    assert call.files["photo"].data == b"\x89PNG..." and call.files["photo"].filename == "chart.png"
    buf = await bot.download(msg.photo[-1].file_id)
    assert buf is not None and buf.read() == b"\x89PNG..."


async def test_long_poll_returns_pushed_update(api: FakeBotAPI, bot: Bot) -> None:
    async def push_later() -> None:
        await asyncio.sleep(0.2)
        api.message(CHAT, "/start", language_code="en")

    started = time.monotonic()
    pusher = asyncio.create_task(push_later())
    updates = await bot.get_updates(timeout=5)
    await pusher
    assert time.monotonic() - started < 3
    (update,) = updates
    assert update.message is not None and update.message.text == "/start"
    assert update.message.from_user is not None
    assert update.message.from_user.language_code == "en"
    # not confirmed yet -> delivered again; confirmed with offset -> gone
    again = await bot.get_updates(timeout=0)
    assert [u.update_id for u in again] == [update.update_id]
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == []


async def test_long_poll_times_out_empty(api: FakeBotAPI, bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == []
    assert time.monotonic() - started >= 0.9


async def test_set_my_commands_with_language(api: FakeBotAPI, bot: Bot) -> None:
    commands = [BotCommand(command="start", description="Начать"),
                BotCommand(command="kpi", description="Метрики")]  # fmt: skip
    assert await bot.set_my_commands(commands, language_code="ru") is True
    assert await bot.set_my_commands(commands[:1], scope=BotCommandScopeAllPrivateChats())
    got = await bot.get_my_commands(language_code="ru")
    assert [c.command for c in got] == ["start", "kpi"]
    assert [c["command"] for c in api.get_commands("ru")] == ["start", "kpi"]
    assert api.get_commands(scope={"type": "all_private_chats"})[0]["command"] == "start"
    assert await bot.delete_my_commands(language_code="ru")
    assert await bot.get_my_commands(language_code="ru") == []
    with pytest.raises(TelegramBadRequest):
        await bot.set_my_commands([BotCommand(command="Bad-Cmd", description="x")])
    assert any("BOT_COMMAND_INVALID" in v for v in api.violations)


async def test_callback_edit_and_answer(api: FakeBotAPI, bot: Bot) -> None:
    kb = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="7d", callback_data="p:7")]]
    )
    sent = await bot.send_message(CHAT, "Период?", reply_markup=kb)
    update = api.callback(CHAT, sent.message_id, "p:7")
    query = update["callback_query"]
    assert query["message"]["reply_markup"] == kb.model_dump(exclude_none=True)
    assert await bot.answer_callback_query(query["id"], text="ok")
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query["id"])
    assert api.sent("answerCallbackQuery", chat_id=CHAT)
    edited = await bot.edit_message_text("Период: 7 дней", chat_id=CHAT, message_id=sent.message_id)
    assert isinstance(edited, Message) and edited.reply_markup is None
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("Период: 7 дней", chat_id=CHAT, message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=CHAT, message_id=999)
    assert await bot.delete_message(CHAT, sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(CHAT, sent.message_id)
    assert api.violations == []


async def test_chat_member_configuration(api: FakeBotAPI, bot: Bot) -> None:
    api.set_chat_member(GROUP, 1, "creator")
    api.set_chat_member(GROUP, 2, "administrator")
    api.set_chat_member(GROUP, 3, "left")
    assert (await bot.get_chat_member(GROUP, 1)).status == "creator"
    assert (await bot.get_chat_member(GROUP, 2)).status == "administrator"
    assert (await bot.get_chat_member(GROUP, 3)).status == "left"
    assert (await bot.get_chat_member(GROUP, 4)).status == "member"  # default
    admins = await bot.get_chat_administrators(GROUP)
    assert sorted(a.user.id for a in admins) == [1, 2]
    assert await bot.get_chat_member_count(GROUP) == 2
    api.set_member_count(GROUP, 57)
    assert await bot.get_chat_member_count(GROUP) == 57
    chat = await bot.get_chat(GROUP)
    assert chat.type == "supergroup"
    assert await bot.send_chat_action(GROUP, "upload_document")


async def test_update_builders_parse_with_aiogram(api: FakeBotAPI, bot: Bot) -> None:
    api.message(-5001, "hi all", chat_type="group", title="SMM team", user_id=77)
    api.add_file("f-1", b"data")
    api.document(CHAT, "f-1", "report.xlsx", caption="март")
    api.my_chat_member(-5001, "left", "administrator", chat_type="group")
    api.migrate(-5001, -1005001)
    updates = await bot.get_updates(timeout=0)
    assert len(updates) == 5
    assert [u.update_id for u in updates] == sorted({u.update_id for u in updates})
    group_msg, doc, member, mig_old, mig_new = updates
    assert group_msg.message and group_msg.message.chat.title == "SMM team"
    assert doc.message and doc.message.document and doc.message.document.file_size == 4
    assert member.my_chat_member and member.my_chat_member.new_chat_member.status == "administrator"
    assert (await bot.get_chat_member(-5001, api.bot_id)).status == "administrator"
    assert mig_old.message and mig_old.message.migrate_to_chat_id == -1005001
    assert mig_new.message and mig_new.message.migrate_from_chat_id == -5001
    with pytest.raises(TelegramMigrateToChat) as exc_info:
        await bot.send_message(-5001, "old id")
    assert exc_info.value.migrate_to_chat_id == -1005001


async def test_allowed_updates_filter(api: FakeBotAPI, bot: Bot) -> None:
    api.my_chat_member(-5001, "left", "member")
    api.message(CHAT, "text")
    updates = await bot.get_updates(timeout=0, allowed_updates=["message"])
    assert [u.event_type for u in updates] == ["message"]
    assert len(api.dropped_updates) == 1


async def test_concurrent_long_poll_conflict(api: FakeBotAPI, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.2)
    second = asyncio.create_task(bot.get_updates(timeout=1))
    with pytest.raises(TelegramConflictError):
        await first
    assert await second == []


async def test_wait_for(api: FakeBotAPI, bot: Bot) -> None:
    async def later() -> None:
        await asyncio.sleep(0.1)
        await bot.send_message(CHAT, "a")
        await bot.send_message(CHAT, "b")

    task = asyncio.create_task(later())
    calls = await api.wait_for("sendMessage", chat_id=CHAT, count=2, timeout=5)
    await task
    assert [c.params["text"] for c in calls] == ["a", "b"]
    found = await api.wait_for(lambda c: c.params.get("text") == "b", timeout=1)
    assert found[0].params["text"] == "b"
    with pytest.raises(AssertionError, match="timed out"):
        await api.wait_for("sendPhoto", timeout=0.2)


async def test_server_is_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback"):
        FakeBotAPI(host="0.0.0.0")
    async with FakeBotAPI() as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        assert server.bot_env() == {"BOT_TOKEN": server.token, "BOT_API_URL": server.base_url}


async def test_unknown_method_is_not_found(api: FakeBotAPI, bot: Bot) -> None:
    url = f"{api.base_url}/bot{api.token}/deleteEphemeralMessage"
    async with aiohttp.ClientSession() as http, http.post(url, data={"chat_id": "1"}) as r:
        assert r.status == 404
    assert api.violations and "unknown method" in api.violations[0]


# ------------------------------------------------------------------------------------------
# RecordingSession (dispatcher level, no HTTP)
# ------------------------------------------------------------------------------------------


@pytest.fixture
async def rec_bot() -> AsyncIterator[tuple[RecordingSession, Bot]]:
    session = RecordingSession()
    b = Bot(DEFAULT_TOKEN, session=session)
    try:
        yield session, b
    finally:
        await b.session.close()


async def test_recording_session_dispatcher(rec_bot: tuple[RecordingSession, Bot]) -> None:
    session, bot = rec_bot
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        kb = InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text="ER", callback_data="m:er")]]
        )
        await message.answer("<b>Привет</b>", parse_mode="HTML", reply_markup=kb)

    @router.callback_query(F.data == "m:er")
    async def on_er(query: CallbackQuery) -> None:
        await query.answer("ER")
        assert isinstance(query.message, Message)
        await query.message.edit_text("ER = engagements / reach")

    dp = Dispatcher()
    dp.include_router(router)
    await dp.feed_update(bot, Update.model_validate(session.message(CHAT, "/start"),
                                                    context={"bot": bot}))  # fmt: skip
    (sent,) = session.sent("sendMessage", chat_id=CHAT)
    assert sent.visible_text == "Привет" and sent.callback_data == ["m:er"]
    update = session.callback(CHAT, sent.message_id, "m:er")
    await dp.feed_update(bot, Update.model_validate(update, context={"bot": bot}))
    assert session.sent("answerCallbackQuery", chat_id=CHAT)[0].params["text"] == "ER"
    assert session.sent("editMessageText")[0].params["text"] == "ER = engagements / reach"
    assert session.violations == []


async def test_recording_session_raises_on_violation(
    rec_bot: tuple[RecordingSession, Bot],
) -> None:
    session, bot = rec_bot
    with pytest.raises(AssertionError, match="can't parse entities"):
        await bot.send_message(CHAT, "a < b", parse_mode="HTML")
    # Methods the bot does not use are not in the project's table: a violation (404
    # "unknown method" from a bare clone, 400 "not in the table" beside the description).
    with pytest.raises(AssertionError, match=r"sendPoll: (unknown method|method not in the proj)"):
        await bot.send_poll(CHAT, "q?", options=["a", "b"])
    with pytest.raises(AssertionError, match="pinChatMessage"):
        await bot.pin_chat_message(CHAT, 1)
    session.set_result("getChatMemberCount", 1234)  # a test may answer a method itself
    assert await bot.get_chat_member_count(CHAT) == 1234
    assert len(session.violations) == 3


async def test_recording_session_errors_members_downloads(
    rec_bot: tuple[RecordingSession, Bot],
) -> None:
    session, bot = rec_bot
    session.block_chat(CHAT)
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(CHAT, "x")
    session.fail_next("sendMessage", retry_after=5)
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(CHAT + 1, "x")
    session.set_chat_member(GROUP, 9, "administrator")
    assert (await bot.get_chat_member(GROUP, 9)).status == "administrator"
    session.add_file("file-9", b"xlsx-bytes")
    buf = await bot.download("file-9")
    assert buf is not None and buf.read() == b"xlsx-bytes"
    await bot.send_document(CHAT + 1, BufferedInputFile(b"csv", "r.csv"))
    assert session.sent("sendDocument")[0].files["document"].data == b"csv"
    session.fail_next("getMe", status=404, description="Not Found")
    with pytest.raises(TelegramNotFound):
        await bot.get_me()


async def test_dispatcher_polling_against_server(api: FakeBotAPI, bot: Bot) -> None:
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer(f"Привет, {message.from_user.first_name if message.from_user else ''}")

    dp = Dispatcher()
    dp.include_router(router)
    polling = asyncio.create_task(
        dp.start_polling(bot, handle_signals=False, close_bot_session=False, polling_timeout=5)
    )
    try:
        api.message(CHAT, "/start", first_name="Аня")
        (reply,) = await api.wait_for("sendMessage", chat_id=CHAT, timeout=10)
        assert reply.params["text"] == "Привет, Аня"
        # the update gets confirmed by the next getUpdates offset
        # (include_failed: also in-flight calls; this long poll is still waiting)
        await api.wait_for(
            lambda c: c.method == "getUpdates" and "offset" in c.params,
            timeout=10,
            include_failed=True,
        )
        assert api.updates == []
    finally:
        await dp.stop_polling()
        await polling
    assert api.violations == []
