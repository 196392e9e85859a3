"""Data-changed notifications: imports, /log and /undo announce which days of a
workspace changed; alerts listen and re-evaluate just those weeks."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import date

from aiogram import Bot

from bot.services.delivery import after_this_update
from storage.records import Workspace

log = logging.getLogger(__name__)

Listener = Callable[[Bot, Workspace, date, date], Awaitable[None]]


class DataChanged:
    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    async def emit(self, bot: Bot, workspace: Workspace, first: date, last: date) -> None:
        """Tell every listener; one failing listener never breaks the caller's reply.

        Inside an update the listeners run once its handler is done, so what they send
        (an alert) follows the handler's own reply; elsewhere (a job) at once."""

        async def notify() -> None:
            await self._notify(bot, workspace, first, last)

        if not after_this_update(notify):
            await notify()

    async def _notify(self, bot: Bot, workspace: Workspace, first: date, last: date) -> None:
        for listener in self._listeners:
            try:
                await listener(bot, workspace, first, last)
            except Exception:
                log.exception(
                    "data-changed listener %s failed for workspace %s",
                    getattr(listener, "__qualname__", listener),
                    workspace.id,
                )
