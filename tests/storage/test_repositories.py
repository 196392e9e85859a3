from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text

from kpi.kpis import growth
from kpi.models import AudienceBucket, Period, PostRecord
from storage import DatabaseUnavailable, Storage
from storage.metrics import AudienceRow
from storage.schema import alert_rules, daily_metrics, import_batches, posts

D = date(2024, 5, 1)


async def _ws(storage: Storage, chat_id: int = 1):
    ws, _created = await storage.workspaces.ensure(chat_id, "group", "Team", "Europe/Moscow")
    return ws


async def test_new_workspace_has_default_account_and_alert_rules(storage: Storage) -> None:
    ws, created = await storage.workspaces.ensure(-100, "group", "Team", "Asia/Almaty")
    assert created
    assert (ws.chat_id, ws.chat_type, ws.timezone, ws.language, ws.margin) == (
        -100,
        "group",
        "Asia/Almaty",
        None,
        1.0,
    )
    assert (ws.digest_enabled, ws.digest_weekday, ws.digest_time) == (True, 0, "10:00")
    accounts = await storage.workspaces.list_accounts(ws.id)
    assert [(a.name, a.is_default) for a in accounts] == [("main", True)]
    async with storage.engine.connect() as conn:
        rules = (
            await conn.execute(
                select(alert_rules.c.kpi, alert_rules.c.kind, alert_rules.c.value)
                .where(alert_rules.c.workspace_id == ws.id)
                .order_by(alert_rules.c.kpi)
            )
        ).all()
    assert [tuple(r) for r in rules] == [("bounce", "spike", 20.0), ("cac", "spike", 25.0)]
    again, created_again = await storage.workspaces.ensure(-100, "group", "Team", "UTC")
    assert not created_again and again.id == ws.id and again.timezone == "Asia/Almaty"


async def test_sqlite_pragmas_are_on(storage: Storage) -> None:
    if storage.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    async with storage.engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1


async def test_period_sums_distinguish_missing_from_zero(storage: Storage) -> None:
    ws = await _ws(storage)
    values = {
        ("main", D): {"reach": 1000.0, "likes": 10.0, "sessions": 0.0},
        ("main", D + timedelta(days=1)): {"reach": 500.0, "likes": 5.0},
        ("vk:brand", D + timedelta(days=1)): {"reach": 250.0},
        ("main", D + timedelta(days=40)): {"reach": 99999.0},  # outside the period
    }
    out = await storage.metrics.apply_import(ws.id, source="t.csv", user_id=7, values=values)
    assert out.rows == 4 and out.accounts_created == ("vk:brand",)
    period = Period(D, D + timedelta(days=29))
    data = await storage.metrics.period_data(ws.id, period)
    assert data.sums == {"reach": 1750.0, "likes": 15.0, "sessions": 0.0}
    assert data.days_with_data == 2
    assert data.metric_days["reach"] == 2 and data.metric_days["sessions"] == 1
    assert "bounces" not in data.sums and data.followers_end is None
    vk = await storage.workspaces.find_account(ws.id, "vk:brand")
    assert vk is not None
    only_vk = await storage.metrics.period_data(ws.id, period, account_id=vk.id)
    assert only_vk.sums == {"reach": 250.0}


async def test_followers_start_end_average(storage: Storage) -> None:
    ws = await _ws(storage)
    values = {
        ("main", D - timedelta(days=3)): {"followers": 900.0},  # last value before the period
        ("main", D + timedelta(days=2)): {"followers": 1000.0},
        ("main", D + timedelta(days=5)): {"followers": 1100.0},
        ("ig:brand", D + timedelta(days=1)): {"followers": 50.0},  # no value before: first inside
        ("ig:brand", D + timedelta(days=6)): {"followers": 70.0},
    }
    await storage.metrics.apply_import(ws.id, source="f", user_id=None, values=values)
    period = Period(D, D + timedelta(days=9))
    data = await storage.metrics.period_data(ws.id, period)
    # ig:brand's counts begin inside the period while main has one before it: its
    # growth would cover fewer days, so it is left out and named (issue #12).
    assert data.followers_start == 900.0
    assert data.followers_end == 1100.0
    assert data.followers_avg == pytest.approx((1000 + 1100) / 2)
    assert [(x.account, x.reason) for x in growth(data).left_out] == [("ig:brand", "started")]
    # Alone, an account that starts inside the period starts at its first value.
    ig = await storage.workspaces.find_account(ws.id, "ig:brand")
    assert ig is not None
    alone = await storage.metrics.period_data(ws.id, period, account_id=ig.id)
    assert (alone.followers_start, alone.followers_end) == (50.0, 70.0)
    assert growth(alone).value == pytest.approx(40.0) and growth(alone).left_out == ()


