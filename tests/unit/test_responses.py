"""bot/responses.py: aiogram's Response models survive garbage collection once kept."""

from __future__ import annotations

import asyncio
import gc

from aiogram.methods import SendMessage
from aiogram.methods.base import Response
from aiogram.types import Message

from bot import responses


def test_a_kept_model_is_the_one_aiogram_gets_after_a_collection() -> None:
    responses.keep_all()
    kept = responses._KEPT[SendMessage.__returning__]
    gc.collect()
    assert Response[Message] is kept
    assert {m.__returning__ for m in responses.METHODS} <= responses._KEPT.keys()


async def test_the_startup_hook_returns_at_once_and_builds_in_the_background() -> None:
    responses._KEPT.clear()
    await responses.keep_later()
    assert not responses._KEPT  # nothing built yet: start-up does not wait
    for _ in range(len(responses.METHODS) + 2):
        await asyncio.sleep(0)
    assert {m.__returning__ for m in responses.METHODS} <= responses._KEPT.keys()
