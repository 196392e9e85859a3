"""The webhook's bounded queue: answered at once, handled by the workers, a full
queue answers 503 (Telegram delivers that update again), a bad secret 401."""

from __future__ import annotations

import asyncio
from typing import Any

from aiogram import Dispatcher
from aiogram.types import Message
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_bot
from bot.config import Settings
from bot.webhook import QueuedRequestHandler
from tests.conftest import TEST_TOKEN
from tests.fakeapi.recording import RecordingSession

SECRET = "0123456789abcdef-secret"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}


def update(n: int) -> dict[str, Any]:
    return {
        "update_id": n,
        "message": {"message_id": n, "date": 0, "chat": {"id": 500 + n, "type": "private"},
                    "text": f"hello {n}"},
    }  # fmt: skip


async def test_full_queue_answers_503_and_the_rest_is_handled_in_the_background() -> None:
    release = asyncio.Event()
    handled: list[int] = []
    dp = Dispatcher()

    @dp.message()
    async def slow(message: Message) -> None:
        await release.wait()
        handled.append(message.message_id)

    settings = Settings(bot_token=TEST_TOKEN, send_pacing=False)
    bot = create_bot(settings, RecordingSession())
    handler = QueuedRequestHandler(dp, bot, secret_token=SECRET, queue_size=1, workers=1)
    app = web.Application()
    handler.register(app, path="/hook")
    async with TestClient(TestServer(app)) as client:
        handler.start_workers()
        statuses = []
        for n in (1, 2, 3):
            resp = await client.post("/hook", json=update(n), headers=HEADERS)
            statuses.append(resp.status)
            await asyncio.sleep(0.05)  # the worker takes update 1 before 2 arrives
        # 1: taken by the only worker (blocked), 2: waits in the queue, 3: no room.
        assert statuses == [200, 200, 503]
        assert handler.rejected == 1
        assert handled == []  # answered before any handling

        resp = await client.post("/hook", json=update(4), headers={})
        assert resp.status == 401
        resp = await client.post(
            "/hook", json=update(4), headers={"X-Telegram-Bot-Api-Secret-Token": "x" + SECRET}
        )
        assert resp.status == 401

        release.set()
        await handler.drain(5)
    assert handled == [1, 2]
    await bot.session.close()
