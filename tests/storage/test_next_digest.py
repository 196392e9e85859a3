"""`workspaces.next_digest_at`: kept current by storage, read by the minute tick (issue #16)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import update

import storage.workspaces as workspaces_module
from kpi.schedule import next_digest_at
from storage import Storage
from storage.db import _alembic_config
from storage.digests import FAILED
from storage.schema import workspaces


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# Wednesday 2026-12-02 12:00 UTC: the default slot (Monday 10:00 Moscow) has passed this week.
WEDNESDAY = utc(2026, 12, 2, 12, 0)
NEXT_MONDAY_MSK = utc(2026, 12, 7, 7, 0)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[datetime]]:
    """Storage's wall clock (schedule changes, new workspaces) set by the test."""
    now = [WEDNESDAY]
    monkeypatch.setattr(workspaces_module, "_utcnow", lambda: now[0])
    yield now


async def _ws(storage: Storage, chat_id: int, tz: str = "Europe/Moscow") -> int:
    ws, _ = await storage.workspaces.ensure(chat_id, "group", f"Team {chat_id}", tz)
    return ws.id


async def _seed(storage: Storage, ws_id: int, day: date) -> None:
    await storage.metrics.apply_import(
        ws_id, source="test", user_id=None, values={("main", day): {"reach": 100.0}}
    )


async def _stored(storage: Storage) -> dict[int, datetime | None]:
    async with storage.engine.connect() as conn:
        rows = (await conn.execute(sa.select(workspaces.c.id, workspaces.c.next_digest_at))).all()
    return {r.id: (r[1].replace(tzinfo=UTC) if r[1] and not r[1].tzinfo else r[1]) for r in rows}


async def test_new_workspace_and_every_schedule_change_recompute_it(
    storage: Storage, clock: list[datetime]
) -> None:
    ws = await _ws(storage, -1)
    # Created on Wednesday: Monday 10:00 Moscow (07:00 UTC) of next week.
    assert await storage.digests.next_digest_at(ws) == NEXT_MONDAY_MSK
    await storage.workspaces.set_digest(-1, weekday=4, time="18:00")
    assert await storage.digests.next_digest_at(ws) == utc(2026, 12, 4, 15, 0)
    # A time earlier today than now is not "due at once": next week's.
    await storage.workspaces.set_digest(-1, weekday=2, time="09:00")
    assert await storage.digests.next_digest_at(ws) == utc(2026, 12, 9, 6, 0)
    await storage.workspaces.set_timezone(-1, "America/New_York")  # Wed 09:00 EST = 14:00 UTC
    assert await storage.digests.next_digest_at(ws) == utc(2026, 12, 2, 14, 0)
    await storage.workspaces.set_digest(-1, enabled=False)
    assert await storage.digests.next_digest_at(ws) is None
    clock[0] = utc(2026, 12, 3, 0, 0)
    await storage.workspaces.set_digest(-1, enabled=True)
    assert await storage.digests.next_digest_at(ws) == utc(2026, 12, 9, 14, 0)
    await storage.workspaces.set_active(-1, False)
    assert await storage.digests.next_digest_at(ws) is None
    # The bot added back: active again, scheduled again.
    await storage.workspaces.ensure(-1, "group", "Team -1", "Europe/Moscow")
    assert await storage.digests.next_digest_at(ws) == utc(2026, 12, 9, 14, 0)
    # Other settings leave it alone.
    async with storage.engine.begin() as conn:
        await conn.execute(update(workspaces).values(next_digest_at=utc(2026, 12, 5)))
    await storage.workspaces.set_margin(-1, 0.5)
    await storage.workspaces.set_language(-1, "en")
    assert await storage.digests.next_digest_at(ws) == utc(2026, 12, 5)


