"""/mappings: the file readings this chat confirmed, and a button to forget each.

A reading is remembered when the user presses Import on a preview: files with
the same headers are then read the same way without asking.
"""

from __future__ import annotations

import html
import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from handlers.data_log import format_day, metric_label
from handlers.filters import ButtonInt
from handlers.permissions import AdminOnly
from handlers.replies import current_language
from kpi.importing import LAYOUT_CHOICE
from storage import Storage
from storage.mappings import ImportMapping
from storage.records import Workspace

log = logging.getLogger(__name__)

SHOWN_HEADERS = 6


class ForgetMapping(CallbackData, prefix="mapdel"):
    mapping_id: ButtonInt


def _describe(m: ImportMapping, lang: str) -> str:
    headers = ", ".join(f"“{html.escape(h)}”" for h in m.headers[:SHOWN_HEADERS])
    if len(m.headers) > SHOWN_HEADERS:
        headers += " …"
    if m.overrides:
        changes = "; ".join(
            _("read as {layout}").format(layout=html.escape(metric))
            if i == LAYOUT_CHOICE
            else f"“{html.escape(m.headers[i] if 0 <= i < len(m.headers) else str(i))}” → "
            + (html.escape(metric_label(metric, lang)) if metric else _("ignored"))
            for i, metric in sorted(m.overrides.items())
        )
    else:
        changes = _("as I proposed")
    return _("{headers} — {changes} (since {day})").format(
        headers=headers, changes=changes, day=format_day(m.created_at.date(), lang)
    )


async def mappings_reply(
    storage: Storage, workspace: Workspace
) -> tuple[str, InlineKeyboardMarkup | None]:
    lang = current_language()
    found = await storage.mappings.list_mappings(workspace.id)
    if not found:
        return (
            _(
                "No remembered file readings. When I ask how to read a file and you press "
                "Import, I remember it for files with the same columns."
            ),
            None,
        )
    lines = [_("<b>Remembered file readings</b> (files with these columns import at once):")]
    buttons = []
    for n, m in enumerate(found, start=1):
        lines.append(f"{n}. {_describe(m, lang)}")
        buttons.append(
            InlineKeyboardButton(
                text=_("Forget {n}").format(n=n),
                callback_data=ForgetMapping(mapping_id=m.id).pack(),
            )
        )
    rows = [buttons[i : i + 4] for i in range(0, len(buttons), 4)]
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


async def cmd_mappings(message: Message, storage: Storage, workspace: Workspace) -> None:
    text, markup = await mappings_reply(storage, workspace)
    await message.answer(text, reply_markup=markup)


async def on_forget(
    query: CallbackQuery,
    callback_data: ForgetMapping,
    bot: Bot,
    storage: Storage,
    workspace: Workspace,
) -> None:
    forgotten = await storage.mappings.forget_mapping(workspace.id, callback_data.mapping_id)
    await query.answer(_("Forgotten.") if forgotten else _("Already forgotten."))
    text, markup = await mappings_reply(storage, workspace)
    if query.message is None:
        return
    try:
        await bot.edit_message_text(
            text, chat_id=query.message.chat.id, message_id=query.message.message_id,
            reply_markup=markup,
        )  # fmt: skip
    except TelegramBadRequest as exc:
        # The press is answered above; a list that is unchanged, too old or gone
        # simply stays as it is (a repeated or forged press).
        log.info("the /mappings list was not refreshed: %s", exc)


def create_router() -> Router:
    router = Router(name="mappings")
    router.message.register(cmd_mappings, Command("mappings", ignore_case=True))
    router.callback_query.register(on_forget, ForgetMapping.filter(), AdminOnly())
    return router


__all__ = ["ForgetMapping", "create_router"]
