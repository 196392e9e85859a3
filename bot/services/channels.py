"""The daily job of linked Telegram channels.

`record_channel_followers` runs at 20:50 UTC (23:50 Moscow, the default time zone:
the day's count is taken near its end; bot/app.py). For each linked account it
records getChatMemberCount as `followers` for today in the workspace's time zone;
a failing channel (bot removed, channel deleted) is logged and skipped, never
stopping the others. The channel's own updates are handled in handlers/channels.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from aiogram import Bot

from bot.services.events import DataChanged
from handlers.data_log import local_today
from storage import Storage

log = logging.getLogger(__name__)


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