async def test_due_query_returns_exactly_the_due_set_and_moves_the_rest_on(
    storage: Storage, clock: list[datetime]
) -> None:
    clock[0] = utc(2026, 11, 1)  # everyone created long before the slot below
    due_msk = await _ws(storage, -10)  # Monday 10:00 Moscow = 07:00 UTC
    due_berlin = await _ws(storage, -11, "Europe/Berlin")  # Monday 10:00 CET = 09:00 UTC
    later_ny = await _ws(storage, -12, "America/New_York")  # 15:00 UTC, not yet at 09:00
    no_data = await _ws(storage, -13)
    stale = await _ws(storage, -14)  # data older than the 12-week window
    logged = await _ws(storage, -15)  # this week's digest already sent
    off = await _ws(storage, -16)
    failed = await _ws(storage, -17)  # failed 10 minutes ago: retried 20 minutes from now
    for ws in (due_msk, due_berlin, later_ny, logged, off, failed):
        await _seed(storage, ws, date(2026, 11, 29))
    await _seed(storage, stale, date(2026, 6, 1))
    await storage.workspaces.set_digest(-16, enabled=False)
    monday = utc(2026, 11, 30, 9, 0)
    # As the tick finds them a week after creation (every slot of that first week handled).
    await storage.digests.reschedule_all(utc(2026, 11, 23, 12))
    assert await storage.digests.claim(logged, "2026-W48", utc(2026, 11, 30, 7, 0))
    assert await storage.digests.claim(failed, "2026-W48", utc(2026, 11, 30, 8, 50))
    await storage.digests.mark_failed(failed, "2026-W48", utc(2026, 11, 30, 8, 50))
    stored = await _stored(storage)
    assert stored[logged] == utc(2026, 12, 7, 7, 0)  # claimed: next week
    assert stored[failed] == utc(2026, 11, 30, 9, 20)  # failed: in 30 minutes
    assert stored[off] is None

    # The look-ahead reads without writing.
    ahead = await storage.digests.workspaces_due_for_digest(monday)
    assert await _stored(storage) == stored
    due = await storage.digests.workspaces_due_for_digest(monday, advance=True)
    assert [d.workspace.id for d in due] == [due_msk, due_berlin]
    assert [d.workspace.id for d in ahead] == [due_msk, due_berlin]
    assert {d.slot.week for d in due} == {"2026-W48"}
    assert [d.last_day for d in due] == [date(2026, 11, 29)] * 2
    after = await _stored(storage)
    # Read, found not due, moved to their next slot: no-data and stale ones to next week.
    assert after[no_data] == utc(2026, 12, 7, 7, 0)
    assert after[stale] == utc(2026, 12, 7, 7, 0)
    # Not read at all (not come yet / not scheduled): unchanged.
    assert after[later_ny] == utc(2026, 11, 30, 15, 0)
    assert after[failed] == utc(2026, 11, 30, 9, 20)
    assert after[logged] == utc(2026, 12, 7, 7, 0)
    assert after[off] is None
    # The due ones stay due until claimed.
    assert after[due_msk] == utc(2026, 11, 30, 7, 0)
    assert after[due_berlin] == utc(2026, 11, 30, 9, 0)

    # At 09:20 the failed one is due again, at 15:00 New York.
    assert [d.workspace.id for d in await storage.digests.workspaces_due_for_digest(
        utc(2026, 11, 30, 9, 20)
    )] == [due_msk, due_berlin, failed]  # fmt: skip
    assert {
        d.workspace.id
        for d in await storage.digests.workspaces_due_for_digest(utc(2026, 11, 30, 15, 0))
    } == {due_msk, due_berlin, failed, later_ny}


async def test_a_zone_that_does_not_load_never_stops_the_others(
    storage: Storage, clock: list[datetime]
) -> None:
    clock[0] = utc(2026, 11, 1)
    good = await _ws(storage, -20)
    bad = await _ws(storage, -21)
    for ws in (good, bad):
        await _seed(storage, ws, date(2026, 11, 29))
    await storage.digests.reschedule_all(utc(2026, 11, 23, 12))
    # A zone that stopped loading (tzdata changed, a row written before validation).
    async with storage.engine.begin() as conn:
        await conn.execute(
            update(workspaces).where(workspaces.c.id == bad).values(timezone="Mars/X")
        )
    due = await storage.digests.workspaces_due_for_digest(utc(2026, 11, 30, 9, 0), advance=True)
    assert [d.workspace.id for d in due] == [good]
    assert (await _stored(storage))[bad] is None  # not read again every minute
    # Recomputing skips it too.
    assert await storage.digests.reschedule_all(utc(2026, 11, 23, 12)) == 2
    assert (await _stored(storage))[bad] is None
    assert (await _stored(storage))[good] == utc(2026, 11, 30, 7, 0)


async def test_a_retry_that_falls_into_the_next_week_moves_on(
    storage: Storage, clock: list[datetime]
) -> None:
    clock[0] = utc(2026, 11, 1)
    ws = await _ws(storage, -30, "UTC")
    await storage.workspaces.set_digest(-30, weekday=6, time="23:50")  # Sunday 23:50 UTC
    await _seed(storage, ws, date(2026, 11, 28))
    await storage.digests.reschedule_all(utc(2026, 11, 23))
    assert await storage.digests.next_digest_at(ws) == utc(2026, 11, 29, 23, 50)
    assert await storage.digests.claim(ws, "2026-W47", utc(2026, 11, 29, 23, 50))
    await storage.digests.mark_failed(ws, "2026-W47", utc(2026, 11, 29, 23, 50))
    retry = utc(2026, 11, 30, 0, 20)  # Monday: a new ISO week, whose slot is Sunday
    assert await storage.digests.next_digest_at(ws) == retry
    assert await storage.digests.workspaces_due_for_digest(retry, advance=True) == []
    assert await storage.digests.next_digest_at(ws) == utc(2026, 12, 6, 23, 50)
    (entry,) = await storage.digests.entries(ws)
    assert entry.status == FAILED