async def test_reimport_replaces_and_undo_restores(storage: Storage) -> None:
    ws = await _ws(storage)
    first = {("main", D): {"reach": 100.0, "likes": 1.0}}
    await storage.metrics.apply_import(ws.id, source="a", user_id=None, values=first)
    second = {("main", D): {"reach": 300.0}, ("main", D + timedelta(days=1)): {"reach": 7.0}}
    out = await storage.metrics.apply_import(ws.id, source="b", user_id=None, values=second)
    assert out.replaced == 1
    period = Period(D, D + timedelta(days=1))
    data = await storage.metrics.period_data(ws.id, period)
    assert data.sums == {"reach": 307.0, "likes": 1.0}
    # the same file again: idempotent
    await storage.metrics.apply_import(ws.id, source="b", user_id=None, values=second)
    assert (await storage.metrics.period_data(ws.id, period)).sums == {"reach": 307.0, "likes": 1.0}
    undone = await storage.metrics.undo_last(ws.id)
    assert undone is not None and undone.batch.source == "b"
    undone = await storage.metrics.undo_last(ws.id)
    assert undone is not None and undone.batch.source == "b"
    assert (await storage.metrics.period_data(ws.id, period)).sums == {"reach": 100.0, "likes": 1.0}
    undone = await storage.metrics.undo_last(ws.id)
    assert undone is not None and undone.batch.source == "a"
    assert (await storage.metrics.period_data(ws.id, period)).sums == {}
    async with storage.engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(daily_metrics))).scalar() == 0
        assert (
            await conn.execute(
                select(func.count())
                .select_from(import_batches)
                .where(import_batches.c.undone.is_(False))
            )
        ).scalar() == 0
    assert await storage.metrics.undo_last(ws.id) is None


async def test_posts_and_audience_roundtrip_and_undo(storage: Storage) -> None:
    ws = await _ws(storage)
    p1 = PostRecord(
        account="ig:brand",
        day=D,
        post_id="p1",
        format="reel",
        hashtags=("sale", "summer"),
        reach=100.0,
        likes=10.0,
    )
    out = await storage.metrics.apply_import(
        ws.id,
        source="posts",
        user_id=None,
        values={},
        posts_in=[p1],
        audience_in=[AudienceRow("ig:brand", D, AudienceBucket("age", "18-24", 40.0, True))],
    )
    assert out.posts == 1 and out.audience == 1
    p1b = PostRecord(account="ig:brand", day=D, post_id="p1", format="reel", reach=150.0)
    await storage.metrics.apply_import(
        ws.id, source="posts2", user_id=None, values={}, posts_in=[p1b]
    )
    data = await storage.metrics.period_data(ws.id, Period(D, D), with_posts=True)
    assert [(p.post_id, p.reach, p.likes) for p in data.posts] == [("p1", 150.0, None)]
    await storage.metrics.undo_last(ws.id)
    data = await storage.metrics.period_data(ws.id, Period(D, D), with_posts=True)
    assert [(p.post_id, p.reach, p.likes, p.hashtags) for p in data.posts] == [
        ("p1", 100.0, 10.0, ("sale", "summer"))
    ]
    day, buckets = await storage.metrics.latest_audience(ws.id)
    assert day == D and buckets == [AudienceBucket("age", "18-24", 40.0, True)]
    await storage.metrics.undo_last(ws.id)
    async with storage.engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(posts))).scalar() == 0


async def test_workspaces_never_see_each_other(storage: Storage) -> None:
    a = await _ws(storage, 1)
    b = await _ws(storage, 2)
    await storage.metrics.apply_import(
        a.id, source="a", user_id=None, values={("main", D): {"reach": 5.0}}
    )
    period = Period(D, D)
    assert (await storage.metrics.period_data(b.id, period)).sums == {}
    assert await storage.metrics.undo_last(b.id) is None
    assert (await storage.metrics.period_data(a.id, period)).sums == {"reach": 5.0}
    assert await storage.workspaces.find_account(b.id, "vk:x") is None


async def test_group_migration_keeps_data(storage: Storage) -> None:
    ws = await _ws(storage, -1)
    await storage.metrics.apply_import(
        ws.id, source="a", user_id=None, values={("main", D): {"reach": 5.0}}
    )
    assert await storage.workspaces.migrate_chat(-1, -1001)
    moved = await storage.workspaces.get_by_chat(-1001)
    assert moved is not None and moved.id == ws.id and moved.chat_type == "supergroup"
    assert await storage.workspaces.get_by_chat(-1) is None
    assert (await storage.metrics.period_data(ws.id, Period(D, D))).sums == {"reach": 5.0}


async def test_delete_workspace_cascades(storage: Storage) -> None:
    ws = await _ws(storage)
    await storage.metrics.apply_import(
        ws.id, source="a", user_id=None, values={("main", D): {"reach": 5.0}}
    )
    await storage.workspaces.delete(ws.id)
    async with storage.engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(daily_metrics))).scalar() == 0


async def test_restart_keeps_data(db_url: str) -> None:
    st = await Storage.open(db_url)
    ws, _ = await st.workspaces.ensure(5, "private", None, "UTC")
    await st.workspaces.add_account(ws.id, "vk:brand")
    await st.close()
    st2 = await Storage.open(db_url)  # migrations run again: a no-op
    try:
        again = await st2.workspaces.get_by_chat(5)
        assert again is not None and again.id == ws.id
        names = [a.name for a in await st2.workspaces.list_accounts(ws.id)]
        assert names == ["main", "vk:brand"]
    finally:
        await st2.close()


async def test_unreachable_database_is_one_clear_error(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DatabaseUnavailable) as err:
        await Storage.open(f"sqlite+aiosqlite:///{blocker}/sub/db.sqlite3")
    assert "\n" not in str(err.value)
