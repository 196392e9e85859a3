"""Bookkeeping of the running bot: the one-process lock, updates already processed,
files already imported, and notices owed to a chat."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from kpi.timezones import known_timezone
from storage.db import write_transaction
from storage.schema import (
    import_batches,
    imported_files,
    instance_lock,
    processed_updates,
    workspace_notices,
    workspaces,
)

log = logging.getLogger(__name__)

# Tables the process writes for itself, not user data (proof suites compare the rest).
BOOKKEEPING_TABLES = ("instance_lock", "processed_updates")

TIMEZONE_REPLACED = "timezone_replaced"


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class LockHolder:
    holder: str
    heartbeat_at: datetime


@dataclass(frozen=True, slots=True)
class ImportedFile:
    file_name: str
    imported_at: datetime
    batch_id: int | None


@dataclass(frozen=True, slots=True)
class Notice:
    workspace_id: int
    chat_id: int
    kind: str
    details: dict[str, Any]


class RuntimeRepo:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    # The one-process lock -------------------------------------------------------

    async def acquire_lock(
        self, bot_id: int, holder: str, now: datetime, stale_after: timedelta
    ) -> LockHolder | None:
        """Take the bot's lock; None when taken, else the other holder (still alive).

        A holder whose heartbeat is older than `stale_after` crashed: the lock is
        taken over by a conditional UPDATE that only one contender can win.
        """
        try:
            async with write_transaction(self._engine) as conn:
                await conn.execute(
                    insert(instance_lock).values(bot_id=bot_id, holder=holder, heartbeat_at=now)
                )
            return None
        except IntegrityError:
            pass
        async with write_transaction(self._engine) as conn:
            taken = await conn.execute(
                update(instance_lock)
                .where(
                    instance_lock.c.bot_id == bot_id,
                    instance_lock.c.heartbeat_at < now - stale_after,
                )
                .values(holder=holder, heartbeat_at=now)
            )
            if taken.rowcount:
                return None
            row = (
                await conn.execute(select(instance_lock).where(instance_lock.c.bot_id == bot_id))
            ).first()
        if row is None:  # released meanwhile: try once more
            return await self.acquire_lock(bot_id, holder, now, stale_after)
        return LockHolder(row.holder, _aware(row.heartbeat_at))

    async def take_over(self, bot_id: int, old_holder: str, holder: str, now: datetime) -> bool:
        """Take the lock from a holder known to be dead; False if it changed meanwhile."""
        async with write_transaction(self._engine) as conn:
            result = await conn.execute(
                update(instance_lock)
                .where(instance_lock.c.bot_id == bot_id, instance_lock.c.holder == old_holder)
                .values(holder=holder, heartbeat_at=now)
            )
        return bool(result.rowcount)

    async def heartbeat(self, bot_id: int, holder: str, now: datetime) -> bool:
        """Renew the lock; False when another process has taken it over."""
        async with write_transaction(self._engine) as conn:
            result = await conn.execute(
                update(instance_lock)
                .where(instance_lock.c.bot_id == bot_id, instance_lock.c.holder == holder)
                .values(heartbeat_at=now)
            )
        return bool(result.rowcount)

    async def release_lock(self, bot_id: int, holder: str) -> None:
        async with write_transaction(self._engine) as conn:
            await conn.execute(
                delete(instance_lock).where(
                    instance_lock.c.bot_id == bot_id, instance_lock.c.holder == holder
                )
            )

    # Updates processed -----------------------------------------------------------

    async def claim_update(self, bot_id: int, update_id: int, now: datetime) -> bool:
        """Record that this update is being processed; False if it was already."""
        try:
            async with write_transaction(self._engine) as conn:
                await conn.execute(
                    insert(processed_updates).values(
                        bot_id=bot_id, update_id=update_id, processed_at=now
                    )
                )
        except IntegrityError:
            return False
        return True

    async def forget_updates_before(self, when: datetime) -> int:
        async with write_transaction(self._engine) as conn:
            result = await conn.execute(
                delete(processed_updates).where(processed_updates.c.processed_at < when)
            )
        return int(result.rowcount or 0)

    # Files imported --------------------------------------------------------------

    async def imported_file(self, workspace_id: int, file_unique_id: str) -> ImportedFile | None:
        """The last import of this file here, unless /undo took it back."""
        f = imported_files.c
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(imported_files)
                    .join(import_batches, import_batches.c.id == f.batch_id)
                    .where(
                        f.workspace_id == workspace_id,
                        f.file_unique_id == file_unique_id[:64],
                        import_batches.c.undone.is_(False),
                    )
                )
            ).first()
        if row is None:
            return None
        return ImportedFile(row.file_name, _aware(row.imported_at), row.batch_id)

    async def remember_file(
        self,
        workspace_id: int,
        file_unique_id: str,
        file_name: str,
        batch_id: int | None,
        now: datetime,
    ) -> None:
        async with write_transaction(self._engine) as conn:
            await conn.execute(
                delete(imported_files).where(
                    imported_files.c.workspace_id == workspace_id,
                    imported_files.c.file_unique_id == file_unique_id,
                )
            )
            await conn.execute(
                insert(imported_files).values(
                    workspace_id=workspace_id,
                    file_unique_id=file_unique_id[:64],
                    file_name=file_name[:256],
                    batch_id=batch_id,
                    imported_at=now,
                )
            )

    # Time zones that no longer load, and the notice owed ------------------------

    async def repair_timezones(self, default: str, now: datetime) -> list[tuple[int, str]]:
        """Workspaces whose stored zone the pinned tzdata does not have get `default`,
        and a notice for their chat. Returns (workspace id, old zone) for each."""
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(workspaces.c.id, workspaces.c.timezone))).all()
        bad = [(int(r.id), str(r.timezone)) for r in rows if not known_timezone(r.timezone)]
        if not bad:
            return []
        async with write_transaction(self._engine) as conn:
            for ws_id, old in bad:
                await conn.execute(
                    update(workspaces).where(workspaces.c.id == ws_id).values(timezone=default)
                )
                await conn.execute(
                    delete(workspace_notices).where(
                        workspace_notices.c.workspace_id == ws_id,
                        workspace_notices.c.kind == TIMEZONE_REPLACED,
                    )
                )
                await conn.execute(
                    insert(workspace_notices).values(
                        workspace_id=ws_id,
                        kind=TIMEZONE_REPLACED,
                        details={"old": old[:64], "new": default},
                        created_at=now,
                    )
                )
        for ws_id, old in bad:
            log.warning("workspace %s: time zone %r does not load; set to %s", ws_id, old, default)
        return bad

    async def pending_notices(self) -> list[Notice]:
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(workspace_notices, workspaces.c.chat_id)
                    .join(workspaces, workspaces.c.id == workspace_notices.c.workspace_id)
                    .where(workspaces.c.active.is_(True))
                    .order_by(workspace_notices.c.workspace_id)
                )
            ).all()
        return [Notice(r.workspace_id, r.chat_id, r.kind, dict(r.details)) for r in rows]

    async def notice_done(self, workspace_id: int, kind: str) -> None:
        async with write_transaction(self._engine) as conn:
            await conn.execute(
                delete(workspace_notices).where(
                    workspace_notices.c.workspace_id == workspace_id,
                    workspace_notices.c.kind == kind,
                )
            )
