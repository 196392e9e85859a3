"""End-to-end: `python -m bot` as a real process, long-polling a fake Bot API
server on 127.0.0.1 over real HTTP."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import REPO, TEST_TOKEN
from tests.fakeapi.server import FakeBotAPI

pytestmark = pytest.mark.e2e


class BotProcess:
    def __init__(self, api: FakeBotAPI, workdir: Path, db_url: str) -> None:
        self.api = api
        self.workdir = workdir
        self.db_url = db_url
        self.proc: asyncio.subprocess.Process | None = None
        self.stderr = b""

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("BOT_", "DATABASE_", "SEND_PACING"))
        }
        env.update(
            BOT_TOKEN=self.api.token,
            BOT_API_URL=self.api.base_url,
            DATABASE_URL=self.db_url,
            LOG_LEVEL="INFO",
            PYTHONPATH=str(REPO),
            MPLBACKEND="Agg",
        )
        env.update(extra)
        return env

    async def start(self, **extra_env: str) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot",
            cwd=self.workdir, env=self.env(**extra_env),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        # Ready when the command menu is registered (after migrations and getMe).
        await self.api.wait_for("setMyCommands", count=3, timeout=30)

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        try:
            _out, err = await asyncio.wait_for(self.proc.communicate(), timeout=20)
        except TimeoutError:
            self.proc.kill()
            _out, err = await self.proc.communicate()
        self.stderr += err
        code = self.proc.returncode
        assert code is not None
        self.proc = None
        return code


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(token=TEST_TOKEN) as server:
        yield server


@pytest.fixture
async def bot_process(api: FakeBotAPI, tmp_path: Path, db_url: str) -> AsyncIterator[BotProcess]:
    proc = BotProcess(api, tmp_path, db_url)
    yield proc
    if proc.proc is not None:
        await proc.stop()
    assert TEST_TOKEN.encode() not in proc.stderr, "the token leaked into the logs"
    assert api.violations == [], api.violations
