"""End-to-end: agency mode against the bot process over real HTTP — a logo photo goes
getFile + file download, two chats link with a code, and the agency gets a client's PDF
(sendDocument multipart upload) carrying the brand."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from pypdf import PdfReader

from tests.e2e.conftest import BotProcess
from tests.fakeapi.server import FakeBotAPI

pytestmark = pytest.mark.e2e

AGENCY, CLIENT = 501, 502  # private chats: each user owns their own
CODE = re.compile(r"\b([A-HJ-NP-Z2-9]{5}-[A-HJ-NP-Z2-9]{5})\b")


async def test_link_brand_and_client_pdf_over_http(
    api: FakeBotAPI, bot_process: BotProcess
) -> None:
    await bot_process.start()
    api.message(AGENCY, "/brand name Alpha Agency", language_code="en")
    (saved,) = await api.wait_for("sendMessage", chat_id=AGENCY, timeout=20)
    assert "brand is saved" in (saved.visible_text or "")

    picture = io.BytesIO()
    Image.new("RGB", (640, 480), (20, 120, 200)).save(picture, format="PNG")
    photo = api.photo(AGENCY, picture.getvalue(), "/brand logo", width=640, height=480,
                      language_code="en")  # fmt: skip
    big = max(photo["message"]["photo"], key=lambda p: p["width"])
    (_, logo) = await api.wait_for("sendMessage", chat_id=AGENCY, count=2, timeout=20)
    assert "brand is saved" in (logo.visible_text or "")
    assert [c.params["file_id"] for c in api.sent("getFile")] == [big["file_id"]]

    api.message(AGENCY, "/clients link", language_code="en")
    (*_, issued) = await api.wait_for("sendMessage", chat_id=AGENCY, count=3, timeout=20)
    code = CODE.search(issued.visible_text or "")
    assert code, issued.visible_text
    api.message(CLIENT, "/log reach=12345 likes=321", language_code="en")
    await api.wait_for("sendMessage", chat_id=CLIENT, timeout=20)
    api.message(CLIENT, f"/agency {code[1]}", language_code="en")
    (*_, linked) = await api.wait_for("sendMessage", chat_id=CLIENT, count=2, timeout=20)
    assert "now a client of" in (linked.visible_text or "")

    api.message(AGENCY, "/client client report pdf", language_code="en")
    (doc,) = await api.wait_for("sendDocument", chat_id=AGENCY, timeout=60)
    assert doc.files["document"].filename.endswith(".pdf")
    reader = PdfReader(io.BytesIO(doc.files["document"].data))
    cover = re.sub(r"\s+", " ", reader.pages[0].extract_text())
    assert "Prepared by Alpha Agency" in cover
    text = re.sub(r"[\s\u00a0\u202f]+", " ", " ".join(p.extract_text() for p in reader.pages))
    assert "12,345" in text
    assert await bot_process.stop() == 0
