"""The digest tick's timing: a cron trigger at second 0 of every minute (issue #16)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
    assert (job.coalesce, job.misfire_grace_time, job.max_instances) == (True, 30, 1)
    assert str(job.trigger) == "cron[second='0']"
