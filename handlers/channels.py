"""Telegram channels: follower counts recorded automatically.

`/account add tg:@channel` (handlers/accounts.py) calls `link_channel`: getChat
resolves @channel to its id, getChatMember tells whether the bot is an
administrator there (only then may it read the member count of a channel);
the id is stored on the account and today's count is recorded at once.

`record_channel_followers` is the daily job (bot/app.py, 20:50 UTC = 23:50
Moscow, the default time zone: the day's count is taken near its end). For
each linked account it records getChatMemberCount as `followers` for today
in the workspace's time zone; a failing channel (bot removed, channel
deleted) is logged and skipped, never stopping the others.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from datetime import datetime

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.utils.i18n import gettext as _

from handlers.data_log import local_today
from handlers.events import DataChanged
from handlers.replies import current_language
from kpi.numbers import format_number
from storage import Storage
from storage.records import Workspace

log = logging.getLogger(__name__)

_ADMIN = ("administrator", "creator")


def _how_to_admin(handle: str, bot_username: str) -> str:
    return _(
        "To count its followers every day, make me an administrator of @{channel}: "
        "channel → Manage channel → Administrators → Add administrator → @{bot} "
        "(no rights need to be switched on). Then send /account add tg:{channel} again."
    ).format(channel=html.escape(handle), bot=html.escape(bot_username))


async def link_channel(
    bot: Bot,
    storage: Storage,
    workspace: Workspace,
    account_name: str,
    clock: Callable[[], datetime],
) -> str:
    """Link a `tg:` account to its channel; returns what to tell the user."""
    handle = account_name.split(":", 1)[1].lstrip("@") if ":" in account_name else ""
    me = await bot.me()
    username = me.username or "bot"
    if not handle:
        return _("Name the channel to follow its followers: /account add tg:yourchannel")
    try:
        chat = await bot.get_chat(f"@{handle}")
    except TelegramAPIError as exc:
        log.info("getChat @%s failed: %s", handle, exc)
        return "\n".join(
            (
                _("I can't find the public channel @{channel}.").format(
                    channel=html.escape(handle)
                ),
                _how_to_admin(handle, username),
            )
        )
    try:
        member = await bot.get_chat_member(chat.id, bot.id)
    except TelegramAPIError as exc:
        log.info("getChatMember in %s failed: %s", chat.id, exc)
        return _how_to_admin(handle, username)
    if member.status not in _ADMIN:
        return _how_to_admin(handle, username)
    await storage.workspaces.set_channel(workspace.id, account_name, chat.id)
    lines = [
        _("I'm an administrator of @{channel}: I'll record its followers every day.").format(
            channel=html.escape(handle)
        )
    ]
    try:
        count = await bot.get_chat_member_count(chat.id)
    except TelegramAPIError as exc:
        log.info("getChatMemberCount in %s failed: %s", chat.id, exc)
        return lines[0]
    account = await storage.workspaces.find_account(workspace.id, account_name)
    if account is not None:
        today = local_today(workspace, clock)
        await storage.metrics.record_gauge(workspace.id, account.id, today, "followers", count)
        lines.append(
            _("Followers today: {count}.").format(count=format_number(count, current_language()))
        )
    return "\n".join(lines)


async def record_channel_followers(
    bot: Bot,
    storage: Storage,
    clock: Callable[[], datetime],
    data_changed: DataChanged | None = None,
) -> int:
    """The daily job body: returns how many channels were recorded."""
    recorded = 0
    for workspace, account in await storage.workspaces.channel_accounts():
        if account.channel_chat_id is None:
            continue
        try:
            count = await bot.get_chat_member_count(account.channel_chat_id)
            today = local_today(workspace, clock)
            await storage.metrics.record_gauge(workspace.id, account.id, today, "followers", count)
        except Exception:
            log.exception(
                "followers of channel %s (workspace %s, account %s) not recorded",
                account.channel_chat_id,
                workspace.id,
                account.name,
            )
            continue
        recorded += 1
        if data_changed is not None:
            await data_changed.emit(bot, workspace, today, today)
    log.info("channel followers recorded for %s accounts", recorded)
    return recorded
