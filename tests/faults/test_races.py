"""Races that concurrent update handling (aiogram runs each update as a task) exposes."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from storage import Storage
from storage.schema import daily_metrics, workspaces
from tests.faults.tools import last_days, seed_days


async def test_both_migration_messages_at_once_keep_the_data(storage: Storage) -> None:
    """Telegram sends migrate_to_chat_id (old group) and migrate_from_chat_id (new
    supergroup); both handlers move the workspace. Run together, the later one must not
    delete the workspace the earlier one has just moved (it did: all data cascaded away)."""
    for n in range(10):
        old, new = -60_000 - n, -100_060_000 - n
        await seed_days(storage, old, last_days(5))
        await asyncio.gather(
            storage.workspaces.migrate_chat(old, new), storage.workspaces.migrate_chat(old, new)
        )
        async with storage.engine.connect() as conn:
            ws_id = (
                await conn.execute(select(workspaces.c.id).where(workspaces.c.chat_id == new))
            ).scalar()
            assert ws_id is not None, f"round {n}: the workspace is gone"
            rows = (
                await conn.execute(
                    select(func.count())
                    .select_from(daily_metrics)
                    .where(daily_metrics.c.workspace_id == ws_id)
                )
            ).scalar_one()
        assert rows == 5, f"round {n}: {rows} rows"
