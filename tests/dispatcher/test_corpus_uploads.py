"""Every real export of ../shared/data/exports/ sent to the bot as a user would: imported.

No file is edited. Where the bot asks (the day of a date-less file, a preview it
is unsure of) the test answers with the first offered button, as a user
accepting the bot's proposal would; the reply must then say "Imported".
The values themselves are checked against the files in tests/unit/test_corpus_exports.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import create_bot, create_dispatcher
from bot.config import Settings
from storage import Storage
from tests.dispatcher.conftest import Harness
from tests.fakeapi.core import Call
from tests.fakeapi.recording import RecordingSession
from tests.shareddata import EXPORTS_DATA as EXPORTS
from tests.unit.test_corpus_exports import CORPUS

# After the newest day of the corpus (a YouTube chart ends 2026-06-12, the Google Ads
# reports 2026-05-08): rows dated after today are refused (kpi/datepolicy.py).
NOW = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
CHAT = 7201

# Skipped with the shared-data reason when ../shared/data is absent (tests/conftest.py);
# the file list is fixed (nothing of ../shared is read at collection time).
pytestmark = pytest.mark.shared_data


@pytest.fixture
async def h(storage: Storage, settings: Settings) -> AsyncIterator[Harness]:
    session = RecordingSession()
    bot = create_bot(settings, session=session)
    dp = create_dispatcher(storage, settings, clock=lambda: NOW)
    yield Harness(dp, bot, session, storage, settings)
    await bot.session.close()


def _last_text(calls: list[Call]) -> str:
    texts = [
        c.visible_text or ""
        for c in calls
        if c.method in ("sendMessage", "editMessageText") and c.ok
    ]
    assert texts, [c.method for c in calls]
    return texts[-1]


@pytest.mark.parametrize("name", CORPUS)
async def test_corpus_file_imports_without_edits(h: Harness, name: str) -> None:
    data = (Path(EXPORTS) / name).read_bytes()
    update = h.fake.document(
        CHAT, f"file-{name}", name, None, data=data, push=False, language_code="en"
    )
    calls = await h.feed(update)
    for _question in range(3):
        panel = [c for c in calls if c.callback_data and c.ok]
        if not panel:
            break
        button = panel[-1]
        assert button.callback_data is not None
        choice = button.callback_data[0]  # today's day / Import / the first sheet
        message_id = (
            int(button.params["message_id"])
            if button.method.startswith("edit")
            else button.message_id
        )
        assert message_id is not None
        calls = await h.feed(
            h.fake.callback(CHAT, message_id, choice, push=False, language_code="en")
        )
    text = _last_text(calls)
    assert text.startswith(f"Imported “{name}”"), text
    assert "Stored: 0 account-day rows, 0 posts" not in text
