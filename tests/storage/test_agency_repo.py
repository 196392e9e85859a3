"""storage/agency.py: link codes, links, brands, and an agency's digest being due."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from storage import Storage
from storage.agency import (
    ALREADY,
    CODE_LENGTH,
    EXPIRED,
    IS_AGENCY,
    IS_CLIENT,
    LINKED,
    SELF,
    TAKEN,
    UNKNOWN,
    USED,
    client_slug,
    code_hash,
    normalize_code,
)
from storage.records import Workspace
from storage.schema import agency_codes, agency_links

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


async def _ws(storage: Storage, chat: int, title: str | None) -> Workspace:
    ws, _ = await storage.workspaces.ensure(chat, "supergroup", title, "UTC")
    return ws


async def test_codes_are_single_use_expire_and_are_stored_hashed(storage: Storage) -> None:
    agency = await _ws(storage, -1, "Alpha")
    client = await _ws(storage, -2, "Coffee Zerno")
    other = await _ws(storage, -3, "Coffee Zerno")
    code = await storage.agency.issue_code(agency.id, NOW)
    assert len(code) == CODE_LENGTH and code == normalize_code(code)
    async with storage.engine.connect() as conn:
        rows = (await conn.execute(select(agency_codes))).all()
    assert [r.code_hash for r in rows] == [code_hash(code)] and code not in repr(rows)

    assert (await storage.agency.redeem_code("nope", client, NOW)).outcome == UNKNOWN
    assert (await storage.agency.redeem_code(code, agency, NOW)).outcome == SELF
    typed = f"{code[:5].lower()}-{code[5:]}"
    done = await storage.agency.redeem_code(typed, client, NOW)
    assert (done.outcome, done.name) == (LINKED, "coffee-zerno")
    assert done.agency is not None and done.agency.id == agency.id
    assert (await storage.agency.redeem_code(code, other, NOW)).outcome == USED

    late = await storage.agency.issue_code(agency.id, NOW)
    expired = NOW + timedelta(hours=24)
    assert (await storage.agency.redeem_code(late, other, expired)).outcome == EXPIRED
    fresh = await storage.agency.issue_code(agency.id, NOW)
    second = await storage.agency.redeem_code(fresh, other, NOW + timedelta(hours=23))
    assert (second.outcome, second.name) == (LINKED, "coffee-zerno-2")  # same title
    names = [c.name for c in await storage.agency.clients(agency.id)]
    assert names == ["coffee-zerno", "coffee-zerno-2"]


async def test_one_agency_per_client_and_no_chains(storage: Storage) -> None:
    alpha = await _ws(storage, -1, "Alpha")
    beta = await _ws(storage, -2, "Beta")
    client = await _ws(storage, -3, "Shop")
    linked = await storage.agency.redeem_code(
        await storage.agency.issue_code(alpha.id, NOW), client, NOW
    )
    assert linked.outcome == LINKED
    again = await storage.agency.issue_code(alpha.id, NOW)
    assert (await storage.agency.redeem_code(again, client, NOW)).outcome == ALREADY
    foreign = await storage.agency.issue_code(beta.id, NOW)
    assert (await storage.agency.redeem_code(foreign, client, NOW)).outcome == TAKEN
    # Alpha has a client, so it can't become Beta's client; nor can a client have clients.
    assert (await storage.agency.redeem_code(foreign, alpha, NOW)).outcome == IS_AGENCY
    from_client = await storage.agency.issue_code(client.id, NOW)
    assert (await storage.agency.redeem_code(from_client, beta, NOW)).outcome == IS_CLIENT
    # The refused codes are still unused: Beta's works for another chat.
    other = await _ws(storage, -4, None)
    done = await storage.agency.redeem_code(foreign, other, NOW)
    assert (done.outcome, done.name) == (LINKED, "client")


async def test_unlink_leave_and_delete_remove_the_link(storage: Storage) -> None:
    agency = await _ws(storage, -1, "Alpha")
    a = await _ws(storage, -2, "A")
    b = await _ws(storage, -3, "B")
    c = await _ws(storage, -4, "C")
    for client in (a, b, c):
        code = await storage.agency.issue_code(agency.id, NOW)
        await storage.agency.redeem_code(code, client, NOW)
    assert await storage.agency.client_count(agency.id) == 3
    assert await storage.agency.unlink(agency.id, a.id)
    assert not await storage.agency.unlink(agency.id, a.id)
    left = await storage.agency.leave(b.id)
    assert left is not None and left.id == agency.id
    assert await storage.agency.leave(b.id) is None
    await storage.workspaces.delete(c.id)
    async with storage.engine.connect() as conn:
        assert (await conn.execute(select(agency_links))).all() == []
    assert await storage.agency.client(agency.id, "a") is None


async def test_brand_is_kept_per_workspace(storage: Storage) -> None:
    ws = await _ws(storage, -1, "Alpha")
    assert (await storage.agency.brand(ws.id)).name is None
    await storage.agency.set_brand(ws.id, NOW, name="Alpha Ltd", colour="#112233")
    await storage.agency.set_brand(ws.id, NOW, rollup_kpis=("roi", "reach"))
    brand = await storage.agency.brand(ws.id)
    assert (brand.name, brand.colour, brand.rollup_kpis) == (
        "Alpha Ltd",
        "#112233",
        ("roi", "reach"),
    )
    await storage.agency.set_brand(ws.id, NOW, rollup_kpis=None)
    assert (await storage.agency.brand(ws.id)).rollup_kpis is None


def test_client_names_are_readable_slugs() -> None:
    assert client_slug("Кофейня «Зерно»") == "кофейня-зерно"
    assert client_slug("  ") == "client"
    assert client_slug(None) == "client"
    assert len(client_slug("x" * 100)) == 32


async def test_an_agency_with_only_its_clients_data_is_due_a_digest(storage: Storage) -> None:
    agency = await _ws(storage, -1, "Alpha")
    client = await _ws(storage, -2, "Shop")
    day = date(2026, 11, 18)
    await storage.metrics.apply_import(
        client.id, source="t", user_id=None, values={("main", day): {"reach": 5.0}}
    )
    assert not await storage.digests.has_data(agency.id)
    await storage.agency.redeem_code(await storage.agency.issue_code(agency.id, NOW), client, NOW)
    assert await storage.digests.has_data(agency.id)
    # Make both digests due now (Monday 00:00 UTC of this week, created long ago).
    from sqlalchemy import update

    from storage.schema import workspaces

    async with storage.engine.begin() as conn:
        await conn.execute(
            update(workspaces).values(
                created_at=datetime(2020, 1, 1, tzinfo=UTC),
                digest_weekday=0,
                digest_time="00:00",
                next_digest_at=datetime(2026, 11, 16, tzinfo=UTC),
            )
        )
    due = await storage.digests.workspaces_due_for_digest(NOW)
    assert {d.workspace.id: d.last_day for d in due} == {agency.id: day, client.id: day}
