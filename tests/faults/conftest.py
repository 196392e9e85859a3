"""`python -m bot` as a real process against the fake Bot API over real HTTP, with
the process's stderr in a file (a DEBUG run would fill a pipe and stall the bot),
SIGKILL and restart, and the database opened from the test for seeding and checks."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from storage import Storage
from tests.conftest import REPO, TEST_TOKEN
from tests.fakeapi.server import FakeBotAPI


class LiveBot:
    """One bot process at a time; `start()` again after `stop()`/`kill()` restarts it."""

    def __init__(self, api: FakeBotAPI, workdir: Path, db_url: str) -> None:
        self.api = api
        self.workdir = workdir
        self.db_url = db_url
        self.proc: asyncio.subprocess.Process | None = None
        self.log_path = workdir / "bot-stderr.log"
        self.starts = 0

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

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

    async def start(self, *, wait: bool = True, **extra_env: str) -> None:
        assert self.proc is None, "already running"
        ready_before = len(self.api.sent("setMyCommands"))
        with self.log_path.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot",
                cwd=self.workdir, env=self.env(**extra_env),
                stdout=asyncio.subprocess.DEVNULL, stderr=log,
            )  # fmt: skip
        self.starts += 1
        if wait:  # ready once the command menu is registered (after migrations and getMe)
            await self.api.wait_for("setMyCommands", count=ready_before + 3, timeout=30)

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        try:
            await asyncio.wait_for(self.proc.wait(), timeout=20)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        code = self.proc.returncode
        assert code is not None
        self.proc = None
        return code

    async def kill(self) -> int:
        """SIGKILL: no clean-up at all, like a power cut or the OOM killer."""
        return await self.stop(signal.SIGKILL)

    @property
    def stderr(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(token=TEST_TOKEN) as server:
        yield server


@pytest.fixture
async def live(api: FakeBotAPI, tmp_path: Path, db_url: str) -> AsyncIterator[LiveBot]:
    bot = LiveBot(api, tmp_path, db_url)
    yield bot
    if bot.proc is not None:
        await bot.stop()
    assert TEST_TOKEN not in bot.stderr, "the token leaked into the logs"
    assert api.violations == [], api.violations


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Storage]:
    """The bot's database, opened from the test (SQLite WAL: both may use it)."""
    st = await Storage.open(db_url)
    try:
        yield st
    finally:
        await st.close()


SHARED_ENV = {"LOG_LEVEL": "DEBUG", "DIGEST_TICK_SECONDS": "1"}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Shared]:
    """One bot process (LOG_LEVEL=DEBUG) for a whole module: starting `python -m bot`
    costs several seconds of CPU (aiogram's types), so the fault scenarios share it,
    each in its own chats. The DEBUG log of the whole run is checked for the token."""
    workdir = tmp_path_factory.mktemp("shared-bot")
    db_url = f"sqlite+aiosqlite:///{workdir / 'kpibot.sqlite3'}"
    async with FakeBotAPI(token=TEST_TOKEN) as server:
        bot = LiveBot(server, workdir, db_url)
        st = await Storage.open(db_url)
        try:
            await bot.start(**SHARED_ENV)
            yield Shared(server, bot, st)
        finally:
            if bot.proc is not None:
                await bot.stop()
            await st.close()
    assert TEST_TOKEN not in bot.stderr, "the token leaked into the logs"


class Shared:
    def __init__(self, api: FakeBotAPI, live: LiveBot, db: Storage) -> None:
        self.api = api
        self.live = live
        self.db = db
