"""The agency roll-up's figures, read from storage with the one KPI engine.

Each client's KPIs come from `storage.metrics.period_pair` and `kpi.kpis.KPI_FUNCTIONS`,
exactly as the client's own `/report` computes them (same period, all accounts, the
client's margin), so the roll-up shows the same numbers. Goals are
`bot.services.insights.goal_statuses`; alerts are the client's enabled rules whose state
is firing; freshness is the newest day with data.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from bot.services.insights import goal_statuses
from kpi.kpis import KPI_FUNCTIONS, compare
from kpi.models import Period
from kpi.numbers import default_currency
from kpi.registry import PERIOD_KPIS
from kpi.rollup import DEFAULT_ROLLUP_KPIS, ClientFigures, RollupRow, rollup
from storage import Storage
from storage.agency import Client
from storage.records import Workspace


def rollup_kpis(chosen: Sequence[str] | None) -> tuple[str, ...]:
    """The agency's chosen KPIs that are period KPIs, else the default."""
    kept = tuple(k for k in chosen or () if k in PERIOD_KPIS and k in KPI_FUNCTIONS)
    return kept or DEFAULT_ROLLUP_KPIS


def client_currency(ws: Workspace) -> str | None:
    """The client's money currency: its `/currency`, else its language's (what its own
    chat shows); None when neither is set (the reader's language decides)."""
    if ws.currency:
        return ws.currency
    return default_currency(ws.own_language) if ws.own_language else None


async def client_figures(
    storage: Storage, client: Client, period: Period, kpis: Sequence[str], today: date
) -> ClientFigures:
    """One client's roll-up figures for `period` (all of its accounts together)."""
    ws = client.workspace
    current, previous = await storage.metrics.period_pair(ws.id, period, margin=ws.margin)
    pairs = []
    for key in kpis:
        formula = KPI_FUNCTIONS[key]
        result = formula(current)
        pairs.append((result, compare(result, formula(previous))))
    rules = await storage.alerts.list_rules(ws.id)
    firing = tuple(dict.fromkeys(r.kpi for r in rules if r.enabled and r.state == "firing"))
    statuses = await goal_statuses(storage, ws, today)
    span = await storage.metrics.data_span(ws.id)
    return ClientFigures(
        name=client.name,
        title=ws.title,
        kpis=tuple(pairs),
        firing=firing,
        goals_at_risk=sum(1 for s in statuses if s.progress.at_risk),
        goals_off_track=sum(
            1 for s in statuses if s.progress.status == "off_track" and not s.progress.at_risk
        ),
        goals=len(statuses),
        last_day=span.last_day,
        currency=client_currency(ws),
    )


async def load_rollup(
    storage: Storage, agency: Workspace, period: Period, today: date
) -> list[RollupRow]:
    """Every client of `agency`, ranked by what needs attention."""
    brand = await storage.agency.brand(agency.id)
    kpis = rollup_kpis(brand.rollup_kpis)
    figures = [
        await client_figures(storage, client, period, kpis, today)
        for client in await storage.agency.clients(agency.id)
    ]
    return rollup(figures, today)


__all__ = ["client_currency", "client_figures", "load_rollup", "rollup_kpis"]
