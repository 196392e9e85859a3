"""Messages owed to a chat once, sent at start-up (storage `workspace_notices`).

Today one kind: the stored time zone was not in the pinned tzdata (a name that
loaded only from the host's zone files) and was replaced by the default.
"""

from __future__ import annotations

import html
import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from storage import Storage
from storage.runtime import TIMEZONE_REPLACED, Notice

log = logging.getLogger(__name__)


def notice_text(notice: Notice) -> str:
    if notice.kind == TIMEZONE_REPLACED:
        return _(
            "This chat's time zone “{old}” is not available on the server any more, so it is "
            "now {new}: reports, the digest and alerts count days in {new}. "
            "To choose another one: /timezone Asia/Almaty"
        ).format(
            old=html.escape(str(notice.details.get("old", ""))),
            new=html.escape(str(notice.details.get("new", ""))),
        )
    return ""


async def deliver_notices(bot: Bot, storage: Storage, i18n: I18n) -> int:
    """Send every pending notice once; returns how many were sent."""
    sent = 0
    for notice in await storage.runtime.pending_notices():
        workspace = await storage.workspaces.get(notice.workspace_id)
        locale = (workspace.language if workspace else None) or i18n.default_locale
        with i18n.context(), i18n.use_locale(locale):
            text = notice_text(notice)
        try:
            if text:
                await bot.send_message(notice.chat_id, text)
                sent += 1
        except TelegramForbiddenError:
            pass  # the chat removed the bot: nobody to tell
        except TelegramAPIError as exc:
            log.warning(
                "notice for workspace %s not sent (next start): %s", notice.workspace_id, exc
            )
            continue
        await storage.runtime.notice_done(notice.workspace_id, notice.kind)
    return sent
