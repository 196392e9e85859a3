"""Shared state of several bot processes (REDIS_URL): aiogram's `RedisStorage` for the
FSM and `RedisEventIsolation` (one chat's updates are handled one at a time even when
they reach two processes), the invalidation of every process's workspace cache, and
the shared send budget (bot/services/delivery.py `RedisSendBudget`).

The workspace cache (storage/workspaces.py) stays: each write publishes the changed
chats on a Redis channel before the writer goes on, and every process drops them from
its cache as the message arrives. A process whose subscription broke drops its whole
cache when it is back (it may have missed messages meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import uuid
from typing import Any

import redis.asyncio as aioredis
from aiogram.fsm.storage.base import DefaultKeyBuilder
from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage

from bot.services.delivery import RedisSendBudget
from storage.workspaces import WorkspaceRepo

log = logging.getLogger(__name__)


class WorkspaceCacheSync:
    """Pub/sub of "these chats' workspaces changed" between the processes."""

    def __init__(self, redis: aioredis.Redis, channel: str, repo: WorkspaceRepo) -> None:
        self._redis = redis
        self.channel = channel
        self._repo = repo
        # Who published: a process skips its own messages (its cache is already right).
        self._origin = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self.received = 0

    async def start(self) -> None:
        self._repo.on_change = self.publish
        self._task = asyncio.get_running_loop().create_task(self._listen())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), 5)

    async def publish(self, chat_ids: tuple[int, ...]) -> None:
        message = json.dumps({"from": self._origin, "chats": list(chat_ids)})
        try:
            await self._redis.publish(self.channel, message)
        except Exception as exc:  # the others' caches may be stale: say so
            log.error("workspace change not published (%s): other processes may lag", exc)

    async def _listen(self) -> None:
        first = True
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    if not first:
                        self._repo.forget()  # messages may have been missed
                    first = False
                    self._subscribed.set()
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self._apply(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("workspace cache subscription lost (%s); reconnecting", exc)
                await asyncio.sleep(1)

    def _apply(self, data: Any) -> None:
        try:
            body = json.loads(data)
        except (TypeError, ValueError):
            log.warning("bad workspace cache message: %r", data)
            return
        if body.get("from") == self._origin:
            return
        self.received += 1
        self._repo.forget(*(int(c) for c in body.get("chats", [])))

    async def stop(self) -> None:
        self._repo.on_change = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class Cluster:
    """Everything the processes share through Redis, for one bot id."""

    def __init__(self, redis_url: str, bot_id: int, repo: WorkspaceRepo) -> None:
        self.prefix = f"kpibot:{bot_id}"
        self.redis = aioredis.Redis.from_url(redis_url)
        keys = DefaultKeyBuilder(prefix=f"{self.prefix}:fsm", with_bot_id=True)
        self.fsm_storage = RedisStorage(self.redis, key_builder=keys)
        self.events_isolation = RedisEventIsolation(
            self.redis, key_builder=DefaultKeyBuilder(prefix=f"{self.prefix}:fsm", with_bot_id=True)
        )
        self.cache_sync = WorkspaceCacheSync(self.redis, f"{self.prefix}:workspaces", repo)
        self.send_budget = RedisSendBudget(redis_url, prefix=self.prefix)

    async def start(self) -> None:
        await self.redis.ping()
        await self.cache_sync.start()

    async def close(self) -> None:
        await self.cache_sync.stop()
        await self.send_budget.close()
        # The dispatcher closes the FSM storage and the isolation (same client) on shutdown.
        with contextlib.suppress(Exception):
            await self.redis.aclose()
