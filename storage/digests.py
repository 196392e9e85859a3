"""The weekly digest's bookkeeping: who is due, the send log, the series it draws.

`digest_log` has one row per (workspace, reported ISO week), unique. Its states:

* `claimed` — written (an INSERT that the unique key makes atomic) right before
  the first HTTP request of the digest. From here on the digest is never sent
  again automatically: if the process dies between the request and `sent`, the
  week is not repeated (at-most-once; see handlers/digest.py for the reasoning).
* `sent` — delivered; `message_id` is the photo's (or the text's).
* `failed` — every attempt failed in a way that delivered nothing the user can
  see twice (429s, 5xx, network, a rejected request). It may be claimed again
  after `RETRY_FAILED_AFTER`, still within the same week.
* `skipped` — the chat blocked or removed the bot; the workspace is inactive.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from kpi.digest import SPARK_WEEKS, DigestSlot, digest_slot, is_due
from storage.db import write_transaction
from storage.records import Workspace
from storage.schema import daily_metrics, digest_log, workspaces
from storage.workspaces import _workspace

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


class DigestRepo:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

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

    async def workspaces_due_for_digest(self, now: datetime) -> list[DueDigest]:
        """Active workspaces with the digest on and data, whose slot this ISO week (in
        their time zone) has passed at `now`, and whose week is not in the log yet
        (or failed a while ago).

        The time zone arithmetic is done in Python (zoneinfo), which both SQLite
        and PostgreSQL deployments share; the SQL narrows to candidates with data
        and reads the log once for the weeks in question. Workspaces whose newest
        data is older than the 12-week sparkline window get nothing: a weekly
        "no data" message forever would be noise.
        """
        last_day = (
            select(func.max(daily_metrics.c.day))
            .where(daily_metrics.c.workspace_id == workspaces.c.id)
            .scalar_subquery()
        )
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(workspaces, last_day.label("last_day"))
                    .where(
                        workspaces.c.active.is_(True),
                        workspaces.c.digest_enabled.is_(True),
                    )
                    .order_by(workspaces.c.id)
                )
            ).all()
            candidates: list[DueDigest] = []
            for row in rows:
                if row.last_day is None:
                    continue
                ws = _workspace(row)
                slot = digest_slot(now, ws.digest_weekday, ws.digest_time, ws.timezone)
                window_start = slot.report.start - timedelta(days=7 * (SPARK_WEEKS - 1))
                if row.last_day < window_start or not is_due(slot, now, ws.digest_not_before):
                    continue
                candidates.append(DueDigest(ws, slot, row.last_day))
            if not candidates:
                return []
            weeks = sorted({c.slot.week for c in candidates})
            logged = (
                await conn.execute(
                    select(
                        digest_log.c.workspace_id,
                        digest_log.c.week,
                        digest_log.c.status,
                        digest_log.c.updated_at,
                    ).where(digest_log.c.week.in_(weeks))
                )
            ).all()
        retry_before = now - RETRY_FAILED_AFTER
        taken = {
            (r.workspace_id, r.week)
            for r in logged
            if r.status != FAILED or _aware(r.updated_at) > retry_before
        }
        return [c for c in candidates if (c.workspace.id, c.slot.week) not in taken]

    # Series -------------------------------------------------------------------

    async def has_data(self, workspace_id: int) -> bool:
        async with self._engine.connect() as conn:
            found = (
                await conn.execute(
                    select(daily_metrics.c.day)
                    .where(daily_metrics.c.workspace_id == workspace_id)
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
