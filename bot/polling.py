"""One polling process per bot token and database.

Two processes on one database keep two in-memory workspace caches and answer
from stale settings (a `/timezone` in one is unknown to the other), and
Telegram gives each of them half of the updates. So:

* at start-up the process takes a lock row in the database (`instance_lock`,
  one per bot id) and renews it every `heartbeat` seconds; a second process
  finds a fresh heartbeat and stops with one line; a holder that crashed stops
  renewing and is taken over after `stale_after`;
* a 409 Conflict from getUpdates (another process polls the same token,
  possibly on another database) stops the process with one line;
* a 429 on getUpdates waits `retry_after` before polling again (aiogram's own
  back-off would poll again within a second or two).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramConflictError, TelegramRetryAfter
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType

from storage import Storage

log = logging.getLogger(__name__)

MAX_POLL_WAIT = 3600.0  # a retry_after beyond an hour is capped (and logged)


class Stopper:
    """Why the process must stop; `stop()` ends polling (the dispatcher's stop)."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self._on_stop: Callable[[], Coroutine[Any, Any, None]] | None = None
        self._task: asyncio.Task[None] | None = None

    def bind(self, on_stop: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self._on_stop = on_stop

    def stop(self, reason: str) -> None:
        if self.reason is not None:
            return
        self.reason = reason
        self.stop_polling()

    def stop_polling(self) -> bool:
        """Stop polling (a normal stop, e.g. SIGTERM); False when it has not started."""
        if self._on_stop is None:
            return False
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._on_stop())
        return True


def conflict_text() -> str:
    return (
        "another process is polling Telegram with this bot token (409 Conflict from "
        "getUpdates); stopping. Run one bot process per token."
    )


class PollingGuard(BaseRequestMiddleware):
    """getUpdates only: honour retry_after, stop on 409 Conflict."""

    def __init__(
        self, stopper: Stopper, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    ) -> None:
        self._stopper = stopper
        self._sleep = sleep

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if method.__api_method__ != "getUpdates":
            return await make_request(bot, method)
        while True:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                wait = min(float(exc.retry_after), MAX_POLL_WAIT)
                log.warning("getUpdates: flood control, polling again in %ss", wait)
                await self._sleep(wait)
            except TelegramConflictError:
                self._stopper.stop(conflict_text())
                # Polling is being stopped: wait here for the cancellation instead of
                # raising into aiogram's loop, which would log an ERROR and poll again.
                await asyncio.Event().wait()


def holder_name(pid: int | None = None) -> str:
    return f"pid {pid or os.getpid()} on {socket.gethostname()}"[:128]


def _dead_here(holder: str) -> bool:
    """True when `holder` names a process of this host that no longer exists (a crash
    or SIGKILL: its lock can be taken at once instead of after `stale_after`)."""
    parts = holder.split(" ", 3)
    if len(parts) != 4 or parts[0] != "pid" or not parts[1].isdigit():
        return False
    if holder != holder_name(int(parts[1])):  # another host: can't tell
        return False
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


class InstanceLock:
    """The database lock of one polling process (see the module docstring)."""

    def __init__(
        self,
        storage: Storage,
        bot_id: int,
        *,
        heartbeat: float = 10.0,
        stale_after: float = 30.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._storage = storage
        self._bot_id = bot_id
        self._heartbeat = heartbeat
        self._stale_after = timedelta(seconds=stale_after)
        self._clock = clock
        self.holder = holder_name()
        self._task: asyncio.Task[None] | None = None

    async def acquire(self) -> str | None:
        """None when taken; else the one-line reason the process can't start."""
        now = self._clock()
        other = await self._storage.runtime.acquire_lock(
            self._bot_id, self.holder, now, self._stale_after
        )
        if other is None:
            return None
        if _dead_here(other.holder) and await self._storage.runtime.take_over(
            self._bot_id, other.holder, self.holder, now
        ):
            log.info("instance lock taken over from %s (no such process)", other.holder)
            return None
        age = max(0, int((now - other.heartbeat_at).total_seconds()))
        return (
            f"another bot process ({other.holder}) is running on this database "
            f"(its heartbeat is {age} s old); run one process per bot token and database"
        )

    def keep_alive(self, stopper: Stopper, *, update_memory: timedelta | None = None) -> None:
        """Renew the lock until cancelled; hourly, forget update ids older than
        `update_memory` (Telegram may restart its numbering after a quiet week)."""

        async def beat() -> None:
            pruned_at = self._clock()
            while True:
                await asyncio.sleep(self._heartbeat)
                now = self._clock()
                try:
                    mine = await self._storage.runtime.heartbeat(self._bot_id, self.holder, now)
                    if update_memory is not None and now - pruned_at > timedelta(hours=1):
                        pruned_at = now
                        await self._storage.runtime.forget_updates_before(now - update_memory)
                except Exception as exc:  # a full disk: keep serving reads, retry
                    log.warning("instance lock heartbeat failed: %s", exc)
                    continue
                if not mine:
                    stopper.stop(
                        "another bot process took over this database's lock "
                        "(this one missed its heartbeats); stopping"
                    )
                    return

        self._task = asyncio.get_running_loop().create_task(beat())

    async def release(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        try:
            await self._storage.runtime.release_lock(self._bot_id, self.holder)
        except Exception as exc:
            log.warning("instance lock not released (it goes stale by itself): %s", exc)
