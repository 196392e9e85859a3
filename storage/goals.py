"""Goals: a KPI target for a period, per workspace (and optionally one account).

Every method takes the workspace id and filters by it, so a goal id typed or forged in
another chat never reaches a goal of this one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from kpi.goals import GoalSpec
from storage.db import Reader, write_transaction
from storage.schema import accounts, goals


@dataclass(frozen=True, slots=True)
class Goal:
    id: int
    workspace_id: int
    spec: GoalSpec  # `spec.account` is the account's current name
    account_id: int | None
    created_at: datetime
    alert: bool = False  # "goal at risk" alert on
    alert_state: str = "ok"  # ok, firing


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
    return Goal(
        row.id, row.workspace_id, spec, row.account_id, created, bool(row.alert), row.alert_state
    )


_GOALS = select(goals, accounts.c.name.label("account_name")).outerjoin(
    accounts, accounts.c.id == goals.c.account_id
)
# Built once: one statement for every workspace (the id is a bound parameter).
_LIST_GOALS = _GOALS.where(goals.c.workspace_id == bindparam("ws")).order_by(goals.c.id)


class GoalRepo:
    def __init__(self, engine: AsyncEngine, reader: Reader) -> None:
        self._engine = engine
        self._reader = reader

    async def list_goals(self, workspace_id: int) -> list[Goal]:
        """On the reader: every KPI answer and /report asks for the goals."""
        return await self._reader.run(self.goals_unit(workspace_id))

    @staticmethod
    def goals_unit(workspace_id: int) -> Callable[[Connection], list[Goal]]:
        """`list_goals` as a unit of work on a connection, to read beside something else
        in the same reader trip (`MetricsRepo.period_pair_with`)."""

        def read(conn: Connection) -> list[Goal]:
            return [_goal(r) for r in conn.execute(_LIST_GOALS, {"ws": workspace_id})]

        return read

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
        (one target per thing: typing a new one is how it is changed) and keeps its
        alert switch."""
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
            # A new target keeps the old goal's alert switch.
            kept = await conn.scalar(select(goals.c.alert).where(*same).limit(1))
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
                        alert=bool(kept),
                        alert_state="ok",
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

    async def set_alert(self, workspace_id: int, goal_id: int, on: bool) -> bool:
        """Switch the goal's "at risk" alert; switching it on starts from ok."""
        async with write_transaction(self._engine) as conn:
            result = await conn.execute(
                update(goals)
                .where(goals.c.workspace_id == workspace_id, goals.c.id == goal_id)
                .values(alert=on, alert_state="ok")
            )
        return bool(result.rowcount)

    async def move_alert(self, workspace_id: int, goal_id: int, old: str, new: str) -> bool:
        """Compare-and-set of the alert state: only one of two runs at once moves it."""
        async with write_transaction(self._engine) as conn:
            result = await conn.execute(
                update(goals)
                .where(
                    goals.c.workspace_id == workspace_id,
                    goals.c.id == goal_id,
                    goals.c.alert.is_(True),
                    goals.c.alert_state == old,
                )
                .values(alert_state=new)
            )
        return bool(result.rowcount)

    async def workspaces_with_goal_alerts(self) -> list[int]:
        async with self._engine.connect() as conn:
            rows = await conn.execute(
                select(goals.c.workspace_id)
                .where(goals.c.alert.is_(True))
                .distinct()
                .order_by(goals.c.workspace_id)
            )
            return [int(r[0]) for r in rows]

    async def delete_goal(self, workspace_id: int, goal_id: int) -> bool:
        async with write_transaction(self._engine) as conn:
            result = await conn.execute(
                delete(goals).where(goals.c.workspace_id == workspace_id, goals.c.id == goal_id)
            )
        return bool(result.rowcount)


__all__ = ["Goal", "GoalRepo"]
