"""The weekly digest's bookkeeping: who is due, the send log, the series it draws.

`digest_log` has one row per (workspace, reported ISO week), unique. Its states:

* `claimed` — written (an INSERT that the unique key makes atomic) right before
  the first HTTP request of the digest. From here on the digest is never sent
  again automatically: if the process dies between the request and `sent`, the
  week is not repeated (at-most-once; see bot/services/digest.py for the reasoning).
* `sent` — delivered; `message_id` is the photo's (or the text's).
* `failed` — every attempt failed in a way that delivered nothing the user can
  see twice (429s, 5xx, network, a rejected request). It may be claimed again
  after `RETRY_FAILED_AFTER`, still within the same week.
* `skipped` — the chat blocked or removed the bot; the workspace is inactive.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from kpi.digest import SPARK_WEEKS, DigestSlot, digest_slot, is_due
from kpi.schedule import first_digest_at
from storage.agency import clients_of, with_clients_day
from storage.db import Reader, write_transaction
from storage.records import Workspace
from storage.schema import daily_metrics, digest_log, workspaces
from storage.workspaces import _workspace, reschedule, scheduled_at

log = logging.getLogger(__name__)

CLAIMED, SENT, FAILED, SKIPPED = "claimed", "sent", "failed", "skipped"
RETRY_FAILED_AFTER = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class DueDigest:
    workspace: Workspace
    slot: DigestSlot
    last_day: date  # the newest day with data, any account


@dataclass(frozen=True, slots=True)
class DigestLogEntry:
    workspace_id: int
    week: str
    status: str
    message_id: int | None
    updated_at: datetime


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _next_slot(ws: Workspace, now: datetime) -> datetime:
    return first_digest_at(now, ws.digest_weekday, ws.digest_time, ws.timezone, ws.created_at)


class DigestRepo:
    def __init__(self, engine: AsyncEngine, reader: Reader) -> None:
        self._engine = engine
        # The due scan's reads go to the reader (on SQLite one thread trip for the
        # whole scan, not four or five per statement through aiosqlite).
        self._reader = reader

    # The log -------------------------------------------------------------------

    async def claim(self, workspace_id: int, week: str, now: datetime) -> bool:
        """Take the (workspace, week) for sending; False if it is taken or done.

        Atomic: the INSERT either creates the row or hits the unique key. A
        `failed` row older than RETRY_FAILED_AFTER is taken over by a
        conditional UPDATE, which only one caller can win.
        """
        try:
            async with write_transaction(self._engine) as conn:
                await conn.execute(
                    insert(digest_log).values(
                        workspace_id=workspace_id, week=week, status=CLAIMED, updated_at=now
                    )
                )
                # Taken for good: the workspace is next due at its next slot.
                await reschedule(conn, now, workspaces.c.id == workspace_id)
            return True
        except IntegrityError:
            pass
        async with write_transaction(self._engine) as conn:
            result = await conn.execute(
                update(digest_log)
                .where(
                    digest_log.c.workspace_id == workspace_id,
                    digest_log.c.week == week,
                    digest_log.c.status == FAILED,
                    digest_log.c.updated_at <= now - RETRY_FAILED_AFTER,
                )
                .values(status=CLAIMED, updated_at=now)
            )
            if result.rowcount:
                await reschedule(conn, now, workspaces.c.id == workspace_id)
        return bool(result.rowcount)

    async def _finish(
        self, workspace_id: int, week: str, status: str, now: datetime, message_id: int | None
    ) -> None:
        async with write_transaction(self._engine) as conn:
            await conn.execute(
                update(digest_log)
                .where(digest_log.c.workspace_id == workspace_id, digest_log.c.week == week)
                .values(status=status, updated_at=now, message_id=message_id)
            )

    async def mark_sent(
        self, workspace_id: int, week: str, now: datetime, message_id: int | None = None
    ) -> None:
        await self._finish(workspace_id, week, SENT, now, message_id)

    async def mark_failed(self, workspace_id: int, week: str, now: datetime) -> None:
        await self._finish(workspace_id, week, FAILED, now, None)
        # Claimable again after RETRY_FAILED_AFTER: the tick looks then (a retry that
        # falls into the next week finds that week's slot not due and moves on).
        async with write_transaction(self._engine) as conn:
            await conn.execute(
                update(workspaces)
                .where(workspaces.c.id == workspace_id, workspaces.c.next_digest_at.is_not(None))
                .values(next_digest_at=now + RETRY_FAILED_AFTER)
            )

    async def mark_skipped(self, workspace_id: int, week: str, now: datetime) -> None:
        await self._finish(workspace_id, week, SKIPPED, now, None)

    async def entries(self, workspace_id: int | None = None) -> list[DigestLogEntry]:
        query = select(digest_log).order_by(digest_log.c.workspace_id, digest_log.c.week)
        if workspace_id is not None:
            query = query.where(digest_log.c.workspace_id == workspace_id)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            DigestLogEntry(r.workspace_id, r.week, r.status, r.message_id, _aware(r.updated_at))
            for r in rows
        ]

    # Who is due ----------------------------------------------------------------

    async def workspaces_due_for_digest(
        self, now: datetime, *, advance: bool = False
    ) -> list[DueDigest]:
        """Active workspaces with the digest on and data, whose slot this ISO week (in
        their time zone) has passed at `now`, and whose week is not in the log yet
        (or failed a while ago).

        O(due), not O(workspaces): the SQL reads only the rows whose stored
        `next_digest_at` (kpi/schedule.py, indexed) has come, and the time zone
        checks run on those candidates. Workspaces whose newest data is older than
        the 12-week sparkline window get nothing: a weekly "no data" message
        forever would be noise.

        With `advance` (the tick, at the real `now`), a candidate that turns out not
        to be due — its week is logged, it has no recent data, its zone does not
        load — gets its `next_digest_at` moved to its next slot, so it is read
        again only then. Without it (tests) nothing is written.
        """
        return await self._scan(now, now, None, advance=advance, own_time=False)

    async def lease_due(self, now: datetime, *, limit: int, lease: timedelta) -> list[DueDigest]:
        """Cluster mode: up to `limit` due digests for this process alone.

        The rows whose `next_digest_at` has come are locked `FOR UPDATE SKIP LOCKED`
        (another process's transaction skips them) and their `next_digest_at` moved
        `lease` ahead, so no other process reads them again until then; then they are
        judged as `workspaces_due_for_digest(advance=True)` does. A claim (`claim`)
        moves a sent one to its next slot; one this process never got to (it died)
        is due again when the lease ends, for any process. The claim log still makes
        each (workspace, week) go out once, leases or not.
        """
        async with write_transaction(self._engine) as conn:
            ids = list(
                (
                    await conn.execute(
                        select(workspaces.c.id)
                        .where(
                            workspaces.c.next_digest_at <= now,
                            workspaces.c.active.is_(True),
                            workspaces.c.digest_enabled.is_(True),
                        )
                        .order_by(workspaces.c.next_digest_at)
                        .limit(limit)
                        .with_for_update(skip_locked=True)
                    )
                ).scalars()
            )
            if not ids:
                return []
            await conn.execute(
                update(workspaces)
                .where(workspaces.c.id.in_(ids))
                .values(next_digest_at=now + lease)
            )
        return await self._scan(now, now, None, advance=True, own_time=False, ids=ids)

    async def soon_due(
        self, now: datetime, until: datetime, *, after: datetime | None = None
    ) -> list[DueDigest]:
        """The digests that will be due by `until` (each judged at its own
        `next_digest_at`, so a window across a week boundary is right), optionally only
        those whose `next_digest_at` is after `after`. Read-only: the pre-render."""
        return await self._scan(now, until, after, advance=False, own_time=True)

    async def due_count(self, until: datetime) -> int:
        """How many workspaces are scheduled by `until` (a count on the index alone)."""
        query = select(func.count()).where(workspaces.c.next_digest_at <= until)
        return await self._reader.run(lambda conn: int(conn.execute(query).scalar_one()))

    async def _scan(
        self,
        now: datetime,
        until: datetime,
        after: datetime | None,
        *,
        advance: bool,
        own_time: bool,
        ids: Sequence[int] | None = None,
    ) -> list[DueDigest]:
        own_day = (
            select(func.max(daily_metrics.c.day))
            .where(daily_metrics.c.workspace_id == workspaces.c.id)
            .scalar_subquery()
        )
        # An agency's digest is about its clients too (storage/agency.py).
        last_day = with_clients_day(own_day, workspaces.c.id)
        scope = [
            # Leased rows (`lease_due`) by id: their next_digest_at is the lease's end.
            workspaces.c.next_digest_at <= until if ids is None else workspaces.c.id.in_(ids),
            workspaces.c.active.is_(True),
            workspaces.c.digest_enabled.is_(True),
        ]
        if after is not None:
            scope.append(workspaces.c.next_digest_at > after)
        query = (
            select(workspaces, last_day.label("last_day"))
            .where(*scope)
            # The index's order: without it SQLite would rather scan the
            # table in id order than sort the few rows it needs.
            .order_by(workspaces.c.next_digest_at)
        )

        def read(conn: Connection) -> tuple[list[DueDigest], dict[int, datetime | None]]:
            # One unit of work on the reader: the candidates, their zones judged, and
            # the log rows of their weeks.
            rows = sorted(conn.execute(query).all(), key=lambda r: r.id)
            candidates: list[tuple[DueDigest, datetime]] = []
            idle: dict[int, datetime | None] = {}  # workspace id -> its new next_digest_at
            for row in rows:
                try:
                    ws = _workspace(row)
                    at = max(now, _aware(row.next_digest_at)) if own_time else now
                    slot = digest_slot(at, ws.digest_weekday, ws.digest_time, ws.timezone)
                except Exception as exc:
                    # One bad row (a zone that does not load, a broken schedule) never
                    # stops the others' digests; it waits for a repair (next_digest_at NULL).
                    log.error(
                        "digest: workspace %s skipped, its settings are unusable "
                        "(timezone %r, schedule %r %r): %s: %s",
                        row.id, row.timezone, row.digest_weekday, row.digest_time,
                        type(exc).__name__, exc,
                    )  # fmt: skip
                    idle[row.id] = None
                    continue
                window_start = slot.report.start - timedelta(days=7 * (SPARK_WEEKS - 1))
                if (
                    row.last_day is None
                    or row.last_day < window_start
                    or not is_due(slot, at, ws.digest_not_before)
                ):
                    idle[ws.id] = scheduled_at(row, now)
                    continue
                candidates.append((DueDigest(ws, slot, row.last_day), at))
            logged: Sequence[Any] = ()
            if candidates:
                weeks = sorted({c.slot.week for c, _ in candidates})
                logged = conn.execute(
                    select(
                        digest_log.c.workspace_id,
                        digest_log.c.week,
                        digest_log.c.status,
                        digest_log.c.updated_at,
                    ).where(digest_log.c.week.in_(weeks))
                ).all()
            log_rows = {(r.workspace_id, r.week): r for r in logged}
            due: list[DueDigest] = []
            for c, at in candidates:
                r = log_rows.get((c.workspace.id, c.slot.week))
                if r is None:
                    due.append(c)
                elif r.status != FAILED:
                    idle[c.workspace.id] = _next_slot(c.workspace, now)  # done: the next slot
                elif _aware(r.updated_at) > at - RETRY_FAILED_AFTER:
                    idle[c.workspace.id] = _aware(r.updated_at) + RETRY_FAILED_AFTER
                else:
                    due.append(c)  # failed a while ago: again
            return due, idle

        due, idle = await self._reader.run(read)
        if advance and idle:
            async with write_transaction(self._engine) as wconn:
                await wconn.execute(
                    update(workspaces)
                    .where(workspaces.c.id == bindparam("ws_id"))
                    .values(next_digest_at=bindparam("at")),
                    [{"ws_id": ws_id, "at": at} for ws_id, at in idle.items()],
                )
        return due

    async def reschedule_all(self, since: datetime) -> int:
        """Recompute every workspace's `next_digest_at` as its first slot after `since`
        (what the migration's backfill does with "a week ago"); returns how many rows."""
        async with write_transaction(self._engine) as conn:
            return await reschedule(conn, since)

    async def next_digest_at(self, workspace_id: int) -> datetime | None:
        async with self._engine.connect() as conn:
            value = (
                await conn.execute(
                    select(workspaces.c.next_digest_at).where(workspaces.c.id == workspace_id)
                )
            ).scalar()
        return _aware(value) if value is not None else None

    # Series -------------------------------------------------------------------

    async def has_data(self, workspace_id: int) -> bool:
        """Any data of its own, or of its clients (an agency)."""
        async with self._engine.connect() as conn:
            found = (
                await conn.execute(
                    select(daily_metrics.c.day)
                    .where(
                        daily_metrics.c.workspace_id.in_(
                            select(literal(workspace_id)).union_all(clients_of(workspace_id))
                        )
                    )
                    .limit(1)
                )
            ).first()
        return found is not None


__all__ = [
    "CLAIMED",
    "FAILED",
    "SENT",
    "SKIPPED",
    "DigestLogEntry",
    "DigestRepo",
    "DueDigest",
]
