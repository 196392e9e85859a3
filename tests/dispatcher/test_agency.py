"""Agency mode through the real dispatcher: linking with consent, the roll-up, /client,
the client PDF, /brand and the agency digest's section.

The clock is fixed at Friday 2026-11-20 12:00 Moscow time: `30d` is Oct 22 – Nov 20,
compared with Sep 22 – Oct 21; the digest's week is Nov 9–15.
"""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pypdfium2
import pytest
from pypdf import PdfReader

from bot.app import create_bot, create_dispatcher
from bot.config import Settings
from bot.services.digest import prepare
from kpi.digest import report_week
from storage import Storage
from storage.records import Workspace
from tests.dispatcher.conftest import Harness
from tests.fakeapi.recording import RecordingSession

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
AGENCY, OTHER = -100_700_001, -100_700_099
ZERNO, BIKES, FLOWERS = -100_700_011, -100_700_012, -100_700_013
TITLES = {
    AGENCY: "Alpha Agency",
    ZERNO: "Coffee Zerno",
    BIKES: "Bike Shop",
    FLOWERS: "Flower Lab",
    OTHER: "Other Agency",
}
ADMIN, MEMBER = 801, 802
EN = {"language_code": "en"}
CODE = re.compile(r"\b([A-HJ-NP-Z2-9]{5}-[A-HJ-NP-Z2-9]{5})\b")
SPACES = re.compile(r"[\s\u00a0\u202f]+")


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def h(storage: Storage, settings: Settings) -> AsyncIterator[Harness]:
    session = RecordingSession()
    bot = create_bot(settings, session=session)
    clock = Clock()
    dp = create_dispatcher(storage, settings, clock=clock)
    harness = Harness(dp, bot, session, storage, settings)
    harness.clock = clock  # type: ignore[attr-defined]
    for chat in TITLES:
        session.set_chat_member(chat, ADMIN, "administrator")
        session.set_chat_member(chat, MEMBER, "member")
    yield harness
    await bot.session.close()


async def say(h: Harness, chat: int, text: str, user: int = ADMIN) -> str:
    return await h.say_text(text, chat_id=chat, user_id=user, title=TITLES[chat], **EN)


async def ws(h: Harness, chat: int) -> Workspace:
    found = await h.storage.workspaces.get_by_chat(chat)
    assert found is not None
    return found


def days(first: date, last: date, step: int = 1) -> list[date]:
    return [first + timedelta(k) for k in range(0, (last - first).days + 1, step)]


async def seed(h: Harness) -> None:
    """Messy data: several accounts that report different metrics on different days,
    gaps, a stale client, and a client whose bounce-rate alert fires."""
    for chat in TITLES:
        await say(h, chat, "/start")
        await say(h, chat, "/lang en")  # what a chat is sent outside an update (notices)
    zerno = await ws(h, ZERNO)
    values: dict[tuple[str, date], dict[str, float]] = {}
    for i, d in enumerate(days(date(2026, 9, 22), date(2026, 11, 20))):
        if d.day % 7 == 3:
            continue  # a gap every week
        values[("vk:zerno", d)] = {"reach": 1000.0 + 17 * i, "likes": 40.0 + i % 9}
        if i % 2 == 0:  # ig reports every other day, with followers and comments
            values[("ig:zerno", d)] = {
                "reach": 700.0 + 3 * i,
                "comments": 5.0 + i % 4,
                "followers": 5000.0 + 11 * i,
            }
        if i % 5 == 0:
            values[("vk:zerno", d)].update(
                {"revenue": 9000.0 + 100 * i, "ad_spend": 3000.0, "new_customers": 4.0}
            )
    await h.storage.metrics.apply_import(zerno.id, source="t", user_id=None, values=values)
    bikes = await ws(h, BIKES)  # stale: the newest data is 12 days old
    bike_values = {
        ("main", d): {"reach": 400.0 + d.day, "followers": 900.0 + d.day}
        for d in days(date(2026, 10, 1), date(2026, 11, 8))
    }
    await h.storage.metrics.apply_import(bikes.id, source="t", user_id=None, values=bike_values)
    flowers = await ws(h, FLOWERS)
    flower_values = {
        ("main", d): {"reach": 2000.0 + d.day, "sessions": 100.0, "bounces": 30.0}
        for d in days(date(2026, 10, 1), date(2026, 11, 20))
    }
    await h.storage.metrics.apply_import(flowers.id, source="t", user_id=None, values=flower_values)
    # Flower Lab's bounce rate jumps to 85 % in the week of Nov 9–15: its rule fires.
    await say(h, FLOWERS, "/alert bounce > 60%")
    await say(h, FLOWERS, "/log 2026-11-12 sessions=700 bounces=650")


