"""Shared helpers of the proof suites (tests/faults, tests/fuzz, tests/isolation, tests/load).

Everything here is generic: commands come from `bot.texts.COMMANDS` and from the
routers that `handlers.create_routers()` really registers, so a feature module
that appears later is covered without editing these suites.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from aiogram.filters import Command
from sqlalchemy import select, update

from bot.app import create_bot, create_dispatcher
from bot.config import Settings
from bot.texts import COMMANDS
from handlers import create_routers
from storage import Storage
from storage.runtime import BOOKKEEPING_TABLES
from storage.schema import metadata, workspaces
from tests.conftest import SMM_DATA, TEST_TOKEN
from tests.dispatcher.conftest import Harness
from tests.fakeapi.core import Call
from tests.fakeapi.recording import RecordingSession
from tests.selfmade import POSTS_WITHOUT_DATES_CSV, views_csv

GROUP = -100_900_001
ADMIN = 7001
MEMBER = 7002

# Methods that put something in front of the user.
__all__ = ["POSTS_WITHOUT_DATES_CSV", "views_csv"]  # re-exported for the suites

REPLY_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendMediaGroup",
        "editMessageText",
        "editMessageCaption",
        "editMessageReplyMarkup",
        "answerCallbackQuery",
    }
)

# A valid, state-changing example for every write command we know of. Commands that
# are not registered (yet) are left out automatically by `write_examples()`.
WRITE_EXAMPLES: tuple[tuple[str, str], ...] = (
    ("log", "reach=1200 likes=34"),
    ("add", ""),
    ("undo", ""),
    ("account", "add vk:newbrand"),
    ("account", "rename main vk:renamed"),
    ("account", "delete vk:brand"),
    ("lang", "en"),
    ("timezone", "Asia/Almaty"),
    ("margin", "35%"),
    ("digest", "off"),
    ("digest", "fri 18:00"),
    ("alert", "bounce > 60%"),
    ("clients", "link"),
    ("clients", "kpis reach roi"),
    ("agency", "leave"),
    ("brand", "name Acme Agency"),
    ("delete_all", ""),
)


# ------------------------------------------------------------------ registry


def registered_commands() -> set[str]:
    """Every command name with a registered message handler (all routers)."""
    names: set[str] = set()
    for router in create_routers():
        for handler in router.message.handlers:
            for flt in handler.filters or ():
                cb = flt.callback
                if isinstance(cb, Command):
                    for c in cb.commands:
                        if isinstance(c, str):
                            names.add(c.lower())
    return names


def menu_commands() -> list[str]:
    """The command registry (menu and /help), as the suites iterate it."""
    return [c.command for c in COMMANDS]


def live_commands() -> list[str]:
    """Commands of the registry that are really handled now."""
    registered = registered_commands() | {"start"}
    return [c for c in menu_commands() if c in registered]


def write_examples() -> list[tuple[str, str]]:
    registered = registered_commands()
    return [(c, a) for c, a in WRITE_EXAMPLES if c in registered]


def read_commands() -> list[str]:
    """Registry commands that only read (KPIs, charts, help…)."""
    writes = {c for c, _ in WRITE_EXAMPLES}
    return [c for c in live_commands() if c not in writes]


# ------------------------------------------------------------------ database


Snapshot = dict[str, list[tuple[Any, ...]]]


async def db_snapshot(storage: Storage, *, skip: Iterable[str] = ()) -> Snapshot:
    """Every row of every table, sorted: equal snapshots = nothing changed. The process's
    own bookkeeping (the instance lock, update ids seen) is not user data: left out."""
    out: Snapshot = {}
    skipped = set(skip) | set(BOOKKEEPING_TABLES)
    async with storage.engine.connect() as conn:
        for table in metadata.sorted_tables:
            if table.name in skipped:
                continue
            rows = (await conn.execute(select(table))).all()
            out[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return out


def diff(before: Snapshot, after: Snapshot) -> dict[str, str]:
    """Table -> short description of what changed (empty when equal)."""
    out: dict[str, str] = {}
    for name in sorted(set(before) | set(after)):
        b, a = before.get(name, []), after.get(name, [])
        if b != a:
            added = [r for r in a if r not in b]
            removed = [r for r in b if r not in a]
            out[name] = f"+{len(added)} -{len(removed)}: +{added[:2]!r:.300} -{removed[:2]!r:.300}"
    return out


async def row_counts(storage: Storage) -> dict[str, int]:
    snap = await db_snapshot(storage)
    return {k: len(v) for k, v in snap.items()}


# ------------------------------------------------------------------ harness


def make_settings(db_url: str) -> Settings:
    return Settings(
        bot_token=TEST_TOKEN,  # type: ignore[arg-type]
        database_url=db_url,
        bot_api_url="http://127.0.0.1:9",
        _env_file=None,  # type: ignore[call-arg]
    )


@contextlib.asynccontextmanager
async def open_harness(db_url: str) -> AsyncIterator[Harness]:
    storage = await Storage.open(db_url)
    settings = make_settings(db_url)
    session = RecordingSession()
    bot = create_bot(settings, session=session)
    dp = create_dispatcher(storage, settings)
    try:
        yield Harness(dp, bot, session, storage, settings)
    finally:
        await bot.session.close()
        await storage.close()


def replies(calls: list[Call], chat_id: int | None = None) -> list[Call]:
    """Successful calls the user sees (messages, edits, callback answers)."""
    return [
        c
        for c in calls
        if c.ok and c.method in REPLY_METHODS and (chat_id is None or c.chat_id == chat_id)
    ]


def texts(calls: list[Call]) -> str:
    return "\n".join(c.visible_text or "" for c in calls if c.visible_text)


async def upload_supported(h: Harness) -> bool:
    """Does any router import a CSV sent in a private chat? (probe with a small file)"""
    chat = 990_000_001
    calls = await h.feed(
        h.fake.document(chat, "probe-file", "views.csv", data=views_csv(3), push=False)
    )
    return bool(replies(calls, chat))


def real_files() -> list[Path]:
    """The real files of ../shared/data/smm: only for tests marked shared_data."""
    return sorted(p for p in SMM_DATA.iterdir() if p.suffix in (".csv", ".xlsx", ".json"))


@dataclass
class ErrorLogs:
    """Log records at ERROR or above since the last `take()`."""

    handler: logging.Handler
    seen: int = 0

    def take(self) -> list[logging.LogRecord]:
        records: list[logging.LogRecord] = getattr(self.handler, "records", [])
        new = [r for r in records[self.seen :] if r.levelno >= logging.ERROR]
        self.seen = len(records)
        return new


def error_lines(records: list[logging.LogRecord]) -> str:
    return "\n".join(f"{r.name}: {r.getMessage()}" for r in records)[:3000]


TOKEN = TEST_TOKEN


# ------------------------------------------------------------------ live (HTTP) helpers

HELP_START = "KPIs (add a period and an account"
APOLOGY = "Sorry, something went wrong"


def seen(api: Any, chat_id: int) -> list[Call]:
    """Successful user-visible calls in a chat (FakeBotAPI or RecordingSession)."""
    return [c for c in api.sent(chat_id=chat_id) if c.method in REPLY_METHODS]


async def settle(seconds: float = 1.0) -> None:
    """Give a late duplicate the time to show up before counting."""
    await asyncio.sleep(seconds)


def last_days(n: int) -> list[date]:
    today = datetime.now(UTC).date()
    return [today - timedelta(days=n - i) for i in range(n)]


async def seed_days(storage: Storage, chat_id: int, days: list[date], *, base: float = 1000) -> int:
    kind = (
        "private" if chat_id > 0 else ("supergroup" if str(chat_id).startswith("-100") else "group")
    )
    ws, _ = await storage.workspaces.ensure(chat_id, kind, f"Team {chat_id}", "Europe/Moscow")
    values = {
        ("main", d): {"reach": base + i, "impressions": 2 * base + i, "likes": 40.0 + i}
        for i, d in enumerate(days)
    }
    await storage.metrics.apply_import(ws.id, source="seed", user_id=None, values=values)
    return ws.id


async def make_digest_due(storage: Storage, chats: Iterable[int]) -> None:
    """Digest on Monday 00:00 UTC (always passed this week), workspace created long ago."""
    async with storage.engine.begin() as conn:
        await conn.execute(
            update(workspaces)
            .where(workspaces.c.chat_id.in_(list(chats)))
            .values(
                created_at=datetime(2020, 1, 1, tzinfo=UTC),
                timezone="UTC",
                digest_enabled=True,
                digest_weekday=0,
                digest_time="00:00",
                # This week's slot, already passed: what the tick reads (storage/digests.py).
                next_digest_at=_this_monday(),
            )
        )


def _this_monday() -> datetime:
    today = datetime.now(UTC).date()
    return datetime.combine(today - timedelta(days=today.weekday()), time(0, 0), UTC)


async def help_answered_once(api: Any, chats: list[int], timeout: float = 20) -> None:  # noqa: ASYNC109
    for chat in chats:
        await api.wait_for("sendMessage", chat_id=chat, timeout=timeout)
    await settle()
    for chat in chats:
        shown = seen(api, chat)
        assert len(shown) == 1, (chat, [c.visible_text for c in shown])
        assert HELP_START in (shown[0].visible_text or ""), shown[0].visible_text
