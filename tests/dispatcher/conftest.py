"""Dispatcher-level harness: the real dispatcher from create_dispatcher, real
Update objects, a recording session that validates every call against the Bot
API spec, and a real SQLite file in tmp_path."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.types import Update

from bot.app import create_bot, create_dispatcher
from bot.config import Settings
from storage import Storage
from tests.conftest import TEST_TOKEN
from tests.fakeapi.core import Call
from tests.fakeapi.recording import RecordingSession

APOLOGY_MARKERS = ("Sorry, something went wrong", "у нас что-то пошло не так")


class Harness:
    def __init__(
        self,
        dp: Dispatcher,
        bot: Bot,
        session: RecordingSession,
        storage: Storage,
        settings: Settings,
    ) -> None:
        self.dp = dp
        self.bot = bot
        self.session = session
        self.fake = session.fake
        self.storage = storage
        self.settings = settings
        self.allow_apology = False

    async def feed(self, update: dict[str, Any]) -> list[Call]:
        before = len(self.session.calls)
        parsed = Update.model_validate(update, context={"bot": self.bot})
        await self.dp.feed_update(self.bot, parsed)
        new = self.session.calls[before:]
        if not self.allow_apology:
            for call in new:
                text = call.visible_text or ""
                assert not any(m in text for m in APOLOGY_MARKERS), (
                    f"a handler failed and apologised: {text!r}"
                )
        return new

    async def say(self, text: str, chat_id: int = 1001, **kw: Any) -> list[Call]:
        return await self.feed(self.fake.message(chat_id, text, push=False, **kw))

    async def say_text(self, text: str, chat_id: int = 1001, **kw: Any) -> str:
        """The visible text of all messages the bot sent in answer, joined."""
        calls = await self.say(text, chat_id, **kw)
        return "\n".join(c.visible_text or "" for c in calls if c.method == "sendMessage")

    async def press(self, chat_id: int, message_id: int, data: str, **kw: Any) -> list[Call]:
        return await self.feed(self.fake.callback(chat_id, message_id, data, push=False, **kw))


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(
        bot_token=TEST_TOKEN,  # type: ignore[arg-type]
        database_url=db_url,
        bot_api_url="http://127.0.0.1:9",
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
async def harness(storage: Storage, settings: Settings) -> AsyncIterator[Harness]:
    session = RecordingSession()
    bot = create_bot(settings, session=session)
    dp = create_dispatcher(storage, settings)
    h = Harness(dp, bot, session, storage, settings)
    yield h
    await bot.session.close()


@pytest.fixture(autouse=True)
def _quiet_aiogram(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="aiogram")
