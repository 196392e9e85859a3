"""Agency mode in the weekly digest: the roll-up section and the brand on the dashboard.

The digest job calls `agency_rollup` for every workspace it prepares (a few indexed reads
for a chat without clients or agency) and `with_agency_section` on what it composed:

* an agency's digest gets a section of its clients, those that need attention first,
  after the picture (and at the end of a text-only digest), so the dashboard and its
  caption stay the agency's own; the figures are the roll-up's
  (`bot.services.agency.load_rollup`) for the digest's week;
* the dashboard's header carries the brand (`/brand name`): a linked client's agency's,
  else the chat's own.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Protocol, TypeVar

from bot.services.agency import load_rollup
from handlers.agency_texts import digest_section
from handlers.replies import split_text
from kpi.charts import DashboardSpec
from kpi.models import Period
from kpi.rollup import RollupRow
from storage import Storage
from storage.records import Workspace

DIGEST_CLIENTS = 10  # lines in the section; the rest are counted and sent to /clients


class _Composed(Protocol):
    @property
    def details(self) -> tuple[str, ...]: ...

    @property
    def spec(self) -> DashboardSpec | None: ...

    @property
    def text(self) -> tuple[str, ...]: ...


P = TypeVar("P", bound=_Composed)


@dataclass(frozen=True, slots=True)
class AgencyDigest:
    clients: tuple[RollupRow, ...] = ()  # ranked; empty for a chat without clients
    brand: str = ""
    colour: str | None = None


async def agency_rollup(storage: Storage, workspace: Workspace, report: Period) -> AgencyDigest:
    """The clients ranked for the digest's week, and the brand for the dashboard."""
    agency = await storage.agency.agency_of(workspace.id)
    brand = await storage.agency.brand(agency.id) if agency is not None else None
    if brand is None or not brand.name:
        brand = await storage.agency.brand(workspace.id)
    rows: list[RollupRow] = []
    if agency is None and await storage.agency.client_count(workspace.id):
        rows = await load_rollup(storage, workspace, report, report.end + timedelta(days=1))
    return AgencyDigest(tuple(rows), brand.name or "", brand.colour)


def with_agency_section(prepared: P, extra: AgencyDigest, lang: str) -> P:
    """`prepared` with the clients' section and the brand (call inside the digest's locale)."""
    changes: dict[str, Any] = {}
    if extra.clients:
        section = split_text("\n".join(digest_section(extra.clients, lang, DIGEST_CLIENTS)))
        changes["details"] = (*prepared.details, *section)
        changes["text"] = (*prepared.text, *section)
    if extra.brand and prepared.spec is not None:
        changes["spec"] = replace(prepared.spec, brand=extra.brand, brand_colour=extra.colour)
    return replace(prepared, **changes) if changes else prepared  # type: ignore[type-var]


__all__ = ["DIGEST_CLIENTS", "AgencyDigest", "agency_rollup", "with_agency_section"]
