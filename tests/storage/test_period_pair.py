"""`MetricsRepo.period_pair` gives exactly what two `period_data` calls give."""

from __future__ import annotations

import math
import random
from datetime import date, timedelta

import pytest

from kpi.metrics import COUNTERS
from kpi.models import Period, PeriodData, PostRecord
from storage import Storage
from storage.db import Reader


def _same(a: PeriodData, b: PeriodData) -> None:
    assert a.period == b.period
    assert a.sums.keys() == b.sums.keys()
    for k in a.sums:
        assert math.isclose(a.sums[k], b.sums[k]), k
    assert a.days_with_data == b.days_with_data
    assert dict(a.metric_days) == dict(b.metric_days)
    for name in ("followers_start", "followers_end", "followers_avg"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None) == (y is None), name
        if x is not None:
            assert math.isclose(x, y), name
    assert a.posts == b.posts
    assert a.margin == b.margin


@pytest.mark.parametrize("threads", [True, False], ids=["reader-thread", "async-engine"])
@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_period_pair_equals_two_period_data_calls(
    storage: Storage, seed: int, threads: bool
) -> None:
    reader = Reader(storage.engine, threads=threads)
    assert reader.threaded is threads
    storage.metrics._reader = reader  # both ways `Reader` runs a read on SQLite
    rng = random.Random(seed)
    ws, _ = await storage.workspaces.ensure(77, "private", None, "Europe/Moscow")
    first = date(2026, 1, 1)
    values: dict[tuple[str, date], dict[str, float]] = {}
    for account in ("main", "vk:a", "ig:b"):
        for i in range(200):
            if rng.random() < 0.3:  # gaps: days without data
                continue
            row = {m: float(rng.randint(0, 50)) for m in rng.sample(COUNTERS, 6)}
            if rng.random() < 0.2:
                row["followers"] = float(rng.randint(1000, 2000))
            values[(account, first + timedelta(days=i))] = row
    posts = [
        PostRecord("vk:a", first + timedelta(days=150 + i), f"p{i}", "photo", reach=10.0 * i)
        for i in range(10)
    ]
    await storage.metrics.apply_import(
        ws.id, source="t", user_id=None, values=values, posts_in=posts
    )
    accounts = {a.name: a.id for a in await storage.workspaces.list_accounts(ws.id)}
    periods = [
        Period(date(2026, 5, 1), date(2026, 5, 30)),
        Period(date(2026, 6, 1), date(2026, 6, 7)),
        Period(date(2026, 1, 1), date(2026, 1, 10)),  # previous period has no data at all
        Period(date(2026, 7, 19), date(2026, 7, 19)),
    ]
    for period in periods:
        for account_id in (None, accounts["vk:a"], accounts["main"]):
            current, previous = await storage.metrics.period_pair(
                ws.id, period, account_id=account_id, margin=0.4, with_posts=True
            )
            _same(
                current,
                await storage.metrics.period_data(
                    ws.id, period, account_id=account_id, margin=0.4, with_posts=True
                ),
            )
            _same(
                previous,
                await storage.metrics.period_data(
                    ws.id, period.previous(), account_id=account_id, margin=0.4
                ),
            )
    reader.close()


async def test_reader_sees_every_committed_write_and_never_writes(storage: Storage) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    assert storage.reader.threaded  # a file database: reads run on the reader threads
    ws, _ = await storage.workspaces.ensure(78, "private", None, "Europe/Moscow")
    period = Period(date(2026, 3, 1), date(2026, 3, 31))
    for n in range(1, 4):
        await storage.metrics.apply_import(
            ws.id,
            source="t",
            user_id=None,
            values={("main", date(2026, 3, n)): {"reach": 100.0 * n}},
        )
        current, _ = await storage.metrics.period_pair(ws.id, period)
        assert current.sums["reach"] == 100.0 * n * (n + 1) / 2
        assert current.days_with_data == n
    with pytest.raises(OperationalError, match="readonly"):
        await storage.reader.run(lambda conn: conn.execute(text("DELETE FROM daily_metrics")))
    current, _ = await storage.metrics.period_pair(ws.id, period)
    assert current.sums["reach"] == 600.0
