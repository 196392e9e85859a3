"""SIGKILL in the middle of an import and of a digest run, then a restart on the same
database: no half import (row counts), no digest sent twice, nothing else lost."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.services.digest import SEND_CONCURRENCY
from storage import Storage
from storage.schema import digest_log
from tests.fakeapi.core import Call
from tests.fakeapi.server import FakeBotAPI
from tests.faults.conftest import LiveBot
from tests.faults.tools import (
    last_days,
    make_digest_due,
    open_harness,
    seed_days,
    settle,
    upload_supported,
)

pytestmark = pytest.mark.e2e


async def _imports_supported(tmp_path: Path) -> bool:
    async with open_harness(f"sqlite+aiosqlite:///{tmp_path / 'probe.sqlite3'}") as h:
        return await upload_supported(h)


def _consistent_counts(path: Path) -> tuple[int, int]:
    """(live import batches, daily_metrics rows) read with plain sqlite3 + integrity check."""
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        batches = con.execute("SELECT count(*) FROM import_batches WHERE undone = 0").fetchone()[0]
        rows = con.execute("SELECT count(*) FROM daily_metrics").fetchone()[0]
        return int(batches), int(rows)
    finally:
        con.close()


def long_views_file(rows: int = 20_000) -> bytes:
    """A self-written daily views file of `rows` account-days: days from 2000-01-01 (the
    date policy's first day) on, for three accounts: big enough that parsing and the
    one-transaction write take a noticeable time."""
    out = ["Date,Account,Views"]
    start = date(2000, 1, 1)
    for i in range(rows):
        day, account = start + timedelta(days=i // 3), ("site", "vk:brand", "ig:brand")[i % 3]
        out.append(f"{day:%d/%m/%Y},{account},{100 + (i * 37) % 90}")
    return ("\r\n".join(out) + "\r\n").encode()


def is_progress(call: Call) -> bool:
    return call.method == "editMessageText" and "Saving" in (call.visible_text or "")


def is_summary(call: Call) -> bool:
    return call.method in ("sendMessage", "editMessageText") and (
        call.visible_text or ""
    ).startswith("Imported")


async def test_sigkill_during_an_import_leaves_no_half_import(
    api: FakeBotAPI, live: LiveBot, tmp_path: Path
) -> None:
    if not await _imports_supported(tmp_path):
        pytest.skip("no router imports documents yet (file upload handler not registered)")
    data = long_views_file()
    full_rows = 20_000
    db_path = tmp_path / "kpibot.sqlite3"
    # Kill points: just after getFile (download/parse), at "Saving N rows…" (the write
    # transaction), and shortly after it.
    kill_points: list[tuple[str, float]] = [("getFile", 0.0), ("saving", 0.0)]
    seen_states = []
    for n, (event, delay) in enumerate(kill_points):
        await live.start()
        api.document(47_001, f"big-{n}", "views.csv", data=data, language_code="en")
        if event == "getFile":
            await api.wait_for("getFile", count=n + 1, timeout=20)
        else:
            shown = len([c for c in api.sent(chat_id=47_001) if is_progress(c)])
            await api.wait_for(is_progress, chat_id=47_001, count=shown + 1, timeout=20)
        await asyncio.sleep(delay)
        await live.kill()
        batches, rows = _consistent_counts(db_path)
        # All or nothing: complete imports (the same days, replaced) or none at all.
        assert rows == (full_rows if batches else 0), (event, delay, batches, rows)
        seen_states.append(batches)
    # After a restart the bot works on the same database and the import goes through.
    await live.start()
    before = _consistent_counts(db_path)[0]
    done = len([c for c in api.sent(chat_id=47_001) if is_summary(c)])
    api.document(47_001, "big-final", "views.csv", data=data, language_code="en")
    await api.wait_for(is_summary, chat_id=47_001, count=done + 1, timeout=60)
    await live.stop()
    batches, rows = _consistent_counts(db_path)
    assert (batches, rows) == (before + 1, full_rows)  # re-imported days replace, never double
    assert 0 in seen_states  # at least one kill really hit the import before its commit


# ------------------------------------------------------------------ digest + SIGKILL


async def test_sigkill_during_a_digest_run_never_sends_a_digest_twice(
    api: FakeBotAPI, live: LiveBot, db: Storage
) -> None:
    chats = list(range(50_001, 50_041))
    days = last_days(21)
    for chat in chats:
        await seed_days(db, chat, days, base=chat)
    await make_digest_due(db, chats)
    api.slow("sendPhoto", 0.15)  # a run of 40 takes a few seconds: room to kill inside it
    await live.start(DIGEST_TICK_SECONDS="1")
    await api.wait_for("sendPhoto", count=8, timeout=60)
    await live.kill()
    sent_before = Counter(c.chat_id for c in api.sent("sendPhoto"))
    assert 8 <= len(sent_before) < len(chats)
    await live.start(DIGEST_TICK_SECONDS="1")
    statuses: Counter[str] = Counter()
    for _ in range(200):
        async with db.engine.connect() as conn:
            rows = await conn.execute(select(digest_log.c.status))
            statuses = Counter(rows.scalars().all())
        if statuses["sent"] + statuses["claimed"] >= len(chats) and not statuses["failed"]:
            break
        await asyncio.sleep(0.25)
    await settle(2)
    photos = Counter(c.chat_id for c in api.sent("sendPhoto"))
    assert max(photos.values()) == 1, [c for c, n in photos.items() if n > 1]
    # Every workspace is accounted for: sent, or claimed by the killed run (its request
    # was on the wire: at-most-once by design, never repeated automatically).
    assert statuses["sent"] + statuses["claimed"] == len(chats), statuses
    assert statuses["claimed"] <= SEND_CONCURRENCY, statuses  # only those in flight
    assert statuses["sent"] <= len(photos) <= statuses["sent"] + statuses["claimed"]
