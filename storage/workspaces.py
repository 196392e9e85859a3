"""Workspaces (one per chat) and their accounts."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from kpi.schedule import first_digest_at
from storage.db import Reader, WorkspaceGone, write_transaction
from storage.records import Account, Workspace
from storage.schema import accounts, alert_rules, workspaces

log = logging.getLogger(__name__)

DEFAULT_ACCOUNT = "main"
# A change to any of these moves the workspace's `next_digest_at`.
SCHEDULE_COLUMNS = frozenset(
    ("timezone", "active", "digest_enabled", "digest_weekday", "digest_time")
)

# New workspaces start with these alert rules on (SPEC, "Alerts").
DEFAULT_ALERT_RULES: tuple[dict[str, Any], ...] = (
    {"kpi": "bounce", "kind": "spike", "op": "+", "value": 20.0, "min_volume": 100.0},
    {"kpi": "cac", "kind": "spike", "op": "+", "value": 25.0, "min_volume": 3.0},
)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _as_utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything is stored in UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _workspace(row: Any) -> Workspace:
    return Workspace(
        id=row.id,
        chat_id=row.chat_id,
        chat_type=row.chat_type,
        title=row.title,
        language=row.language,
        timezone=row.timezone,
        active=bool(row.active),
        margin=float(row.margin),
        digest_enabled=bool(row.digest_enabled),
        digest_weekday=int(row.digest_weekday),
        digest_time=row.digest_time,
        created_at=_as_utc(row.created_at),
        currency=row.currency,
        user_language=row.user_language,
        digest_changed_at=_as_utc(row.digest_changed_at) if row.digest_changed_at else None,
    )


def scheduled_at(row: Any, since: datetime) -> datetime | None:
    """The `next_digest_at` for a workspace row: its first slot strictly after `since`
    (and after its creation); None when no digest is due at all (off, inactive, or a
    time zone that does not load — logged, and the other workspaces are unaffected)."""
    if not (row.active and row.digest_enabled):
        return None
    try:
        return first_digest_at(
            since, int(row.digest_weekday), row.digest_time, row.timezone, _as_utc(row.created_at)
        )
    except (ValueError, KeyError) as error:  # ZoneInfoNotFoundError is a KeyError
        log.warning(
            "workspace %s: no digest scheduled, zone %r / time %r: %r",
            row.id, row.timezone, row.digest_time, error,
        )  # fmt: skip
        return None


async def reschedule(conn: AsyncConnection, since: datetime, *where: Any) -> int:
    """Recompute `next_digest_at` from `since` for the workspaces matching `where`."""
    rows = (await conn.execute(select(workspaces).where(*where))).all()
    if not rows:
        return 0
    await conn.execute(
        update(workspaces)
        .where(workspaces.c.id == bindparam("ws_id"))
        .values(next_digest_at=bindparam("at")),
        [{"ws_id": row.id, "at": scheduled_at(row, since)} for row in rows],
    )
    return len(rows)


def _account(row: Any) -> Account:
    return Account(
        id=row.id,
        workspace_id=row.workspace_id,
        name=row.name,
        is_default=bool(row.is_default),
        channel_chat_id=row.channel_chat_id,
    )


class AccountExists(ValueError):
    pass


class WorkspaceRepo:
    """Workspaces and accounts.

    Every update reads its chat's workspace, so reads are cached in memory and
    every write below drops the cache. All workspace writes go through this class; with
    one process that is enough. Several processes (cluster mode) set `on_change`: after
    each write it tells the others which chats to drop (bot/cluster.py, Redis pub/sub),
    before the write's caller goes on, and `forget` is how they drop them.
    """

    _CACHE_LIMIT = 20_000

    def __init__(self, engine: AsyncEngine, reader: Reader) -> None:
        self._engine = engine
        self._reader = reader
        self._cache: dict[int, Workspace] = {}
        # Bumped by every write: a read that began before a write committed must
        # not put its (older) row into the cache afterwards.
        self._generation = 0
        # Cluster mode: awaited after every write with the chats changed (() = all).
        self.on_change: Callable[[tuple[int, ...]], Awaitable[None]] | None = None

    async def get_by_chat(self, chat_id: int) -> Workspace | None:
        cached = self._cache.get(chat_id)
        if cached is not None:
            return cached
        generation = self._generation
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(workspaces).where(workspaces.c.chat_id == chat_id))
            ).first()
        if row is None:
            return None
        workspace = _workspace(row)
        if generation == self._generation:
            if len(self._cache) >= self._CACHE_LIMIT:
                self._cache.clear()
            self._cache[chat_id] = workspace
        return workspace

    def forget(self, *chat_ids: int) -> None:
        """Drop these chats (none: every chat) from the cache: another process wrote."""
        self._invalidate(*chat_ids)

    async def _changed(self, *chat_ids: int) -> None:
        self._invalidate(*chat_ids)
        if self.on_change is not None:
            await self.on_change(chat_ids)

    def _invalidate(self, *chat_ids: int) -> None:
        self._generation += 1
        if chat_ids:
            for chat_id in chat_ids:
                self._cache.pop(chat_id, None)
        else:
            self._cache.clear()

    async def get(self, workspace_id: int) -> Workspace | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(workspaces).where(workspaces.c.id == workspace_id))
            ).first()
        return _workspace(row) if row else None

    async def ensure(
        self,
        chat_id: int,
        chat_type: str,
        title: str | None,
        timezone: str,
        *,
        user_language: str | None = None,
    ) -> tuple[Workspace, bool]:
        """The chat's workspace, created with its default account and alert rules if new.

        Returns (workspace, created). A workspace that was inactive (bot removed)
        becomes active again. `user_language`: the language of the user who started a
        private chat (see `Workspace.own_language`).
        """
        existing = await self.get_by_chat(chat_id)
        if existing is not None:
            if not existing.active or existing.chat_type != chat_type:
                await self._set(chat_id, active=True, chat_type=chat_type, title=title)
                existing = await self.get_by_chat(chat_id)
                assert existing is not None
            return existing, False
        now = _utcnow()
        try:
            async with write_transaction(self._engine) as conn:
                ws_id = (
                    await conn.execute(
                        insert(workspaces)
                        .values(
                            chat_id=chat_id,
                            chat_type=chat_type,
                            title=title,
                            language=None,
                            user_language=user_language,
                            timezone=timezone,
                            active=True,
                            margin=1.0,
                            digest_enabled=True,
                            digest_weekday=0,
                            digest_time="10:00",
                            created_at=now,
                            next_digest_at=first_digest_at(now, 0, "10:00", timezone, now),
                        )
                        .returning(workspaces.c.id)
                    )
                ).scalar_one()
                await conn.execute(
                    insert(accounts).values(
                        workspace_id=ws_id, name=DEFAULT_ACCOUNT, is_default=True, created_at=now
                    )
                )
                await conn.execute(
                    insert(alert_rules),
                    [
                        {
                            **rule,
                            "workspace_id": ws_id,
                            "enabled": True,
                            "state": "ok",
                            "created_at": now,
                        }
                        for rule in DEFAULT_ALERT_RULES
                    ],
                )
        except IntegrityError:
            # Two updates from a new chat raced; the other one created it.
            pass
        created = await self.get_by_chat(chat_id)
        assert created is not None
        return created, True

    async def _set(self, chat_id: int, *, since: datetime | None = None, **values: Any) -> bool:
        async with write_transaction(self._engine) as conn:
            result = await conn.execute(
                update(workspaces).where(workspaces.c.chat_id == chat_id).values(**values)
            )
            if SCHEDULE_COLUMNS.intersection(values):
                # Counted from now (`since`: the moment of the change, the handler's
                # clock): a schedule change never makes a digest due at once.
                await reschedule(conn, since or _utcnow(), workspaces.c.chat_id == chat_id)
        await self._changed(chat_id)
        return bool(result.rowcount)

    async def set_language(self, chat_id: int, language: str | None) -> bool:
        return await self._set(chat_id, language=language)

    async def set_user_language(self, chat_id: int, language: str | None) -> bool:
        return await self._set(chat_id, user_language=language)

    async def set_currency(self, chat_id: int, currency: str | None) -> bool:
        return await self._set(chat_id, currency=currency)

    async def set_timezone(self, chat_id: int, timezone: str) -> bool:
        return await self._set(chat_id, timezone=timezone)

    async def set_margin(self, chat_id: int, margin: float) -> bool:
        return await self._set(chat_id, margin=margin)

    async def set_active(self, chat_id: int, active: bool) -> bool:
        return await self._set(chat_id, active=active)

    async def set_title(self, chat_id: int, title: str | None) -> bool:
        return await self._set(chat_id, title=title)

    async def set_digest(
        self,
        chat_id: int,
        *,
        enabled: bool | None = None,
        weekday: int | None = None,
        time: str | None = None,
        changed_at: datetime | None = None,
    ) -> bool:
        """Change the digest schedule. `next_digest_at` becomes the first slot strictly
        after `changed_at` (the moment of the change; now if None), and `digest_changed_at`
        keeps a slot that passed before it from ever being sent: the first digest after
        a change is the next occurrence, never one "due" a minute ago."""
        values: dict[str, Any] = {}
        if enabled is not None:
            values["digest_enabled"] = enabled
        if weekday is not None:
            values["digest_weekday"] = weekday
        if time is not None:
            values["digest_time"] = time
        if values and changed_at is not None:
            values["digest_changed_at"] = changed_at
        return await self._set(chat_id, since=changed_at, **values) if values else False

    async def migrate_chat(self, old_chat_id: int, new_chat_id: int) -> bool:
        """A group became a supergroup: its workspace follows the new chat id.

        If the supergroup already has a (fresh, empty-by-construction) workspace,
        for example because an update from it arrived first, the old data wins and
        the newer workspace is dropped.
        """
        async with write_transaction(self._engine) as conn:
            found = (
                await conn.execute(
                    select(workspaces.c.id, workspaces.c.active).where(
                        workspaces.c.chat_id == old_chat_id
                    )
                )
            ).first()
            if found is None:
                return False
            old = found.id
            # `id != old`: both service messages (migrate_to/_from) run this concurrently;
            # the later one must not delete the workspace the earlier one just moved.
            await conn.execute(
                delete(workspaces).where(
                    workspaces.c.chat_id == new_chat_id, workspaces.c.id != old
                )
            )
            await conn.execute(
                update(workspaces)
                .where(workspaces.c.id == old)
                .values(chat_id=new_chat_id, chat_type="supergroup", active=True)
            )
            if not found.active:
                await reschedule(conn, _utcnow(), workspaces.c.id == old)
        await self._changed(old_chat_id, new_chat_id)
        return True

    async def delete(self, workspace_id: int) -> bool:
        """Delete the workspace and all its data; False if it was already gone."""
        async with write_transaction(self._engine) as conn:
            result = await conn.execute(delete(workspaces).where(workspaces.c.id == workspace_id))
        await self._changed()
        return bool(result.rowcount)

    async def active_workspaces(self) -> list[Workspace]:
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(workspaces)
                    .where(workspaces.c.active.is_(True))
                    .order_by(workspaces.c.id)
                )
            ).all()
        return [_workspace(r) for r in rows]

    async def count(self) -> int:
        async with self._engine.connect() as conn:
            return int(
                (await conn.execute(select(func.count()).select_from(workspaces))).scalar_one()
            )

    # Accounts -----------------------------------------------------------------

    async def list_accounts(self, workspace_id: int) -> list[Account]:
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(accounts)
                    .where(accounts.c.workspace_id == workspace_id)
                    .order_by(accounts.c.is_default.desc(), accounts.c.name)
                )
            ).all()
        return [_account(r) for r in rows]

    async def find_account(self, workspace_id: int, name: str) -> Account | None:
        # On the reader: every KPI command with an account argument asks this first.
        query = select(accounts).where(
            accounts.c.workspace_id == workspace_id, accounts.c.name == name
        )
        row = await self._reader.run(lambda conn: conn.execute(query).first())
        return _account(row) if row else None

    async def default_account(self, workspace_id: int) -> Account:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(accounts)
                    .where(accounts.c.workspace_id == workspace_id)
                    .order_by(accounts.c.is_default.desc(), accounts.c.id)
                    .limit(1)
                )
            ).first()
        if row is None:
            if await self.get(workspace_id) is None:
                raise WorkspaceGone(workspace_id)
            return await self.add_account(workspace_id, DEFAULT_ACCOUNT, is_default=True)
        return _account(row)

    async def add_account(
        self,
        workspace_id: int,
        name: str,
        *,
        is_default: bool = False,
        channel_chat_id: int | None = None,
    ) -> Account:
        try:
            async with write_transaction(self._engine) as conn:
                new_id = (
                    await conn.execute(
                        insert(accounts)
                        .values(
                            workspace_id=workspace_id,
                            name=name,
                            is_default=is_default,
                            channel_chat_id=channel_chat_id,
                            created_at=_utcnow(),
                        )
                        .returning(accounts.c.id)
                    )
                ).scalar_one()
        except IntegrityError as exc:
            raise AccountExists(name) from exc
        return Account(new_id, workspace_id, name, is_default, channel_chat_id)

    async def ensure_accounts(
        self, conn: AsyncConnection, workspace_id: int, names: set[str]
    ) -> tuple[dict[str, int], list[str]]:
        """Ids of the named accounts inside an open transaction, creating missing ones.

        Returns (name → id, names created). Raises WorkspaceGone when the workspace
        was deleted meanwhile (/delete_all while an import was on its way).
        """
        alive = (
            await conn.execute(select(workspaces.c.id).where(workspaces.c.id == workspace_id))
        ).first()
        if alive is None:
            raise WorkspaceGone(workspace_id)
        rows = (
            await conn.execute(
                select(accounts.c.name, accounts.c.id).where(
                    accounts.c.workspace_id == workspace_id, accounts.c.name.in_(names)
                )
            )
        ).all()
        ids = {r.name: r.id for r in rows}
        created = sorted(names - ids.keys())
        now = _utcnow()
        for name in created:
            ids[name] = (
                await conn.execute(
                    insert(accounts)
                    .values(workspace_id=workspace_id, name=name, is_default=False, created_at=now)
                    .returning(accounts.c.id)
                )
            ).scalar_one()
        return ids, created

    async def rename_account(self, workspace_id: int, old: str, new: str) -> bool:
        try:
            async with write_transaction(self._engine) as conn:
                result = await conn.execute(
                    update(accounts)
                    .where(accounts.c.workspace_id == workspace_id, accounts.c.name == old)
                    .values(name=new)
                )
        except IntegrityError as exc:
            raise AccountExists(new) from exc
        return bool(result.rowcount)

    async def delete_account(self, workspace_id: int, name: str) -> bool:
        """Delete an account and its data; the default account can't be deleted."""
        async with write_transaction(self._engine) as conn:
            result = await conn.execute(
                delete(accounts).where(
                    accounts.c.workspace_id == workspace_id,
                    accounts.c.name == name,
                    accounts.c.is_default.is_(False),
                )
            )
        return bool(result.rowcount)

    async def set_channel(self, workspace_id: int, name: str, channel_chat_id: int) -> None:
        async with write_transaction(self._engine) as conn:
            await conn.execute(
                update(accounts)
                .where(accounts.c.workspace_id == workspace_id, accounts.c.name == name)
                .values(channel_chat_id=channel_chat_id)
            )

    async def channel_accounts(self) -> list[tuple[Workspace, Account]]:
        """Accounts of active workspaces that follow a Telegram channel's member count."""
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(
                        workspaces,
                        accounts.c.id.label("account_id"),
                        accounts.c.name.label("account_name"),
                        accounts.c.is_default.label("account_default"),
                        accounts.c.channel_chat_id,
                    )
                    .join(accounts, accounts.c.workspace_id == workspaces.c.id)
                    .where(workspaces.c.active.is_(True), accounts.c.channel_chat_id.is_not(None))
                )
            ).all()
        return [
            (
                _workspace(r),
                Account(
                    r.account_id, r.id, r.account_name, bool(r.account_default), r.channel_chat_id
                ),
            )
            for r in rows
        ]
