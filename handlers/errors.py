"""The last line of defence: log the failure, apologise to the user."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.types import CallbackQuery, ErrorEvent
from aiogram.utils.i18n import gettext as _

log = logging.getLogger(__name__)


async def on_error(event: ErrorEvent) -> bool:
    update = event.update
    if isinstance(event.exception, TelegramForbiddenError):
        # The chat blocked the bot or removed it: not our failure, and an apology
        # would be refused the same way. Telegram also sends my_chat_member for it.
        log.warning("update %s: the chat refused the reply: %s", update.update_id, event.exception)
        return True
    log.error(
        "update %s failed: %s: %s",
        update.update_id,
        type(event.exception).__name__,
        event.exception,
        exc_info=event.exception,
    )
    text = _("Sorry, something went wrong on our side. The error is logged; please try again.")
    try:
        if update.message is not None:
            await update.message.answer(text)
        elif update.callback_query is not None:
            await update.callback_query.answer(text[:200], show_alert=True)
    except TelegramAPIError as exc:
        log.warning("could not apologise for update %s: %s", update.update_id, exc)
    return True


def create_router() -> Router:
    router = Router(name="errors")
    router.errors.register(on_error)
    return router


async def on_stale_button(query: CallbackQuery) -> None:
    """A button no handler accepts (an old message, a deleted rule): answer it, or the
    client shows a spinner until Telegram gives up."""
    await query.answer(_("This button is out of date."))


def create_fallback_router() -> Router:
    """Registered last: catches what every feature router let through."""
    router = Router(name="fallback")
    router.callback_query.register(on_stale_button)
    return router
