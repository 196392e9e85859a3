"""Issue #15's faults about processes and Telegram, over real HTTP against the real
`python -m bot` and the fake Bot API: a second process on the same database, 409
Conflict, flood control on getUpdates, getChatMember failing, an upload Telegram
delivers again after a crash, SIGTERM in the middle of a digest run."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, update

from storage import Storage
from storage.schema import import_batches, workspaces
from tests.fakeapi.server import FakeBotAPI
from tests.faults.conftest import LiveBot
from tests.faults.tools import last_days, make_digest_due, seed_days, seen, settle

pytestmark = pytest.mark.e2e

HELP_START = "KPIs (add a period and an account"
CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)


def bad_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if re.search(r" (ERROR|CRITICAL) |Traceback", ln)]


async def exited(bot: LiveBot, timeout: float = 30) -> int:  # noqa: ASYNC109
    assert bot.proc is not None
    code = await asyncio.wait_for(bot.proc.wait(), timeout)
    bot.proc = None
    return code


async def answers_help(api: FakeBotAPI, chat: int) -> None:
    api.message(chat, "/help", language_code="en")
    (call,) = await api.wait_for("sendMessage", chat_id=chat, timeout=20)
    assert HELP_START in (call.visible_text or "")


async def test_case02_one_polling_process_per_token_and_database(
    api: FakeBotAPI, live: LiveBot, tmp_path: Path, db: Storage
) -> None:
    await live.start(INSTANCE_HEARTBEAT_SECONDS="1")
    # The operator starts it again on the same database: the second one stops at once.
    workdir = tmp_path / "second"
    workdir.mkdir()
    second = LiveBot(api, workdir, live.db_url)
    await second.start(wait=False)
    try:
        assert await exited(second) == 2
    finally:  # never leave it running (the fixture only knows the first one)
        if second.proc is not None:
            await second.kill()
    (line,) = [ln for ln in second.stderr.splitlines() if "another bot process" in ln]
    assert re.fullmatch(
        rf"Cannot start: another bot process \(pid {live.pid} on \S+\) is running on this "
        r"database \(its heartbeat is \d+ s old\); run one process per bot token and database",
        line,
    ), line
    assert bad_lines(second.stderr) == []
    await answers_help(api, 52_001)  # the first one serves on

    # A crashed holder (SIGKILL, no clean-up) is taken over by the next start …
    await live.kill()
    await live.start()
    await answers_help(api, 52_002)
    await live.stop()
    # … and so is one on another host once its heartbeat is older than the stale limit.
    from storage.schema import instance_lock  # (new in #15: imported here, not at the top)

    async with db.engine.begin() as conn:
        await conn.execute(
            insert(instance_lock).values(
                bot_id=api.bot_id, holder="pid 4242 on elsewhere", heartbeat_at=datetime.now(UTC)
            )
        )
    await live.start(wait=False, INSTANCE_STALE_SECONDS="30")
    assert await exited(live) == 2
    assert "another bot process (pid 4242 on elsewhere) is running" in live.stderr
    async with db.engine.begin() as conn:
        await conn.execute(
            update(instance_lock).values(heartbeat_at=datetime.now(UTC) - timedelta(seconds=60))
        )
    await live.start(INSTANCE_STALE_SECONDS="30")
    await answers_help(api, 52_003)

    # Telegram's 409 (another process polls this token, maybe on another database).
    api.fail_next("getUpdates", status=409, retry_after=None, description=CONFLICT)
    api.message(52_004, "/help", language_code="en")  # ends the poll in flight
    assert await exited(live) == 3
    assert (
        "Stopped: another process is polling Telegram with this bot token (409 Conflict from "
        "getUpdates); stopping. Run one bot process per token."
    ) in live.stderr.splitlines()
    assert bad_lines(live.stderr) == [], bad_lines(live.stderr)
    async with db.engine.connect() as conn:  # it let go of the lock on the way out
        assert (await conn.execute(select(func.count()).select_from(instance_lock))).scalar() == 0


async def test_case07_a_failed_admin_check_says_so_and_never_calls_an_admin_a_member(
    api: FakeBotAPI, live: LiveBot, db: Storage
) -> None:
    group, admin = -100_520_001, 5201
    api.add_chat(group, "supergroup", "Team")
    api.set_chat_member(group, admin, "administrator")
    await live.start()
    api.fail_next("getChatMember", count=20, status=502, retry_after=None)
    api.message(group, "/timezone Asia/Tokyo", user_id=admin, language_code="en")
    (call,) = await api.wait_for("sendMessage", chat_id=group, timeout=30)
    assert call.visible_text == (
        "Telegram did not answer when I checked whether you are an administrator of this "
        "chat, so nothing was changed. Please try again in a minute."
    )
    checks = [c for c in api.calls if c.method == "getChatMember"]
    assert len(checks) == 4 and all(c.status == 502 for c in checks)  # 1 + 3 retries
    ws = await db.workspaces.get_by_chat(group)
    assert ws is not None and ws.timezone == "Europe/Moscow"
    api.clear_faults()
    api.message(group, "/timezone Asia/Tokyo", user_id=admin, language_code="en")
    await api.wait_for("sendMessage", chat_id=group, count=2, timeout=30)
    assert seen(api, group)[-1].visible_text == "Time zone set: Asia/Tokyo."


async def test_case11_polling_waits_retry_after_on_get_updates(
    api: FakeBotAPI, live: LiveBot
) -> None:
    await live.start()
    api.fail_next("getUpdates", status=429, retry_after=3)
    api.message(53_001, "/help", language_code="en")  # ends the poll in flight
    await api.wait_for("sendMessage", chat_id=53_001, timeout=20)
    api.message(53_002, "/help", language_code="en")
    await api.wait_for("sendMessage", chat_id=53_002, timeout=20)
    polls = [c for c in api.calls if c.method == "getUpdates"]
    (refused,) = [i for i, c in enumerate(polls) if c.status == 429]
    gap = polls[refused + 1].timestamp - polls[refused].timestamp
    assert gap >= 2.9, f"polled again {gap:.2f}s after 'retry after 3'"
    assert bad_lines(live.stderr) == [], bad_lines(live.stderr)


async def test_case12_a_redelivered_upload_is_processed_once_and_sigterm_is_clean(
    api: FakeBotAPI, live: LiveBot, db: Storage
) -> None:
    chat = 54_001
    await seed_days(db, chat, last_days(20))
    await make_digest_due(db, [chat])
    async with db.engine.begin() as conn:  # not due yet: the digest comes later
        await conn.execute(update(workspaces).values(digest_enabled=False))
    await live.start()
    day = (datetime.now(UTC) - timedelta(days=2)).date()
    data = f"Date,Reach\n{day},100\n".encode()
    upload = api.document(chat, "again", "week.csv", data=data, language_code="en")
    await api.wait_for("sendMessage", chat_id=chat, timeout=30)
    assert (seen(api, chat)[-1].visible_text or "").startswith("Imported")
    # A crash before Telegram learnt the offset: the same update comes again.
    await live.kill()
    await live.start()
    api.push_update(upload)
    await answers_help(api, 54_002)
    await settle(2)
    assert len(seen(api, chat)) == 1, [c.visible_text for c in seen(api, chat)]
    async with db.engine.connect() as conn:
        batches = (
            await conn.execute(
                select(func.count())
                .select_from(import_batches)
                .where(import_batches.c.source == "file:week.csv")
            )
        ).scalar()
    assert batches == 1

    # SIGTERM while a digest is on the wire: a clean stop, no ERROR lines.
    await live.stop()
    async with db.engine.begin() as conn:
        await conn.execute(update(workspaces).values(digest_enabled=True))
    api.slow("sendPhoto", 4.0)
    await live.start(DIGEST_TICK_SECONDS="1")
    for _ in range(300):  # the photo request has arrived (the fake holds its answer)
        if any(c.method == "sendPhoto" for c in api.calls):
            break
        await asyncio.sleep(0.1)
    assert any(c.method == "sendPhoto" for c in api.calls)
    assert await live.stop() == 0
    assert bad_lines(live.stderr) == [], bad_lines(live.stderr)
