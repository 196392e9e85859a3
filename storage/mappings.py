"""Confirmed file readings ("mappings"), one per workspace and header signature."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.schema import import_mappings


@dataclass(frozen=True, slots=True)
class ImportMapping:
    id: int
    signature: str
    headers: tuple[str, ...]
    overrides: dict[int, str]  # column index -> metric name, "" = ignored
    created_at: datetime


def _mapping(row: Row[Any]) -> ImportMapping:
    overrides = {int(k): str(v) for k, v in (row.overrides or {}).items()}
    return ImportMapping(
        id=int(row.id),
        signature=str(row.signature),
        headers=tuple(str(row.headers).split("\t")),
        overrides=overrides,
        created_at=row.created_at,
    )


class MappingRepo:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def save_mapping(
        self,
        workspace_id: int,
        signature: str,
        headers: list[str],
        overrides: dict[int, str],
        now: datetime | None = None,
    ) -> None:
        """Remember (or replace) the reading of files with these headers."""
        values = {
            "headers": "\t".join(headers)[:20000],
            "overrides": {str(k): v for k, v in sorted(overrides.items())},
            "created_at": now or datetime.now(UTC),
        }
        t = import_mappings
        async with self._engine.begin() as conn:
            await conn.execute(
                delete(t).where(t.c.workspace_id == workspace_id, t.c.signature == signature)
            )
            await conn.execute(
                t.insert().values(workspace_id=workspace_id, signature=signature, **values)
            )

    async def mapping_for(self, workspace_id: int, signature: str) -> ImportMapping | None:
        t = import_mappings
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(t).where(t.c.workspace_id == workspace_id, t.c.signature == signature)
                )
            ).first()
        return _mapping(row) if row is not None else None

    async def list_mappings(self, workspace_id: int) -> list[ImportMapping]:
        t = import_mappings
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(t).where(t.c.workspace_id == workspace_id).order_by(t.c.id)
                )
            ).all()
        return [_mapping(r) for r in rows]

    async def forget_mapping(self, workspace_id: int, mapping_id: int) -> bool:
        t = import_mappings
        async with self._engine.begin() as conn:
            result = await conn.execute(
                delete(t).where(t.c.workspace_id == workspace_id, t.c.id == mapping_id)
            )
        return bool(result.rowcount)