async def link(h: Harness, client: int, agency: int = AGENCY) -> str:
    text = await say(h, agency, "/clients link")
    found = CODE.search(text)
    assert found, text
    answer = await say(h, client, f"/agency {found[1]}")
    assert "is now a client of «" in answer, answer
    return found[1]


def block_of(rollup: str, name: str) -> str:
    """The roll-up lines of one client (from its numbered head to the next blank line)."""
    match = re.search(rf"^\d+\. \S+ {re.escape(name)}\b.*?(?=\n\n|\Z)", rollup, re.M | re.S)
    assert match, f"{name} not in roll-up:\n{rollup}"
    return match[0]


# --------------------------------------------------------------------------- consent


async def test_linking_needs_an_admin_on_both_sides_and_a_good_code(h: Harness) -> None:
    await seed(h)
    refused = await say(h, AGENCY, "/clients link", user=MEMBER)
    assert refused.startswith("Only chat administrators can change this.")
    assert await h.storage.agency.client_count((await ws(h, AGENCY)).id) == 0

    text = await say(h, AGENCY, "/clients link")
    code = CODE.search(text)
    assert code, text
    assert "/agency " + code[1] in text and "works once, for 24 hours" in text
    # Only the code's hash is stored.
    from sqlalchemy import select

    from storage.schema import agency_codes

    async with h.storage.engine.connect() as conn:
        stored = (await conn.execute(select(agency_codes))).all()
    assert len(stored) == 1 and code[1].replace("-", "") not in repr(stored)

    # A member of the client's chat cannot consent for it.
    refused = await say(h, ZERNO, f"/agency {code[1]}", user=MEMBER)
    assert refused.startswith("Only chat administrators can change this.")
    # A code this bot never issued is refused.
    assert "not valid" in await say(h, ZERNO, "/agency ABCDE-FGHJK")
    assert await h.storage.agency.agency_of((await ws(h, ZERNO)).id) is None

    answer = await say(h, ZERNO, f"/agency {code[1].lower()}")
    assert answer.startswith("✅ This chat is now a client of «Alpha Agency».")
    notices = [c.visible_text for c in h.session.sent("sendMessage", chat_id=AGENCY)]
    linked = "New client linked: coffee-zerno (Coffee Zerno)"
    assert any(linked in (n or "") for n in notices), notices[-3:]
    # Single use: the same code in another chat is refused.
    assert "already been used" in await say(h, BIKES, f"/agency {code[1]}")
    assert await h.storage.agency.agency_of((await ws(h, BIKES)).id) is None
    # The agency's own chat cannot use its code, and a client can't be linked twice.
    own = CODE.search(await say(h, AGENCY, "/clients link"))
    assert own
    assert "not for the agency's own chat" in await say(h, AGENCY, f"/agency {own[1]}")
    other = CODE.search(await say(h, OTHER, "/clients link"))
    assert other
    assert "client of another agency" in await say(h, ZERNO, f"/agency {other[1]}")
    assert "/agency" in await say(h, ZERNO, "/agency")


async def test_codes_expire_after_24_hours(h: Harness) -> None:
    await seed(h)
    code = CODE.search(await say(h, AGENCY, "/clients link"))
    assert code
    h.clock.now = NOW + timedelta(hours=24, seconds=1)  # type: ignore[attr-defined]
    assert "has expired" in await say(h, ZERNO, f"/agency {code[1]}")
    assert await h.storage.agency.agency_of((await ws(h, ZERNO)).id) is None
    fresh = CODE.search(await say(h, AGENCY, "/clients link"))
    assert fresh
    h.clock.now = NOW + timedelta(hours=47)  # type: ignore[attr-defined]
    assert "is now a client" in await say(h, ZERNO, f"/agency {fresh[1]}")


