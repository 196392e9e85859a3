"""The agency roll-up: every client's key KPIs, ordered by what needs attention.

Pure: the caller computes each client's figures with the one engine (the same
`period_pair` and `KPI_FUNCTIONS` as the client's own `/report`) and passes them in,
with `today`. Here they are only ranked and paged.

What needs attention, first to last: alert rules firing (more first), goals at risk,
goals off track, stale data (no data for `STALE_DAYS` days or more, or never), then
everyone else; ties by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from kpi.kpis import Change, KpiResult

# The KPIs a roll-up shows when the agency chose none (`/clients kpis`).
DEFAULT_ROLLUP_KPIS: tuple[str, ...] = ("reach", "engagement", "growth", "roi")
MAX_ROLLUP_KPIS = 6
# Data this many days old or older is flagged ("last data 9 days ago").
STALE_DAYS = 7
PAGE_SIZE = 6


@dataclass(frozen=True, slots=True)
class ClientFigures:
    """One client's figures for the roll-up's period (computed by the caller)."""

    name: str  # the agency's name for the client (`/client <name>`)
    title: str | None  # the client chat's title
    kpis: tuple[tuple[KpiResult, Change], ...]  # in the roll-up's KPI order
    firing: tuple[str, ...] = ()  # KPI keys of enabled alert rules that are firing
    goals_at_risk: int = 0
    goals_off_track: int = 0
    goals: int = 0
    last_day: date | None = None  # newest day with any data, any account
    currency: str | None = None  # the client's money is shown in it (None: the reader's)


@dataclass(frozen=True, slots=True)
class RollupRow:
    figures: ClientFigures
    days_since_data: int | None  # None: never any data
    stale: bool

    @property
    def needs_attention(self) -> bool:
        f = self.figures
        return bool(f.firing or f.goals_at_risk or f.goals_off_track or self.stale)


def days_since(last_day: date | None, today: date) -> int | None:
    return None if last_day is None else max(0, (today - last_day).days)


def is_stale(days: int | None) -> bool:
    return days is None or days >= STALE_DAYS


def attention_key(row: RollupRow) -> tuple[int, int, int, int, int, str]:
    """Sort key: firing alerts, goals at risk, goals off track, stale data, older data."""
    f = row.figures
    age = 10**6 if row.days_since_data is None else row.days_since_data
    return (
        -len(f.firing),
        -f.goals_at_risk,
        -f.goals_off_track,
        -int(row.stale),
        -age if row.stale else 0,
        f.name,
    )


def rollup(clients: Sequence[ClientFigures], today: date) -> list[RollupRow]:
    """The clients as roll-up rows, what needs attention first."""
    rows = []
    for figures in clients:
        days = days_since(figures.last_day, today)
        rows.append(RollupRow(figures, days, is_stale(days)))
    return sorted(rows, key=attention_key)


def page_count(total: int, size: int = PAGE_SIZE) -> int:
    return max(1, -(-total // size))


def page_of(rows: Sequence[RollupRow], page: int, size: int = PAGE_SIZE) -> list[RollupRow]:
    """Rows of page `page` (0-based, clamped to the pages there are)."""
    page = min(max(page, 0), page_count(len(rows), size) - 1)
    return list(rows[page * size : (page + 1) * size])


__all__ = [
    "DEFAULT_ROLLUP_KPIS",
    "MAX_ROLLUP_KPIS",
    "PAGE_SIZE",
    "STALE_DAYS",
    "ClientFigures",
    "RollupRow",
    "attention_key",
    "days_since",
    "is_stale",
    "page_count",
    "page_of",
    "rollup",
]
