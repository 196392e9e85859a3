"""Who may change things: in groups only chat administrators (SPEC, "Chats and people").

Permissions are declared where handlers are registered: `AdminOnly()` is the
last filter of every handler that writes, so each router's list of admin-only
actions is visible in its `create_router()`. A refusal is raised, not
returned: a filter that returns False lets the update fall through to the
next handler (the stale-button fallback would answer the press a second
time); the exception reaches the errors router, which answers it once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Chat, Message, Update, User

from storage import Storage

log = logging.getLogger(__name__)

_ADMIN_STATUSES = ("creator", "administrator")
# Telegram's stand-in user for an anonymous group administrator ("@GroupAnonymousBot"):
# only administrators can post anonymously, so a message or press from it is an admin's.
ANONYMOUS_ADMIN_ID = 1087968824


class NotAdmin(Exception):
    """The sender is not an administrator of the group (answered by handlers/errors.py)."""


class AdminCheckFailed(Exception):
    """Telegram did not answer getChatMember (after the retries): we can't tell."""


class AlreadyProcessed(Exception):
    """This update (same update_id) changed data before: Telegram redelivered it."""


class AdminCache:
    """getChatMember answers, trusted for `ttl` seconds per (chat, user)."""

    def __init__(self, ttl: float = 180.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[tuple[int, int], tuple[float, bool]] = {}

    def get(self, chat_id: int, user_id: int) -> bool | None:
        hit = self._entries.get((chat_id, user_id))
        if hit is None or self._clock() - hit[0] > self._ttl:
            return None
        return hit[1]

    def put(self, chat_id: int, user_id: int, is_admin: bool) -> None:
        if len(self._entries) > 50_000:  # bound memory in very busy deployments
            self._entries.clear()
        self._entries[(chat_id, user_id)] = (self._clock(), is_admin)

    def forget_chat(self, chat_id: int) -> None:
        for key in [k for k in self._entries if k[0] == chat_id]:
            del self._entries[key]


async def is_admin(
    bot: Bot, chat: Chat, user: User | None, cache: AdminCache, sender_chat: Chat | None = None
) -> bool:
    """May this sender change the chat's workspace? Raises AdminCheckFailed when
    Telegram does not answer the check: an admin is never told they are not one."""
    if chat.type == "private":
        return True
    if sender_chat is not None and sender_chat.id == chat.id:
        return True  # an anonymous administrator posts as the group itself
    if user is None:
        return False
    if user.id == ANONYMOUS_ADMIN_ID:
        return True
    cached = cache.get(chat.id, user.id)
    if cached is not None:
        return cached
    try:
        member = await bot.get_chat_member(chat.id, user.id)
    except TelegramAPIError as exc:
        # Can't verify: refuse the change, don't cache, and say why (never "not an admin").
        log.warning("getChatMember failed for chat %s: %s", chat.id, exc)
        raise AdminCheckFailed(str(exc)) from exc
    allowed = member.status in _ADMIN_STATUSES
    cache.put(chat.id, user.id, allowed)
    return allowed


class AdminOnly(Filter):
    """Passes chat administrators (and everyone in a private chat); raises NotAdmin or
    AdminCheckFailed otherwise. Register it after the filters that pick the handler.

    It marks the handlers that change data, so it also records the update as
    processed: an update Telegram delivers again (after a crash, before the
    offset was confirmed) raises AlreadyProcessed instead of writing twice.
    Reads are not recorded (no write per update): a redelivered read is answered again.
    """

    async def __call__(
        self,
        event: Message | CallbackQuery,
        bot: Bot,
        admins: AdminCache,
        storage: Storage,
        event_update: Update,
    ) -> bool:
        if not await self._allowed(event, bot, admins):
            raise NotAdmin
        if not await storage.runtime.claim_update(
            bot.id, event_update.update_id, datetime.now(UTC)
        ):
            raise AlreadyProcessed(event_update.update_id)
        return True

    async def _allowed(self, event: Message | CallbackQuery, bot: Bot, admins: AdminCache) -> bool:
        if isinstance(event, CallbackQuery):
            message = event.message
            if message is None:
                raise NotAdmin
            chat = message.chat
            user: User | None = event.from_user
            sender_chat = None
        else:
            chat, user, sender_chat = event.chat, event.from_user, event.sender_chat
        return await is_admin(bot, chat, user, admins, sender_chat)

    def __str__(self) -> str:
        return "AdminOnly()"
