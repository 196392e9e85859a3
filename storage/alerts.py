"""Alert rules, their state (ok/firing, snooze, mute) and the alert event log.

Every method takes the workspace id and filters by it, so a rule id typed or
forged in another chat never reaches a rule of this one. State transitions are
compare-and-set updates (`fire` only moves ok → firing, `recover` only
firing → ok): when the daily job and an import evaluate the same rule at once,
exactly one of them wins and sends the message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import write_transaction
from storage.schema import accounts, alert_events, alert_rules, workspaces


def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything is stored in UTC.
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class AlertRule:
    id: int
    workspace_id: int
    kpi: str
    kind: str  # threshold, spike
    op: str  # ">", "<", "+", "-"
    value: float
    min_volume: float | None  # None: the KPI's default
    account_id: int | None  # None: all accounts together
    account: str | None
    enabled: bool
    snoozed_until: datetime | None
    state: str  # ok, firing
    state_since: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AlertEvent:
    id: int
    rule_id: int
    event: str  # fired, recovered
    value: float | None
    baseline: float | None
    period_start: date | None
    period_end: date | None
    created_at: datetime


def _rule(row: Any) -> AlertRule:
    created = _utc(row.created_at)
    assert created is not None
    return AlertRule(
        id=row.id,
        workspace_id=row.workspace_id,
        kpi=row.kpi,
        kind=row.kind,
        op=row.op,
        value=float(row.value),
        min_volume=None if row.min_volume is None else float(row.min_volume),
        account_id=row.account_id,
        account=row.account_name,
        enabled=bool(row.enabled),
        snoozed_until=_utc(row.snoozed_until),
        state=row.state,
        state_since=_utc(row.state_since),
        created_at=created,
    )


def _event(row: Any) -> AlertEvent:
    created = _utc(row.created_at)
    assert created is not None
    return AlertEvent(
        id=row.id,
        rule_id=row.rule_id,
        event=row.event,
        value=row.value,
        baseline=row.baseline,
        period_start=row.period_start,
        period_end=row.period_end,
        created_at=created,
    )


_RULES = select(alert_rules, accounts.c.name.label("account_name")).outerjoin(
    accounts, accounts.c.id == alert_rules.c.account_id
)


class AlertRepo:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    # Rules --------------------------------------------------------------------

    async def list_rules(self, workspace_id: int) -> list[AlertRule]:
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    _RULES.where(alert_rules.c.workspace_id == workspace_id).order_by(
                        alert_rules.c.id
                    )
                )
            ).all()
        return [_rule(r) for r in rows]

    async def get_rule(self, workspace_id: int, rule_id: int) -> AlertRule | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    _RULES.where(
                        alert_rules.c.workspace_id == workspace_id, alert_rules.c.id == rule_id
                    )
                )
            ).first()
        return _rule(row) if row else None

    async def add_rule(
        self,
        workspace_id: int,
        *,
        kpi: str,
        kind: str,
        op: str,
        value: float,
        min_volume: float | None,
        account_id: int | None,
        now: datetime,
    ) -> AlertRule:
        async with write_transaction(self._engine) as conn:
            rule_id = (
                await conn.execute(
                    insert(alert_rules)
                    .values(
                        workspace_id=workspace_id,
                        kpi=kpi,
                        kind=kind,
                        op=op,
                        value=value,
                        min_volume=min_volume,
                        account_id=account_id,
                        enabled=True,
                        state="ok",
                        created_at=now,
                    )
                    .returning(alert_rules.c.id)
                )
            ).scalar_one()
        rule = await self.get_rule(workspace_id, rule_id)
        assert rule is not None
        return rule

    async def count_rules(self, workspace_id: int) -> int:
        async with self._engine.connect() as conn:
            return int(
                (
                    await conn.execute(
                        select(func.count())
                        .select_from(alert_rules)
                        .where(alert_rules.c.workspace_id == workspace_id)
                    )
                ).scalar_one()
            )

    async def set_enabled(self, workspace_id: int, rule_id: int, enabled: bool) -> bool:
        """Switch a rule on or off. Switching off also clears a firing state, so a
        rule switched back on speaks up again if the breach is still there."""
        values: dict[str, Any] = {"enabled": enabled}
        if not enabled:
            values.update(state="ok", state_since=None, snoozed_until=None)
        return await self._update(workspace_id, rule_id, **values)

    async def snooze(self, workspace_id: int, rule_id: int, until: datetime) -> bool:
        return await self._update(workspace_id, rule_id, snoozed_until=until)

    async def delete_rule(self, workspace_id: int, rule_id: int) -> bool:
        async with write_transaction(self._engine) as conn:
            result = await conn.execute(
                delete(alert_rules).where(
                    alert_rules.c.workspace_id == workspace_id, alert_rules.c.id == rule_id
                )
            )
        return bool(result.rowcount)

    async def _update(self, workspace_id: int, rule_id: int, **values: Any) -> bool:
        async with write_transaction(self._engine) as conn:
            result = await conn.execute(
                update(alert_rules)
                .where(alert_rules.c.workspace_id == workspace_id, alert_rules.c.id == rule_id)
                .values(**values)
            )
        return bool(result.rowcount)

    # State transitions -------------------------------------------------------

    async def _transition(
        self,
        workspace_id: int,
        rule_id: int,
        *,
        old: str,
        new: str,
        event: str,
        now: datetime,
        value: float | None,
        baseline: float | None,
        period: tuple[date, date] | None,
    ) -> int | None:
        """Move the rule from `old` to `new` and log the event; None if it was not in `old`."""
        async with write_transaction(self._engine) as conn:
            result = await conn.execute(
                update(alert_rules)
                .where(
                    alert_rules.c.workspace_id == workspace_id,
                    alert_rules.c.id == rule_id,
                    alert_rules.c.state == old,
                )
                .values(state=new, state_since=now)
            )
            if not result.rowcount:
                return None
            event_id = (
                await conn.execute(
                    insert(alert_events)
                    .values(
                        rule_id=rule_id,
                        workspace_id=workspace_id,
                        event=event,
                        value=value,
                        baseline=baseline,
                        period_start=period[0] if period else None,
                        period_end=period[1] if period else None,
                        created_at=now,
                    )
                    .returning(alert_events.c.id)
                )
            ).scalar_one()
        return int(event_id)

    async def fire(
        self,
        workspace_id: int,
        rule_id: int,
        *,
        now: datetime,
        value: float | None,
        baseline: float | None,
        period: tuple[date, date],
    ) -> int | None:
        """ok → firing with a `fired` event; None if the rule was not ok (someone else won)."""
        return await self._transition(
            workspace_id, rule_id, old="ok", new="firing", event="fired", now=now,
            value=value, baseline=baseline, period=period,
        )  # fmt: skip

    async def recover(
        self,
        workspace_id: int,
        rule_id: int,
        *,
        now: datetime,
        value: float | None,
        baseline: float | None,
        period: tuple[date, date],
    ) -> int | None:
        """firing → ok with a `recovered` event; None if the rule was not firing."""
        return await self._transition(
            workspace_id, rule_id, old="firing", new="ok", event="recovered", now=now,
            value=value, baseline=baseline, period=period,
        )  # fmt: skip

    async def revert(
        self, workspace_id: int, rule_id: int, event_id: int, state: str, since: datetime | None
    ) -> None:
        """Undo a transition whose message could not be delivered, so the next run retries."""
        async with write_transaction(self._engine) as conn:
            await conn.execute(
                delete(alert_events).where(
                    alert_events.c.workspace_id == workspace_id, alert_events.c.id == event_id
                )
            )
            await conn.execute(
                update(alert_rules)
                .where(alert_rules.c.workspace_id == workspace_id, alert_rules.c.id == rule_id)
                .values(state=state, state_since=since)
            )

    async def events(self, workspace_id: int, rule_id: int | None = None) -> list[AlertEvent]:
        cond = [alert_events.c.workspace_id == workspace_id]
        if rule_id is not None:
            cond.append(alert_events.c.rule_id == rule_id)
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(select(alert_events).where(*cond).order_by(alert_events.c.id))
            ).all()
        return [_event(r) for r in rows]

    async def fired_for_week(
        self, workspace_id: int, rule_id: int, period: tuple[date, date], *, besides: int
    ) -> bool:
        """Whether the rule already fired for this week in an event other than `besides`
        (one message per breach, however often imports re-open it)."""
        async with self._engine.connect() as conn:
            found = (
                await conn.execute(
                    select(alert_events.c.id)
                    .where(
                        alert_events.c.workspace_id == workspace_id,
                        alert_events.c.rule_id == rule_id,
                        alert_events.c.event == "fired",
                        alert_events.c.period_start == period[0],
                        alert_events.c.period_end == period[1],
                        alert_events.c.id != besides,
                    )
                    .limit(1)
                )
            ).first()
        return found is not None

    async def workspaces_to_check(self) -> list[int]:
        """Ids of active workspaces with a rule switched on, for the scheduled run."""
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(alert_rules.c.workspace_id)
                    .join(workspaces, workspaces.c.id == alert_rules.c.workspace_id)
                    .where(alert_rules.c.enabled.is_(True), workspaces.c.active.is_(True))
                    .group_by(alert_rules.c.workspace_id)
                    .order_by(alert_rules.c.workspace_id)
                )
            ).all()
        return [int(r[0]) for r in rows]


__all__ = ["AlertEvent", "AlertRepo", "AlertRule"]
