"""The digest tick's timing: a cron trigger at second 0 of every minute (issue #16)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from functools import partial
from types import SimpleNamespace

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.app import DIGEST_JOB_OPTIONS, digest_trigger
from bot.scheduler import JobSpec, create_scheduler


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def _noop() -> None:
    return None


def test_default_tick_fires_at_second_zero_of_every_minute() -> None:
    trigger = digest_trigger(60)
    assert isinstance(trigger, CronTrigger)
    # A process started at 09:59:41.5 ticks at 10:00:00, not at 10:00:41.5.
    started = datetime(2026, 11, 30, 9, 59, 41, 500_000, tzinfo=UTC)
    first = trigger.get_next_fire_time(None, started)
    assert first == utc(2026, 11, 30, 10, 0, 0)
    fires = [first]
    for _ in range(3):
        fires.append(trigger.get_next_fire_time(fires[-1], fires[-1] + timedelta(microseconds=1)))
    assert fires == [utc(2026, 11, 30, 10, m, 0) for m in range(4)]
    # Exactly on the minute is that minute's tick.
    assert trigger.get_next_fire_time(None, utc(2026, 11, 30, 10, 5)) == utc(2026, 11, 30, 10, 5)


def test_tick_in_utc_is_not_shifted_by_a_dst_change() -> None:
    # 2026-03-29 01:00 UTC: Europe's clocks jump; a UTC cron keeps every minute.
    trigger = digest_trigger(60)
    before = utc(2026, 3, 29, 0, 59, 30)
    assert trigger.get_next_fire_time(None, before) == utc(2026, 3, 29, 1, 0)


def test_other_tick_lengths_are_intervals() -> None:
    trigger = digest_trigger(1)
    assert isinstance(trigger, IntervalTrigger)
    assert trigger.interval == timedelta(seconds=1)


def test_scheduler_applies_the_digest_job_options() -> None:
    scheduler = create_scheduler(
        [JobSpec("digest", _noop, digest_trigger(60), options=DIGEST_JOB_OPTIONS)]
    )
    job = scheduler.get_job("digest")
    assert job is not None
    assert (job.coalesce, job.misfire_grace_time, job.max_instances) == (True, 30, 2)
    assert str(job.trigger) == "cron[second='0']"


async def test_a_tick_during_a_long_run_returns_at_once_without_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A run of thousands of digests outlasts many ticks: the ticks during it neither
    start a second run nor make APScheduler warn every minute."""
    from bot.services import digest as digest_service

    runs: list[str] = []
    release = asyncio.Event()

    async def long_run(job: object) -> None:
        runs.append("started")
        await release.wait()
        runs.append("ended")

    monkeypatch.setattr(digest_service, "digest_tick", long_run)
    job = SimpleNamespace(running_since=None, clock=lambda: utc(2026, 11, 30, 10, 0))
    tick = partial(digest_service.run_digest_tick, job)
    scheduler = create_scheduler(
        [JobSpec("digest", tick, IntervalTrigger(seconds=0.05), options=DIGEST_JOB_OPTIONS)]
    )
    caplog.set_level(logging.DEBUG)
    scheduler.start()
    try:
        for _ in range(200):  # ~0.5 s: several ticks while the first run goes on
            await asyncio.sleep(0.01)
            if sum("still sending" in r.getMessage() for r in caplog.records) >= 3:
                break
        assert runs == ["started"]
        assert job.running_since == utc(2026, 11, 30, 10, 0)
        release.set()
        for _ in range(200):
            await asyncio.sleep(0.01)
            if runs.count("started") == 2:
                break
    finally:
        release.set()
        scheduler.shutdown(wait=False)
    assert runs[:3] == ["started", "ended", "started"]  # the next tick after the run runs
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [], [r.getMessage() for r in warnings]
