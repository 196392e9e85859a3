"""The digest job against the fake Bot API over real HTTP: flood limits, 429s, blocked
and migrated chats, and a restart in the middle of a run."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from sqlalchemy import update

from bot.i18n import create_i18n
from bot.services.delivery import Outbox, PacedSender
from bot.services.digest import DigestCache, DigestJob, digest_tick
from bot.services.rendering import ChartRenderer
from storage import Storage
from storage.schema import workspaces
from tests.fakeapi.server import FakeBotAPI

pytestmark = pytest.mark.e2e

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # Monday 11:00 in Moscow: week 48 is due
WEEK = [date(2026, 11, 23) + timedelta(days=i) for i in range(7)]


@pytest.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(api.base_url))
    session.middleware(Outbox())  # a fresh process: a fresh send budget
    b = Bot(api.token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    yield b
    await b.session.close()


@pytest.fixture
async def renderer() -> AsyncIterator[ChartRenderer]:
    pool = ChartRenderer.threads(2)
    yield pool
    pool.close()


async def add_workspace(storage: Storage, chat_id: int, *, data: bool = True) -> int:
    kind = "group" if chat_id < 0 else "private"
    ws, _ = await storage.workspaces.ensure(chat_id, kind, f"Team {chat_id}", "Europe/Moscow")
    if data:
        values = {
            ("main", d): {"reach": 1000.0 + abs(chat_id) + i, "likes": 40.0 + i}
            for i, d in enumerate(WEEK)
        }
        await storage.metrics.apply_import(ws.id, source="seed", user_id=None, values=values)
    return ws.id


async def backdate(storage: Storage) -> None:
    async with storage.engine.begin() as conn:
        await conn.execute(update(workspaces).values(created_at=datetime(2026, 1, 1, tzinfo=UTC)))
    await storage.digests.reschedule_all(datetime(2026, 1, 1, tzinfo=UTC))


def job(bot: Bot, storage: Storage, renderer: ChartRenderer) -> DigestJob:
    return DigestJob(
        bot=bot,
        storage=storage,
        renderer=renderer,
        sender=PacedSender(),
        i18n=create_i18n("ru"),
        cache=DigestCache(),
        clock=lambda: NOW,
    )


def photos_per_chat(api: FakeBotAPI) -> Counter[int | str | None]:
    return Counter(c.chat_id for c in api.sent("sendPhoto"))


async def test_every_active_workspace_with_data_gets_exactly_one_digest(
    api: FakeBotAPI, bot: Bot, storage: Storage, renderer: ChartRenderer
) -> None:
    api.rate_limit(per_second=30)
    good = [*range(1, 21), *range(-20, 0)]
    for chat in good:
        await add_workspace(storage, chat)
    blocked = [31, -31]
    for chat in blocked:
        await add_workspace(storage, chat)
        api.block_chat(chat)
    await add_workspace(storage, 41, data=False)
    await add_workspace(storage, 42)
    await storage.workspaces.set_active(42, False)
    await add_workspace(storage, 43)
    await storage.workspaces.set_digest(43, enabled=False)
    # A group that became a supergroup since: the digest follows it.
    await add_workspace(storage, -51)
    api.migrate(-51, -1000051, push=False)
    await backdate(storage)
    api.fail_next("sendPhoto", count=3, status=429, retry_after=1)
    api.fail_next("sendPhoto", count=1, status=502, chat_id=7)

    report = await digest_tick(job(bot, storage, renderer))

    per_chat = photos_per_chat(api)
    assert per_chat == Counter({**dict.fromkeys(good, 1), -1000051: 1})
    assert (report.sent, report.blocked, report.migrated, report.failed) == (41, 2, 1, 0)
    for chat in blocked:
        ws = await storage.workspaces.get_by_chat(chat)
        assert ws is not None and not ws.active
    migrated = await storage.workspaces.get_by_chat(-1000051)
    assert migrated is not None and migrated.active
    statuses = Counter(e.status for e in await storage.digests.entries())
    assert statuses == Counter(sent=41, skipped=2)
    photo = api.sent("sendPhoto", chat_id=5)[0]
    assert photo.params["disable_notification"] is True
    assert photo.files["photo"].data.startswith(b"\x89PNG")
    assert (photo.visible_text or "").startswith(
        "Team 5 · дайджест недели\nНеделя 48, 23–29 нояб. 2026\nДанные на 29 нояб. 2026\n"
    )
    # Within Telegram's limits: no request was refused by the flood control except
    # the injected 429s, and the run goes again without sending anything.
    assert api.flood_hits == []
    refused = Counter(c.status for c in api.errors if c.method == "sendPhoto")
    assert refused == Counter({429: 3, 502: 1, 403: 2, 400: 1})  # 400: the old group id
    assert (await digest_tick(job(bot, storage, renderer))).sent == 0
    assert photos_per_chat(api) == per_chat
    assert api.violations == []


async def test_restart_in_the_middle_of_a_run_sends_the_rest_once(
    api: FakeBotAPI, bot: Bot, storage: Storage, renderer: ChartRenderer
) -> None:
    api.rate_limit(per_second=30)
    chats = [*range(100, 130), *range(-130, -100)]
    for chat in chats:
        await add_workspace(storage, chat)
    await backdate(storage)

    first = asyncio.create_task(digest_tick(job(bot, storage, renderer)))
    await api.wait_for("sendPhoto", count=20, timeout=20)
    first.cancel()  # SIGTERM: the scheduler's job task is cancelled
    with contextlib.suppress(asyncio.CancelledError):
        await first
    sent_before = sum(photos_per_chat(api).values())
    assert 20 <= sent_before < len(chats)
    # A graceful stop leaves no digest half-done: every log row is final.
    entries = await storage.digests.entries()
    assert {e.status for e in entries} == {"sent"} and len(entries) == sent_before

    report = await digest_tick(job(bot, storage, renderer))

    assert report.sent == len(chats) - sent_before
    assert photos_per_chat(api) == Counter(dict.fromkeys(chats, 1))
    assert Counter(e.status for e in await storage.digests.entries()) == Counter(sent=len(chats))
    assert api.violations == []


async def test_a_claimed_digest_is_never_sent_twice(
    api: FakeBotAPI, bot: Bot, storage: Storage, renderer: ChartRenderer
) -> None:
    """A hard kill between sendPhoto and "sent" leaves a claimed row: at-most-once."""
    ws_id = await add_workspace(storage, 301)
    await add_workspace(storage, 302)
    await backdate(storage)
    assert await storage.digests.claim(ws_id, "2026-W48", NOW - timedelta(minutes=1))
    report = await digest_tick(job(bot, storage, renderer))
    assert report.sent == 1
    assert photos_per_chat(api) == Counter({302: 1})
