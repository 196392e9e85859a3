"""Agencies: a client never sees another client of the same agency, nor the agency's own
data; the agency sees each client only under that client's name. Generic over
`handlers.agency.CLIENT_COMMANDS` (every command `/client` may run) and the registry's
read commands, so a command added later is covered too."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from handlers.agency import CLIENT_COMMANDS
from tests.dispatcher.conftest import Harness
from tests.faults.tools import db_snapshot, diff, open_harness, read_commands, replies

AGENCY, X, Y = 4001, 4002, 4003  # private chats: each user owns (administers) their own
SECRET_Y = 876_543  # Y's reach on one day: must never show up outside Y and its agency
SECRET_AGENCY = 765_432
CODE = re.compile(r"\b([A-HJ-NP-Z2-9]{5}-[A-HJ-NP-Z2-9]{5})\b")


def digits(text: str) -> str:
    return re.sub(r"[\s\u00a0\u202f,.']", "", text)


def shown(calls: list) -> str:  # type: ignore[type-arg]
    parts = []
    for call in calls:
        parts.append(call.visible_text or "")
        for part in call.files.values():
            parts.append(part.data.decode("latin-1"))
    return digits("\n".join(parts))


@pytest.fixture
async def linked(db_url: str) -> AsyncIterator[Harness]:
    async with open_harness(db_url) as h:
        yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
        for chat, reach in ((AGENCY, SECRET_AGENCY), (X, 1200), (Y, SECRET_Y)):
            await h.say("/start", chat_id=chat, language_code="en")
            log = f"/log {yesterday} reach={reach} likes=10"
            await h.say(log, chat_id=chat, language_code="en")
        for client in (X, Y):
            text = "\n".join(
                c.visible_text or "" for c in await h.say("/clients link", chat_id=AGENCY)
            )
            code = CODE.search(text)
            assert code, text
            await h.say(f"/agency {code[1]}", chat_id=client, language_code="en")
        yield h


async def test_a_client_asking_about_another_client_gets_nothing(linked: Harness) -> None:
    h = linked
    names = [c.name for c in await h.storage.agency.clients((await _ws(h, AGENCY)).id)]
    assert len(names) == 2
    before = await db_snapshot(h.storage)
    for command in CLIENT_COMMANDS:
        for name in names:
            calls = await h.say(f"/client {name} {command} 30d", chat_id=X, language_code="en")
            assert replies(calls, X), command
            text = shown(calls)
            assert str(SECRET_Y) not in text and str(SECRET_AGENCY) not in text, command
    for command in read_commands():
        calls = await h.say(f"/{command} 30d", chat_id=X, language_code="en")
        text = shown(calls)
        assert str(SECRET_Y) not in text and str(SECRET_AGENCY) not in text, command
    assert not diff(before, await db_snapshot(h.storage))


async def test_the_agency_sees_each_client_under_its_own_name_only(linked: Harness) -> None:
    h = linked
    clients = await h.storage.agency.clients((await _ws(h, AGENCY)).id)
    by_chat = {c.workspace.chat_id: c.name for c in clients}
    for command in ("report", "reach", "chart reach"):
        calls = await h.say(f"/client {by_chat[X]} {command} 30d", chat_id=AGENCY)
        assert str(SECRET_Y) not in shown(calls), command
        assert str(SECRET_AGENCY) not in shown(calls), command
        calls = await h.say(f"/client {by_chat[Y]} {command} 30d", chat_id=AGENCY)
        if command != "chart reach":
            assert str(SECRET_Y) in shown(calls), command
    # Every answer went to the agency's chat, none to a client's.
    assert not [c for c in h.session.sent(chat_id=X) if "Report" in (c.visible_text or "")]


async def _ws(h: Harness, chat: int):  # type: ignore[no-untyped-def]
    found = await h.storage.workspaces.get_by_chat(chat)
    assert found is not None
    return found
