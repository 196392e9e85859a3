"""`/report 30d` through the real dispatcher against a minimal aiogram handler.

Database: 1000 workspaces × 3 accounts × 365 days × 15 metrics (`--quick`: 50
workspaces), generated once with `executemany` straight into SQLite and cached
under bench/out/ keyed by a hash of the schema and the generator, so reruns
reuse it.

Subject: `/report 30d` for one workspace fed through `create_dispatcher(...)`
(middlewares, i18n, routers, `period_pair` for both periods, the KPI formulas
and the text) with `feed_update` and a `RecordingSession`.
Baseline: a tiny `Dispatcher` whose only handler runs one bare grouped SQL
aggregate through aiosqlite and answers one line of text, fed the same way.
Fair baseline (issue #16): the subject's own design at its fastest — one hop to a
reader thread with plain sqlite3, both periods (this 30 days and the 30 before) in
one grouped query, one line of text. All three run in the same process,
interleaved, and report the median per update.

Also: a 30-day single-account aggregate (the `SUM` per metric query, target
< 1 ms) and the database size (target < 200 MB).

Run: `python -m bench` (all benches) or `python -m bench.bench_report [--quick]`.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiosqlite
from aiogram import Bot, Dispatcher
from aiogram.filters import Command
from aiogram.types import Message, Update

from bot.app import create_bot, create_dispatcher
from bot.config import Settings
from storage import Storage
from tests.fakeapi.recording import RecordingSession

OUT = Path(__file__).resolve().parent / "out"
GENERATOR_VERSION = "1"
ACCOUNTS = ("main", "vk:brand", "site")
DAYS = 365
LAST_DAY = date(2026, 11, 30)
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # 12:00 in Moscow: today is LAST_DAY
CHAT_BASE = 10_000_000
METRICS = (
    "reach", "impressions", "likes", "comments", "shares", "saves", "posts", "link_clicks",
    "sessions", "bounces", "conversions", "new_customers", "revenue", "ad_spend", "followers",
)  # fmt: skip
TOKEN = "123456789:AAH-bench-token-not-real-abcdefghijklm"


# --- the database ------------------------------------------------------------------------


def _schema_sql(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name"
        ).fetchall()
    return "\n".join(f"{t} {n} {s}" for t, n, s in rows)


async def _migrated(path: Path) -> None:
    storage = await Storage.open(f"sqlite+aiosqlite:///{path}")
    await storage.close()


def _day_values(rng: random.Random, scale: int, day_index: int) -> tuple[int, ...]:
    reach = rng.randint(800, 1200) * scale
    impressions = reach * 3 // 2
    likes = reach // 25
    sessions = rng.randint(40, 60) * scale
    return (
        reach, impressions, likes, likes // 8, likes // 15, likes // 20, 1, reach // 50,
        sessions, sessions * 2 // 5, sessions // 20, rng.randint(0, 3), rng.randint(2, 6) * 1000,
        1000 + 100 * scale, 10_000 * scale + 7 * day_index,
    )  # fmt: skip


async def build_database(workspaces: int) -> tuple[Path, float]:
    """The cached benchmark database (generated when missing); returns (path, seconds spent)."""
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "schema.sqlite3"
        await _migrated(probe)
        schema = _schema_sql(probe)
    key = hashlib.sha256(
        f"{schema}\n{GENERATOR_VERSION}\n{workspaces}x{len(ACCOUNTS)}x{DAYS}x{METRICS}".encode()
    ).hexdigest()[:12]
    path = OUT / f"report_{workspaces}ws_{key}.sqlite3"
    if path.exists():
        return path, time.perf_counter() - started
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    await _migrated(partial)
    storage = await Storage.open(f"sqlite+aiosqlite:///{partial}")
    ids: list[tuple[int, list[int]]] = []
    try:
        for n in range(workspaces):
            ws, _ = await storage.workspaces.ensure(
                CHAT_BASE + n, "supergroup", f"bench {n}", "Europe/Moscow"
            )
            account_ids = [(await storage.workspaces.default_account(ws.id)).id]
            for name in ACCOUNTS[1:]:
                account_ids.append((await storage.workspaces.add_account(ws.id, name)).id)
            ids.append((ws.id, account_ids))
    finally:
        await storage.close()
    columns = ", ".join(("workspace_id", "account_id", "day", *METRICS))
    marks = ", ".join("?" * (3 + len(METRICS)))
    sql = f"INSERT INTO daily_metrics ({columns}) VALUES ({marks})"
    first = LAST_DAY - timedelta(days=DAYS - 1)
    days = [(first + timedelta(days=i)).isoformat() for i in range(DAYS)]
    rng = random.Random(20261130)
    conn = sqlite3.connect(partial)
    try:
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        for ws_id, account_ids in ids:
            chunk = [
                (ws_id, acc_id, day, *_day_values(rng, scale, i))
                for scale, acc_id in enumerate(account_ids, 1)
                for i, day in enumerate(days)
            ]
            conn.executemany(sql, chunk)
        conn.commit()
        conn.execute("ANALYZE")
        conn.commit()
    finally:
        conn.close()
    partial.rename(path)
    return path, time.perf_counter() - started


# --- the two dispatchers ---------------------------------------------------------------


def _bare_sql() -> str:
    sums = ", ".join(f"SUM({m})" for m in METRICS)
    return (
        f"SELECT account_id, {sums} FROM daily_metrics "
        "WHERE workspace_id = ? AND day BETWEEN ? AND ? GROUP BY account_id"
    )


def minimal_dispatcher(conn: aiosqlite.Connection, workspace_id: int) -> Dispatcher:
    """One handler: one grouped aggregate, one line of text."""
    sql = _bare_sql()
    start = (LAST_DAY - timedelta(days=29)).isoformat()

    async def report(message: Message) -> None:
        async with conn.execute(sql, (workspace_id, start, LAST_DAY.isoformat())) as cursor:
            rows = await cursor.fetchall()
        await message.answer(f"reach: {sum(r[1] for r in rows)}")

    dp = Dispatcher()
    dp.message.register(report, Command("report"))
    return dp


def _fair_sql() -> str:
    """Both periods (this 30 days and the 30 before) in one grouped query."""
    sums = ", ".join(
        f"SUM(CASE WHEN day >= :cur THEN {m} END), SUM(CASE WHEN day < :cur THEN {m} END)"
        for m in METRICS
    )
    return (
        f"SELECT account_id, {sums} FROM daily_metrics "
        "WHERE workspace_id = :ws AND day BETWEEN :prev AND :end GROUP BY account_id"
    )


def fair_dispatcher(path: Path, workspace_id: int) -> tuple[Dispatcher, Callable[[], None]]:
    """The fair baseline (issue #16): the subject's own design at its fastest — one hop
    to a reader thread running plain sqlite3, both periods in one query, one line of
    text. Returns the dispatcher and a function that closes its thread and connection."""
    import concurrent.futures

    sql = _fair_sql()
    params = {
        "ws": workspace_id,
        "cur": (LAST_DAY - timedelta(days=29)).isoformat(),
        "prev": (LAST_DAY - timedelta(days=59)).isoformat(),
        "end": LAST_DAY.isoformat(),
    }
    pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="fair-reader")
    conn = sqlite3.connect(path, check_same_thread=False)

    def read() -> list[Any]:
        return conn.execute(sql, params).fetchall()

    async def report(message: Message) -> None:
        rows = await asyncio.get_running_loop().run_in_executor(pool, read)
        await message.answer(
            f"reach: {sum(r[1] or 0 for r in rows)} / {sum(r[2] or 0 for r in rows)}"
        )

    def close() -> None:
        pool.submit(conn.close).result()
        pool.shutdown()

    dp = Dispatcher()
    dp.message.register(report, Command("report"))
    return dp, close


async def _timed(
    feeds: dict[str, Callable[[], Awaitable[None]]], iterations: int
) -> dict[str, list[float]]:
    """Per-update seconds of each subject, interleaved so drift hits both alike."""
    times: dict[str, list[float]] = {name: [] for name in feeds}
    for _ in range(iterations):
        for name, feed in feeds.items():
            started = time.perf_counter()
            await feed()
            times[name].append(time.perf_counter() - started)
    return times


def _feeder(
    dp: Dispatcher, bot: Bot, session: RecordingSession, chat_id: int, text: str
) -> Callable[[], Awaitable[None]]:
    async def feed() -> None:
        raw = session.fake.message(chat_id, text, push=False, chat_type="supergroup")
        update = Update.model_validate(raw, context={"bot": bot})
        before = len(session.calls)
        await dp.feed_update(bot, update)
        sent = session.calls[before:]
        assert sent and sent[-1].method == "sendMessage", [c.method for c in sent]
        session.fake.clear_calls()  # keep memory flat over many iterations

    return feed


async def measure(path: Path, workspaces: int, iterations: int) -> dict[str, Any]:
    url = f"sqlite+aiosqlite:///{path}"
    settings = Settings(
        bot_token=TOKEN,  # type: ignore[arg-type]
        database_url=url,
        bot_api_url="http://127.0.0.1:9",
        _env_file=None,  # type: ignore[call-arg]
    )
    storage = await Storage.open(url)
    target = workspaces // 2
    chat_id = CHAT_BASE + target
    ws = await storage.workspaces.get_by_chat(chat_id)
    assert ws is not None
    accounts = await storage.workspaces.list_accounts(ws.id)
    real_session, bare_session = RecordingSession(), RecordingSession()
    real_bot = create_bot(settings, session=real_session)
    bare_bot = create_bot(settings, session=bare_session)
    real_dp = create_dispatcher(storage, settings, clock=lambda: NOW)
    conn = await aiosqlite.connect(path)
    bare_dp = minimal_dispatcher(conn, ws.id)
    fair_session = RecordingSession()
    fair_bot = create_bot(settings, session=fair_session)
    fair_dp, close_fair = fair_dispatcher(path, ws.id)
    try:
        feeds = {
            "report": _feeder(real_dp, real_bot, real_session, chat_id, "/report 30d"),
            "minimal": _feeder(bare_dp, bare_bot, bare_session, chat_id, "/report 30d"),
            "fair": _feeder(fair_dp, fair_bot, fair_session, chat_id, "/report 30d"),
        }
        sample = await _probe_text(real_dp, real_bot, real_session, chat_id)
        await _timed(feeds, max(5, iterations // 10))  # warm-up: caches, getMe, statements
        times = await _timed(feeds, iterations)

        # 30-day single-account aggregate: the `SUM` per metric query, sync sqlite3 and
        # through the repository (all of `period_data`: the reader thread, two queries).
        agg_sql = (
            "SELECT " + ", ".join(f"SUM({m})" for m in METRICS) + " FROM daily_metrics "
            "WHERE workspace_id = ? AND account_id = ? AND day BETWEEN ? AND ?"
        )
        args = (ws.id, accounts[1].id, (LAST_DAY - timedelta(days=29)).isoformat(), str(LAST_DAY))
        raw = sqlite3.connect(path)
        raw.execute(agg_sql, args).fetchone()
        agg = []
        for _ in range(iterations):
            started = time.perf_counter()
            raw.execute(agg_sql, args).fetchone()
            agg.append(time.perf_counter() - started)
        raw.close()
        from kpi.models import Period

        period = Period(LAST_DAY - timedelta(days=29), LAST_DAY)
        repo = []
        for _ in range(iterations):
            started = time.perf_counter()
            await storage.metrics.period_data(ws.id, period, account_id=accounts[1].id)
            repo.append(time.perf_counter() - started)
    finally:
        close_fair()
        await fair_bot.session.close()
        await conn.close()
        await real_bot.session.close()
        await bare_bot.session.close()
        await storage.close()
    return {
        "report_s": statistics.median(times["report"]),
        "minimal_s": statistics.median(times["minimal"]),
        "fair_s": statistics.median(times["fair"]),
        "aggregate_s": statistics.median(agg),
        "period_data_s": statistics.median(repo),
        "sample": sample,
    }


async def _probe_text(dp: Dispatcher, bot: Bot, session: RecordingSession, chat_id: int) -> str:
    raw = session.fake.message(chat_id, "/report 30d", push=False, chat_type="supergroup")
    before = len(session.calls)
    await dp.feed_update(bot, Update.model_validate(raw, context={"bot": bot}))
    return "\n".join(c.visible_text or "" for c in session.calls[before:])


# --- entry points ------------------------------------------------------------------------


async def _run(quick: bool) -> list[dict[str, Any]]:
    workspaces = 50 if quick else 1000
    iterations = 20 if quick else 300
    path, build_s = await build_database(workspaces)
    size_mb = path.stat().st_size / 2**20
    m = await measure(path, workspaces, iterations)
    ratio = m["report_s"] / m["minimal_s"]
    db = f"{workspaces} ws × 3 accounts × {DAYS} days × {len(METRICS)} metrics"
    return [
        {
            "bench": "report_30d_per_update",
            "baseline": "minimal handler: 1 grouped SQL aggregate",
            "baseline_s": m["minimal_s"],
            "subject_s": m["report_s"],
            "ratio": ratio,
            "target": "≤ 3×",
            "notes": f"median of {iterations}, feed_update + RecordingSession; {db}",
        },
        {
            "bench": "report_30d_vs_fair_baseline",
            "baseline": "fair minimal: 1 thread hop to sqlite3, both periods in 1 query",
            "baseline_s": m["fair_s"],
            "subject_s": m["report_s"],
            "ratio": m["report_s"] / m["fair_s"],
            "target": "≤ 2× (issue #16)",
            "notes": f"same interleaved run as the row above; {db}",
        },
        {
            "bench": "aggregate_30d_one_account",
            "baseline": "target 1 ms",
            "baseline_s": 0.001,
            "subject_s": m["aggregate_s"],
            "ratio": m["aggregate_s"] / 0.001,
            "target": "< 1 ms",
            "notes": "SUM of 15 metrics, sqlite3; period_data() (SQLAlchemy on the reader "
            f"thread, 2 queries) {m['period_data_s'] * 1000:.2f} ms",
        },
        {
            "bench": "database_size",
            "baseline": "target 200 MB",
            "baseline_s": 200.0,
            "subject_s": size_mb,
            "ratio": size_mb / 200.0,
            "target": "< 200 MB",
            "notes": f"values in MB, not seconds; {path.name}; build/reuse {build_s:.1f} s",
        },
    ]


def main(quick: bool) -> list[dict[str, Any]]:
    return asyncio.run(_run(quick))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 workspaces, fewer iterations")
    args = parser.parse_args()
    for row in main(args.quick):
        print(json.dumps(row, ensure_ascii=False), flush=True)
