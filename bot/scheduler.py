"""APScheduler 3 inside the bot process, started and stopped with the dispatcher.

The database, not the job store, is the source of truth: jobs are a few
periodic ticks that ask storage what is due (digests whose local send time has
passed this week and are not in the digest log yet, alert rules, channels to
count), so a restart or a missed tick loses nothing and repeats nothing.
"""

from __future__ import annotations

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
    func: Callable[..., Awaitable[Any]]
    trigger: BaseTrigger
    kwargs: dict[str, Any] = field(default_factory=dict)
    # Per-job overrides of the scheduler's job_defaults (coalesce, misfire_grace_time…).
    options: dict[str, Any] = field(default_factory=dict)


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
            job.func,
            job.trigger,
            id=job.id,
            kwargs=job.kwargs,
            replace_existing=True,
            **job.options,
        )
    return scheduler
