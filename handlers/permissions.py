"""Who may change things: in groups only chat administrators (SPEC, "Chats and people")."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Chat, Message, User
from aiogram.utils.i18n import gettext as _

log = logging.getLogger(__name__)

_ADMIN_STATUSES = ("creator", "administrator")


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
    if chat.type == "private":
        return True
    if sender_chat is not None and sender_chat.id == chat.id:
        return True  # an anonymous administrator posts as the group itself
    if user is None:
        return False
    cached = cache.get(chat.id, user.id)
    if cached is not None:
        return cached
    try:
        member = await bot.get_chat_member(chat.id, user.id)
    except TelegramAPIError as exc:
        # Can't verify: refuse the change rather than allow it, and don't cache.
        log.warning("getChatMember failed for chat %s: %s", chat.id, exc)
        return False
    allowed = member.status in _ADMIN_STATUSES
    cache.put(chat.id, user.id, allowed)
    return allowed


async def require_admin(message: Message, bot: Bot, admins: AdminCache) -> bool:
    """True if the sender may change this chat's workspace; else replies with a refusal."""
    if await is_admin(bot, message.chat, message.from_user, admins, message.sender_chat):
        return True
    await message.reply(_("Only chat administrators can change this. Anyone can ask for KPIs."))
    return False


async def require_admin_callback(query: CallbackQuery, bot: Bot, admins: AdminCache) -> bool:
    message = query.message
    if message is None:
        return False
    if await is_admin(bot, message.chat, query.from_user, admins):
        return True
    await query.answer(_("Only chat administrators can do this."), show_alert=True)
    return False
