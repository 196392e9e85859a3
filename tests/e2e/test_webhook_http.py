"""Webhook mode end to end: `python -m bot` with BOT_MODE=webhook behind the fake Bot
API, which posts the updates to the bot's port with the secret header."""

from __future__ import annotations

import socket

import aiohttp
import pytest

from tests.e2e.conftest import BotProcess
from tests.fakeapi.server import FakeBotAPI

SECRET = "s3cret-token_of-the-test-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def webhook_env(port: int) -> dict[str, str]:
    return {
        "BOT_MODE": "webhook",
        "WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/hook",
        "WEBHOOK_SECRET": SECRET,
        "WEBHOOK_LISTEN": f"127.0.0.1:{port}",
    }


async def test_webhook_mode_sets_the_webhook_and_answers_what_telegram_posts(
    api: FakeBotAPI, bot_process: BotProcess
) -> None:
    port = free_port()
    await bot_process.start(**webhook_env(port))
    (hook,) = await api.wait_for("setWebhook")
    assert hook.params["url"] == f"http://127.0.0.1:{port}/telegram/hook"
    assert hook.params["secret_token"] == SECRET
    allowed = set(hook.params["allowed_updates"])
    assert {"message", "callback_query", "channel_post", "chat_member"} <= allowed
    assert api.sent("getUpdates") == []  # no polling in webhook mode

    api.message(401, "/start", language_code="en")
    (reply,) = await api.wait_for("sendMessage", chat_id=401)
    assert (reply.visible_text or "").startswith("Hi! I count your SMM KPIs.")
    assert [status for _url, _id, status in api.webhook_posts] == [200]

    url = f"http://127.0.0.1:{port}/telegram/hook"
    update = {"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"id": 402,
              "type": "private"}, "text": "/start"}}  # fmt: skip
    async with aiohttp.ClientSession() as http:
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
            async with http.post(url, json=update, headers=headers) as resp:
                assert resp.status == 401
        async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
            assert resp.status == 200
    assert api.sent("sendMessage", chat_id=402) == []  # refused updates are not handled

    assert await bot_process.stop() == 0
    assert b"webhook: listening on 127.0.0.1" in bot_process.stderr
    assert len(api.sent("setWebhook")) == 1


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"WEBHOOK_SECRET": ""}, b"WEBHOOK_SECRET is required in webhook mode"),
        ({"WEBHOOK_URL": "not a url"}, b"WEBHOOK_URL must be the public https:// URL"),
        ({"REDIS_URL": "redis://127.0.0.1:1/0"}, b"REDIS_URL (cluster mode) needs a PostgreSQL"),
    ],
)
async def test_webhook_settings_are_checked_at_start_up(
    api: FakeBotAPI, bot_process: BotProcess, extra: dict[str, str], expected: bytes
) -> None:
    import asyncio
    import sys

    env = bot_process.env(**{**webhook_env(free_port()), **extra})
    if bot_process.db_url.startswith("postgresql") and "REDIS_URL" in extra:
        pytest.skip("on PostgreSQL cluster mode may start")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=bot_process.workdir, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 2, err
    assert expected in err, err
    assert err.count(b"\n") == 1, err  # one line, no traceback
