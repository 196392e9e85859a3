"""The shared pieces of cluster mode on the real engines, without bot processes: the
send budget and its 429 pause (Redis), the workspace cache invalidation (Redis pub/sub
between two storages of one PostgreSQL database), the leader lock (PostgreSQL)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from bot.cluster import WorkspaceCacheSync
from bot.leader import Leadership
from bot.services.delivery import RedisSendBudget
from storage import Storage
from storage.leadership import AdvisoryLock, lock_key
from tests.cluster.conftest import PG, REDIS, _fresh_database, needs_services

pytestmark = [needs_services, pytest.mark.cluster]


@pytest.fixture
async def db_url() -> AsyncIterator[str]:
    yield await _fresh_database(PG)


def budget(prefix: str, **kw: int) -> RedisSendBudget:
    return RedisSendBudget(REDIS, prefix=prefix, **kw)


async def test_two_processes_share_the_overall_and_the_per_chat_limits() -> None:
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    a, b = budget(prefix, per_second=5), budget(prefix, per_second=5)
    try:
        started = time.monotonic()
        # 10 sends to distinct chats, 5 from each "process": 5 a second for both,
        # one slot every 0.2 s (the first at once).
        await asyncio.gather(*(x.acquire(1000 + i) for i, x in enumerate([a, b] * 5)))
        assert 1.75 <= time.monotonic() - started < 3
        started = time.monotonic()
        await a.acquire(42)
        await b.acquire(42)  # the same chat from the other process: a second later
        assert time.monotonic() - started >= 0.95
    finally:
        await a.close()
        await b.close()


async def test_a_429_in_one_process_pauses_the_other() -> None:
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    a, b = budget(prefix), budget(prefix)
    try:
        await a.pause_all(1.5)
        await a.pause_all(0.2)  # a shorter pause never cuts a longer one short
        started = time.monotonic()
        await b.acquire(7)
        assert time.monotonic() - started >= 1.3
    finally:
        await a.close()
        await b.close()


async def test_a_write_in_one_process_drops_the_others_cached_workspace(db_url: str) -> None:
    import redis.asyncio as aioredis

    channel = f"t-{uuid.uuid4().hex[:8]}:workspaces"
    one, two = await Storage.open(db_url), await Storage.open(db_url)
    r1, r2 = aioredis.Redis.from_url(REDIS), aioredis.Redis.from_url(REDIS)
    s1 = WorkspaceCacheSync(r1, channel, one.workspaces)
    s2 = WorkspaceCacheSync(r2, channel, two.workspaces)
    try:
        await s1.start()
        await s2.start()
        await one.workspaces.ensure(-500, "group", "Team", "Europe/Moscow")
        cached = await two.workspaces.get_by_chat(-500)
        assert cached is not None and cached.timezone == "Europe/Moscow"
        assert await one.workspaces.set_timezone(-500, "Asia/Almaty")
        deadline = time.monotonic() + 1.0
        while (ws := await two.workspaces.get_by_chat(-500)) and ws.timezone != "Asia/Almaty":
            assert time.monotonic() < deadline, "the other process kept its stale copy"
            await asyncio.sleep(0.01)
        assert s2.received >= 1 and s1.received == 0  # a process ignores its own messages
    finally:
        await s1.stop()
        await s2.stop()
        await r1.aclose()
        await r2.aclose()
        await one.close()
        await two.close()


async def test_the_leader_lock_passes_to_another_process_within_a_check(db_url: str) -> None:
    events: list[str] = []

    def leadership(name: str) -> Leadership:
        async def gain() -> None:
            events.append(f"{name}+")

        async def lose() -> None:
            events.append(f"{name}-")

        lock = AdvisoryLock(db_url, lock_key(123456))
        return Leadership(lock, on_gain=gain, on_lose=lose, check_seconds=0.2)

    a, b = leadership("a"), leadership("b")
    a.start()
    await asyncio.sleep(0.5)
    b.start()
    await asyncio.sleep(0.6)
    assert events == ["a+"] and a.leader and not b.leader
    started = time.monotonic()
    await a.stop()  # its session ends: the lock is free
    while not b.leader:
        assert time.monotonic() - started < 2, events
        await asyncio.sleep(0.05)
    assert events == ["a+", "a-", "b+"]
    await b.stop()
