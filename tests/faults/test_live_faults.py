"""Faults over real HTTP against ONE `python -m bot` process (LOG_LEVEL=DEBUG) shared by
this module: 429 storms, 5xx and dropped connections, slow answers, getFile failing in
the middle of an import, a chat that blocked the bot, a group migrating to a supergroup.
Each scenario uses its own chats. For each: nothing lost, nothing duplicated (replies are
counted per update, one update per chat), the database consistent, the user told.
The last test reads the DEBUG log of the whole run: the token never appears.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import func, select

from storage import Storage
from storage.schema import daily_metrics, import_batches, workspaces
from tests.conftest import TEST_TOKEN
from tests.faults.conftest import Shared
from tests.faults.tools import (
    APOLOGY,
    help_answered_once,
    last_days,
    make_digest_due,
    open_harness,
    seed_days,
    seen,
    settle,
    upload_supported,
    views_csv,
)

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]


@pytest_asyncio.fixture(loop_scope="module")
async def env(shared: Shared) -> AsyncIterator[Shared]:
    shared.api.clear_faults()
    yield shared
    shared.api.clear_faults()
    assert shared.api.violations == [], shared.api.violations
    assert shared.live.proc is not None and shared.live.proc.returncode is None, "bot died"


async def test_replies_survive_429_5xx_and_dropped_connections_and_arrive_once(
    env: Shared,
) -> None:
    api = env.api
    await seed_days(env.db, 41_004, last_days(20))
    api.fail_next("sendMessage", count=2, status=429, retry_after=1, chat_id=41_001)
    api.fail_next("sendMessage", count=1, status=502, retry_after=None, chat_id=41_002)
    api.drop_next("sendMessage", count=1, chat_id=41_003)
    api.fail_next("sendPhoto", count=2, status=429, retry_after=1, chat_id=41_004)
    for chat in (41_001, 41_002, 41_003):
        api.message(chat, "/help", language_code="en")
    api.message(41_004, "/chart reach 30d", language_code="en")
    try:
        await help_answered_once(api, [41_001, 41_002, 41_003], timeout=6)
        await api.wait_for("sendPhoto", chat_id=41_004, timeout=6)
    finally:  # whatever happens, the bot keeps serving
        api.message(41_005, "/help", language_code="en")
        await help_answered_once(api, [41_005])
    await settle()
    assert len(api.sent("sendPhoto", chat_id=41_004)) == 1
    assert not any(APOLOGY in (c.visible_text or "") for c in seen(api, 41_004))
    refused = [c for c in api.sent("sendMessage", include_failed=True) if c.status == 429]
    first_ok = min(c.timestamp for c in api.sent("sendMessage", chat_id=41_001))
    assert first_ok - min(c.timestamp for c in refused) >= 0.95  # retry_after was honoured


async def test_get_updates_5xx_and_dropped_connections_keep_polling_no_double_processing(
    env: Shared,
) -> None:
    api = env.api
    api.fail_next("getUpdates", count=2, status=502, retry_after=None)
    api.drop_next("getUpdates", count=1)
    polls_before = len([c for c in api.calls if c.method == "getUpdates"])
    api.message(43_000, "/help", language_code="en")  # delivered by the poll in flight
    await api.wait_for("sendMessage", chat_id=43_000)
    chats = [43_001, 43_002, 43_003, 43_004]
    for chat in chats:
        api.message(chat, "/help", language_code="en")
    await help_answered_once(api, [43_000, *chats], timeout=30)
    polls = [c for c in api.calls if c.method == "getUpdates"][polls_before:]
    assert len([c for c in polls if c.status == 502]) == 2  # the faults really happened…
    assert len([c for c in polls if c.status == 0]) >= 1  # (the drop, and the poll in flight)
    assert api.updates == []  # … and every update was confirmed


async def test_slow_api_answers_everyone_once_and_chats_do_not_wait_for_each_other(
    env: Shared,
) -> None:
    api = env.api
    chats = [45_001, 45_002, 45_003, 45_004]
    for chat in chats:
        api.slow("sendMessage", 2.0, count=1, chat_id=chat)
    loop = asyncio.get_running_loop()
    started = loop.time()
    for chat in chats:
        api.message(chat, "/help", language_code="en")
    for chat in chats:
        await api.wait_for("sendMessage", chat_id=chat, timeout=20)
    elapsed = loop.time() - started
    assert elapsed < 2.0 * len(chats) - 1, f"replies were serialised: {elapsed:.1f}s"
    await help_answered_once(api, chats)


async def test_get_file_failure_mid_import_tells_the_user_and_stores_nothing(
    env: Shared, tmp_path: Path
) -> None:
    async with open_harness(f"sqlite+aiosqlite:///{tmp_path / 'probe.sqlite3'}") as h:
        if not await upload_supported(h):
            pytest.skip("no router imports documents yet (file upload handler not registered)")
    api, db = env.api, env.db
    data = views_csv()
    chat = 46_001

    async def batches() -> int:
        ws = await db.workspaces.get_by_chat(chat)
        if ws is None:
            return 0
        async with db.engine.connect() as conn:
            q = select(func.count()).select_from(import_batches)
            return int(
                (await conn.execute(q.where(import_batches.c.workspace_id == ws.id))).scalar_one()
            )

    # More failures in a row than the bot's request retries (bot/retry.py) absorb.
    for n, fault in enumerate(("500", "drop")):
        if fault == "500":
            api.fail_next("getFile", count=4, status=500, retry_after=None)
        else:
            api.drop_next("getFile", count=4)
        api.document(chat, f"views-{n}", "website_daily_views.csv", data=data, language_code="en")
        await api.wait_for(lambda c: c.method in ("sendMessage", "editMessageText"),
                           chat_id=chat, count=n + 1, timeout=20)  # fmt: skip
    await settle()
    told = seen(api, chat)
    assert len(told) == 2, [c.visible_text for c in told]  # each upload got one answer
    assert await batches() == 0  # nothing stored
    # The same file, sent again without a fault, imports.
    api.document(chat, "views-ok", "website_daily_views.csv", data=data, language_code="en")
    await api.wait_for(
        lambda c: (c.visible_text or "").startswith("Imported"), chat_id=chat, timeout=30
    )
    assert await batches() == 1
    print("getFile failure answers:", [c.visible_text for c in told])


async def test_blocked_chat_is_marked_inactive_and_others_are_served(env: Shared) -> None:
    api, db = env.api, env.db
    blocked, fine = 48_001, 48_002
    for chat in (blocked, fine):
        await seed_days(db, chat, last_days(21))
    api.block_chat(blocked)
    # The user of the blocked chat still talks to the bot (the reply is refused with
    # 403): the bot must not stall, crash or retry forever.
    api.message(blocked, "/help", language_code="en")
    api.message(48_003, "/help", language_code="en")
    await help_answered_once(api, [48_003])
    await make_digest_due(db, [blocked, fine])  # the next tick (1 s) sends both
    await api.wait_for("sendPhoto", chat_id=fine, timeout=30)
    for _ in range(100):
        if await active(db, blocked) is False:
            break
        await asyncio.sleep(0.2)
    else:
        raise AssertionError("the blocked chat's workspace was never marked inactive")
    assert await active(db, fine) is True
    await asyncio.sleep(3)  # three more ticks: an inactive chat is not retried
    photo_attempts = [c for c in api.calls if c.chat_id == blocked and c.method == "sendPhoto"]
    assert [c.status for c in photo_attempts] == [403]
    assert len(api.sent("sendPhoto", chat_id=fine)) == 1


async def active(db: Storage, chat_id: int) -> bool | None:
    """workspaces.active of a chat, read with SQL (the repository caches rows in-process,
    and the bot writes from another process)."""
    async with db.engine.connect() as conn:
        q = select(workspaces.c.active).where(workspaces.c.chat_id == chat_id)
        value = (await conn.execute(q)).scalar()
    return None if value is None else bool(value)


async def wait_moved(db: Storage, old: int, new: int) -> None:
    for _ in range(100):
        if await active(db, old) is None and await active(db, new) is not None:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the workspace of {old} never moved to {new}")


async def test_group_migrated_to_supergroup_keeps_its_data(env: Shared) -> None:
    api, db = env.api, env.db
    old, new = -49_001, -100_049_001
    await seed_days(db, old, last_days(10), base=5000)
    api.set_chat_member(old, 1001, "administrator")
    api.set_chat_member(new, 1001, "administrator")
    api.message(old, "/account add vk:moved", language_code="en", chat_type="group")
    await api.wait_for("sendMessage", chat_id=old)
    api.migrate(old, new)
    await wait_moved(db, old, new)
    api.message(new, "/account list", language_code="en", chat_type="supergroup")
    (listing,) = await api.wait_for("sendMessage", chat_id=new, timeout=15)
    assert "vk:moved" in (listing.visible_text or "")
    api.message(new, "/reach 30d", language_code="en", chat_type="supergroup")
    answers = await api.wait_for("sendMessage", chat_id=new, count=2, timeout=15)
    assert "50,045" in (answers[1].visible_text or ""), answers[1].visible_text  # Σ reach
    async with db.engine.connect() as conn:
        chats = set((await conn.execute(select(workspaces.c.chat_id))).scalars().all())
        ws_id = (
            await conn.execute(select(workspaces.c.id).where(workspaces.c.chat_id == new))
        ).scalar_one()
        rows = (
            await conn.execute(
                select(func.count())
                .select_from(daily_metrics)
                .where(daily_metrics.c.workspace_id == ws_id)
            )
        ).scalar_one()
    assert new in chats and old not in chats
    assert rows == 10


async def test_a_message_in_the_same_batch_as_the_migration_does_not_lose_the_data(
    env: Shared,
) -> None:
    """Telegram may deliver the migration service messages and the first message in the
    supergroup in one getUpdates batch, handled concurrently: whatever the first answer
    says, afterwards the supergroup has the group's data (no stale empty workspace)."""
    api, db = env.api, env.db
    old, new = -49_002, -100_049_002
    await seed_days(db, old, last_days(10), base=7000)
    api.set_chat_member(new, 1001, "administrator")
    api.migrate(old, new)
    api.message(new, "/reach 30d", language_code="en", chat_type="supergroup")
    await api.wait_for("sendMessage", chat_id=new, timeout=15)
    await wait_moved(db, old, new)
    await settle(0.5)
    api.message(new, "/reach 30d", language_code="en", chat_type="supergroup")
    answers = await api.wait_for("sendMessage", chat_id=new, count=2, timeout=15)
    assert "70,045" in (answers[1].visible_text or ""), answers[1].visible_text


async def test_token_never_in_debug_logs_or_messages(env: Shared) -> None:
    """Runs last in this module: the whole DEBUG log of every scenario above."""
    api = env.api
    api.fail_next("sendMessage", count=1, status=500, retry_after=None, chat_id=49_500)
    api.message(49_500, "/help", language_code="en")  # an error with a traceback in the log
    await api.wait_for("sendMessage", chat_id=49_500, timeout=15, include_failed=True)
    await settle()
    log = env.live.stderr
    assert "DEBUG" in log  # it really was a DEBUG run
    secret = TEST_TOKEN.split(":", 1)[1]
    assert secret not in log
    assert TEST_TOKEN not in log
    for call in api.calls:
        assert secret not in repr(call.params), call.method
