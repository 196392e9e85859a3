"""Importing a 100 000-row wide CSV, against a raw `executemany` of the same rows.

The file: `Date, Account, Reach, Impressions, Likes, Comments, Shares, Saves,
Link clicks, Sessions, Conversions, Revenue` — 100 accounts × 1000 days
(`--quick`: 20 × 500 = 10 000 rows), numbers written as exports write them
(some with spaces and decimal commas, a `;` delimiter), ~5 MB.

Subject: what the bot does with an uploaded file: `parse_table` (bytes →
per-account-day values) then `MetricsRepo.apply_import` (one transaction:
accounts created, every value upserted, undo rows recorded) into a fresh
migrated SQLite database.
Baseline: the same rows, already as Python tuples, inserted with one plain
`sqlite3` `executemany` into `daily_metrics` of another fresh database with the
same schema and pragmas (the least any importer has to pay). Target ≤ 4×.

Memory: the subject runs again in a subprocess under `tracemalloc`; its peak
(Python allocations, file bytes included) must stay under 200 MB.

Run: `python -m bench --only import` or `python -m bench.bench_import [--quick]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kpi.importing import parse_table
from storage import Storage

HEADER = (
    "Date;Account;Reach;Impressions;Likes;Comments;Shares;Saves;Link clicks;Sessions;"
    "Conversions;Revenue"
)
METRICS = (
    "reach",
    "impressions",
    "likes",
    "comments",
    "shares",
    "saves",
    "link_clicks",
    "sessions",
    "conversions",
    "revenue",
)
START = date(2021, 1, 1)


def sizes(quick: bool) -> tuple[int, int]:
    return (20, 500) if quick else (100, 1000)  # accounts, days


def generate(accounts: int, days: int, seed: int = 7) -> tuple[bytes, list[tuple[Any, ...]]]:
    """The CSV bytes and the same rows as (account index, day, 10 floats) tuples."""
    rnd = random.Random(seed)
    lines = [HEADER]
    rows: list[tuple[Any, ...]] = []
    for d in range(days):
        day = START + timedelta(days=d)
        shown = day.strftime("%d.%m.%Y")
        for a in range(accounts):
            reach = rnd.randint(500, 90_000)
            values = (
                reach,
                reach + rnd.randint(0, 40_000),
                rnd.randint(0, 3000),
                rnd.randint(0, 300),
                rnd.randint(0, 200),
                rnd.randint(0, 150),
                rnd.randint(0, 900),
                rnd.randint(0, 5000),
                rnd.randint(0, 80),
                round(rnd.uniform(0, 99_999), 2),
            )
            cells = [f"{v:,}".replace(",", " ") if i == 0 else str(v) for i, v in enumerate(values)]
            cells[-1] = f"{values[-1]:.2f}".replace(".", ",")
            lines.append(f"{shown};vk:acc{a:03d};" + ";".join(cells))
            rows.append((a, day, *(float(v) for v in values)))
    return ("\n".join(lines) + "\n").encode(), rows


async def subject(data: bytes, db: Path) -> tuple[float, int]:
    """Seconds for parse + apply_import, and the account-days stored."""
    storage = await Storage.open(f"sqlite+aiosqlite:///{db}")
    try:
        ws, _ = await storage.workspaces.ensure(1, "private", None, "Europe/Moscow")
        started = time.perf_counter()
        parsed = await asyncio.to_thread(
            parse_table, data, "export.csv", tz=ZoneInfo("Europe/Moscow")
        )
        values = {(acc or "main", day): v for (acc, day), v in parsed.values.items()}
        outcome = await storage.metrics.apply_import(
            ws.id, source="file:export.csv", user_id=None, values=values
        )
        return time.perf_counter() - started, outcome.rows
    finally:
        await storage.close()


async def _schema(db: Path) -> None:
    storage = await Storage.open(f"sqlite+aiosqlite:///{db}")
    await storage.close()


def baseline(rows: list[tuple[Any, ...]], accounts: int, db: Path) -> float:
    """Seconds for a bare executemany of ready tuples into the same table."""
    asyncio.run(_schema(db))
    conn = sqlite3.connect(db)
    try:
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL"):
            conn.execute(f"PRAGMA {pragma}")
        now = datetime.now(UTC).isoformat()
        conn.execute(
            "INSERT INTO workspaces (id, chat_id, chat_type, language, timezone, active, margin,"
            " digest_enabled, digest_weekday, digest_time, created_at)"
            " VALUES (1, 1, 'private', NULL, 'Europe/Moscow', 1, 1.0, 1, 0, '10:00', ?)",
            (now,),
        )
        conn.executemany(
            "INSERT INTO accounts (id, workspace_id, name, is_default, created_at)"
            " VALUES (?, 1, ?, 0, ?)",
            [(a + 1, f"vk:acc{a:03d}", now) for a in range(accounts)],
        )
        conn.commit()
        cols = ", ".join(METRICS)
        marks = ", ".join("?" for _ in METRICS)
        sql = (
            f"INSERT INTO daily_metrics (workspace_id, account_id, day, {cols})"
            f" VALUES (1, ?, ?, {marks})"
        )
        started = time.perf_counter()
        conn.executemany(sql, ((a + 1, d.isoformat(), *v) for a, d, *v in rows))
        conn.commit()
        return time.perf_counter() - started
    finally:
        conn.close()


def peak_memory(quick: bool) -> dict[str, float]:
    """tracemalloc peak and RSS high-water mark of one import in a fresh process."""
    code = f"""
import asyncio, json, resource, sys, tempfile, tracemalloc
from pathlib import Path
sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r})
from bench.bench_import import generate, sizes, subject
accounts, days = sizes({quick!r})
data, rows = generate(accounts, days)
del rows
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
with tempfile.TemporaryDirectory() as tmp:
    asyncio.run(subject(data, Path(tmp) / "m.sqlite3"))
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"peak_mb": peak / 2**20, "rss_mb": after / 1024,
                  "rss_before_mb": before / 1024}}))
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=600
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main(quick: bool) -> list[dict[str, Any]]:
    accounts, days = sizes(quick)
    data, rows = generate(accounts, days)
    subject_s = baseline_s = float("inf")
    stored = 0
    for _ in range(2 if quick else 3):  # best of rounds: a shared machine adds noise
        with tempfile.TemporaryDirectory() as tmp:
            base = Path(tmp)
            baseline_s = min(baseline_s, baseline(rows, accounts, base / "raw.sqlite3"))
            took, stored = asyncio.run(subject(data, base / "bot.sqlite3"))
            subject_s = min(subject_s, took)
    assert stored == len(rows), (stored, len(rows))
    memory = peak_memory(quick)
    n = f"{len(rows):,} rows × {len(METRICS)} metrics, {len(data) / 2**20:.1f} MB CSV"
    return [
        {
            "bench": "import:wide_csv",
            "baseline": "sqlite3 executemany of ready tuples",
            "baseline_s": baseline_s,
            "subject_s": subject_s,
            "ratio": subject_s / baseline_s,
            "target": "≤ 4×",
            "notes": f"parse_table + apply_import; {n}",
        },
        {
            "bench": "import:peak_memory",
            "baseline": "—",
            "baseline_s": "—",
            "subject_s": "—",
            "ratio": "—",
            "target": "< 200 MB",
            "notes": (
                f"tracemalloc peak {memory['peak_mb']:.0f} MB; process RSS high-water "
                f"{memory['rss_mb']:.0f} MB (before the import {memory['rss_before_mb']:.0f} MB)"
            ),
        },
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    for row in main(args.quick):
        print(json.dumps(row, ensure_ascii=False, default=str))
