"""The digest tick's due scan: `python bench/bench_due_scan.py [--quick]` or `main(quick)`.

Row `due_scan`: 100,000 workspaces (quick: 10,000) with data, schedules spread over
the week's minutes in several time zones (a third on the default Monday 10:00
Moscow) and `next_digest_at` as storage keeps it. One tick's due work — the due
set with `advance` and the 15-minute look-ahead — over 30 consecutive quiet
minutes (Wednesday afternoon: ~10 due a minute at 100,000), read as `digest_tick`
reads it (due set, the window's counts, the look-ahead past the previous one); the
subject is the slowest of those ticks, and the longest the event loop was kept from running a
1 ms timer during them. Target: < 20 ms per tick, no stall over 20 ms (absolute).

Before them, one tick an hour earlier that writes nothing: a process's first tick pays
once for compiling the statements and reading the index's pages from disk (20–40 ms,
reported in the notes as the cold tick); the target is about every minute after it.

Baseline: the scan this replaced (issue #16) — every active workspace with its
`MAX(day)`, the time zone check in Python — timed once at the same size.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select

from kpi.digest import SPARK_WEEKS, digest_slot, is_due
from kpi.schedule import first_digest_at
from storage import Storage
from storage.schema import accounts, daily_metrics, workspaces

ZONES = ("Europe/Moscow", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC")
CREATED = datetime(2026, 1, 1, tzinfo=UTC)
QUIET = datetime(2026, 12, 2, 13, 0, tzinfo=UTC)  # a Wednesday afternoon
TICKS = 30
AHEAD = timedelta(minutes=15)


async def _seed(storage: Storage, count: int) -> None:
    rng = random.Random(16)
    since = QUIET - timedelta(minutes=1)
    ws_rows, acc_rows, day_rows = [], [], []
    for i in range(1, count + 1):
        if i % 3 == 0:
            tz, weekday, hhmm = "Europe/Moscow", 0, "10:00"
        else:
            minute = rng.randrange(7 * 24 * 60)
            tz = ZONES[i % len(ZONES)]
            weekday, hhmm = minute // 1440, f"{minute % 1440 // 60:02d}:{minute % 60:02d}"
        ws_rows.append(
            {
                "id": i,
                "chat_id": -i,
                "chat_type": "group",
                "title": f"Team {i}",
                "timezone": tz,
                "active": True,
                "margin": 1.0,
                "digest_enabled": True,
                "digest_weekday": weekday,
                "digest_time": hhmm,
                "created_at": CREATED,
                # As storage keeps it: the first slot after the previous tick.
                "next_digest_at": first_digest_at(since, weekday, hhmm, tz, CREATED),
            }
        )
        acc_rows.append(
            {"id": i, "workspace_id": i, "name": "main", "is_default": True, "created_at": CREATED}
        )
        day_rows.append(
            {"workspace_id": i, "account_id": i, "day": date(2026, 11, 29), "reach": 100.0}
        )
    async with storage.engine.begin() as conn:
        for table, rows in ((workspaces, ws_rows), (accounts, acc_rows), (daily_metrics, day_rows)):
            for start in range(0, len(rows), 10_000):
                await conn.execute(insert(table), rows[start : start + 10_000])


async def _full_scan(storage: Storage, now: datetime) -> int:
    """The replaced design: every active workspace read and checked in Python."""
    last_day = (
        select(func.max(daily_metrics.c.day))
        .where(daily_metrics.c.workspace_id == workspaces.c.id)
        .scalar_subquery()
    )
    async with storage.engine.connect() as conn:
        rows = (
            await conn.execute(
                select(workspaces, last_day.label("last_day"))
                .where(workspaces.c.active.is_(True), workspaces.c.digest_enabled.is_(True))
                .order_by(workspaces.c.id)
            )
        ).all()
    due = 0
    for row in rows:
        if row.last_day is None:
            continue
        slot = digest_slot(now, row.digest_weekday, row.digest_time, row.timezone)
        window_start = slot.report.start - timedelta(days=7 * (SPARK_WEEKS - 1))
        created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
        if row.last_day >= window_start and is_due(slot, now, created):
            due += 1
    return due


async def _watch_loop(stop: asyncio.Event, gaps: list[float]) -> None:
    last = time.perf_counter()
    while not stop.is_set():
        await asyncio.sleep(0.001)
        now = time.perf_counter()
        gaps.append(now - last - 0.001)
        last = now


async def _cold_tick(storage: Storage, now: datetime) -> float:
    """A process's first tick, untimed by the target: every statement of a tick (both
    look-ahead shapes) compiled once and the index read in, nothing written."""
    started = time.perf_counter()
    await storage.digests.workspaces_due_for_digest(now, advance=False)
    await storage.digests.due_count(now + AHEAD)
    await storage.digests.soon_due(now, now + AHEAD)
    await storage.digests.soon_due(now, now + AHEAD, after=now)
    return time.perf_counter() - started


async def due_scan(count: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        storage = await Storage.open(f"sqlite+aiosqlite:///{tmp}/bench.sqlite3")
        try:
            started = time.perf_counter()
            await _seed(storage, count)
            seed_s = time.perf_counter() - started
            started = time.perf_counter()
            await _full_scan(storage, QUIET)
            baseline_s = time.perf_counter() - started
            # The seeding and the baseline's 100,000 rows are garbage now: collect them
            # first, so a full collection of the bench's own leftovers is not timed.
            gc.collect()
            ticks: list[float] = []
            parts: dict[str, float] = {"due": 0.0, "counts": 0.0, "soon": 0.0}
            horizon: datetime | None = None
            due_total = soon_max = 0
            stop = asyncio.Event()
            gaps: list[float] = []
            watcher = asyncio.create_task(_watch_loop(stop, gaps))
            await asyncio.sleep(0.01)
            cold_s = await _cold_tick(storage, QUIET - timedelta(hours=1))
            gaps.clear()
            for minute in range(TICKS):
                now = QUIET + timedelta(minutes=minute)
                started = time.perf_counter()
                # What digest_tick reads (bot/services/digest.py): the due set, the counts
                # that size the pre-render window, the look-ahead past the last one.
                due = await storage.digests.workspaces_due_for_digest(now, advance=True)
                t1 = time.perf_counter()
                await storage.digests.due_count(now + AHEAD)  # the 15-minute window's size
                t2 = time.perf_counter()
                soon = await storage.digests.soon_due(now, now + AHEAD, after=horizon)
                t3 = time.perf_counter()
                horizon = now + AHEAD
                ticks.append(t3 - started)
                for name, took in (("due", t1 - started), ("counts", t2 - t1), ("soon", t3 - t2)):
                    parts[name] = max(parts[name], took)
                # As if each was sent: claimed, so its next slot is next week.
                for item in due:
                    await storage.digests.claim(item.workspace.id, item.slot.week, now)
                due_total += len(due)
                soon_max = max(soon_max, len(soon))
            stop.set()
            await watcher
        finally:
            await storage.close()
    ticks.sort()
    subject_s = ticks[-1]
    stall = max(gaps)
    return {
        "bench": "due_scan",
        "baseline": f"full scan of {count:,} workspaces (the design it replaced)",
        "baseline_s": round(baseline_s, 4),
        "subject_s": round(subject_s, 5),
        "ratio": round(subject_s / baseline_s, 4),
        "target": "< 20 ms per tick, stall < 20 ms (absolute)",
        "notes": f"{count:,} workspaces; slowest of {TICKS} ticks {subject_s * 1000:.1f} ms, "
        f"median {ticks[len(ticks) // 2] * 1000:.1f} ms (cold first tick before them "
        f"{cold_s * 1000:.1f} ms); longest event-loop stall "
        f"{stall * 1000:.1f} ms; slowest due / count / look-ahead {parts['due'] * 1000:.1f} / "
        f"{parts['counts'] * 1000:.1f} / {parts['soon'] * 1000:.1f} ms; "
        f"{due_total} due over {TICKS} min, look-ahead ≤ {soon_max} new; "
        f"seeding {seed_s:.1f}s (not timed)",
    }


def main(quick: bool) -> list[dict[str, Any]]:
    return [asyncio.run(due_scan(10_000 if quick else 100_000))]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 workspaces")
    for result in main(parser.parse_args().quick):
        print(json.dumps(result, ensure_ascii=False), flush=True)
