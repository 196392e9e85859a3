"""`MetricsRepo.period_pair` and `period_data` against the same figures computed in
Python from the rows the test stored (sums, days with data, follower start, end and
average), on the reader thread and on the async engine."""

from __future__ import annotations

import math
import random
from datetime import date, timedelta

import pytest

from kpi.metrics import COUNTERS
from kpi.models import Period, PeriodData, PostRecord
from storage import Storage
from storage.db import Reader
from tests.kpi_engine import reference


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
    assert a.followers_days == b.followers_days
    if b.accounts == () and a.accounts:  # per-account sums add up to the totals
        for k in a.sums:
            assert math.isclose(sum(acc.sums.get(k, 0.0) for acc in a.accounts), a.sums[k]), k


Values = dict[tuple[str, date], dict[str, float]]


def _expected(
    values: Values, posts: list[PostRecord], period: Period, account: str | None
) -> PeriodData:
    """The PeriodData the SPEC defines, straight from the stored rows."""
    rows = {
        (acc, day): row for (acc, day), row in values.items() if account is None or acc == account
    }
    inside = {k: r for k, r in rows.items() if period.start <= k[1] <= period.end}
    sums: dict[str, float] = {}
    metric_days: dict[str, int] = {}
    for m in (*COUNTERS, "followers"):
        days = {day for (_, day), r in inside.items() if m in r}
        if days:
            metric_days[m] = len(days)
        if m != "followers" and days:
            sums[m] = sum(r[m] for r in inside.values() if m in r)
    # Followers: the accounts with a value at both ends (the reference's rule).
    start_sum, end_sum, _left, used = reference.followers_used(
        values, period.start, period.end, account
    )
    means = [sum(v for _, v in w) / len(w) for _, _, w in used]
    span_starts = [period.start if b else w[0][0] for _, b, w in used]
    span_ends = [w[-1][0] for _, _, w in used]
    starts = [start_sum] if start_sum is not None else []
    ends = [end_sum] if end_sum is not None else []
    return PeriodData(
        period=period,
        sums=sums,
        days_with_data=len({day for _, day in inside}),
        metric_days=metric_days,
        followers_start=sum(starts) if starts else None,
        followers_end=sum(ends) if ends else None,
        followers_avg=sum(means) if means else None,
        posts=tuple(
            p for p in posts
            if period.start <= p.day <= period.end and (account is None or p.account == account)
        ),
        margin=0.4,
        followers_days=(
            max(0, (min(span_ends) - max(span_starts)).days + 1) if span_ends else None
        ),
    )  # fmt: skip


@pytest.mark.parametrize("threads", [True, False], ids=["reader-thread", "async-engine"])
@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_period_pair_and_period_data_match_the_stored_rows(
    storage: Storage, seed: int, threads: bool
) -> None:
    reader = Reader(storage.engine, threads=threads)
    assert reader.threaded is (threads and storage.engine.dialect.name == "sqlite")
    storage.metrics._reader = reader  # both ways `Reader` runs a read on SQLite
    rng = random.Random(seed)
    ws, _ = await storage.workspaces.ensure(77, "private", None, "Europe/Moscow")
    first = date(2026, 1, 1)
    values: Values = {}
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
    spans = set()
    for period in periods:
        for account in (None, "vk:a", "main"):
            account_id = None if account is None else accounts[account]
            current, previous = await storage.metrics.period_pair(
                ws.id, period, account_id=account_id, margin=0.4, with_posts=True
            )
            _same(current, _expected(values, posts, period, account))
            expected_previous = _expected(values, [], period.previous(), account)
            _same(previous, expected_previous)
            alone = await storage.metrics.period_data(
                ws.id, period, account_id=account_id, margin=0.4, with_posts=True
            )
            _same(alone, _expected(values, posts, period, account))
            # The same figures with another read in the same trip (what /report does).
            cur2, prev2, other = await storage.metrics.period_pair_with(
                ws.id,
                period,
                lambda conn: conn.exec_driver_sql("SELECT 41 + 1").scalar_one(),
                account_id=account_id,
                margin=0.4,
                with_posts=True,
            )
            assert other == 42
            _same(cur2, _expected(values, posts, period, account))
            _same(prev2, expected_previous)
            assert [a.name for a in cur2.accounts] == [a.name for a in current.accounts]
            spans |= {current.followers_days, previous.followers_days}
    assert len(spans - {None}) >= 4, spans  # the data exercises the follower span
    await reader.aclose()


async def test_reader_sees_every_committed_write_and_never_writes(storage: Storage) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    if storage.engine.dialect.name != "sqlite":
        pytest.skip("the reader threads are for SQLite files")
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


async def test_reader_reads_again_after_its_connections_die(storage: Storage) -> None:
    """PostgreSQL: the reader's pool pings nobody; when the server drops its connections
    (a restart), the next read runs again on a fresh connection and answers."""
    from sqlalchemy import text

    if storage.engine.dialect.name != "postgresql":
        pytest.skip("the reader's own pool is PostgreSQL's")
    ws, _ = await storage.workspaces.ensure(79, "private", None, "Europe/Moscow")
    await storage.metrics.apply_import(
        ws.id, source="t", user_id=None, values={("main", date(2026, 3, 2)): {"reach": 7.0}}
    )
    period = Period(date(2026, 3, 1), date(2026, 3, 31))
    for _ in range(2):
        current, _ = await storage.metrics.period_pair(ws.id, period)
        assert current.sums == {"reach": 7.0}
        mine = await storage.reader.run(
            lambda conn: conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        )
        async with storage.engine.connect() as conn:  # another pool: not the reader's
            killed = await conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": mine})
        assert killed
    current, _ = await storage.metrics.period_pair(ws.id, period)
    assert current.sums == {"reach": 7.0} and current.days_with_data == 1


async def test_an_account_without_rows_or_posts_reads_as_empty(storage: Storage) -> None:
    """The scope has no account at all (an id of another workspace's account): no gauge
    rows to carry the posts check, which then runs alone; the figures are empty."""
    ws, _ = await storage.workspaces.ensure(80, "private", None, "Europe/Moscow")
    other, _ = await storage.workspaces.ensure(81, "private", None, "Europe/Moscow")
    day = date(2026, 4, 10)
    posts = [PostRecord("main", day, "p1", "photo", reach=5.0)]
    for w in (ws, other):
        await storage.metrics.apply_import(
            w.id, source="t", user_id=None, values={("main", day): {"reach": 3.0}}, posts_in=posts
        )
    foreign = (await storage.workspaces.list_accounts(other.id))[0].id
    period = Period(date(2026, 4, 1), date(2026, 4, 30))
    current, previous = await storage.metrics.period_pair(
        ws.id, period, account_id=foreign, with_posts=True
    )
    for data in (current, previous):
        assert data.sums == {} and data.days_with_data == 0
        assert data.accounts == () and data.posts == ()
    # The workspace's own account, same call: its row and its post.
    own = (await storage.workspaces.list_accounts(ws.id))[0].id
    current, _ = await storage.metrics.period_pair(ws.id, period, account_id=own, with_posts=True)
    assert current.sums == {"reach": 3.0} and [p.post_id for p in current.posts] == ["p1"]
