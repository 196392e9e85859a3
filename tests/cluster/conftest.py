"""Cluster mode for real: three `python -m bot` processes in webhook mode on one
PostgreSQL database and one Redis, behind the fake Bot API, which enforces Telegram's
flood limits and posts the updates to the processes round-robin (as the reverse proxy
of deploy/compose.yaml would). Needs TEST_POSTGRES_URL and TEST_REDIS_URL:
`make test-cluster` starts both (tests/cluster/with_services.sh)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from tests.conftest import REPO, TEST_TOKEN
from tests.fakeapi.server import FakeBotAPI

PG = os.environ.get("TEST_POSTGRES_URL", "")
REDIS = os.environ.get("TEST_REDIS_URL", "")
SECRET = "cluster-test-secret_0123456789"
NODES = 3

needs_services = pytest.mark.skipif(
    not (PG and REDIS), reason="cluster: needs PostgreSQL and Redis (make test-cluster)"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Node:
    """One bot process; its log is a file (a pipe nobody reads would block it)."""

    def __init__(self, name: str, workdir: Path, env: dict[str, str]) -> None:
        self.name = name
        self.port = free_port()
        self.workdir = workdir / name
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.workdir / "bot.log"
        self.env = {**env, "WEBHOOK_LISTEN": f"127.0.0.1:{self.port}"}
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/telegram"

    async def start(self) -> None:
        with self.log_path.open("ab") as log:
            # A session of its own: `kill` ends the bot with its render pool (a machine
            # or container dying takes both), never leaving orphans behind.
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", cwd=self.workdir, env=self.env,
                stdout=asyncio.subprocess.DEVNULL, stderr=log, start_new_session=True,
            )  # fmt: skip

    def kill(self) -> None:
        """kill -9 of the process and everything it started."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)

    async def ready(self, timeout: float = 60) -> None:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                assert self.proc is not None and self.proc.returncode is None, self.log()
                try:
                    async with http.get(f"http://127.0.0.1:{self.port}/healthz") as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
        raise AssertionError(f"{self.name} not ready:\n{self.log()}")

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far (Linux /proc), 0 when gone."""
        try:
            fields = Path(f"/proc/{self.proc.pid if self.proc else 0}/stat").read_text().split()
        except OSError:
            return 0.0
        return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    @property
    def leader(self) -> bool:
        text = self.log()
        return self.alive and text.count("scheduler leader: this process") > text.count(
            "not the leader:"
        )

    async def stop(self, sig: int = signal.SIGTERM) -> int | None:
        if self.proc is None:
            return None
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        try:
            await asyncio.wait_for(self.proc.wait(), 30)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        with contextlib.suppress(ProcessLookupError):  # its render pool, if still there
            os.killpg(self.proc.pid, signal.SIGKILL)
        return self.proc.returncode

    async def post(self, update: dict[str, Any], secret: str = SECRET) -> int:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
        async with (
            aiohttp.ClientSession() as http,
            http.post(self.url, json=update, headers=headers) as resp,
        ):
            return resp.status


class Cluster:
    def __init__(self, api: FakeBotAPI, nodes: list[Node], db_url: str) -> None:
        self.api = api
        self.nodes = nodes
        self.db_url = db_url

    @property
    def alive(self) -> list[Node]:
        return [n for n in self.nodes if n.alive]

    async def leader(self, timeout: float = 20) -> Node:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            leaders = [n for n in self.nodes if n.leader]
            if len(leaders) == 1:
                return leaders[0]
            assert len(leaders) <= 1, [n.name for n in leaders]
            await asyncio.sleep(0.1)
        raise AssertionError("no leader:\n" + "\n".join(n.log()[-2000:] for n in self.nodes))

    def logs(self) -> str:
        return "\n".join(f"--- {n.name}\n{n.log()}" for n in self.nodes)


async def _fresh_database(server: str) -> str:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    name = f"kpibot_cluster_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(server, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()
    return make_url(server).set(database=name).render_as_string(hide_password=False)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    import redis.asyncio as aioredis

    redis = aioredis.Redis.from_url(REDIS)
    await redis.flushdb()
    await redis.aclose()
    db_url = await _fresh_database(PG)  # empty: the three processes migrate it at once
    workdir = tmp_path_factory.mktemp("cluster")
    async with FakeBotAPI(token=TEST_TOKEN) as api:
        api.rate_limit()  # Telegram's limits: 30/s overall, 1/s per chat, 20/min per group
        ours = ("BOT_", "DATABASE_", "SEND_PACING", "REDIS_", "WEBHOOK_")
        env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
        env.update(
            BOT_TOKEN=api.token,
            BOT_API_URL=api.base_url,
            DATABASE_URL=db_url,
            REDIS_URL=REDIS,
            BOT_MODE="webhook",
            WEBHOOK_URL="http://127.0.0.1:9/telegram",  # the "proxy"; the fake picks backends
            WEBHOOK_SECRET=SECRET,
            DIGEST_TICK_SECONDS="1",
            LEADER_CHECK_SECONDS="1",
            DIGEST_LEASE_SECONDS="20",  # what a killed process leased is due again soon
            LOG_LEVEL="INFO",
            PYTHONPATH=str(REPO),
            MPLBACKEND="Agg",
        )
        nodes = [Node(f"bot{i + 1}", workdir, env) for i in range(NODES)]
        api.deliver_to([n.url for n in nodes])
        await asyncio.gather(*(n.start() for n in nodes))
        try:
            await asyncio.gather(*(n.ready() for n in nodes))
            yield Cluster(api, nodes, db_url)
        finally:
            await asyncio.gather(*(n.stop() for n in nodes))
        for node in nodes:
            assert TEST_TOKEN not in node.log(), f"{node.name} logged the token"
        assert api.violations == [], api.violations
