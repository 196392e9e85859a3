"""The project's Bot API table (tests/fakeapi/botapi.py): complete for what the bot and
the fake use, in agreement with the full description when it is beside the checkout,
enough on its own for the fake's validation, and strict about parameters removed in 7.0."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import ReplyParameters

from bot.app import create_bot
from bot.config import Settings
from tests.conftest import TEST_TOKEN
from tests.fakeapi import botapi, spec
from tests.fakeapi.core import FakeTelegram
from tests.fakeapi.recording import RecordingSession
from tests.fakeapi.server import FakeBotAPI

CHAT = 4242


@pytest.fixture(params=["table", pytest.param("full", marks=pytest.mark.shared_data)])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """'table': the project's table alone (a bare clone); 'full': beside the description."""
    if request.param == "table":
        monkeypatch.setenv("BOT_API_SPEC_DIR", "")
        assert spec.full_spec() is None
    else:
        monkeypatch.delenv("BOT_API_SPEC_DIR", raising=False)
        assert spec.full_spec() is not None
    yield request.param


# ---------------------------------------------------------------- agreement


def _limit(owner: str, field: dict[str, object]) -> object:
    return spec.field_limit(owner, field)


@pytest.mark.shared_data
def test_table_agrees_with_the_full_description() -> None:
    full = spec.full_spec()
    assert full is not None
    table = spec.table_spec()
    disagreements: list[str] = []

    def compare(kind: str, name: str, ours: dict, theirs: dict | None) -> None:
        if theirs is None:
            disagreements.append(f"{kind} {name}: not in the description")
            return
        their_fields = {f["name"]: f for f in theirs.get("fields") or []}
        our_fields = {f["name"]: f for f in ours.get("fields") or []}
        for fname, f in our_fields.items():
            t = their_fields.get(fname)
            where = f"{name}.{fname}"
            if t is None:
                disagreements.append(f"{where}: not in the description")
                continue
            if set(f["types"]) != set(t["types"]):
                disagreements.append(f"{where}: types {f['types']} vs {t['types']}")
            if f["required"] != t["required"]:
                disagreements.append(f"{where}: required {f['required']} vs {t['required']}")
            if _limit(name, f) != _limit(name, t):
                disagreements.append(f"{where}: limits {_limit(name, f)} vs {_limit(name, t)}")
        for fname, t in their_fields.items():
            if t["required"] and fname not in our_fields:
                disagreements.append(f"{name}.{fname}: required there, missing here")
        ours_sub, theirs_sub = set(ours.get("subtypes") or ()), set(theirs.get("subtypes") or ())
        if not ours_sub <= theirs_sub:
            disagreements.append(f"{name}: subtypes {sorted(ours_sub - theirs_sub)} unknown")

    for name, mdef in table["methods"].items():
        compare("method", name, mdef, full["methods"].get(name))
    for name, tdef in table["types"].items():
        compare("type", name, tdef, full["types"].get(name))
    assert disagreements == []
    # The removed parameters are really gone from the description, their replacements not.
    send = {f["name"] for f in full["methods"]["sendMessage"]["fields"]}
    assert not set(botapi.REMOVED_PARAMS) & send
    assert {"link_preview_options", "reply_parameters"} <= send
    reply = {f["name"] for f in full["types"]["ReplyParameters"]["fields"]}
    assert "allow_sending_without_reply" in reply


def test_the_table_covers_every_method_the_fake_answers() -> None:
    implemented = {n[len("_m_") :] for n in dir(FakeTelegram) if n.startswith("_m_")}
    assert implemented == set(botapi.METHODS)
    # and every object type a parameter names is defined, or left out on purpose
    named = {
        t.removeprefix("Array of ").removeprefix("Array of ")
        for params in [*botapi.METHODS.values(), *botapi.TYPES.values()]
        for p in params.values()
        for t in p.types
    }
    basic = {"Integer", "String", "Boolean", "Float", "InputFile"}
    not_used = {"ReplyKeyboardMarkup"}  # the bot never shows a reply keyboard
    assert named - basic - not_used <= set(botapi.TYPES) | set(botapi.UNIONS)


# ---------------------------------------------------------------- validation in both modes


