"""Weekly digest benchmark: `python bench/bench_digest.py [--quick]` or `main(quick)`.

Rows:
- `digest_run`: one digest run for N workspaces with data (10,000; quick: 200) against a
  local FakeBotAPI that enforces Telegram's flood limits (30 msg/s, answering 429 with
  retry_after), after the dashboards were pre-rendered (as the minute ticks before the
  send time do). Timed from the due minute's own tick to the last digest sent.
  Target: ≤ 1.05 × the floor N / 30 s, peak VmRSS (sampled every 0.5 s) < 500 MB;
  0 duplicates and 0 lost (sendPhoto counted per chat).
- `dashboard_renders`: dashboard renders per second on one core against a minimal
  one-line matplotlib chart of the same size (bench_charts' baseline).
- `dashboard_rss`: RSS drift over 1,000 dashboard renders (quick: 200), target ≤ 10 %.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from sqlalchemy import update

try:  # `python -m bench` imports this module as part of the bench package
    from bench.bench_charts import dashboard_spec, minimal_chart, rss_bytes, seconds_per_render
except ImportError:  # `python bench/bench_digest.py`
    from bench_charts import (  # type: ignore[no-redef]
        dashboard_spec,
        minimal_chart,
        rss_bytes,
        seconds_per_render,
    )

from bot.i18n import create_i18n
from bot.services.delivery import Outbox, PacedSender
from bot.services.digest import DigestCache, DigestJob, digest_tick
from bot.services.rendering import ChartRenderer
from kpi.charts import dashboard_size, render_dashboard
from storage import Storage
from storage.schema import workspaces
from tests.fakeapi.core import Call, Reply
from tests.fakeapi.server import FakeBotAPI

TOKEN = "123456789:AAH-bench-token-not-real-abcdefghijklm"
SEND_AT = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # Monday 10:00 in Moscow
FLOOR_RATE = 30.0  # Telegram's broadcast limit, messages per second


def row(
    bench: str, baseline: str, baseline_s: float, subject_s: float, target: str, notes: str
) -> dict[str, Any]:
    return {
        "bench": bench,
        "baseline": baseline,
        "baseline_s": round(baseline_s, 4),
        "subject_s": round(subject_s, 4),
        "ratio": round(subject_s / baseline_s, 3) if baseline_s else None,
        "target": target,
        "notes": notes,
    }


async def _seed(storage: Storage, count: int) -> list[int]:
    """`count` workspaces (a third of them groups) with 12 weeks of numbers each."""
    chats = [(-1_000_000 - i) if i % 3 == 0 else 1_000_000 + i for i in range(count)]
    sundays = [date(2026, 11, 29) - timedelta(days=7 * k) for k in range(12)]
    for i, chat in enumerate(chats):
        kind = "group" if chat < 0 else "private"
        ws, _ = await storage.workspaces.ensure(chat, kind, f"Team {i}", "Europe/Moscow")
        values = {
            ("main", day): {
                "reach": 10_000.0 + 37 * i + 400 * k,
                "likes": 300.0 + k * (i % 7),
                "comments": 20.0 + k,
                "sessions": 1000.0 + 13 * k,
                "bounces": 300.0 + (i % 50) + 5 * k,
                "link_clicks": 120.0 + k,
                "conversions": 9.0 + k % 4,
                "ad_spend": 5000.0,
                "new_customers": 10.0 + k % 3,
                "revenue": 12_000.0 + 100 * (i % 9),
            }
            for k, day in enumerate(sundays)
        }
        await storage.metrics.apply_import(ws.id, source="bench", user_id=None, values=values)
    async with storage.engine.begin() as conn:
        await conn.execute(update(workspaces).values(created_at=datetime(2026, 1, 1, tzinfo=UTC)))
    await storage.digests.reschedule_all(datetime(2026, 1, 1, tzinfo=UTC))
    return chats


class LeanAPI(FakeBotAPI):
    """The fake Bot API without the bytes of what it received: it runs in this process,
    and 10,000 photos kept would be ~1 GB of this process's RSS that is not the bot's."""

    def add_file(
        self, file_id: str, data: bytes, file_size: int | None = None, file_path: str | None = None
    ) -> str:
        return super().add_file(file_id, b"", len(data) if file_size is None else file_size,
                                file_path)  # fmt: skip

    async def _process(self, call: Call, token: str | None, file_parts: set[str]) -> Reply:
        reply = await super()._process(call, token, file_parts)
        call.files = {}
        return reply


def _rss_mib(pid: int | str = "self") -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _children() -> list[int]:
    """The renderer processes (Linux procfs); none where there is no /proc."""
    pids: list[int] = []
    tasks = Path("/proc/self/task")
    if not tasks.is_dir():
        return pids
    for task in tasks.iterdir():
        try:
            pids += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return pids


class RssPeak:
    """Peak VmRSS of this process, and of it with its renderer processes, sampled."""

    def __init__(self) -> None:
        self.main = self.total = 0.0
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> None:
        main = _rss_mib()
        self.main = max(self.main, main)
        self.total = max(self.total, main + sum(_rss_mib(pid) for pid in _children()))

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(0.5)

    def __enter__(self) -> RssPeak:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        self.sample()
        if self._task is not None:
            self._task.cancel()


async def digest_run(count: int) -> dict[str, Any]:
    logging.getLogger("bot.services.delivery").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        storage = await Storage.open(f"sqlite+aiosqlite:///{tmp}/bench.sqlite3")
        renderer = ChartRenderer.processes()
        try:
            started = time.perf_counter()
            chats = await _seed(storage, count)
            seed_s = time.perf_counter() - started
            async with LeanAPI(token=TOKEN) as api:
                api.rate_limit(per_second=FLOOR_RATE)
                session = AiohttpSession(api=TelegramAPIServer.from_base(api.base_url))
                session.middleware(Outbox())
                bot = Bot(
                    TOKEN, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML)
                )
                # Production's cache: files in a directory (here a temporary one).
                cache = DigestCache(directory=Path(tmp) / "digest-cache")

                def job(now: datetime) -> DigestJob:
                    return DigestJob(
                        bot=bot,
                        storage=storage,
                        renderer=renderer,
                        sender=PacedSender(),
                        i18n=create_i18n("ru"),
                        cache=cache,
                        clock=lambda: now,
                    )

                try:
                    # The ticks before the send time pre-render every dashboard.
                    with RssPeak() as warm_rss:
                        started = time.perf_counter()
                        warm = await digest_tick(job(SEND_AT - timedelta(minutes=4)))
                        assert cache.warming is not None
                        await cache.warming
                        prerender_s = time.perf_counter() - started
                    cache_peak = cache.size
                    assert warm.sent == 0 and len(cache) == count, (warm, len(cache))
                    # From the due minute itself: the tick that fires at hh:mm:00.
                    with RssPeak() as send_rss:
                        started = time.perf_counter()
                        report = await digest_tick(job(SEND_AT))
                        subject_s = time.perf_counter() - started
                finally:
                    await bot.session.close()
                per_chat = Counter(c.chat_id for c in api.sent("sendPhoto"))
                flood = len(api.flood_hits)
        finally:
            renderer.close()
            await storage.close()
    duplicates = sum(n - 1 for n in per_chat.values() if n > 1)
    lost = sum(1 for chat in chats if per_chat.get(chat, 0) == 0)
    floor_s = count / FLOOR_RATE
    return row(
        "digest_run",
        f"floor: {count} messages at {FLOOR_RATE:.0f} msg/s",
        floor_s,
        subject_s,
        "≤ 1.05 from the due minute, RSS < 500 MB; 0 duplicates, 0 lost",
        f"{count} workspaces; sent={report.sent} duplicates={duplicates} lost={lost} "
        f"429s={flood} cache_hits={cache.hits} misses={cache.misses}; dashboards on disk "
        f"(peak {cache_peak / 2**20:.0f} MiB); peak RSS while sending {send_rss.main:.0f} MiB"
        f" (with the renderer processes {send_rss.total:.0f}), while pre-rendering"
        f" {warm_rss.main:.0f} MiB ({warm_rss.total:.0f}); pre-render {prerender_s:.0f}s"
        f" before the minute, seeding {seed_s:.0f}s (neither timed)",
    )


def dashboard_rows(quick: bool) -> list[dict[str, Any]]:
    iterations = 4 if quick else 10
    dash = dashboard_spec(12)
    width, height = dashboard_size(len(dash.tiles))
    specs = [dashboard_spec(12, seed) for seed in range(4)]
    turn = iter(range(10**9))
    timings = seconds_per_render(
        {
            "minimal": lambda: minimal_chart(width, height),
            "dashboard": lambda: render_dashboard(specs[next(turn) % len(specs)]),
        },
        iterations,
    )
    rows = [
        row(
            "dashboard_renders",
            f"minimal one-line matplotlib chart {width}x{height}",
            timings["minimal"],
            timings["dashboard"],
            "≈ 1.0 (kpi.charts design goal; informational)",
            f"dashboard {1 / timings['dashboard']:.1f}/s per core, "
            f"minimal {1 / timings['minimal']:.1f}/s per core; CPU time, best of 5 rounds",
        )
    ]
    first, total = (20, 200) if quick else (100, 1000)
    gc.collect()
    rss_first = 0
    started = time.perf_counter()
    for done in range(1, total + 1):
        render_dashboard(specs[done % len(specs)])
        if done == first:
            gc.collect()
            rss_first = rss_bytes()
    gc.collect()
    rss_last = rss_bytes()
    drift = (rss_last - rss_first) / rss_first
    rows.append(
        {
            "bench": "dashboard_rss",
            "baseline": f"RSS after {first} renders",
            "baseline_s": round(rss_first / 2**20, 2),
            "subject_s": round(rss_last / 2**20, 2),
            "ratio": round(rss_last / rss_first, 3),
            "target": "≤ 1.10 (flat within 10 %)",
            "notes": f"MiB, not seconds; {total} renders in {time.perf_counter() - started:.0f}s, "
            f"drift {drift * 100:+.1f} %",
        }
    )
    return rows


def main(quick: bool) -> list[dict[str, Any]]:
    rows = [asyncio.run(digest_run(200 if quick else 10_000))]
    rows.extend(dashboard_rows(quick))
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 workspaces, fewer renders")
    for result in main(parser.parse_args().quick):
        print(json.dumps(result, ensure_ascii=False), flush=True)
