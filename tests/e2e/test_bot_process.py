from __future__ import annotations

import asyncio
import os
import sys

import pytest

from tests.conftest import REPO
from tests.e2e.conftest import BotProcess
from tests.fakeapi.server import FakeBotAPI

pytestmark = pytest.mark.e2e


async def test_start_answers_in_each_users_language_over_http(
    api: FakeBotAPI, bot_process: BotProcess
) -> None:
    await bot_process.start()
    menus = {c.params.get("language_code") for c in api.sent("setMyCommands")}
    assert menus == {"ru", "en", None}
    ru_menu = next(c for c in api.sent("setMyCommands") if c.params.get("language_code") == "ru")
    assert "Все KPI, какие позволяют данные" in str(ru_menu.params["commands"])

    api.message(301, "/start", language_code="ru")
    api.message(302, "/start", language_code="en")
    (ru,) = await api.wait_for("sendMessage", chat_id=301)
    (en,) = await api.wait_for("sendMessage", chat_id=302)
    assert (ru.visible_text or "").startswith("Привет! Я считаю SMM-KPI вашей команды.")
    assert (en.visible_text or "").startswith("Hi! I count your SMM KPIs.")
    assert await bot_process.stop() == 0
    assert b"stopped" in bot_process.stderr


async def test_non_admin_cannot_change_settings_over_http(
    api: FakeBotAPI, bot_process: BotProcess
) -> None:
    await bot_process.start()
    api.set_chat_member(-100777, 4001, "member")
    api.message(
        -100777,
        "/timezone Asia/Almaty",
        user_id=4001,
        language_code="en",
        chat_type="supergroup",
        title="Agency",
    )
    (reply,) = await api.wait_for("sendMessage", chat_id=-100777)
    assert reply.visible_text == (
        "Only chat administrators can change this. Anyone can ask for KPIs."
    )
    api.message(-100777, "/settings", user_id=4001, language_code="en")
    calls = await api.wait_for("sendMessage", chat_id=-100777, count=2)
    assert "Time zone: Europe/Moscow" in (calls[1].visible_text or "")


async def test_restart_keeps_workspaces_and_accounts(
    api: FakeBotAPI, bot_process: BotProcess
) -> None:
    await bot_process.start()
    api.message(303, "/account add vk:brand", language_code="en")
    await api.wait_for("sendMessage", chat_id=303)
    assert await bot_process.stop() == 0
    api.clear_calls()
    await bot_process.start()
    api.message(303, "/account list", language_code="en")
    (listing,) = await api.wait_for("sendMessage", chat_id=303)
    assert "• vk:brand" in (listing.visible_text or "")


async def _run_bot(env: dict[str, str], cwd) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode is not None
    return proc.returncode, err.decode()


def _base_env(tmp_path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BOT_", "DATABASE_", "SEND_PACING"))
    }
    env["PYTHONPATH"] = str(REPO)
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path}/db.sqlite3"
    return env


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        (
            None,
            "Cannot start: BOT_TOKEN is required (set it in the environment or .env; "
            "see .env.example)",
        ),
        (
            "not-a-token",
            "Cannot start: BOT_TOKEN does not look like a Telegram bot token (123456:ABC...)",
        ),
    ],
)
async def test_missing_or_malformed_token_stops_with_one_line(tmp_path, token, expected) -> None:
    env = _base_env(tmp_path)
    if token is not None:
        env["BOT_TOKEN"] = token
    code, err = await _run_bot(env, tmp_path)
    assert code == 2
    assert err.strip() == expected
    assert "Traceback" not in err


async def test_unreachable_database_stops_with_one_line(tmp_path, api: FakeBotAPI) -> None:
    (tmp_path / "blocker").write_text("not a folder")
    env = _base_env(tmp_path)
    env.update(api.bot_env())
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path}/blocker/db.sqlite3"
    code, err = await _run_bot(env, tmp_path)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Cannot start: cannot")
    assert "Traceback" not in err


async def test_rejected_token_stops_with_one_line(tmp_path, api: FakeBotAPI) -> None:
    env = _base_env(tmp_path)
    env.update(api.bot_env())
    env["BOT_TOKEN"] = "999999:" + "Z" * 35  # well-formed, unknown to the server
    env["LOG_LEVEL"] = "ERROR"
    code, err = await _run_bot(env, tmp_path)
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        "Cannot start: BOT_TOKEN was rejected by the Bot API (401 Unauthorized)"
    )
    assert "Z" * 35 not in err
