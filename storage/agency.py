"""Agencies: links between an agency's workspace and its clients', link codes, brands.

Consent on both sides: an agency admin asks for a one-time code (`issue_code`), a client
admin sends it in the client's chat (`redeem_code`). Only the code's SHA-256 is stored;
a code is good once, for `CODE_TTL`. Every read is scoped by the asking workspace: an
agency sees its own clients only, a client sees only its agency.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, case, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import write_transaction
from storage.records import Workspace
from storage.schema import agency_brands, agency_codes, agency_links, daily_metrics, workspaces
from storage.workspaces import _workspace

CODE_TTL = timedelta(hours=24)
# No 0/O, 1/I/L: a code is read off one screen and typed into another.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10  # 31**10 ≈ 8e14 codes: guessing one in its 24 hours is hopeless
NAME_LIMIT = 32


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def normalize_code(text: str) -> str:
    """`abcd-efgh-jk` → `ABCDEFGHJK` (dashes and spaces are only for reading)."""
    return re.sub(r"[\s\-]", "", text).upper()


def code_hash(code: str) -> str:
    return hashlib.sha256(normalize_code(code).encode("ascii", "replace")).hexdigest()


def client_slug(title: str | None) -> str:
    """How the agency chat names a client: the chat title in lower case, words joined by
    dashes (`Кофейня «Зерно»` → `кофейня-зерно`), at most NAME_LIMIT characters."""
    words = re.findall(r"\w+", (title or "").lower())
    slug = "-".join(words)[:NAME_LIMIT].strip("-")
    return slug or "client"


@dataclass(frozen=True, slots=True)
class Client:
    """A linked client as the agency sees it."""

    name: str
    workspace: Workspace
    linked_at: datetime


@dataclass(frozen=True, slots=True)
class Brand:
    name: str | None = None
    logo_png: bytes | None = None
    colour: str | None = None
    rollup_kpis: tuple[str, ...] | None = None  # None: the default KPIs


# Outcomes of `redeem_code`.
LINKED = "linked"
UNKNOWN = "unknown"
USED = "used"
EXPIRED = "expired"
SELF = "self"
ALREADY = "already"  # this client is already linked to this agency
TAKEN = "taken"  # linked to another agency: leave it first
IS_AGENCY = "is_agency"  # a chat with clients of its own cannot be a client
IS_CLIENT = "is_client"  # the agency is itself someone's client


@dataclass(frozen=True, slots=True)
class Redeemed:
    outcome: str
    agency: Workspace | None = None
    name: str | None = None


class AgencyRepo:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    # Codes ---------------------------------------------------------------------

    async def issue_code(self, agency_id: int, now: datetime) -> str:
        """A new one-time code for `agency_id`, good for CODE_TTL; returns it (once)."""
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        async with write_transaction(self._engine) as conn:
            await conn.execute(
                delete(agency_codes).where(agency_codes.c.expires_at < now - CODE_TTL)
            )
            await conn.execute(
                insert(agency_codes).values(
                    code_hash=code_hash(code),
                    agency_id=agency_id,
                    created_at=now,
                    expires_at=now + CODE_TTL,
                )
            )
        return code

    async def redeem_code(self, code: str, client: Workspace, now: datetime) -> Redeemed:
        """Link `client` to the agency that issued `code`, if the code is good; one
        transaction, so a code raced from two chats links only one of them."""
        digest = code_hash(code)
        async with write_transaction(self._engine) as conn:
            row = (
                await conn.execute(select(agency_codes).where(agency_codes.c.code_hash == digest))
            ).first()
            if row is None:
                return Redeemed(UNKNOWN)
            if row.used_at is not None:
                return Redeemed(USED)
            if _utc(row.expires_at) <= now:
                return Redeemed(EXPIRED)
            agency_row = (
                await conn.execute(select(workspaces).where(workspaces.c.id == row.agency_id))
            ).first()
            if agency_row is None:
                return Redeemed(UNKNOWN)
            agency = _workspace(agency_row)
            if agency.id == client.id:
                return Redeemed(SELF, agency)
            current = (
                await conn.execute(
                    select(agency_links).where(agency_links.c.client_id == client.id)
                )
            ).first()
            if current is not None:
                return Redeemed(ALREADY if current.agency_id == agency.id else TAKEN, agency)
            has_clients = (
                await conn.execute(
                    select(func.count())
                    .select_from(agency_links)
                    .where(agency_links.c.agency_id == client.id)
                )
            ).scalar_one()
            if has_clients:
                return Redeemed(IS_AGENCY, agency)
            agency_is_client = (
                await conn.execute(
                    select(agency_links.c.agency_id).where(agency_links.c.client_id == agency.id)
                )
            ).first()
            if agency_is_client is not None:
                return Redeemed(IS_CLIENT, agency)
            taken = {
                r.name
                for r in await conn.execute(
                    select(agency_links.c.name).where(agency_links.c.agency_id == agency.id)
                )
            }
            name = _free_name(client_slug(client.title), taken)
            await conn.execute(
                insert(agency_links).values(
                    agency_id=agency.id, client_id=client.id, name=name, linked_at=now
                )
            )
            await conn.execute(
                update(agency_codes)
                .where(agency_codes.c.code_hash == digest)
                .values(used_at=now, used_by=client.id)
            )
        return Redeemed(LINKED, agency, name)

    # Links ---------------------------------------------------------------------

    async def clients(self, agency_id: int) -> list[Client]:
        """The agency's clients, by name."""
        stmt = (
            select(workspaces, agency_links.c.name.label("link_name"), agency_links.c.linked_at)
            .join(agency_links, agency_links.c.client_id == workspaces.c.id)
            .where(agency_links.c.agency_id == agency_id)
            .order_by(agency_links.c.name)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return [Client(r.link_name, _workspace(r), _utc(r.linked_at)) for r in rows]

    async def client(self, agency_id: int, name: str) -> Client | None:
        """One client of this agency by its name (case-insensitive); None for a name that
        is not a client of *this* agency, whoever else it may be linked to."""
        wanted = name.strip().lower()
        for found in await self.clients(agency_id):
            if found.name == wanted:
                return found
        return None

    async def agency_of(self, client_id: int) -> Workspace | None:
        stmt = (
            select(workspaces)
            .join(agency_links, agency_links.c.agency_id == workspaces.c.id)
            .where(agency_links.c.client_id == client_id)
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(stmt)).first()
        return _workspace(row) if row else None

    async def unlink(self, agency_id: int, client_id: int) -> bool:
        async with write_transaction(self._engine) as conn:
            result = await conn.execute(
                delete(agency_links).where(
                    agency_links.c.agency_id == agency_id, agency_links.c.client_id == client_id
                )
            )
        return bool(result.rowcount)

    async def leave(self, client_id: int) -> Workspace | None:
        """The client leaves its agency; returns the agency it left (None: it had none)."""
        agency = await self.agency_of(client_id)
        if agency is None:
            return None
        async with write_transaction(self._engine) as conn:
            await conn.execute(delete(agency_links).where(agency_links.c.client_id == client_id))
        return agency

    async def client_count(self, agency_id: int) -> int:
        async with self._engine.connect() as conn:
            count = await conn.scalar(
                select(func.count())
                .select_from(agency_links)
                .where(agency_links.c.agency_id == agency_id)
            )
        return int(count or 0)

    # Brand ---------------------------------------------------------------------

    async def brand(self, workspace_id: int) -> Brand:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(agency_brands).where(agency_brands.c.workspace_id == workspace_id)
                )
            ).first()
        if row is None:
            return Brand()
        kpis = tuple(row.rollup_kpis.split()) if row.rollup_kpis else None
        return Brand(row.name, row.logo_png, row.colour, kpis)

    async def set_brand(self, workspace_id: int, now: datetime, **values: Any) -> None:
        """Set some of name, logo_png, colour, rollup_kpis (a tuple, or None: default)."""
        if "rollup_kpis" in values:
            kpis = values["rollup_kpis"]
            values["rollup_kpis"] = " ".join(kpis) if kpis else None
        async with write_transaction(self._engine) as conn:
            changed = await conn.execute(
                update(agency_brands)
                .where(agency_brands.c.workspace_id == workspace_id)
                .values(updated_at=now, **values)
            )
            if not changed.rowcount:
                # Writes are one at a time per engine (`write_transaction`): no race here.
                row = {"workspace_id": workspace_id, "updated_at": now, **values}
                await conn.execute(insert(agency_brands).values(**row))


