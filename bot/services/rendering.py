"""Charts are CPU-bound matplotlib work: render them off the event loop.

Production uses a process pool (matplotlib holds the GIL); tests and small
deployments may use a thread. Render functions are top-level functions of
`kpi.charts` taking picklable specs.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing.connection import wait
from typing import TypeVar

S = TypeVar("S")


def exit_with_parent() -> None:
    """A renderer process's initializer: it ends when the bot does, however the bot ended.

    A bot killed outright (SIGKILL, the OOM killer) runs no clean-up, and its pool's
    workers would wait on their task queue for ever (each holds the queue's other end),
    keeping the forkserver alive beside them. The parent's sentinel becomes ready when
    the parent is gone.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        wait([parent.sentinel])
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


class ChartRenderer:
    def __init__(self, executor: Executor) -> None:
        self._executor = executor

    @classmethod
    def processes(cls, workers: int | None = None) -> ChartRenderer:
        # forkserver: workers start from a clean interpreter, not a fork of the
        # running event loop and its sockets.
        ctx = multiprocessing.get_context("forkserver")
        return cls(
            ProcessPoolExecutor(
                max_workers=workers or os.cpu_count() or 1,
                mp_context=ctx,
                initializer=exit_with_parent,
            )
        )

    @classmethod
    def threads(cls, workers: int = 2) -> ChartRenderer:
        return cls(ThreadPoolExecutor(max_workers=workers, thread_name_prefix="chart"))

    async def render(self, func: Callable[[S], bytes], spec: S) -> bytes:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, func, spec)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