async def test_unlink_and_leave_remove_access_at_once(h: Harness) -> None:
    await seed(h)
    await link(h, ZERNO)
    await link(h, BIKES)
    assert "Report" in await say(h, AGENCY, "/client coffee-zerno report 30d")
    refused = await say(h, AGENCY, "/clients unlink coffee-zerno", user=MEMBER)
    assert refused.startswith("Only chat administrators can change this.")
    done = await say(h, AGENCY, "/clients unlink coffee-zerno")
    assert "coffee-zerno is no longer a client" in done
    notice = h.session.sent("sendMessage", chat_id=ZERNO)[-1].visible_text or ""
    assert "«Alpha Agency» has unlinked this chat" in notice
    gone = await say(h, AGENCY, "/client coffee-zerno report 30d")
    assert gone.startswith("There is no client “coffee-zerno” in this chat.")
    assert "Report" not in gone
    rollup = await say(h, AGENCY, "/clients 30d")
    assert "coffee-zerno" not in rollup and "bike-shop" in rollup

    assert "no longer sees this chat" in await say(h, BIKES, "/agency leave")
    assert "This chat has no clients yet" in await say(h, AGENCY, "/clients")
    assert "nothing to leave" in await say(h, BIKES, "/agency leave")


# --------------------------------------------------------------------------- isolation


async def test_a_client_chat_never_sees_another_client_of_the_same_agency(h: Harness) -> None:
    await seed(h)
    await link(h, ZERNO)
    await link(h, BIKES)
    bikes_reach = re.search(r"^([\d,]+)$", await say(h, BIKES, "/reach 30d"), re.M)
    assert bikes_reach, "Bike Shop's reach"
    seen = []
    for text in (
        "/clients",
        "/clients 30d",
        "/client bike-shop report 30d",
        "/client bike-shop reach",
        "/client coffee-zerno report",
        "/agency",
    ):
        answer = await say(h, ZERNO, text)
        assert answer, text
        seen.append(answer)
    shown = "\n".join(seen)
    # The name typed is echoed in the refusal; nothing of Bike Shop's is shown.
    assert "Bike Shop" not in shown and bikes_reach[1] not in shown
    assert "bike-shop" not in seen[0] + seen[1]
    assert seen[0].startswith("This chat is a client of «Alpha Agency»")
    assert seen[2].startswith("There is no client “bike-shop” in this chat.")
    # A chat that is nobody's agency, asking by a real client's name, gets nothing either.
    assert (await say(h, OTHER, "/client bike-shop report")).startswith("There is no client")
    # And /client only reads: a write command is refused, nothing changes.
    before = await h.storage.metrics.data_span((await ws(h, BIKES)).id)
    refused = await say(h, AGENCY, "/client bike-shop log reach=1")
    assert "can only be read" in refused
    assert await h.storage.metrics.data_span((await ws(h, BIKES)).id) == before


# --------------------------------------------------------------------------- roll-up


async def test_the_rollup_shows_each_clients_own_report_numbers(h: Harness) -> None:
    await seed(h)
    for client in (ZERNO, BIKES, FLOWERS):
        await link(h, client)
    rollup = await say(h, AGENCY, "/clients 30d")
    assert rollup.startswith("Clients · Oct 22 – Nov 20, 2026 · 3 in all")
    for chat, name in ((ZERNO, "coffee-zerno"), (BIKES, "bike-shop"), (FLOWERS, "flower-lab")):
        report = await say(h, chat, "/report 30d")
        block = block_of(rollup, name)
        lines = block.split("\n")[1:]
        kpi_lines = [line for line in lines if line.startswith("• ")]
        assert len(kpi_lines) == 4, block  # reach, engagement, growth, ROI
        for line in kpi_lines:
            if " — " in line:  # no value: the report lists it under "Can't compute"
                kpi = line[2:].split(" — ")[0]
                assert f"• {kpi} — " in report, (name, line)
            else:
                assert line in report.split("\n"), (name, line, report)
        # /client <name> report is the client's own /report, word for word.
        via_agency = await say(h, AGENCY, f"/client {name} report 30d")
        assert via_agency.split("\n", 1)[1] == report, name

    # Independently: Coffee Zerno's reach is the plain sum of both accounts' reach.
    zerno = block_of(rollup, "coffee-zerno")
    expected = 0.0
    for i, d in enumerate(days(date(2026, 9, 22), date(2026, 11, 20))):
        if d.day % 7 == 3 or d < date(2026, 10, 22):
            continue
        expected += 1000.0 + 17 * i + (700.0 + 3 * i if i % 2 == 0 else 0.0)
    shown = re.search(r"• Reach: ([\d,]+)", zerno)
    assert shown and float(shown[1].replace(",", "")) == expected

    # What needs attention first: the firing alert, then the stale client, then the rest.
    order = re.findall(r"^\d+\. \S+ ([\w-]+)", rollup, re.M)
    assert order == ["flower-lab", "bike-shop", "coffee-zerno"], rollup
    flowers = block_of(rollup, "flower-lab")
    assert "🔴" in flowers.split("\n")[0] and "alert firing: Bounce rate" in flowers
    assert "⚠️ last data 12 days ago" in block_of(rollup, "bike-shop")
    assert "last data today" in zerno and "⚠️" not in zerno.split("\n")[0]


