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

Spread rows (`report_30d_p50_p95_<N>ws`): p50 and p95 of `/report 30d` sent from
100 chats in turn, the subject and the fair baseline interleaved update by update, at
1,000 workspaces (the database above) and at 10,000 (`--quick`: 50 and 200). The
10,000-workspace database holds every workspace with its 3 accounts, but only every
10th (1,000, the measured chats among them) with the whole year; the other 9,000 have
the last 60 days, what `/report 30d` reads (2.7 million daily rows, not 11 million:
a full year for all would take ~1.1 GB and minutes to build).

Every bot is made with `send_pacing=False`: the rows measure the handlers, not
the flood limiter's waits. aiogram's `Response[...]` models are kept first, as
the running bot's startup hook does (bot/responses.py).

PostgreSQL: `--database-url postgresql+asyncpg://user@host:port/db` (or
BENCH_POSTGRES_URL under `python -m bench`) builds the same data in a database
`kpibot_bench_<N>ws_g<version>` on that server (the bot's migrations, the
workspaces made the bot's way, the day rows by COPY; kept for reruns) and runs
the same rows, prefixed `pg:`, with asyncpg baselines (no thread: the driver is
async). `tests/with_postgres.sh` gives a throwaway server.

Run: `python -m bench` (all benches) or `python -m bench.bench_report [--quick]`.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiosqlite
from aiogram import Bot, Dispatcher
from aiogram.filters import Command
from aiogram.types import Message, Update

from bot import responses
from bot.app import create_bot, create_dispatcher
from bot.config import Settings
from storage import Storage
from tests.fakeapi.recording import RecordingSession

OUT = Path(__file__).resolve().parent / "out"
GENERATOR_VERSION = "1"
ACCOUNTS = ("main", "vk:brand", "site")
DAYS = 365
SHORT_DAYS = 60  # the short history of the spread databases' other workspaces
SPREAD_CHATS = 100  # the chats the spread rows rotate through (all with the whole year)
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


def _spans(n_workspaces: int, full_every: int, days: list[Any]) -> list[list[tuple[int, Any]]]:
    """Per workspace, the (day index, day) it has rows for: all `DAYS` for every
    `full_every`-th workspace (and for all of them when it is 1), the last `SHORT_DAYS`
    (what `/report 30d` reads: the period and the one before) for the others."""
    every = list(enumerate(days))
    return [every if n % full_every == 0 else every[-SHORT_DAYS:] for n in range(n_workspaces)]


def rows_held(workspaces: int, full_every: int = 1) -> int:
    """Daily rows in the database of `workspaces` laid out by `full_every`."""
    full = len(range(0, workspaces, full_every))
    return len(ACCOUNTS) * (full * DAYS + (workspaces - full) * SHORT_DAYS)


async def build_database(workspaces: int, full_every: int = 1) -> tuple[Path, float]:
    """The cached benchmark database (generated when missing); returns (path, seconds spent).
    `full_every` > 1: only every `full_every`-th workspace has the whole year (`_spans`)."""
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "schema.sqlite3"
        await _migrated(probe)
        schema = _schema_sql(probe)
    layout = f"{workspaces}x{len(ACCOUNTS)}x{DAYS}x{METRICS}"
    if full_every > 1:
        layout += f", full every {full_every}, else {SHORT_DAYS} days"
    key = hashlib.sha256(f"{schema}\n{GENERATOR_VERSION}\n{layout}".encode()).hexdigest()[:12]
    path = OUT / f"report_{workspaces}ws_{key}.sqlite3"
    if path.exists():
        return path, time.perf_counter() - started
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    ids = await _make_workspaces(f"sqlite+aiosqlite:///{partial}", workspaces)
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
        for (ws_id, account_ids), span in zip(
            ids, _spans(workspaces, full_every, days), strict=True
        ):
            chunk = [
                (ws_id, acc_id, day, *_day_values(rng, scale, i))
                for scale, acc_id in enumerate(account_ids, 1)
                for i, day in span
            ]
            conn.executemany(sql, chunk)
        conn.commit()
        conn.execute("ANALYZE")
        conn.commit()
    finally:
        conn.close()
    partial.rename(path)
    return path, time.perf_counter() - started


def _asyncpg_dsn(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def build_postgres(
    server_url: str, workspaces: int, full_every: int = 1
) -> tuple[str, float]:
    """The same data in a database `kpibot_bench_<N>ws` on the PostgreSQL server of
    `server_url` (made when missing or incomplete, kept for reruns); (url, seconds)."""
    import asyncpg
    from sqlalchemy.engine import make_url

    started = time.perf_counter()
    name = f"kpibot_bench_{workspaces}ws_g{GENERATOR_VERSION}"
    if full_every > 1:
        name += f"_f{full_every}"
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    admin = await asyncpg.connect(_asyncpg_dsn(server_url))
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists:
            conn = await asyncpg.connect(_asyncpg_dsn(url))
            try:
                rows = await conn.fetchval("SELECT count(*) FROM daily_metrics")
            except asyncpg.PostgresError:
                rows = -1
            finally:
                await conn.close()
            if rows == rows_held(workspaces, full_every):
                await _migrated_url(url)  # a newer migration since: applied, data kept
                return url, time.perf_counter() - started
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    ids = await _make_workspaces(url, workspaces)
    first = LAST_DAY - timedelta(days=DAYS - 1)
    days = [first + timedelta(days=i) for i in range(DAYS)]
    rng = random.Random(20261130)
    conn = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        for (ws_id, account_ids), span in zip(
            ids, _spans(workspaces, full_every, days), strict=True
        ):
            await conn.copy_records_to_table(
                "daily_metrics",
                columns=("workspace_id", "account_id", "day", *METRICS),
                records=[
                    (ws_id, acc_id, day, *map(float, _day_values(rng, scale, i)))
                    for scale, acc_id in enumerate(account_ids, 1)
                    for i, day in span
                ],
            )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return url, time.perf_counter() - started


async def _migrated_url(url: str) -> None:
    storage = await Storage.open(url)
    await storage.close()


async def _make_workspaces(url: str, workspaces: int) -> list[tuple[int, list[int]]]:
    """The workspaces and their accounts, made the bot's way; (workspace id, account ids)."""
    storage = await Storage.open(url)
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
    return ids


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


def fair_dispatcher(
    path: Path, workspace_id: int | Mapping[int, int]
) -> tuple[Dispatcher, Callable[[], None]]:
    """The fair baseline (issue #16): the subject's own design at its fastest — one hop
    to a reader thread running plain sqlite3, both periods in one query, one line of
    text. Returns the dispatcher and a function that closes its thread and connection.
    `workspace_id`: one workspace for every update, or chat id → workspace id (the
    spread rows: a dict lookup, as the subject's cached workspace lookup is)."""
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

    chats = workspace_id if isinstance(workspace_id, Mapping) else {}

    def read_chat(chat_id: int) -> list[Any]:
        return conn.execute(sql, {**params, "ws": chats[chat_id]}).fetchall()

    async def report_chats(message: Message) -> None:
        loop = asyncio.get_running_loop()
        rows = await loop.run_in_executor(pool, read_chat, message.chat.id)
        await message.answer(
            f"reach: {sum(r[1] or 0 for r in rows)} / {sum(r[2] or 0 for r in rows)}"
        )

    def close() -> None:
        pool.submit(conn.close).result()
        pool.shutdown()

    dp = Dispatcher()
    dp.message.register(report_chats if chats else report, Command("report"))
    return dp, close


def pg_dispatchers(
    pool: Any, workspace_id: int | Mapping[int, int]
) -> tuple[Dispatcher, Dispatcher]:
    """The two baselines on PostgreSQL, with asyncpg (no thread: the driver is async):
    one grouped aggregate; both periods in one query. Each one line of text.
    `workspace_id` as for `fair_dispatcher`."""
    sums = ", ".join(f"SUM({m})" for m in METRICS)
    bare_sql = (
        f"SELECT account_id, {sums} FROM daily_metrics "
        "WHERE workspace_id = $1 AND day BETWEEN $2 AND $3 GROUP BY account_id"
    )
    pair = ", ".join(
        f"SUM(CASE WHEN day >= $2 THEN {m} END), SUM(CASE WHEN day < $2 THEN {m} END)"
        for m in METRICS
    )
    fair_sql = (
        f"SELECT account_id, {pair} FROM daily_metrics "
        "WHERE workspace_id = $1 AND day BETWEEN $3 AND $4 GROUP BY account_id"
    )
    cur, prev = LAST_DAY - timedelta(days=29), LAST_DAY - timedelta(days=59)

    async def minimal(message: Message) -> None:
        rows = await pool.fetch(bare_sql, workspace_id, cur, LAST_DAY)
        await message.answer(f"reach: {sum(r[1] for r in rows)}")

    async def fair(message: Message) -> None:
        rows = await pool.fetch(fair_sql, workspace_id, cur, prev, LAST_DAY)
        await message.answer(
            f"reach: {sum(r[1] or 0 for r in rows)} / {sum(r[2] or 0 for r in rows)}"
        )

    chats = workspace_id if isinstance(workspace_id, Mapping) else {}

    async def minimal_chats(message: Message) -> None:
        rows = await pool.fetch(bare_sql, chats[message.chat.id], cur, LAST_DAY)
        await message.answer(f"reach: {sum(r[1] for r in rows)}")

    async def fair_chats(message: Message) -> None:
        rows = await pool.fetch(fair_sql, chats[message.chat.id], cur, prev, LAST_DAY)
        await message.answer(
            f"reach: {sum(r[1] or 0 for r in rows)} / {sum(r[2] or 0 for r in rows)}"
        )

    dps = []
    for handler in (minimal_chats, fair_chats) if chats else (minimal, fair):
        dp = Dispatcher()
        dp.message.register(handler, Command("report"))
        dps.append(dp)
    return dps[0], dps[1]


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


async def measure(url: str, workspaces: int, iterations: int) -> dict[str, Any]:
    """Interleaved medians of the subject and both baselines on the database at `url`
    (SQLite or PostgreSQL), plus the single-account aggregate."""
    postgres = url.startswith("postgresql")
    settings = Settings(
        bot_token=TOKEN,  # type: ignore[arg-type]
        database_url=url,
        bot_api_url="http://127.0.0.1:9",
        send_pacing=False,  # handler cost, not the flood limiter's waits
        _env_file=None,  # type: ignore[call-arg]
    )
    responses.keep_all()  # what the running bot's startup hook has done (bot/responses.py)
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
    fair_session = RecordingSession()
    fair_bot = create_bot(settings, session=fair_session)
    closers: list[Callable[[], Awaitable[None]]] = []
    agg_args: tuple[Any, ...] = (ws.id, accounts[1].id, LAST_DAY - timedelta(days=29), LAST_DAY)
    if postgres:
        import asyncpg

        pool = await asyncpg.create_pool(_asyncpg_dsn(url), min_size=1, max_size=2)
        closers.append(pool.close)
        bare_dp, fair_dp = pg_dispatchers(pool, ws.id)
        agg_sql = (
            "SELECT " + ", ".join(f"SUM({m})" for m in METRICS) + " FROM daily_metrics "
            "WHERE workspace_id = $1 AND account_id = $2 AND day BETWEEN $3 AND $4"
        )

        async def aggregate_once() -> None:
            await pool.fetchrow(agg_sql, *agg_args)
    else:
        path = Path(url.split("///", 1)[1])
        conn = await aiosqlite.connect(path)
        closers.append(conn.close)
        bare_dp = minimal_dispatcher(conn, ws.id)
        fair_dp, close_fair = fair_dispatcher(path, ws.id)

        async def close_fair_async() -> None:
            close_fair()

        closers.append(close_fair_async)
        agg_sql = (
            "SELECT " + ", ".join(f"SUM({m})" for m in METRICS) + " FROM daily_metrics "
            "WHERE workspace_id = ? AND account_id = ? AND day BETWEEN ? AND ?"
        )
        raw = sqlite3.connect(path)
        closers.append(_closing(raw))
        sqlite_args = (*agg_args[:2], agg_args[2].isoformat(), agg_args[3].isoformat())

        async def aggregate_once() -> None:
            raw.execute(agg_sql, sqlite_args).fetchone()

    try:
        feeds = {
            "report": _feeder(real_dp, real_bot, real_session, chat_id, "/report 30d"),
            "minimal": _feeder(bare_dp, bare_bot, bare_session, chat_id, "/report 30d"),
            "fair": _feeder(fair_dp, fair_bot, fair_session, chat_id, "/report 30d"),
        }
        sample = await _probe_text(real_dp, real_bot, real_session, chat_id)
        await _timed(feeds, max(5, iterations // 10))  # warm-up: caches, getMe, statements
        times = await _timed(feeds, iterations)

        # 30-day single-account aggregate: the `SUM` per metric query, straight through
        # the driver, and through the repository (all of `period_data`).
        await aggregate_once()
        agg = []
        for _ in range(iterations):
            started = time.perf_counter()
            await aggregate_once()
            agg.append(time.perf_counter() - started)
        from kpi.models import Period

        period = Period(LAST_DAY - timedelta(days=29), LAST_DAY)
        repo = []
        for _ in range(iterations):
            started = time.perf_counter()
            await storage.metrics.period_data(ws.id, period, account_id=accounts[1].id)
            repo.append(time.perf_counter() - started)
    finally:
        for close in closers:
            await close()
        await fair_bot.session.close()
        await real_bot.session.close()
        await bare_bot.session.close()
        await storage.close()
    return {
        "report_s": statistics.median(times["report"]),
        "report_p95_s": statistics.quantiles(times["report"], n=20)[-1],
        "minimal_s": statistics.median(times["minimal"]),
        "fair_s": statistics.median(times["fair"]),
        "aggregate_s": statistics.median(agg),
        "period_data_s": statistics.median(repo),
        "sample": sample,
    }


async def measure_spread(
    url: str, workspaces: int, full_every: int, updates: int
) -> dict[str, Any]:
    """`/report 30d` from `SPREAD_CHATS` chats in turn (workspaces spread over the whole
    database, each with the whole year), the subject and the fair baseline interleaved
    chat by chat: p50 and p95 of each."""
    postgres = url.startswith("postgresql")
    settings = Settings(
        bot_token=TOKEN,  # type: ignore[arg-type]
        database_url=url,
        bot_api_url="http://127.0.0.1:9",
        send_pacing=False,
        _env_file=None,  # type: ignore[call-arg]
    )
    responses.keep_all()
    storage = await Storage.open(url)
    step = max(full_every, workspaces // SPREAD_CHATS // full_every * full_every)
    chats = [CHAT_BASE + n for n in range(0, workspaces, step)][:SPREAD_CHATS]
    ids = {}
    for chat in chats:
        ws = await storage.workspaces.get_by_chat(chat)
        assert ws is not None
        ids[chat] = ws.id
    real_session, fair_session = RecordingSession(), RecordingSession()
    real_bot = create_bot(settings, session=real_session)
    fair_bot = create_bot(settings, session=fair_session)
    real_dp = create_dispatcher(storage, settings, clock=lambda: NOW)
    closers: list[Callable[[], Awaitable[None]]] = []
    if postgres:
        import asyncpg

        pool = await asyncpg.create_pool(_asyncpg_dsn(url), min_size=1, max_size=2)
        closers.append(pool.close)
        _bare, fair_dp = pg_dispatchers(pool, ids)
    else:
        fair_dp, close_fair = fair_dispatcher(Path(url.split("///", 1)[1]), ids)

        async def close_fair_async() -> None:
            close_fair()

        closers.append(close_fair_async)
    times: dict[str, list[float]] = {"report": [], "fair": []}
    try:
        feeds = [
            {
                "report": _feeder(real_dp, real_bot, real_session, chat, "/report 30d"),
                "fair": _feeder(fair_dp, fair_bot, fair_session, chat, "/report 30d"),
            }
            for chat in chats
        ]
        for pair in feeds:  # warm-up: each chat once (workspace lookups, statements)
            for feed in pair.values():
                await feed()
        for k in range(updates):
            for name, feed in feeds[k % len(feeds)].items():
                started = time.perf_counter()
                await feed()
                times[name].append(time.perf_counter() - started)
    finally:
        for close in closers:
            await close()
        await fair_bot.session.close()
        await real_bot.session.close()
        await storage.close()
    return {
        "chats": len(chats),
        **{f"{n}_p50_s": statistics.median(t) for n, t in times.items()},
        **{f"{n}_p95_s": statistics.quantiles(t, n=20)[-1] for n, t in times.items()},
    }


def _spread_row(
    m: dict[str, Any], workspaces: int, full_every: int, updates: int, prefix: str, driver: str
) -> dict[str, Any]:
    held = (
        f"all {workspaces} with {DAYS} days"
        if full_every == 1
        else f"every {full_every}th ({len(range(0, workspaces, full_every))}) with {DAYS} days, "
        f"the others the last {SHORT_DAYS}"
    )
    return {
        "bench": f"{prefix}report_30d_p50_p95_{workspaces}ws",
        "baseline": f"fair minimal ({driver}), the same chats in turn",
        "baseline_s": m["fair_p50_s"],
        "subject_s": m["report_p50_s"],
        "ratio": m["report_p50_s"] / m["fair_p50_s"],
        "target": "≤ 2× (issue #16)",
        "notes": f"p50; p95 {m['report_p95_s'] * 1000:.2f} ms vs fair "
        f"{m['fair_p95_s'] * 1000:.2f} ms; {updates} updates from {m['chats']} chats in turn;"
        f" {workspaces} ws × 3 accounts × {len(METRICS)} metrics, {held}"
        f" ({rows_held(workspaces, full_every):,} daily rows); each measured chat has {DAYS} days",
    }


def _closing(conn: sqlite3.Connection) -> Callable[[], Awaitable[None]]:
    async def close() -> None:
        conn.close()

    return close


async def _probe_text(dp: Dispatcher, bot: Bot, session: RecordingSession, chat_id: int) -> str:
    raw = session.fake.message(chat_id, "/report 30d", push=False, chat_type="supergroup")
    before = len(session.calls)
    await dp.feed_update(bot, Update.model_validate(raw, context={"bot": bot}))
    return "\n".join(c.visible_text or "" for c in session.calls[before:])


# --- entry points ------------------------------------------------------------------------


def _rows(
    m: dict[str, Any], iterations: int, db: str, prefix: str, driver: str
) -> list[dict[str, Any]]:
    p95 = f"p95 {m['report_p95_s'] * 1000:.2f} ms"
    return [
        {
            "bench": f"{prefix}report_30d_per_update",
            "baseline": f"minimal handler: 1 grouped SQL aggregate ({driver})",
            "baseline_s": m["minimal_s"],
            "subject_s": m["report_s"],
            "ratio": m["report_s"] / m["minimal_s"],
            "target": "≤ 3×",
            "notes": f"median of {iterations}, {p95}; feed_update + RecordingSession; {db}",
        },
        {
            "bench": f"{prefix}report_30d_vs_fair_baseline",
            "baseline": (
                "fair minimal: 1 thread hop to sqlite3, both periods in 1 query"
                if driver == "aiosqlite"
                else "fair minimal: asyncpg, both periods in 1 query"
            ),
            "baseline_s": m["fair_s"],
            "subject_s": m["report_s"],
            "ratio": m["report_s"] / m["fair_s"],
            "target": "≤ 2× (issue #16)",
            "notes": f"same interleaved run as the row above; {db}",
        },
        {
            "bench": f"{prefix}aggregate_30d_one_account",
            "baseline": "target 1 ms",
            "baseline_s": 0.001,
            "subject_s": m["aggregate_s"],
            "ratio": m["aggregate_s"] / 0.001,
            "target": "< 1 ms",
            "notes": f"SUM of 15 metrics, {'sqlite3' if driver == 'aiosqlite' else 'asyncpg'};"
            f" period_data() (the repository: gauge and totals, "
            f"{'2 statements' if driver == 'aiosqlite' else '1 statement'})"
            f" {m['period_data_s'] * 1000:.2f} ms",
        },
    ]


async def _run(quick: bool, database_url: str | None = None) -> list[dict[str, Any]]:
    workspaces = 50 if quick else 1000
    iterations = 20 if quick else 300
    # The spread rows: (workspaces, every how many has the whole year).
    spreads = ((50, 1), (200, 4)) if quick else ((1000, 1), (10_000, 10))
    db = f"{workspaces} ws × 3 accounts × {DAYS} days × {len(METRICS)} metrics"
    if database_url and database_url.startswith("postgresql"):
        url, build_s = await build_postgres(database_url, workspaces)
        m = await measure(url, workspaces, iterations)
        rows = _rows(m, iterations, f"{db}; PostgreSQL, build/reuse {build_s:.1f} s", "pg:",
                     "asyncpg")  # fmt: skip
        for n, full_every in spreads:
            url, _ = await build_postgres(database_url, n, full_every)
            spread = await measure_spread(url, n, full_every, iterations)
            rows.append(_spread_row(spread, n, full_every, iterations, "pg:", "asyncpg"))
        return rows
    path, build_s = await build_database(workspaces)
    size_mb = path.stat().st_size / 2**20
    m = await measure(f"sqlite+aiosqlite:///{path}", workspaces, iterations)
    rows = [
        *_rows(m, iterations, db, "", "aiosqlite"),
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
    for n, full_every in spreads:
        spread_path, _ = await build_database(n, full_every)
        spread = await measure_spread(f"sqlite+aiosqlite:///{spread_path}", n, full_every,
                                      iterations)  # fmt: skip
        rows.append(_spread_row(spread, n, full_every, iterations, "", "sqlite3, 1 thread hop"))
    return rows


def main(quick: bool) -> list[dict[str, Any]]:
    """SQLite; then PostgreSQL too when BENCH_POSTGRES_URL names a server
    (`postgresql+asyncpg://user@host:port/db`, a role that may create databases)."""
    rows = asyncio.run(_run(quick))
    server = os.environ.get("BENCH_POSTGRES_URL")
    if server:
        rows += asyncio.run(_run(quick, server))
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 workspaces, fewer iterations")
    parser.add_argument(
        "--database-url",
        help="run on this PostgreSQL server instead (postgresql+asyncpg://user@host:port/db);"
        " the data go to a database kpibot_bench_<N>ws made there and kept",
    )
    args = parser.parse_args()
    rows = (
        asyncio.run(_run(args.quick, args.database_url)) if args.database_url else main(args.quick)
    )
    for row in rows:
        print(json.dumps(row, ensure_ascii=False), flush=True)
