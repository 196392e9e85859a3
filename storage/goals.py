"""Goals: a KPI target for a period, per workspace (and optionally one account).

Every method takes the workspace id and filters by it, so a goal id typed or forged in
another chat never reaches a goal of this one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from kpi.goals import GoalSpec
from storage.db import write_transaction
from storage.schema import accounts, goals


@dataclass(frozen=True, slots=True)
class Goal:
    id: int
    workspace_id: int
    spec: GoalSpec  # `spec.account` is the account's current name
    account_id: int | None
    created_at: datetime


def _goal(row: Any) -> Goal:
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    spec = GoalSpec(
        kpi=row.kpi,
        op=row.op,
        target=float(row.target),
        period_kind=row.period_kind,
        start=row.period_start,
        end=row.period_end,
        account=row.account_name,
    )
    return Goal(row.id, row.workspace_id, spec, row.account_id, created)


_GOALS = select(goals, accounts.c.name.label("account_name")).outerjoin(
    accounts, accounts.c.id == goals.c.account_id
)


class GoalRepo:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def list_goals(self, workspace_id: int) -> list[Goal]:
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    _GOALS.where(goals.c.workspace_id == workspace_id).order_by(goals.c.id)
                )
            ).all()
        return [_goal(r) for r in rows]

    async def count_goals(self, workspace_id: int) -> int:
        async with self._engine.connect() as conn:
            count = await conn.scalar(
                select(func.count()).select_from(goals).where(goals.c.workspace_id == workspace_id)
            )
        return int(count or 0)

    async def add_goal(
        self, workspace_id: int, spec: GoalSpec, account_id: int | None, now: datetime
    ) -> Goal:
        """Store a goal; the same KPI, period and account replaces the older goal
        (one target per thing: typing a new one is how it is changed)."""
        same = [
            goals.c.workspace_id == workspace_id,
            goals.c.kpi == spec.kpi,
            goals.c.period_kind == spec.period_kind,
            goals.c.account_id.is_(None)
            if account_id is None
            else goals.c.account_id == account_id,
        ]
        if spec.period_kind == "fixed":
            same += [goals.c.period_start == spec.start, goals.c.period_end == spec.end]
        async with write_transaction(self._engine) as conn:
            await conn.execute(delete(goals).where(*same))
            goal_id = (
                await conn.execute(
                    insert(goals)
                    .values(
                        workspace_id=workspace_id,
                        kpi=spec.kpi,
                        op=spec.op,
                        target=spec.target,
                        period_kind=spec.period_kind,
                        period_start=spec.start,
                        period_end=spec.end,
                        account_id=account_id,
                        created_at=now,
                    )
                    .returning(goals.c.id)
                )
            ).scalar_one()
            row = (await conn.execute(_GOALS.where(goals.c.id == goal_id))).one()
        return _goal(row)

    async def get_goal(self, workspace_id: int, goal_id: int) -> Goal | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    _GOALS.where(goals.c.workspace_id == workspace_id, goals.c.id == goal_id)
                )
            ).first()
        return _goal(row) if row else None

    async def delete_goal(self, workspace_id: int, goal_id: int) -> bool:
        async with write_transaction(self._engine) as conn:
            result = await conn.execute(
                delete(goals).where(goals.c.workspace_id == workspace_id, goals.c.id == goal_id)
            )
        return bool(result.rowcount)


__all__ = ["Goal", "GoalRepo"]