async def test_rollup_kpis_are_chosen_by_an_admin(h: Harness) -> None:
    await seed(h)
    await link(h, ZERNO)
    assert "Reach, Engagement" in await say(h, AGENCY, "/clients kpis")
    refused = await say(h, AGENCY, "/clients kpis roi reach", user=MEMBER)
    assert refused.startswith("Only chat administrators can change this.")
    assert "is not a KPI" in await say(h, AGENCY, "/clients kpis banana")
    assert "Done: the roll-up shows ROI, Reach" in await say(h, AGENCY, "/clients kpis roi reach")
    block = block_of(await say(h, AGENCY, "/clients 30d"), "coffee-zerno")
    kpis = [line.split(":")[0] for line in block.split("\n")[1:] if line.startswith("• ")]
    assert kpis == ["• ROI", "• Reach"]
    # Money in the client's own currency, as its own /report shows it.
    await say(h, ZERNO, "/currency EUR")
    await say(h, AGENCY, "/clients kpis cac")
    line = block_of(await say(h, AGENCY, "/clients 30d"), "coffee-zerno").split("\n")[1]
    assert line.startswith("• CAC: €750"), line  # (3000 ad spend / 4 customers a day)
    assert line in (await say(h, ZERNO, "/report 30d")).split("\n")


async def test_many_clients_are_paged_with_buttons(h: Harness) -> None:
    agency = (await h.storage.workspaces.ensure(AGENCY, "supergroup", "Alpha", "UTC"))[0]
    now = NOW
    for k in range(14):
        client, _ = await h.storage.workspaces.ensure(
            -100_800_000 - k, "supergroup", f"Shop {k:02d}", "UTC"
        )
        code = await h.storage.agency.issue_code(agency.id, now)
        assert (await h.storage.agency.redeem_code(code, client, now)).outcome == "linked"
    calls = await h.say("/clients 30d", chat_id=AGENCY, user_id=ADMIN, title="Alpha", **EN)
    first = calls[-1]
    assert "page 1 of 3" in (first.visible_text or "")
    assert first.callback_data and len(first.callback_data) == 2  # "1/3" and "▶"
    shown = re.findall(r"shop-\d\d", first.visible_text or "")
    assert len(shown) == 6
    pressed = await h.press(AGENCY, first.message_id or 1, first.callback_data[-1], **EN)
    edit = next(c for c in pressed if c.method == "editMessageText")
    assert "page 2 of 3" in (edit.visible_text or "")
    assert not set(re.findall(r"shop-\d\d", edit.visible_text or "")) & set(shown)


# --------------------------------------------------------------------------- PDF


def pdf_of(h: Harness, chat: int) -> bytes:
    doc = h.session.sent("sendDocument", chat_id=chat)[-1]
    return doc.files["document"].data


async def test_report_pdf_opens_and_holds_the_clients_name_and_numbers(h: Harness) -> None:
    await seed(h)
    await link(h, ZERNO)
    await say(h, AGENCY, "/brand name Alpha Agency Ltd")
    await say(h, AGENCY, "/brand colour #aa3377")
    report = await say(h, ZERNO, "/report 30d")
    await say(h, ZERNO, "/report pdf 30d")
    data = pdf_of(h, ZERNO)
    assert data.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(data))
    pages = [SPACES.sub(" ", p.extract_text()) for p in reader.pages]
    assert len(reader.pages) >= 6
    assert "Coffee Zerno" in pages[0] and "Prepared by Alpha Agency Ltd" in pages[0]
    assert "Oct 22 – Nov 20, 2026" in pages[0]
    text = " ".join(pages)
    for title in ("Key figures", "Dashboard", "Key KPIs by day or week", "Data notes"):
        assert title in text, title
    assert "Appendix: formulas" in text
    reach = re.search(r"• Reach: ([\d,]+)", report)
    roi = re.search(r"• ROI: ([\d,.]+%)", report)
    assert reach and roi
    assert f"Reach {reach[1]}" in pages[1] and roi[1] in pages[1]
    # The first page is a real picture, not a blank one.
    doc = pypdfium2.PdfDocument(data)
    try:
        image = doc[0].render(scale=1).to_pil().convert("L")
        dark = int((np.asarray(image) < 200).sum())
        assert dark > 2000, dark
        assert abs(image.width / image.height - 210 / 297) < 0.01  # A4
    finally:
        doc.close()


