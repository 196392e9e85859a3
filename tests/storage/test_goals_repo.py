"""The goals table: add, replace, list, delete, per-workspace isolation, cascades."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select

from kpi.goals import GoalSpec
from storage import Storage
from storage.schema import goals

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


async def test_goals_round_trip_replace_and_isolation(storage: Storage) -> None:
    ws, _ = await storage.workspaces.ensure(1, "group", "Team", "Europe/Moscow")
    other, _ = await storage.workspaces.ensure(2, "group", "Other", "Europe/Moscow")
    acc = await storage.workspaces.add_account(ws.id, "vk:ads")
    reach = await storage.goals.add_goal(ws.id, GoalSpec("reach", ">=", 300000, "month"), None, NOW)
    cac = await storage.goals.add_goal(
        ws.id, GoalSpec("cac", "<", 500, "quarter", account="vk:ads"), acc.id, NOW
    )
    fixed = GoalSpec("clicks", ">=", 900, "fixed", date(2026, 12, 1), date(2026, 12, 31))
    await storage.goals.add_goal(ws.id, fixed, None, NOW)
    listed = await storage.goals.list_goals(ws.id)
    assert [g.spec for g in listed] == [
        GoalSpec("reach", ">=", 300000, "month"),
        GoalSpec("cac", "<", 500, "quarter", account="vk:ads"),
        fixed,
    ]
    assert listed[0].created_at == NOW and listed[1].account_id == acc.id
    # Same KPI, period and account: the new target replaces the old one.
    again = await storage.goals.add_goal(ws.id, GoalSpec("reach", ">=", 350000, "month"), None, NOW)
    assert again.id != reach.id
    assert [g.spec.target for g in await storage.goals.list_goals(ws.id)] == [500, 900, 350000]
    assert await storage.goals.count_goals(ws.id) == 3
    # Another chat can neither see nor delete them.
    assert await storage.goals.list_goals(other.id) == []
    assert await storage.goals.get_goal(other.id, cac.id) is None
    assert not await storage.goals.delete_goal(other.id, cac.id)
    assert await storage.goals.delete_goal(ws.id, cac.id)
    assert not await storage.goals.delete_goal(ws.id, cac.id)
    assert await storage.goals.count_goals(ws.id) == 2


async def test_goals_go_with_their_account_and_workspace(storage: Storage) -> None:
    ws, _ = await storage.workspaces.ensure(1, "group", "Team", "Europe/Moscow")
    acc = await storage.workspaces.add_account(ws.id, "vk:ads")
    await storage.goals.add_goal(
        ws.id, GoalSpec("cac", "<", 500, "month", account="vk:ads"), acc.id, NOW
    )
    await storage.goals.add_goal(ws.id, GoalSpec("reach", ">=", 1, "month"), None, NOW)
    assert await storage.workspaces.delete_account(ws.id, "vk:ads")
    assert [g.spec.kpi for g in await storage.goals.list_goals(ws.id)] == ["reach"]
    await storage.workspaces.delete(ws.id)
    async with storage.engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(goals)) == 0
