"""One scheduler leader among the bot's processes.

APScheduler runs in every process, started paused; only the holder of the PostgreSQL
advisory lock (storage/leadership.py) resumes it. Every `check_seconds` each process
either tries the lock (a follower) or checks it still holds it (the leader). When the
leader dies its session ends, the lock is free, and the next follower to try takes it:
a takeover within `check_seconds` (plus PostgreSQL noticing a vanished host, when the
socket was not closed). A leader that can no longer check its lock pauses its jobs at
once. Two leaders can overlap for a moment only when the old one is cut off from the
database, and then its digests and alerts cannot be claimed anyway (the claims are
rows: storage/digests.py, storage/alerts.py).

On SQLite there is one process (bot/polling.py's instance lock): it leads at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from storage.leadership import AdvisoryLock

log = logging.getLogger(__name__)

Callback = Callable[[], Awaitable[None]]
SHUTDOWN = "shutting down"


class Leadership:
    def __init__(
        self,
        lock: AdvisoryLock | None,
        *,
        on_gain: Callback,
        on_lose: Callback,
        check_seconds: float = 2.0,
    ) -> None:
        self._lock = lock
        self._on_gain = on_gain
        self._on_lose = on_lose
        self._check = check_seconds
        self.leader = False
        self.terms = 0  # how many times this process became the leader
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        if self._lock is None:
            await self._gain()
            return
        while True:
            try:
                if not self.leader:
                    if await self._lock.try_acquire():
                        await self._gain()
                elif not await self._lock.still_held():
                    await self._lose("the lock is not held any more")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is unreachable: not a leader now
                if self.leader:
                    await self._lose(f"the lock's connection failed: {type(exc).__name__}")
                await self._lock.release()
            await asyncio.sleep(self._check)

    async def _gain(self) -> None:
        self.leader = True
        self.terms += 1
        log.info("scheduler leader: this process (term %s)", self.terms)
        try:
            await self._on_gain()
        except Exception:
            log.exception("starting the leader's work failed")

    async def _lose(self, why: str) -> None:
        self.leader = False
        log.log(logging.INFO if why == SHUTDOWN else logging.WARNING, "not the leader: %s", why)
        try:
            await self._on_lose()
        except Exception:
            log.exception("stopping the leader's work failed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.leader:
            await self._lose(SHUTDOWN)
        if self._lock is not None:
            await self._lock.close()
