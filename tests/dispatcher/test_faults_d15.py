"""Issue #15's faults that live inside one process, through the real dispatcher:
a workspace whose zone does not load, repeated button presses, a database that
cannot write, /delete_all during an import, days and account names outside the
rules, the same file sent twice. (Faults about Telegram and processes are in
tests/faults/test_processes_d15.py, over HTTP against `python -m bot`.)"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select, update

from bot.app import create_bot, create_dispatcher, create_jobs
from bot.config import Settings
from storage import Storage
from storage.schema import accounts, daily_metrics, import_batches, workspaces
from tests.dispatcher.conftest import APOLOGY_MARKERS, Harness
from tests.fakeapi.core import Call
from tests.fakeapi.recording import RecordingSession

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # Wednesday, 12:00 in Moscow
TODAY = date(2026, 12, 2)
CHAT = 8101
GROUP = -1008101
ADMIN = 8201


@pytest.fixture
async def h(storage: Storage, settings: Settings) -> AsyncIterator[Harness]:
    session = RecordingSession()
    bot = create_bot(settings, session=session)
    dp = create_dispatcher(storage, settings, clock=lambda: NOW)
    yield Harness(dp, bot, session, storage, settings)
    await bot.session.close()


def texts(calls: list[Call]) -> list[str]:
    return [c.visible_text or "" for c in calls if c.visible_text]


def answers(calls: list[Call]) -> list[dict[str, Any]]:
    return [c.params for c in calls if c.method == "answerCallbackQuery"]


async def seed(h: Harness, chat_id: int, days: int = 20, tz: str = "Europe/Moscow") -> int:
    kind = "private" if chat_id > 0 else "supergroup"
    ws, _ = await h.storage.workspaces.ensure(chat_id, kind, f"Team {chat_id}", tz)
    values = {
        ("main", TODAY - timedelta(days=k)): {"reach": 1000.0 + k, "likes": 10.0 + k}
        for k in range(1, days + 1)
    }
    await h.storage.metrics.apply_import(ws.id, source="seed", user_id=None, values=values)
    return ws.id


async def count(h: Harness, table: Any, **where: Any) -> int:
    query = select(func.count()).select_from(table)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    async with h.storage.engine.connect() as conn:
        return int((await conn.execute(query)).scalar_one())


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]


# ----------------------------------------------------------------- 1. time zones


async def test_case01_a_zone_that_does_not_load_skips_one_workspace_not_every_digest(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    chats = [CHAT + i for i in range(5)]
    ids = [await seed(h, chat) for chat in chats]
    async with h.storage.engine.begin() as conn:
        await conn.execute(
            update(workspaces).values(
                created_at=datetime(2026, 1, 1, tzinfo=UTC), digest_weekday=0, digest_time="00:00"
            )
        )
    # Scheduled while the zone loaded (next_digest_at is set), then it stops loading.
    await h.storage.digests.reschedule_all(datetime(2026, 1, 1, tzinfo=UTC))
    async with h.storage.engine.begin() as conn:
        # What the slim image saw for `posix/Europe/Moscow`: a zone that does not load.
        await conn.execute(
            update(workspaces).where(workspaces.c.id == ids[2]).values(timezone="Mars/Olympus")
        )
    (job,) = [j for j in create_jobs(h.bot, h.dp["services"]) if j.id == "digest"]
    caplog.set_level(logging.WARNING)
    before = len(h.session.calls)
    await job.func()  # what APScheduler calls every minute
    sent = sorted(c.chat_id for c in h.session.calls[before:] if c.method == "sendPhoto")
    assert sent == sorted(c for i, c in enumerate(chats) if i != 2)  # 4 of 5, not 0
    assert any(f"workspace {ids[2]} skipped" in line for line in errors(caplog)), errors(caplog)

    # /timezone takes only names of the pinned tzdata, canonically spelled.
    for name in ("posix/Europe/Moscow", "right/UTC", "Mars/Olympus"):
        text = "\n".join(texts(await h.say(f"/timezone {name}", CHAT, language_code="en")))
        assert text.startswith(f"Unknown time zone “{name}”."), text
    text = "\n".join(texts(await h.say("/timezone US/Eastern", CHAT, language_code="en")))
    assert text == "Time zone set: America/New_York. (US/Eastern is another name of this zone.)"
    ws = await h.storage.workspaces.get_by_chat(CHAT)
    assert ws is not None and ws.timezone == "America/New_York"

    # Start-up repairs the stored zone that doesn't load and tells that chat once.
    from bot.main import prepare_database
    from bot.notices import deliver_notices

    await prepare_database(h.storage, h.settings)
    fixed = await h.storage.workspaces.get(ids[2])
    assert fixed is not None and fixed.timezone == "Europe/Moscow"
    before = len(h.session.calls)
    assert await deliver_notices(h.bot, h.storage, h.dp["i18n"]) == 1
    (notice,) = h.session.calls[before:]
    assert notice.method == "sendMessage" and notice.chat_id == chats[2]
    assert "«Mars/Olympus»" in (notice.visible_text or "")  # the workspace's default: Russian
    assert await deliver_notices(h.bot, h.storage, h.dp["i18n"]) == 0  # once
    assert "/report" not in "".join(errors(caplog))


# ----------------------------------------------------------------- 5. repeated presses


async def test_case05_repeated_presses_answer_quietly_and_act_once(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    await seed(h, CHAT)
    (question,) = await h.say("/delete_all", CHAT, language_code="en")
    yes = question.callback_data[0]
    mid = question.message_id or 0
    start = len(h.session.calls)
    await asyncio.gather(  # a double tap: both presses are handled at once
        h.press(CHAT, mid, yes, language_code="en"), h.press(CHAT, mid, yes, language_code="en")
    )
    await h.press(CHAT, mid, yes, language_code="en")  # and once more, later
    calls = h.session.calls[start:]
    edits = [c for c in calls if c.method == "editMessageText" and c.ok]
    assert [c.visible_text for c in edits] == [
        "All data of this chat is deleted. Send numbers again to start over."
    ]
    said = answers(calls)
    assert len(said) == 3  # every press answered, once
    assert [a["text"] for a in said].count("Deleted.") == 1
    assert all(not a.get("show_alert") for a in said), said  # no popup
    assert sum("Already done" in a["text"] for a in said) == 2
    assert errors(caplog) == []

    # The import-day question: two quick presses import once, the second is quiet.
    data = b"Reach,Likes\n100,5\n200,7\n"
    update = h.fake.document(
        CHAT, "nodates", "totals.csv", data=data, push=False, language_code="en"
    )
    asked = await h.feed(update)
    (ask,) = [c for c in asked if c.callback_data]
    yesterday = next(d for d in ask.callback_data if "yesterday" in d)
    start = len(h.session.calls)
    await asyncio.gather(
        h.press(CHAT, ask.message_id or 0, yesterday, language_code="en"),
        h.press(CHAT, ask.message_id or 0, yesterday, language_code="en"),
    )
    ws = await h.storage.workspaces.get_by_chat(CHAT)
    assert ws is not None
    assert await count(h, import_batches, workspace_id=ws.id) == 1
    said = answers(h.session.calls[start:])
    assert len(said) == 2 and all(not x.get("show_alert") for x in said), said
    assert errors(caplog) == []


# ----------------------------------------------------------------- 6. disk full / read-only


def _refuse_writes(storage: Storage, pragma: str) -> None:
    """New writer connections get `pragma` (the async engine's pool is emptied first)."""

    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute(pragma)
        cur.close()

    event.listen(storage.engine.sync_engine, "connect", on_connect)


STORAGE_FULL = (
    "The server can't store data right now (its disk is full or the database is read-only). "
    "Nothing was saved. Reports and KPI answers still work; please send the change again later."
)


async def test_case06_disk_full_or_read_only_says_so_once_in_the_log_and_reads_work(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    if h.storage.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only: the full disk is made with SQLite's max_page_count")
    ws_id = await seed(h, CHAT)
    await h.storage.engine.dispose()
    async with h.storage.engine.connect() as conn:
        pages = int((await conn.exec_driver_sql("PRAGMA page_count")).scalar_one())
    await h.storage.engine.dispose()
    _refuse_writes(h.storage, f"PRAGMA max_page_count = {pages}")  # the disk is full
    caplog.set_level(logging.INFO)
    rows = "\n".join(f"{TODAY - timedelta(days=400 + k)},{k},{k}" for k in range(3000))
    data = f"Date,Reach,Likes\n{rows}\n".encode()
    before = await count(h, daily_metrics, workspace_id=ws_id)
    full = await h.feed(
        h.fake.document(CHAT, "big", "big.csv", data=data, push=False, language_code="en")
    )
    assert texts(full)[-1] == STORAGE_FULL
    assert await count(h, daily_metrics, workspace_id=ws_id) == before

    await h.storage.engine.dispose()
    _refuse_writes(h.storage, "PRAGMA query_only = ON")  # a read-only database
    logged = await h.say("/log reach=5", CHAT, language_code="en")
    assert texts(logged) == [STORAGE_FULL]
    reach = "\n".join(texts(await h.say("/reach 7d", CHAT, language_code="en")))
    expected = sum(1000 + k for k in range(1, 7))  # seeded days inside the last 7
    assert reach.startswith(f"Reach · Nov 26 – Dec 2, 2026 · all accounts\n{expected:,}\n")
    critical = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    assert len(critical) == 1, [r.getMessage() for r in critical]  # once per minute
    assert "refuses writes" in critical[0].getMessage()
    assert not [r for r in caplog.records if r.levelno == logging.ERROR]


# ----------------------------------------------------------------- 8. /delete_all mid-import


async def test_case08_delete_all_while_an_import_saves_keeps_nothing_and_says_so(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws_id = await seed(h, CHAT)
    original = h.storage.metrics.apply_import

    async def wiped_meanwhile(workspace_id: int, **kwargs: Any) -> Any:
        await h.storage.workspaces.delete(workspace_id)  # /delete_all committed first
        return await original(workspace_id, **kwargs)

    monkeypatch.setattr(h.storage.metrics, "apply_import", wiped_meanwhile)
    data = f"Date,Reach\n{TODAY - timedelta(days=3)},100\n".encode()
    calls = await h.feed(
        h.fake.document(CHAT, "f8", "late.csv", data=data, push=False, language_code="en")
    )
    assert texts(calls) == [
        "This chat's data was deleted (/delete_all) while your change was being saved, "
        "so nothing of it was kept. Send it again to start over."
    ]
    assert await count(h, daily_metrics, workspace_id=ws_id) == 0
    assert await count(h, accounts, workspace_id=ws_id) == 0
    assert await count(h, import_batches, workspace_id=ws_id) == 0


# ----------------------------------------------------------------- 9. one date policy


@pytest.mark.parametrize(
    ("day", "row"),
    [("0001-01-01", 3), ("9999-12-31", 3), ("1999-12-31", 3), ("2026-12-03", 3)],
)
async def test_case09_days_outside_the_policy_are_refused_by_imports_and_log(
    h: Harness, day: str, row: int
) -> None:
    ws_id = await seed(h, CHAT)
    before = await count(h, daily_metrics, workspace_id=ws_id)
    data = f"Date,Reach\n2026-11-30,10\n{day},20\n2026-12-01,30\n".encode()
    reply = texts(
        await h.feed(
            h.fake.document(CHAT, f"d{day}", "d.csv", data=data, push=False, language_code="en")
        )
    )
    assert reply[-1].startswith(
        "Nothing was imported from “d.csv”.\nA row is dated before 2000-01-01 or after today"
    ), reply
    assert f"Where: row {row}, value “{day}”." in reply[-1]
    assert await count(h, daily_metrics, workspace_id=ws_id) == before
    logged = "\n".join(texts(await h.say(f"/log {day} reach=5", CHAT, language_code="en")))
    assert f"“{day}”" in logged and ("before 2000-01-01" in logged or "in the future" in logged)
    assert await count(h, daily_metrics, workspace_id=ws_id) == before
    asked = "\n".join(texts(await h.say(f"/reach {day}", CHAT, language_code="en")))
    assert asked and "Reach ·" not in asked  # a question about it is refused as well


# ----------------------------------------------------------------- 10. account names


@pytest.mark.parametrize(
    "name",
    ["vk:\u202ednarb", "<b>vk:x</b>", "=cmd", "+vk:brand", "vk:" + "a" * 297, "vk:" + "b" * 62],
)
async def test_case10_account_names_follow_one_rule_on_every_path(h: Harness, name: str) -> None:
    ws_id = await seed(h, CHAT)
    data = f"Date,Account,Reach\n2026-11-30,vk:brand,10\n2026-12-01,{name},20\n".encode()
    reply = texts(
        await h.feed(
            h.fake.document(CHAT, "acc", "acc.csv", data=data, push=False, language_code="en")
        )
    )
    assert reply[-1].startswith("Nothing was imported from “acc.csv”.\nA row names an account")
    assert "Where: row 3, value" in reply[-1]
    assert "\u202e" not in reply[-1]  # shown escaped, never reversing the text
    async with h.storage.engine.connect() as conn:
        names = set(
            (
                await conn.execute(select(accounts.c.name).where(accounts.c.workspace_id == ws_id))
            ).scalars()
        )
    assert names == {"main"}
    added = "\n".join(texts(await h.say(f"/account add {name}", CHAT, language_code="en")))
    assert "is not an account name" in added, added
    logged = "\n".join(texts(await h.say(f"/log {name} reach=5", CHAT, language_code="en")))
    assert "Saved" not in logged
    # A caption goes through the same rule: whatever it makes of the text, no name
    # outside the rule is created.
    await h.feed(
        h.fake.document(CHAT, "cap", "c.csv", caption=name, data=b"Date,Reach\n2026-11-30,1\n",
                        push=False, language_code="en")
    )  # fmt: skip
    async with h.storage.engine.connect() as conn:
        stored = set(
            (
                await conn.execute(select(accounts.c.name).where(accounts.c.workspace_id == ws_id))
            ).scalars()
        )
    assert all(len(n) <= 64 and "\u202e" not in n and n[0].isalpha() for n in stored), stored


# ----------------------------------------------------------------- 12. the same file twice


async def test_case12_the_same_file_twice_asks_before_importing_again(
    h: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    ws_id = await seed(h, CHAT)
    data = f"Date,Reach\n{TODAY - timedelta(days=2)},100\n{TODAY - timedelta(days=1)},200\n"
    first = texts(await h.feed(h.fake.document(CHAT, "same", "w.csv", data=data.encode(),
                                               push=False, language_code="en")))  # fmt: skip
    assert first[-1].startswith("Imported")
    batches = await count(h, import_batches, workspace_id=ws_id)
    again = await h.feed(
        h.fake.document(CHAT, "same", "w.csv", push=False, language_code="en")
    )  # same file
    (asked,) = [c for c in again if c.method == "sendMessage"]
    assert asked.visible_text == (
        "“w.csv” was already imported on Dec 2, 2026 12:00; nothing changed. Import it again? "
        "(Values of the same days are replaced, not added.)"
    )
    assert await count(h, import_batches, workspace_id=ws_id) == batches
    go = asked.callback_data[0]
    done = texts(await h.press(CHAT, asked.message_id or 0, go, language_code="en"))
    assert done[-1].startswith("Imported")
    assert await count(h, import_batches, workspace_id=ws_id) == batches + 1
    # /undo takes it back: the file is then new again.
    await h.say("/undo", CHAT, language_code="en")
    await h.say("/undo", CHAT, language_code="en")
    third = texts(
        await h.feed(h.fake.document(CHAT, "same", "w.csv", push=False, language_code="en"))
    )
    assert third[-1].startswith("Imported"), third
    assert not any(m in t for t in third for m in APOLOGY_MARKERS)


# ----------------------------------------------------------------- 7. AdminOnly


def test_case07_admin_only_is_declared_where_handlers_are_registered() -> None:
    from handlers import create_routers
    from handlers.permissions import AdminOnly

    guarded = {
        handler.callback.__name__
        for router in create_routers()
        for observer in (router.message, router.callback_query)
        for handler in observer.handlers
        if any(isinstance(f.callback, AdminOnly) for f in handler.filters or ())
    }
    writes = {
        "cmd_lang", "cmd_timezone", "cmd_margin", "cmd_delete_all", "on_delete_all",
        "cmd_account", "cmd_alert", "on_alert_button", "cmd_digest", "on_digest_button",
        "cmd_log", "cmd_add", "on_save", "cmd_undo", "on_document", "on_import_day",
        "on_import_again", "cmd_campaign", "cmd_goal", "on_goal_button", "cmd_currency",
    }  # fmt: skip
    assert writes <= guarded, writes - guarded


async def test_case07_anonymous_admins_pass_on_messages_and_buttons_members_do_not(
    h: Harness,
) -> None:
    from handlers.permissions import ANONYMOUS_ADMIN_ID

    h.fake.add_chat(GROUP, "supergroup", "Team")
    h.fake.set_chat_member(GROUP, 8301, "member")
    refused = texts(await h.say("/margin 35%", GROUP, user_id=8301, language_code="en"))
    assert refused == ["Only chat administrators can change this. Anyone can ask for KPIs."]
    update = h.fake.message(GROUP, "/margin 35%", user_id=ANONYMOUS_ADMIN_ID,
                            language_code="en", push=False)  # fmt: skip
    update["message"]["sender_chat"] = dict(h.fake.chats[GROUP])  # posted as the group
    assert texts(await h.feed(update)) == ["Margin set: 35%."]
    (question,) = await h.say("/digest", GROUP, user_id=8301, language_code="en")
    off = next(d for d in question.callback_data if ":off:" in d)
    member = await h.press(GROUP, question.message_id or 0, off, user_id=8301, language_code="en")
    assert [a["text"] for a in answers(member)] == ["Only chat administrators can do this."]
    anonymous = await h.press(
        GROUP, question.message_id or 0, off, user_id=ANONYMOUS_ADMIN_ID, language_code="en"
    )
    assert [a["text"] for a in answers(anonymous)] == ["Saved."]
    ws = await h.storage.workspaces.get_by_chat(GROUP)
    assert ws is not None and not ws.digest_enabled and ws.margin == 0.35
