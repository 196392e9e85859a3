"""The one-process lock and the processed-update log (storage/runtime.py), on the
test's database (SQLite, or PostgreSQL with TEST_POSTGRES_URL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage import Storage

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
STALE = timedelta(seconds=30)


async def test_lock_is_held_renewed_taken_over_when_stale_and_released(storage: Storage) -> None:
    rt = storage.runtime
    assert await rt.acquire_lock(7, "pid 1 on a", T0, STALE) is None
    other = await rt.acquire_lock(7, "pid 2 on b", T0 + timedelta(seconds=5), STALE)
    assert other is not None and other.holder == "pid 1 on a" and other.heartbeat_at == T0
    assert await rt.acquire_lock(8, "pid 2 on b", T0, STALE) is None  # another bot: its own
    assert await rt.heartbeat(7, "pid 1 on a", T0 + timedelta(seconds=20))
    assert await rt.acquire_lock(7, "pid 2 on b", T0 + timedelta(seconds=45), STALE) is not None
    # No heartbeat for more than 30 s: the holder crashed; the next one takes over …
    assert await rt.acquire_lock(7, "pid 2 on b", T0 + timedelta(seconds=51), STALE) is None
    # … and the old holder, if it was only frozen, learns it lost the lock.
    assert not await rt.heartbeat(7, "pid 1 on a", T0 + timedelta(seconds=52))
    await rt.release_lock(7, "pid 1 on a")  # not its lock: nothing happens
    assert await rt.acquire_lock(7, "pid 3 on c", T0 + timedelta(seconds=53), STALE) is not None
    await rt.release_lock(7, "pid 2 on b")
    assert await rt.acquire_lock(7, "pid 3 on c", T0 + timedelta(seconds=54), STALE) is None


async def test_an_update_is_claimed_once_and_old_ones_are_forgotten(storage: Storage) -> None:
    rt = storage.runtime
    assert await rt.claim_update(7, 100, T0)
    assert not await rt.claim_update(7, 100, T0 + timedelta(minutes=1))
    assert await rt.claim_update(8, 100, T0)  # another bot's update 100
    assert await rt.forget_updates_before(T0 + timedelta(seconds=1)) == 2
    assert await rt.claim_update(7, 100, T0 + timedelta(days=8))
