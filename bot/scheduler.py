"""APScheduler 3 inside the bot process, started and stopped with the dispatcher.

The database, not the job store, is the source of truth: jobs are a few
periodic ticks that ask storage what is due (digests whose local send time has
passed this week and are not in the digest log yet, alert rules, channels to
count), so a restart or a missed tick loses nothing and repeats nothing.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class JobSpec:
    id: str
    # The job body with its services bound (bot/app.py `create_jobs`): typed, no **kwargs.
    func: Callable[[], Awaitable[object]]
    trigger: BaseTrigger
    # Per-job overrides of the scheduler's job_defaults (coalesce, misfire_grace_time…).
    options: dict[str, Any] = field(default_factory=dict)
    # Cluster mode: run in every process (its work is leased per workspace in the
    # database), not only in the scheduler leader's.
    everywhere: bool = False


def _interruptible(job: JobSpec) -> Callable[[], Awaitable[object]]:
    """The job body, with shutdown in the middle of a run logged as what it is.

    SIGTERM cancels a running tick (a digest run lets the request on the wire
    finish and marks it first); APScheduler would log the CancelledError as an
    ERROR with a traceback, which is noise for a normal stop.
    """

    @functools.wraps(job.func)
    async def run() -> object:
        try:
            return await job.func()
        except asyncio.CancelledError:
            log.info("job %s interrupted by shutdown", job.id)
            return None

    return run


def create_scheduler(jobs: list[JobSpec]) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(
        timezone="UTC",
        job_defaults={
            # A tick that starts late (busy loop, suspended laptop) still runs once,
            # instead of APScheduler's default of silently skipping it after 1 s.
            "coalesce": True,
            "misfire_grace_time": 3600,
            "max_instances": 1,
        },
    )
    for job in jobs:
        scheduler.add_job(
            _interruptible(job),
            job.trigger,
            id=job.id,
            replace_existing=True,
            **job.options,
        )
    return scheduler
