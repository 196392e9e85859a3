"""A seeded dispatcher-level harness for fuzzing: a private chat with data and two
accounts, and a group where user ADMIN is an administrator and MEMBER is not."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from tests.dispatcher.conftest import Harness
from tests.faults.tools import ADMIN, GROUP, MEMBER, last_days, open_harness, seed_days

PRIVATE = 1001


@pytest.fixture
async def fz(db_url: str, caplog: pytest.LogCaptureFixture) -> AsyncIterator[Harness]:
    caplog.set_level(logging.WARNING, logger="aiogram")
    caplog.set_level(logging.INFO)
    async with open_harness(db_url) as h:
        await seed_days(h.storage, PRIVATE, last_days(40))
        await seed_days(h.storage, GROUP, last_days(40), base=3000)
        h.fake.set_chat_member(GROUP, ADMIN, "administrator")
        h.fake.set_chat_member(GROUP, MEMBER, "member")
        await h.say("/account add vk:brand", chat_id=PRIVATE, language_code="en")
        await h.say("/start", chat_id=GROUP, user_id=ADMIN, language_code="en")
        yield h
