"""KPI commands through the real dispatcher vs an echo handler, per update.

Subject: `/roi 30d`, `/engagement 30d vk:brand`, `/report 30d` and `/help` fed with
`feed_update` through `create_dispatcher(...)` (workspace middleware, i18n, every
router, the KPI queries for two periods, formatting) into a `RecordingSession` (which
also validates each call against the Bot API spec, the same for both sides).
Baseline: a bare `Dispatcher` with one handler that echoes the text back, fed the
same way, registered without a filter: a magic filter such as `F.text` is a sync
callable, which aiogram runs with `asyncio.to_thread` — a thread hop that made the
old baseline 1.4–1.6× slower than the echo itself (issue #16).
Data: one workspace, 3 accounts × 365 days of 10 metrics. Median per update
of interleaved runs (--quick: 40 per command, else 300).

Run: `python -m bench.bench_dispatch [--quick]` or `python -m bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiogram import Bot, Dispatcher
from aiogram.types import Message, Update

from bot.app import create_bot, create_dispatcher
from bot.config import Settings
from storage import Storage
from tests.conftest import TEST_TOKEN
from tests.fakeapi.recording import RecordingSession

CHAT = 4242
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
SUBJECTS = ("/roi 30d", "/engagement 30d vk:brand", "/report 30d", "/help")
TARGET_MS = 50.0


async def _echo(message: Message) -> None:
    await message.answer(message.text or "")


def _echo_dispatcher() -> Dispatcher:
    dp = Dispatcher()
    dp.message.register(_echo)  # no filter: nothing runs in a thread
    return dp


async def _seed(storage: Storage) -> None:
    ws, _ = await storage.workspaces.ensure(CHAT, "private", None, "Europe/Moscow")
    last = NOW.date()
    values: dict[tuple[str, Any], dict[str, float]] = {}
    for account, k in (("main", 1.0), ("vk:brand", 0.6), ("site", 0.3)):
        for i in range(365):
            day = last - timedelta(days=i)
            values[(account, day)] = {
                "reach": 10_000 * k + i, "impressions": 25_000 * k + i, "likes": 400 * k,
                "comments": 40 * k, "shares": 12 * k, "link_clicks": 300 * k,
                "conversions": 9 * k, "revenue": 90_000 * k, "ad_spend": 20_000 * k,
                "followers": 50_000 * k + i,
            }  # fmt: skip
    await storage.metrics.apply_import(ws.id, source="bench", user_id=None, values=values)


async def _measure(quick: bool) -> list[dict[str, Any]]:
    n = 40 if quick else 300
    with tempfile.TemporaryDirectory(prefix="kpibot-dispatch-") as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        storage = await Storage.open(url)
        settings = Settings(
            bot_token=TEST_TOKEN,  # type: ignore[arg-type]
            database_url=url,
            bot_api_url="http://127.0.0.1:9",
            send_pacing=False,  # handler cost, not the flood limiter's waits
            _env_file=None,  # type: ignore[call-arg]
        )
        try:
            await _seed(storage)
            session = RecordingSession()
            bot: Bot = create_bot(settings, session=session)
            real = create_dispatcher(storage, settings, clock=lambda: NOW)
            echo = _echo_dispatcher()
            fake = session.fake
            times: dict[tuple[str, str], list[float]] = {}

            async def one(dp: Dispatcher, text: str) -> float:
                update = Update.model_validate(
                    fake.message(CHAT, text, push=False, language_code="en"),
                    context={"bot": bot},
                )
                before = len(fake.calls)
                started = time.perf_counter()
                await dp.feed_update(bot, update)
                took = time.perf_counter() - started
                assert len(fake.calls) > before, f"no answer to {text}"
                if len(fake.calls) > 2000:
                    fake.calls.clear()
                return took

            for text in SUBJECTS:  # warm-up: caches, first queries, translations
                await one(real, text)
                await one(echo, text)
            for _, text in itertools.product(range(n), SUBJECTS):
                times.setdefault(("real", text), []).append(await one(real, text))
                times.setdefault(("echo", text), []).append(await one(echo, text))
            await bot.session.close()
        finally:
            await storage.close()
    rows = []
    for text in SUBJECTS:
        subject = statistics.median(times[("real", text)])
        baseline = statistics.median(times[("echo", text)])
        rows.append(
            {
                "bench": f"dispatch:{text}",
                "baseline": "echo handler, no filter",
                "baseline_s": baseline,
                "subject_s": subject,
                "ratio": subject / baseline,
                "target": f"< {TARGET_MS:.0f} ms per update",
                "notes": f"median of {n}; p95 "
                f"{sorted(times[('real', text)])[int(0.95 * n)] * 1000:.1f} ms; "
                f"{'ok' if subject * 1000 < TARGET_MS else 'OVER TARGET'}",
            }
        )
    return rows


def main(quick: bool) -> list[dict[str, Any]]:
    return asyncio.run(_measure(quick))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    for row in main(parser.parse_args().quick):
        print(json.dumps(row, ensure_ascii=False))