async def test_agency_asks_for_a_clients_pdf_in_russian(h: Harness) -> None:
    await seed(h)
    await link(h, ZERNO)
    await say(h, ZERNO, "/lang ru")
    await say(h, AGENCY, "/client coffee-zerno report pdf 30d")
    reader = PdfReader(io.BytesIO(pdf_of(h, AGENCY)))
    text = SPACES.sub(" ", " ".join(p.extract_text() for p in reader.pages))
    assert "Отчёт по KPI" in text and "Coffee Zerno" in text and "Главные цифры" in text
    assert "Охват" in text
    assert not h.session.sent("sendDocument", chat_id=ZERNO)


async def test_a_logo_sent_as_a_photo_is_downloaded_and_stored_small(h: Harness) -> None:
    from PIL import Image

    await say(h, AGENCY, "/start")
    picture = io.BytesIO()
    Image.new("RGB", (1200, 800), (200, 30, 60)).save(picture, format="PNG")
    member = h.fake.photo(AGENCY, picture.getvalue(), "/brand logo", user_id=MEMBER,
                          push=False, width=1200, height=800, **EN)  # fmt: skip
    calls = await h.feed(member)
    assert "Only chat administrators" in (calls[-1].visible_text or "")
    update = h.fake.photo(AGENCY, picture.getvalue(), "/brand logo", user_id=ADMIN,
                          push=False, width=1200, height=800, **EN)  # fmt: skip
    calls = await h.feed(update)
    assert [c.method for c in calls if c.method == "getFile"] == ["getFile"]
    assert "brand is saved" in (calls[-1].visible_text or "")
    brand = await h.storage.agency.brand((await ws(h, AGENCY)).id)
    assert brand.logo_png is not None
    with Image.open(io.BytesIO(brand.logo_png)) as logo:
        assert max(logo.size) == 256 and logo.size == (256, 171)
    bad = h.fake.photo(AGENCY, b"not an image", "/brand logo", user_id=ADMIN, push=False, **EN)
    calls = await h.feed(bad)
    assert "couldn't read that picture" in (calls[-1].visible_text or "")
    assert "Logo: set" in await say(h, AGENCY, "/brand")


# --------------------------------------------------------------------------- done


async def test_done_three_clients_rollup_pdf_and_digest_with_the_alert_first(
    h: Harness,
) -> None:
    await seed(h)
    for client in (ZERNO, BIKES, FLOWERS):
        await link(h, client)
    rollup = await say(h, AGENCY, "/clients")
    assert re.findall(r"^\d+\. \S+ ([\w-]+)", rollup, re.M)[0] == "flower-lab"
    await say(h, AGENCY, "/client flower-lab report pdf")
    pdf = PdfReader(io.BytesIO(pdf_of(h, AGENCY)))
    assert "Flower Lab" in pdf.pages[0].extract_text()
    agency = await ws(h, AGENCY)
    prepared = await prepare(h.storage, h.dp["i18n"], agency, report_week(NOW.date()), "en")
    section = next(p for p in prepared.text if "what needs attention first" in p)
    lines = [line for line in section.split("\n") if line.startswith("• ")]
    assert lines[0].startswith("• <b>flower-lab</b> · 🔔 alert firing: Bounce rate"), section
    assert "bike-shop" in lines[1] and "last data" in lines[1]
    assert section in prepared.details


async def test_report_pdf_for_one_account_and_its_refusals(h: Harness) -> None:
    await seed(h)
    reach = await say(h, ZERNO, "/reach 30d vk:zerno")
    value = re.search(r"^([\d,]+)$", reach, re.M)
    assert value, reach
    await say(h, ZERNO, "/report pdf vk:zerno 30d")
    reader = PdfReader(io.BytesIO(pdf_of(h, ZERNO)))
    assert "Accounts: vk:zerno" in SPACES.sub(" ", reader.pages[0].extract_text())
    assert f"Reach {value[1]}" in SPACES.sub(" ", reader.pages[1].extract_text())
    sent = len(h.session.sent("sendDocument", chat_id=ZERNO))
    assert "neither a period nor an account" in await say(h, ZERNO, "/report pdf banana")
    assert "no report" in await say(h, OTHER, "/report pdf")
    assert len(h.session.sent("sendDocument", chat_id=ZERNO)) == sent
    assert not h.session.sent("sendDocument", chat_id=OTHER)