def clients_of(agency_id: Any) -> Select[Any]:
    """The client workspace ids of `agency_id` (a value or a correlated column)."""
    return select(agency_links.c.client_id).where(agency_links.c.agency_id == agency_id)


def with_clients_day(own_day: Any, agency_id: Any) -> Any:
    """The newer of `own_day` and the newest day of the clients' data (either may be NULL):
    a CASE both SQLite and PostgreSQL read, each side an indexed max."""
    clients_day = (
        select(func.max(daily_metrics.c.day))
        .where(daily_metrics.c.workspace_id.in_(clients_of(agency_id)))
        .scalar_subquery()
    )
    return case((clients_day > own_day, clients_day), else_=func.coalesce(own_day, clients_day))


def _free_name(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    n = 2
    while f"{base[: NAME_LIMIT - 4]}-{n}" in taken:
        n += 1
    return f"{base[: NAME_LIMIT - 4]}-{n}"


__all__ = [
    "ALREADY",
    "CODE_TTL",
    "EXPIRED",
    "IS_AGENCY",
    "IS_CLIENT",
    "LINKED",
    "SELF",
    "TAKEN",
    "UNKNOWN",
    "USED",
    "AgencyRepo",
    "Brand",
    "Client",
    "Redeemed",
    "client_slug",
    "code_hash",
    "normalize_code",
]
