"""Digest week math, send times across time zones and DST, per-bucket KPIs, the log."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest

from kpi.digest import (
    chart_buckets,
    dashboard_tiles,
    digest_slot,
    fit_caption,
    granularity_for,
    is_due,
    iso_week_key,
    kpi_series,
    local_send_time,
    next_send_time,
    parse_time,
    parse_weekday,
    report_week,
    top_changes,
    week_buckets,
)
from kpi.kpis import KPI_FUNCTIONS
from kpi.models import Period
from storage import Storage


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("mon", 0), ("Fri", 4), ("friday", 4), ("SUN", 6), ("пн", 0), ("Пт", 4),
        ("пятница", 4), ("пятницу", 4), ("среду", 2), ("воскресенье", 6), ("вс", 6),
        ("fri.", 4), ("noday", None), ("18:00", None), ("", None),
    ],
)  # fmt: skip
def test_parse_weekday(word: str, expected: int | None) -> None:
    assert parse_weekday(word) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("18:00", "18:00"), ("9:30", "09:30"), ("9.30", "09:30"), ("9", "09:00"),
        ("0:00", "00:00"), ("23:59", "23:59"), ("6pm", "18:00"), ("12am", "00:00"),
        ("24:00", None), ("18:60", None), ("18:5", None), ("fri", None), ("13pm", None),
    ],
)  # fmt: skip
def test_parse_time(text: str, expected: str | None) -> None:
    assert parse_time(text) == expected


def test_iso_week_key_uses_the_iso_year() -> None:
    assert iso_week_key(date(2026, 11, 23)) == "2026-W48"
    assert iso_week_key(date(2026, 12, 31)) == "2026-W53"
    assert iso_week_key(date(2027, 1, 3)) == "2026-W53"  # Sunday of 2026's last ISO week
    assert iso_week_key(date(2027, 1, 4)) == "2027-W01"
    assert iso_week_key(date(2024, 12, 30)) == "2025-W01"


def test_report_week_is_the_last_complete_iso_week() -> None:
    for today in (date(2026, 11, 30), date(2026, 12, 3), date(2026, 12, 6)):
        assert report_week(today) == Period(date(2026, 11, 23), date(2026, 11, 29))
    assert report_week(date(2027, 1, 4)) == Period(date(2026, 12, 28), date(2027, 1, 3))


def test_moscow_monday_ten_oclock() -> None:
    # Europe/Moscow is UTC+3 all year.
    slot = digest_slot(utc(2026, 11, 30, 8, 0), 0, "10:00", "Europe/Moscow")
    assert slot.due_at == utc(2026, 11, 30, 7, 0)
    assert slot.week == "2026-W48"
    assert slot.report == Period(date(2026, 11, 23), date(2026, 11, 29))
    # At 23:30 UTC on Sunday it is already Monday in Moscow: the new week's slot.
    slot = digest_slot(utc(2026, 11, 29, 23, 30), 0, "10:00", "Europe/Moscow")
    assert slot.week == "2026-W48" and slot.local_day == date(2026, 11, 30)
    assert slot.due_at == utc(2026, 11, 30, 7, 0)


@pytest.mark.parametrize(
    ("monday", "due_utc"),
    [
        # America/New_York: DST starts Sunday 2026-03-08, ends Sunday 2026-11-01.
        (date(2026, 3, 2), utc(2026, 3, 2, 15, 0)),  # EST, UTC−5
        (date(2026, 3, 9), utc(2026, 3, 9, 14, 0)),  # EDT, UTC−4
        (date(2026, 10, 26), utc(2026, 10, 26, 14, 0)),
        (date(2026, 11, 2), utc(2026, 11, 2, 15, 0)),
    ],
)
def test_new_york_send_time_follows_dst(monday: date, due_utc: datetime) -> None:
    assert local_send_time(monday, 0, "10:00", "America/New_York") == due_utc
    slot = digest_slot(due_utc + timedelta(hours=3), 0, "10:00", "America/New_York")
    assert slot.due_at == due_utc


def test_berlin_gap_and_ambiguous_wall_times() -> None:
    # Sunday 2026-03-29 02:30 does not exist in Berlin (02:00 → 03:00): read with
    # the winter offset, it is 01:30 UTC (03:30 summer time).
    assert local_send_time(date(2026, 3, 23), 6, "02:30", "Europe/Berlin") == utc(
        2026, 3, 29, 1, 30
    )
    # Sunday 2026-10-25 02:30 happens twice: the first one (summer time) counts.
    assert local_send_time(date(2026, 10, 19), 6, "02:30", "Europe/Berlin") == utc(
        2026, 10, 25, 0, 30
    )
    # Monday after the spring switch: 10:00 CEST = 08:00 UTC (the week before: 09:00).
    assert local_send_time(date(2026, 3, 23), 0, "10:00", "Europe/Berlin") == utc(2026, 3, 23, 9, 0)
    assert local_send_time(date(2026, 3, 30), 0, "10:00", "Europe/Berlin") == utc(2026, 3, 30, 8, 0)


def test_is_due_and_young_workspaces() -> None:
    slot = digest_slot(utc(2026, 11, 30, 6, 59), 0, "10:00", "Europe/Moscow")
    assert not is_due(slot, utc(2026, 11, 30, 6, 59))
    assert is_due(slot, utc(2026, 11, 30, 7, 0))
    assert is_due(slot, utc(2026, 12, 3, 12, 0))  # missed on Monday, still this week
    assert is_due(slot, utc(2026, 12, 1), created_at=utc(2026, 11, 1))
    assert not is_due(slot, utc(2026, 12, 1), created_at=utc(2026, 11, 30, 9, 0))


def test_next_send_time() -> None:
    now = utc(2026, 12, 2, 12, 0)  # Wednesday
    assert next_send_time(now, 4, "18:00", "Europe/Moscow") == utc(2026, 12, 4, 15, 0)
    assert next_send_time(now, 0, "10:00", "Europe/Moscow") == utc(2026, 12, 7, 7, 0)


def test_week_buckets_and_chart_buckets() -> None:
    weeks = week_buckets(Period(date(2026, 11, 23), date(2026, 11, 29)), 12)
    assert len(weeks) == 12
    assert weeks[0] == Period(date(2026, 9, 7), date(2026, 9, 13))
    assert weeks[-1].start == date(2026, 11, 23)
    period = Period(date(2026, 1, 1), date(2026, 3, 31))
    assert granularity_for(period) == "week"
    assert granularity_for(Period(date(2026, 1, 1), date(2026, 3, 3))) == "day"
    buckets = chart_buckets(period, "week")
    assert buckets[0] == Period(date(2026, 1, 1), date(2026, 1, 4))  # Thu..Sun, clipped
    assert buckets[1] == Period(date(2026, 1, 5), date(2026, 1, 11))
    assert buckets[-1] == Period(date(2026, 3, 30), date(2026, 3, 31))
    assert sum(b.days for b in buckets) == period.days


async def _store(storage: Storage, *items: tuple[str, date, dict[str, float]]) -> int:
    ws, _ = await storage.workspaces.ensure(-500, "group", "t", "Europe/Moscow")
    values = {(a, d): v for a, d, v in items}
    await storage.metrics.apply_import(ws.id, source="t", user_id=None, values=values)
    return ws.id


async def test_bucket_kpi_is_a_ratio_of_sums_not_an_average(storage: Storage) -> None:
    d1, d2 = date(2026, 5, 4), date(2026, 5, 5)
    ws = await _store(
        storage,
        ("main", d1, {"bounces": 10, "sessions": 100}),
        ("main", d2, {"bounces": 450, "sessions": 900}),
    )
    days = await storage.metrics.aggregate(ws, chart_buckets(Period(d1, d2), "day"))
    assert kpi_series(days, "bounce") == [10.0, 50.0]
    (week,) = await storage.metrics.aggregate(ws, [Period(d1, d1 + timedelta(days=6))])
    assert kpi_series([week], "bounce") == [46.0]  # 460 / 1000, not (10 + 50) / 2
    assert week.days_with_data == 2 and week.metric_days == {"bounces": 2, "sessions": 2}


async def test_bucket_followers_start_end_and_average(storage: Storage) -> None:
    d = date(2026, 5, 4)
    ws = await _store(
        storage,
        ("b", d - timedelta(days=3), {"followers": 400}),
        ("a", d, {"followers": 1000}),
        ("b", d, {"followers": 500}),
        ("a", d + timedelta(days=1), {"followers": 1100}),
        ("a", d + timedelta(days=7), {"followers": 1210}),
    )
    first, second = await storage.metrics.aggregate(
        ws,
        [Period(d, d + timedelta(days=6)), Period(d + timedelta(days=7), d + timedelta(days=13))],
    )
    # Account b had 400 before the window; account a's counts begin inside it, so its
    # growth would cover fewer days: it is left out and named.
    growth = KPI_FUNCTIONS["growth"](first)
    assert first.followers_start == 400 and first.followers_end == 500
    assert growth.value == pytest.approx(25.0)
    assert [(x.account, x.reason) for x in growth.left_out] == [("a", "started")]
    # The second week: a from its last count (1100) to 1210; b has no count: stale.
    second_growth = KPI_FUNCTIONS["growth"](second)
    assert second.followers_start == 1100 and second.followers_end == 1210
    assert [(x.account, x.reason) for x in second_growth.left_out] == [("b", "stale")]
    assert first.sums == {} and second.days_with_data == 1
    # b's figures span the whole first week up to its last count on May 4: one day.
    assert (first.followers_days, second.followers_days) == (1, 1)


async def test_dashboard_tiles_direction_and_top_changes(storage: Storage) -> None:
    weeks = [
        Period(date(2026, 11, 16), date(2026, 11, 22)),
        Period(date(2026, 11, 23), date(2026, 11, 29)),
    ]
    ws = await _store(
        storage,
        ("main", date(2026, 11, 16), {"bounces": 30, "sessions": 100, "reach": 1000}),
        ("main", date(2026, 11, 23), {"bounces": 45, "sessions": 100, "reach": 1500}),
    )
    tiles = {t.kpi: t for t in dashboard_tiles(await storage.metrics.aggregate(ws, weeks))}
    assert set(tiles) == {"reach", "bounce"}
    assert tiles["bounce"].value == 45.0 and tiles["bounce"].change.absolute == 15.0
    assert tiles["bounce"].change.better is False  # bounce up is worse
    assert tiles["reach"].change.better is True and tiles["reach"].change.relative == 50.0
    assert tiles["reach"].spark == (1000.0, 1500.0)
    assert [t.kpi for t in top_changes(list(tiles.values()))] == ["reach", "bounce"]


def test_fit_caption_moves_what_does_not_fit_to_the_details() -> None:
    items = [f"line {i} " + "x" * 90 for i in range(20)]
    caption, rest = fit_caption(["<b>Title</b>"], items, more=lambda n: f"{n} more")
    assert len(caption) <= 1024
    shown = caption.count("line ")
    assert shown + len(rest) == 20 and rest == items[shown:]
    assert caption.endswith(f"{len(rest)} more")
    caption, rest = fit_caption(["t"], items[:3])
    assert rest == [] and caption == "\n".join(["t", *items[:3]])


# --------------------------------------------------------------------------- the log


async def _workspace(storage: Storage, chat_id: int, tz: str = "Europe/Moscow") -> int:
    ws, _created = await storage.workspaces.ensure(chat_id, "group", f"Team {chat_id}", tz)
    return ws.id


async def test_claim_is_atomic_and_once_per_week(storage: Storage) -> None:
    ws = await _workspace(storage, -1)
    now = utc(2026, 11, 30, 7, 0)
    results = await asyncio.gather(*(storage.digests.claim(ws, "2026-W48", now) for _ in range(8)))
    assert sorted(results) == [False] * 7 + [True]
    await storage.digests.mark_sent(ws, "2026-W48", now, 77)
    assert not await storage.digests.claim(ws, "2026-W48", now + timedelta(days=1))
    assert await storage.digests.claim(ws, "2026-W49", now + timedelta(days=7))
    (entry, _) = await storage.digests.entries(ws)
    assert (entry.week, entry.status, entry.message_id) == ("2026-W48", "sent", 77)


async def test_failed_digest_is_claimable_again_after_a_while(storage: Storage) -> None:
    ws = await _workspace(storage, -2)
    now = utc(2026, 11, 30, 7, 0)
    assert await storage.digests.claim(ws, "2026-W48", now)
    await storage.digests.mark_failed(ws, "2026-W48", now)
    assert not await storage.digests.claim(ws, "2026-W48", now + timedelta(minutes=5))
    assert await storage.digests.claim(ws, "2026-W48", now + timedelta(minutes=31))
    assert not await storage.digests.claim(ws, "2026-W48", now + timedelta(minutes=62))


async def _seed(storage: Storage, ws_id: int, day: date) -> None:
    await storage.metrics.apply_import(
        ws_id, source="test", user_id=None, values={("main", day): {"reach": 100.0}}
    )


async def test_due_workspaces_across_time_zones_and_dst(storage: Storage) -> None:
    created = utc(2026, 1, 1)
    ny = await _workspace(storage, -10, "America/New_York")
    msk = await _workspace(storage, -11, "Europe/Moscow")
    empty = await _workspace(storage, -12, "Europe/Moscow")
    off = await _workspace(storage, -13, "Europe/Moscow")
    gone = await _workspace(storage, -14, "Europe/Moscow")
    for ws in (ny, msk, off, gone):
        await _seed(storage, ws, date(2026, 3, 4))
    await storage.workspaces.set_digest(-13, enabled=False)
    await storage.workspaces.set_active(-14, False)
    await storage.workspaces.set_digest(-10, time="10:00")
    from sqlalchemy import update

    from storage.schema import workspaces

    async with storage.engine.begin() as conn:
        await conn.execute(update(workspaces).values(created_at=created))
    # Created in January: each workspace's next digest is its first slot after that.
    await storage.digests.reschedule_all(created)

    async def due(now: datetime) -> set[int]:
        return {d.workspace.id for d in await storage.digests.workspaces_due_for_digest(now)}

    # Week of Monday 2026-03-09: New York is on summer time since Sunday (10:00 = 14:00 UTC).
    assert await due(utc(2026, 3, 9, 6, 59)) == set()
    assert await due(utc(2026, 3, 9, 7, 0)) == {msk}
    assert await due(utc(2026, 3, 9, 13, 59)) == {msk}
    assert await due(utc(2026, 3, 9, 14, 0)) == {msk, ny}
    # The week before, on winter time, New York's 10:00 was 15:00 UTC.
    assert await due(utc(2026, 3, 2, 14, 59)) == {msk}
    assert await due(utc(2026, 3, 2, 15, 0)) == {msk, ny}
    # Logged weeks are not due again; the next week is.
    items = await storage.digests.workspaces_due_for_digest(utc(2026, 3, 9, 14, 0))
    for item in items:
        assert await storage.digests.claim(item.workspace.id, item.slot.week, utc(2026, 3, 9, 14))
    assert await due(utc(2026, 3, 12, 0, 0)) == set()
    assert await due(utc(2026, 3, 16, 14, 0)) == {msk, ny}
    # Data older than the 12-week window: no more digests.
    assert await due(utc(2026, 6, 29, 14, 0)) == set()
    assert empty not in await due(utc(2026, 3, 16, 14, 0))
