"""aiogram's `Response[...]` models, built once and kept for the life of the process.

aiogram reads every Bot API answer with `Response[method.__returning__]`, a
pydantic generic model. pydantic keeps such models in a weak cache, and a
model class lives in reference cycles, so each collection of the oldest
generation frees them and the next answer builds the model again: ~8 ms of
schema work, 13 times in 300 `/report`s (issue #16). Holding a reference to
the models of the methods the bot sends keeps them built.

`keep_later` (a startup hook) builds them in the background a model at a
time, after the first `getUpdates` is on its way, so start-up does not wait.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiogram.methods import (
    AnswerCallbackQuery,
    CopyMessage,
    DeleteMessage,
    EditMessageReplyMarkup,
    EditMessageText,
    GetChat,
    GetChatAdministrators,
    GetChatMember,
    GetChatMemberCount,
    GetFile,
    GetMe,
    GetUpdates,
    SendChatAction,
    SendDocument,
    SendMediaGroup,
    SendMessage,
    SendPhoto,
    SetMyCommands,
)
from aiogram.methods.base import Response, TelegramMethod

# What the bot sends: answers, edits, dashboards, files, admin checks, polling.
METHODS: tuple[type[TelegramMethod[Any]], ...] = (
    SendMessage, EditMessageText, AnswerCallbackQuery, SendPhoto, SendDocument,
    SendMediaGroup, EditMessageReplyMarkup, DeleteMessage, SendChatAction, CopyMessage,
    GetChatMember, GetChatAdministrators, GetChatMemberCount, GetChat, GetFile, GetMe,
    GetUpdates, SetMyCommands,
)  # fmt: skip

_KEPT: dict[Any, Any] = {}
_TASKS: set[asyncio.Task[None]] = set()


def keep_one(method: type[TelegramMethod[Any]]) -> None:
    returning = method.__returning__
    if returning not in _KEPT:
        _KEPT[returning] = Response[returning]  # type: ignore[valid-type]


def keep_all() -> None:
    """Build and keep every model now (benches, tests: a bot that has been up a while)."""
    for method in METHODS:
        keep_one(method)


async def _keep_in_steps() -> None:
    for method in METHODS:
        await asyncio.sleep(0)  # one model per loop turn: no update waits for all of them
        keep_one(method)


async def keep_later() -> None:
    """A startup hook: start building the models in the background and return."""
    task = asyncio.get_running_loop().create_task(_keep_in_steps())
    _TASKS.add(task)
    task.add_done_callback(_TASKS.discard)
