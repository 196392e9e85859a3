"""The last line of defence: log the failure, tell the user what happened.

Some failures are not bugs and get their own words instead of the apology:
a refused or failed admin check (raised by the AdminOnly filter), Telegram's
"message is not modified" (a second press of a button that already did its
work), a database that cannot write (disk full, read-only: retrying can't help,
reads still work), and a workspace deleted while a write for it was on its way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from aiogram import Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramForbiddenError
from aiogram.types import CallbackQuery, ErrorEvent, Update
from aiogram.utils.i18n import gettext as _

from handlers.permissions import AdminCheckFailed, AlreadyProcessed, NotAdmin
from storage import WorkspaceGone, cannot_write

log = logging.getLogger(__name__)

NOT_MODIFIED = "message is not modified"
CRITICAL_EVERY_S = 60.0


class OncePer:
    """True at most once per `interval` seconds (a CRITICAL line per minute, not per update)."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = interval
        self._clock = clock
        self._last: float | None = None

    def __call__(self) -> bool:
        now = self._clock()
        if self._last is not None and now - self._last < self._interval:
            return False
        self._last = now
        return True


async def _tell(update: Update, text: str, *, alert: bool = True) -> None:
    try:
        if update.message is not None:
            await update.message.reply(text)
        elif update.callback_query is not None:
            await update.callback_query.answer(text[:200], show_alert=alert)
    except TelegramAPIError as exc:
        # After "not modified" the press was usually answered already: nothing lost.
        level = logging.WARNING if alert else logging.INFO
        log.log(level, "could not answer update %s: %s", update.update_id, exc)


def _storage_full_text() -> str:
    return _(
        "The server can't store data right now (its disk is full or the database is "
        "read-only). Nothing was saved. Reports and KPI answers still work; please send "
        "the change again later."
    )


class ErrorHandler:
    def __init__(self) -> None:
        self.critical_allowed = OncePer(CRITICAL_EVERY_S)

    async def __call__(self, event: ErrorEvent) -> bool:
        update, exc = event.update, event.exception
        if isinstance(exc, TelegramForbiddenError):
            # The chat blocked the bot or removed it: not our failure, and an apology
            # would be refused the same way. Telegram also sends my_chat_member for it.
            log.warning("update %s: the chat refused the reply: %s", update.update_id, exc)
            return True
        if isinstance(exc, NotAdmin):
            if update.callback_query is not None:
                await _tell(update, _("Only chat administrators can do this."))
            else:
                await _tell(
                    update, _("Only chat administrators can change this. Anyone can ask for KPIs.")
                )
            return True
        if isinstance(exc, AlreadyProcessed):
            log.info("update %s was delivered again; processed once already", update.update_id)
            return True
        if isinstance(exc, AdminCheckFailed):
            log.warning("update %s: the admin check got no answer: %s", update.update_id, exc)
            await _tell(
                update,
                _(
                    "Telegram did not answer when I checked whether you are an administrator "
                    "of this chat, so nothing was changed. Please try again in a minute."
                ),
            )
            return True
        if isinstance(exc, TelegramBadRequest) and NOT_MODIFIED in str(exc).lower():
            # The message already shows this: a repeated press. Quietly done.
            log.info("update %s: %s (a repeated press)", update.update_id, exc)
            if update.callback_query is not None:
                await _tell(update, _("Already done."), alert=False)
            return True
        if isinstance(exc, WorkspaceGone):
            log.info("update %s: workspace %s was deleted meanwhile", update.update_id, exc)
            await _tell(
                update,
                _(
                    "This chat's data was deleted (/delete_all) while your change was being "
                    "saved, so nothing of it was kept. Send it again to start over."
                ),
            )
            return True
        if cannot_write(exc):
            if self.critical_allowed():
                log.critical(
                    "the database refuses writes (disk full or read-only): %s; "
                    "writes fail until this is fixed, reads keep working",
                    str(exc).splitlines()[0][:300],
                )
            await _tell(update, _storage_full_text())
            return True
        log.error(
            "update %s failed: %s: %s",
            update.update_id,
            type(exc).__name__,
            exc,
            exc_info=exc,
        )
        await _tell(
            update,
            _("Sorry, something went wrong on our side. The error is logged; please try again."),
        )
        return True


def create_router() -> Router:
    router = Router(name="errors")
    handler = ErrorHandler()

    # A coroutine function: aiogram would run a callable object in a worker thread.
    async def on_error(event: ErrorEvent) -> bool:
        return await handler(event)

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
