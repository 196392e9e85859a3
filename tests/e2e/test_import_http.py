"""End-to-end: a CSV sent to the bot process travels getFile + file download over
real HTTP (BOT_API_URL), is imported, and comes back out of /export."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest
from openpyxl import load_workbook

from tests.conftest import SMM_DATA
from tests.e2e.conftest import BotProcess
from tests.fakeapi.server import FakeBotAPI

pytestmark = pytest.mark.e2e


@pytest.mark.shared_data
async def test_upload_over_http_then_export_has_the_same_numbers(
    api: FakeBotAPI, bot_process: BotProcess
) -> None:
    path = SMM_DATA / "website_daily_views.csv"
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    total = sum(int(r["Views"]) for r in rows)
    days = sorted(datetime.strptime(r["Date"], "%d/%m/%Y").date() for r in rows)

    await bot_process.start()
    api.document(401, "views-csv", path.name, caption="site", data=path.read_bytes(),
                 language_code="en")  # fmt: skip
    (summary,) = await api.wait_for("sendMessage", chat_id=401, timeout=20)
    text = summary.visible_text or ""
    assert text.startswith("Imported “website_daily_views.csv”")
    assert f"• Pageviews: Σ {total:,}" in text
    assert f"Rows: {len(rows)} read, {len(rows)} used." in text
    assert [c.params["file_id"] for c in api.sent("getFile")] == ["views-csv"]

    span = f"{days[0].isoformat()}..{days[-1].isoformat()}"
    api.message(401, f"/export {span} site", language_code="en")
    (doc,) = await api.wait_for("sendDocument", chat_id=401, timeout=20)
    # An Excel workbook by default: numbers are number cells, days are date cells.
    sheet = load_workbook(io.BytesIO(doc.files["document"].data))["Daily metrics"]
    header, *body_rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert header == ["Account", "Date", "Pageviews"]
    assert len(body_rows) == len(rows)
    assert sum(r[2] for r in body_rows) == total
    assert [r[1].date() for r in body_rows] == days
    assert {r[0] for r in body_rows} == {"site"}

    api.message(401, f"/export csv {span} site", language_code="en")
    (_xlsx, doc) = await api.wait_for("sendDocument", chat_id=401, count=2, timeout=20)
    body = doc.files["document"].data.decode("utf-8-sig")
    exported = list(csv.DictReader(io.StringIO(body, newline="")))
    assert len(exported) == len(rows)
    assert sum(float(r["Pageviews"]) for r in exported) == total
    assert {r["Account"] for r in exported} == {"site"}


@pytest.mark.shared_data
async def test_upload_over_http_then_ask_a_kpi(api: FakeBotAPI, bot_process: BotProcess) -> None:
    """GA-derived sessions (one row per session, months only): the caption gives the
    year's last day; /bounce over those twelve months is Σ bounces / Σ sessions,
    computed here straight from the CSV."""
    path = SMM_DATA / "uci_online_shoppers_intention.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    # BounceRates is each session's GA bounce rate as a fraction; one session per row.
    expected = sum(float(r["BounceRates"]) for r in rows) / len(rows) * 100

    await bot_process.start()
    api.document(402, "shoppers", path.name, caption="site 2024-05-31", data=path.read_bytes(),
                 language_code="en")  # fmt: skip
    await api.wait_for(
        lambda c: (c.visible_text or "").startswith("Imported"), chat_id=402, timeout=60
    )
    api.message(402, "/bounce 2023-06-01..2024-05-31 site", language_code="en")
    answer = await api.wait_for(
        lambda c: c.method == "sendMessage" and "Bounce rate" in (c.visible_text or ""),
        chat_id=402, timeout=20,
    )  # fmt: skip
    lines = (answer[0].visible_text or "").splitlines()
    value = float(lines[1].rstrip("%").replace(",", ""))
    assert value == pytest.approx(expected, abs=0.05)
    assert any(f"/ {len(rows):,}" in line for line in lines), lines