def test_migration_backfills_existing_rows(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    created = utc(2026, 1, 1)
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "0001")
        for i, (tz, on, active) in enumerate(
            [
                ("Europe/Moscow", True, True),
                ("America/New_York", True, True),
                ("Europe/Moscow", False, True),
                ("Europe/Moscow", True, False),
                ("Not/AZone", True, True),
            ]
        ):
            conn.execute(
                sa.text(
                    "INSERT INTO workspaces (id, chat_id, chat_type, timezone, active, margin, "
                    "digest_enabled, digest_weekday, digest_time, created_at) VALUES "
                    "(:id, :chat, 'group', :tz, :active, 1.0, :on, 0, '10:00', :created)"
                ),
                {"id": i + 1, "chat": -(i + 1), "tz": tz, "active": active, "on": on,
                 "created": created.replace(tzinfo=None)},
            )  # fmt: skip
    before = datetime.now(UTC) - timedelta(days=7)
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn), "head")
    after = datetime.now(UTC) - timedelta(days=7)
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.text("SELECT id, next_digest_at FROM workspaces")).all())
        indexes = {ix["name"] for ix in sa.inspect(conn).get_indexes("workspaces")}
    engine.dispose()
    assert "ix_workspaces_next_digest_at" in indexes
    for ws_id, tz in ((1, "Europe/Moscow"), (2, "America/New_York")):
        got = datetime.fromisoformat(rows[ws_id]).replace(tzinfo=UTC)
        # The most recent slot a week back or later: this week's if it has passed.
        assert got in {
            next_digest_at(before, 0, "10:00", tz),
            next_digest_at(after, 0, "10:00", tz),
        }
        assert before < got <= after + timedelta(days=7)
    assert rows[3] is None and rows[4] is None and rows[5] is None


async def test_look_ahead_judges_each_digest_at_its_own_time_and_counts_them(
    storage: Storage, clock: list[datetime]
) -> None:
    clock[0] = utc(2026, 11, 1)
    sunday = await _ws(storage, -40, "UTC")
    monday = await _ws(storage, -41, "Europe/Moscow")
    late = await _ws(storage, -42, "Europe/Moscow")
    await storage.workspaces.set_digest(-40, weekday=6, time="20:00")  # Sunday 20:00 UTC
    await storage.workspaces.set_digest(-42, weekday=0, time="15:00")  # Monday 12:00 UTC
    for ws in (sunday, monday, late):
        await _seed(storage, ws, date(2026, 11, 28))
    await storage.digests.reschedule_all(utc(2026, 11, 29, 12, 0))
    now = utc(2026, 11, 29, 12, 0)  # Sunday noon UTC
    stored = await _stored(storage)
    # A window into the next ISO week: Sunday's slot is this week's, Monday's the next.
    soon = await storage.digests.soon_due(now, now + timedelta(hours=20))
    assert {(d.workspace.id, d.slot.week) for d in soon} == {
        (sunday, "2026-W47"),
        (monday, "2026-W48"),
    }
    # Only those past an earlier look-ahead's end.
    later = await storage.digests.soon_due(
        now, now + timedelta(hours=20), after=utc(2026, 11, 29, 20, 0)
    )
    assert [d.workspace.id for d in later] == [monday]
    counts = [await storage.digests.due_count(now + timedelta(hours=h)) for h in (1, 8, 19, 24)]
    assert counts == [0, 1, 2, 3]
    assert await _stored(storage) == stored  # the look-ahead writes nothing


async def test_leased_batches_never_overlap_and_a_lapsed_lease_is_due_again(
    storage: Storage, clock: list[datetime]
) -> None:
    """Cluster mode (storage/digests.py `lease_due`): each process gets its own batch."""
    clock[0] = utc(2026, 11, 20, 12)
    ids = [await _ws(storage, -100 - i) for i in range(5)]
    for ws in ids:
        await _seed(storage, ws, date(2026, 11, 29))
    await storage.digests.reschedule_all(utc(2026, 11, 23, 12))  # due Mon 30 Nov 07:00 UTC
    now = utc(2026, 11, 30, 9, 0)
    lease = timedelta(seconds=60)
    first = await storage.digests.lease_due(now, limit=3, lease=lease)
    second = await storage.digests.lease_due(now, limit=3, lease=lease)
    assert [d.workspace.id for d in first] == ids[:3]
    assert [d.workspace.id for d in second] == ids[3:]
    assert {d.slot.week for d in first + second} == {"2026-W48"}
    assert await storage.digests.lease_due(now, limit=3, lease=lease) == []
    stored = await _stored(storage)
    assert {stored[ws] for ws in ids} == {now + lease}
    # Two were sent (claimed: their next slot), the others' holder died: due again
    # when the lease ends, for anyone; the claimed ones never.
    for ws in ids[:2]:
        assert await storage.digests.claim(ws, "2026-W48", now)
    later = now + lease + timedelta(seconds=1)
    again = await storage.digests.lease_due(later, limit=10, lease=lease)
    assert [d.workspace.id for d in again] == ids[2:]
    assert (await _stored(storage))[ids[0]] == utc(2026, 12, 7, 7, 0)
