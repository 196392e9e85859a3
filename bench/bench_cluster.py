"""Cluster benchmark: `tests/cluster/with_services.sh .venv/bin/python bench/bench_cluster.py`
(`make bench-cluster`); in `python -m bench` it runs when TEST_POSTGRES_URL and
TEST_REDIS_URL are set, and is left out (one line says so) when they are not.

Rows:
- `cluster_updates`: KPI commands (/report, /report month, /kpi er, /kpi roi) from 60 chats
  with 12 weeks of numbers, posted by the fake Bot API's webhook push, answered by 1 and
  by 3 webhook processes on PostgreSQL and Redis (send pacing off: what the processes
  handle, not Telegram's 30 msg/s). Reports updates answered per second and the ratio.
- `cluster_digests`: 2,000 digests due at once, delivered by 3 processes under the
  fake's Telegram limits; target ≥ 0.9 × the 30 msg/s floor.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.cluster.conftest import PG, REDIS, SECRET, Node, _fresh_database
from tests.cluster.test_cluster import make_due, seed
from tests.conftest import REPO, TEST_TOKEN
from tests.fakeapi.server import FakeBotAPI

FLOOR = 30.0
COMMANDS = ("/report", "/report month", "/kpi er", "/kpi roi")


def row(bench: str, baseline: str, baseline_s: float, subject_s: float, target: str,
        notes: str) -> dict[str, Any]:  # fmt: skip
    return {"bench": bench, "baseline": baseline, "baseline_s": round(baseline_s, 4),
            "subject_s": round(subject_s, 4),
            "ratio": round(subject_s / baseline_s, 3) if baseline_s else None,
            "target": target, "notes": notes}  # fmt: skip


async def _cluster(api: FakeBotAPI, workdir: Path, count: int, **extra: str) -> list[Node]:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(REDIS)
    await client.flushdb()
    await client.aclose()
    db_url = await _fresh_database(PG)
    ours = ("BOT_", "DATABASE_", "SEND_PACING", "REDIS_", "WEBHOOK_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env.update(BOT_TOKEN=api.token, BOT_API_URL=api.base_url, DATABASE_URL=db_url,
               REDIS_URL=REDIS, BOT_MODE="webhook", WEBHOOK_URL="http://127.0.0.1:9/telegram",
               WEBHOOK_SECRET=SECRET, DIGEST_TICK_SECONDS="1", LEADER_CHECK_SECONDS="1",
               DIGEST_LEASE_SECONDS="20", LOG_LEVEL="WARNING", PYTHONPATH=str(REPO),
               MPLBACKEND="Agg", **extra)  # fmt: skip
    nodes = [Node(f"bot{i + 1}", workdir, env) for i in range(count)]
    api.deliver_to([n.url for n in nodes])
    await asyncio.gather(*(n.start() for n in nodes))
    await asyncio.gather(*(n.ready() for n in nodes))
    nodes[0].db_url = db_url  # type: ignore[attr-defined]
    return nodes


async def updates_per_second(processes: int, updates: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeBotAPI(token=TEST_TOKEN) as api:
            nodes = await _cluster(api, Path(tmp), processes, SEND_PACING="false")
            try:
                chats = await seed(nodes[0].db_url, 3_000_000, 60)  # type: ignore[attr-defined]
                for chat in chats[:3]:  # warm up: imports, caches, the first render pool
                    api.message(chat, "/report", language_code="en")
                await api.wait_for("sendMessage", count=3, timeout=60)
                before = len(api.sent("sendMessage")) + len(api.sent("sendPhoto"))
                started = time.perf_counter()
                for i in range(updates):
                    api.message(chats[i % len(chats)], COMMANDS[i % len(COMMANDS)],
                                language_code="en")  # fmt: skip
                await api.wait_for(lambda c: c.method in ("sendMessage", "sendPhoto"),
                                   count=before + updates, timeout=300)  # fmt: skip
                return updates / (time.perf_counter() - started)
            finally:
                await asyncio.gather(*(n.stop() for n in nodes))


async def digest_rate(count: int) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeBotAPI(token=TEST_TOKEN) as api:
            api.rate_limit()
            nodes = await _cluster(api, Path(tmp), 3)
            try:
                db_url = nodes[0].db_url  # type: ignore[attr-defined]
                chats = set(await seed(db_url, 1_000_000, count))
                await make_due(db_url, sorted(chats), datetime.now(UTC) + timedelta(seconds=4))
                deadline = time.monotonic() + count / FLOOR * 3 + 60
                while True:
                    sent = [c for c in api.calls if c.ok and c.chat_id in chats
                            and c.method in ("sendMessage", "sendPhoto")]  # fmt: skip
                    if len({c.chat_id for c in sent}) >= count or time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.5)
                times = sorted(c.timestamp for c in sent)
                duplicates = sum(n - 1 for n in Counter(c.chat_id for c in sent).values())
                return (len(times) - 1) / (times[-1] - times[0]), duplicates
            finally:
                await asyncio.gather(*(n.stop() for n in nodes))


def main(quick: bool) -> list[dict[str, Any]]:
    if not (PG and REDIS):
        print("bench_cluster: left out (needs TEST_POSTGRES_URL and TEST_REDIS_URL: "
              "make bench-cluster)")  # fmt: skip
        return []
    updates = 200 if quick else 600
    one = asyncio.run(updates_per_second(1, updates))
    three = asyncio.run(updates_per_second(3, updates))
    rate, duplicates = asyncio.run(digest_rate(500 if quick else 2000))
    cores = os.cpu_count() or 1
    return [
        row(
            "cluster_updates",
            f"1 process: {one:.1f} updates/s",
            1 / one,
            1 / three,
            "ratio < 1 (3 processes answer more per second)",
            f"{updates} KPI commands; 3 processes: {three:.1f} updates/s = {three / one:.2f}× "
            f"on {cores} cores",
        ),
        row(
            "cluster_digests",
            f"floor: {FLOOR:.0f} msg/s",
            1 / FLOOR,
            1 / rate,
            "≤ 1.11 (≥ 0.9 × 30 msg/s); 0 duplicates",
            f"{rate:.1f} msg/s delivered by 3 processes, duplicates={duplicates}",
        ),
    ]


if __name__ == "__main__":
    import json

    for r in main("--quick" in sys.argv):
        print(json.dumps(r, ensure_ascii=False))