def test_limits_hold_with_the_table_alone_and_beside_the_description(mode: str) -> None:
    def problems(method: str, **params: object) -> list[str]:
        return spec.validate_call(method, params)

    assert problems("sendMessage", chat_id="1", text="я" * 4096) == []
    assert any("outside 1-4096" in p for p in problems("sendMessage", chat_id=1, text="я" * 4097))
    assert problems("sendMessage", chat_id=1, text=f"<b>{'x' * 4096}</b>", parse_mode="HTML") == []
    assert any("missing required" in p for p in problems("sendMessage", chat_id=1))
    assert any("outside 0-1024" in p for p in problems("sendPhoto", chat_id=1, photo="id",
                                                        caption="c" * 1025))  # fmt: skip
    long_answer = problems("answerCallbackQuery", callback_query_id="1", text="t" * 201)
    assert any("outside 0-200" in p for p in long_answer)
    assert any("outside 1-100" in p for p in problems("getUpdates", limit="101"))
    assert any("expected Boolean" in p for p in problems("sendMessage", chat_id="x", text="a",
                                                         protect_content="7"))  # fmt: skip
    bad = {"inline_keyboard": [[{"text": "b", "callback_data": "я" * 33}]]}  # 66 bytes
    (problem,) = spec.validate("sendMessage", {"chat_id": 1, "text": "t",
                                               "reply_markup": json.dumps(bad)})  # fmt: skip
    assert problem.description == "Bad Request: BUTTON_DATA_INVALID"
    commands = [{"command": "x" * 33, "description": "d"}]
    assert any("outside 1-32" in p for p in problems("setMyCommands",
                                                      commands=json.dumps(commands)))  # fmt: skip
    scope = json.dumps({"type": "all_private_chats"})
    ok = [{"command": "help", "description": "d"}]
    assert problems("setMyCommands", commands=json.dumps(ok), scope=scope) == []
    assert problems("setMyCommands", commands=json.dumps(ok), scope='{"type": "everyone"}')
    (unknown,) = spec.validate("sendMessage", {"chat_id": 1, "text": "t", "colour": "red"})
    assert unknown.description == 'Bad Request: unknown parameter "colour"'
    (nope,) = spec.validate("deleteEphemeralMessage", {"chat_id": 1})
    assert (nope.error_code, nope.description) == (404, "Not Found")


@pytest.mark.parametrize(
    ("param", "value", "use"),
    [
        ("disable_web_page_preview", "true", "link_preview_options"),
        ("reply_to_message_id", "7", "reply_parameters"),
        ("allow_sending_without_reply", "true", "reply_parameters.allow_sending_without_reply"),
    ],
)
def test_parameters_removed_in_7_0_are_refused(mode: str, param: str, value: str, use: str) -> None:
    (problem,) = spec.validate("sendMessage", {"chat_id": "1", "text": "t", param: value})
    assert problem.error_code == 400
    assert problem.description == (
        f'Bad Request: parameter "{param}" was removed from the Bot API in 7.0, use "{use}" '
        "(the fake Bot API refuses it; Telegram still tolerates it)"
    )


# ---------------------------------------------------------------- over HTTP, with aiogram


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(token=TEST_TOKEN) as server:
        yield server


async def test_the_fake_server_answers_400_to_disable_web_page_preview(api: FakeBotAPI) -> None:
    """aiogram's link_preview_is_disabled default still sends disable_web_page_preview."""
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    session = AiohttpSession(api=TelegramAPIServer.from_base(api.base_url))
    old = Bot(TEST_TOKEN, session=session,
              default=DefaultBotProperties(link_preview_is_disabled=True))  # fmt: skip
    try:
        with pytest.raises(TelegramBadRequest) as err:
            await old.send_message(CHAT, "https://example.com")
        assert 'parameter "disable_web_page_preview" was removed' in err.value.message
        with pytest.raises(TelegramBadRequest, match='"reply_to_message_id" was removed'):
            await old.send_message(CHAT, "re", reply_to_message_id=1, disable_web_page_preview=None)
        sent = await old.send_message(
            CHAT, "re", link_preview_options=None,
            reply_parameters=ReplyParameters(message_id=999, allow_sending_without_reply=True),
            disable_web_page_preview=None,
        )  # fmt: skip
        assert sent.text == "re"
    finally:
        await old.session.close()
    assert [c.status for c in api.calls if c.method == "sendMessage"] == [400, 400, 200]


async def test_the_bot_sends_todays_parameters() -> None:
    session = RecordingSession()
    settings = Settings(bot_token=TEST_TOKEN, _env_file=None)  # type: ignore[arg-type,call-arg]
    bot = create_bot(settings, session=session)
    try:
        await bot.send_message(CHAT, "see https://example.com")
    finally:
        await bot.session.close()
    (call,) = session.sent("sendMessage")
    assert "disable_web_page_preview" not in call.raw_params
    assert json.loads(call.raw_params["link_preview_options"]) == {"is_disabled": True}
    assert session.violations == []
