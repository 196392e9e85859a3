"""/settings, /lang, /timezone, /margin, /currency and /delete_all."""

from __future__ import annotations

import html
import logging

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from babel import Locale

from bot.i18n import LANGUAGES
from handlers.filters import ButtonInt, born
from handlers.permissions import AdminOnly
from handlers.replies import current_language
from kpi.numbers import currency_code, currency_sign, default_currency, format_percent
from kpi.parsing import parse_number
from kpi.timezones import canonical_timezone
from storage import Storage
from storage.records import Workspace

log = logging.getLogger(__name__)

TIMEZONE_EXAMPLES = (
    "Europe/Moscow",
    "Europe/Kaliningrad",
    "Asia/Yekaterinburg",
    "Asia/Novosibirsk",
    "Asia/Almaty",
    "Europe/Minsk",
    "UTC",
)


# Short words people type for a language besides its code and its names (user input,
# so they name languages: the one allowed place, see tests/unit/test_text_layer.py).
LANGUAGE_ALIASES: dict[str, str | None] = {"рус": "ru", "eng": "en", "auto": None, "авто": None}


def language_name(code: str) -> str:
    """A language in its own words, from Babel: `русский`, `English`."""
    return Locale.parse(code).get_display_name(code) or code


def language_choices() -> dict[str, str | None]:
    """What `/lang` accepts: each language's code, its own name and its English name."""
    choices: dict[str, str | None] = dict(LANGUAGE_ALIASES)
    for code in LANGUAGES:
        loc = Locale.parse(code)
        for word in (code, loc.get_display_name(code), loc.get_display_name("en")):
            if word:
                choices[word.lower()] = code
    return choices


class DeleteAll(CallbackData, prefix="delall"):
    workspace_id: ButtonInt
    confirm: bool
    # When the workspace was created (µs): SQLite reuses a deleted row's id, so an old
    # "Yes" pressed again must not match the fresh workspace a later message created.
    born: ButtonInt = 0


def _born(workspace: Workspace) -> int:
    return born(workspace.created_at)


def _lang_name(code: str | None) -> str:
    """A language by its own name (Babel's data): `русский`, `English`."""
    if code is None:
        return _("as each user's Telegram")
    return language_name(code)


async def cmd_settings(message: Message, workspace: Workspace) -> None:
    lang = workspace.language
    digest = (
        _("on, {day} {time}").format(
            day=_weekday(workspace.digest_weekday), time=workspace.digest_time
        )
        if workspace.digest_enabled
        else _("off")
    )
    await message.answer(
        "\n".join(
            (
                _("<b>Settings</b>"),
                _("Language: {lang} — change: /lang ru, /lang en, /lang auto").format(
                    lang=_lang_name(lang)
                ),
                _("Time zone: {tz} — change: /timezone Asia/Almaty").format(
                    tz=html.escape(workspace.timezone)
                ),
                _("Margin for ROI: {margin} — change: /margin 35%").format(
                    margin=format_percent(workspace.margin * 100, current_language())
                ),
                _("Currency: {currency} — change: /currency USD").format(
                    currency=_currency_name(
                        workspace.currency or default_currency(current_language()),
                        current_language(),
                    )
                ),
                _("Weekly digest: {digest} — change: /digest").format(digest=digest),
            )
        )
    )


def _weekday(n: int) -> str:
    names = (_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun"))
    return names[n % 7]


async def cmd_lang(message: Message, command: CommandObject, storage: Storage) -> None:
    arg = (command.args or "").strip().lower()
    choices = language_choices()
    if arg not in choices:
        await message.reply(
            _(
                "Choose a language: /lang ru, /lang en or /lang auto "
                "(each user's Telegram language)."
            )
        )
        return
    lang = choices[arg]
    await storage.workspaces.set_language(message.chat.id, lang)
    if lang is None:
        await message.answer(_("The bot now speaks each user's Telegram language."))
        return
    # Said in the language just chosen.
    with get_i18n().use_locale(lang):
        await message.answer(_("Bot language: {name}.").format(name=language_name(lang)))


async def cmd_timezone(
    message: Message, command: CommandObject, storage: Storage, workspace: Workspace
) -> None:
    arg = (command.args or "").strip()
    if not arg:
        await message.answer(
            _("Time zone: {tz}. To change it: /timezone Asia/Almaty").format(
                tz=html.escape(workspace.timezone)
            )
        )
        return
    tz = canonical_timezone(arg)
    if tz is None:
        await message.reply(
            _("Unknown time zone “{value}”. Use an IANA name, for example: {examples}.").format(
                value=html.escape(arg[:64]), examples=", ".join(TIMEZONE_EXAMPLES)
            )
        )
        return
    await storage.workspaces.set_timezone(message.chat.id, tz)
    text = _("Time zone set: {tz}.").format(tz=tz)
    if tz.casefold() != arg.casefold():
        text += " " + _("({name} is another name of this zone.)").format(name=html.escape(arg))
    await message.answer(text)


async def cmd_margin(
    message: Message, command: CommandObject, storage: Storage, workspace: Workspace
) -> None:
    arg = (command.args or "").strip()
    lang = current_language()
    try:
        value = parse_number(arg)
    except ValueError:
        value = None
    if value is None or not 0 < value <= 100:
        await message.reply(
            _(
                "Give the profit margin in percent, from 0 to 100: /margin 35%. "
                "ROI then counts revenue × margin. Now: {margin}."
            ).format(margin=format_percent(workspace.margin * 100, lang))
        )
        return
    await storage.workspaces.set_margin(message.chat.id, value / 100)
    await message.answer(_("Margin set: {margin}.").format(margin=format_percent(value, lang)))


def _currency_name(code: str, lang: str) -> str:
    return f"{code} ({currency_sign(code, lang)})"


async def cmd_currency(
    message: Message,
    command: CommandObject,
    storage: Storage,
    workspace: Workspace,
) -> None:
    """`/currency USD`: the currency of every money value (CAC, spend, revenue, ROI's sums).
    Stored numbers are not converted: the setting says what they are in."""
    arg = (command.args or "").strip()
    lang = current_language()
    auto = arg.lower() in ("auto", "авто")
    code = None if auto else currency_code(arg)
    if not auto and code is None:
        now = workspace.currency or default_currency(lang)
        text = _(
            "Money is counted in {currency}. Change: /currency USD (or RUB, EUR, KZT, "
            "UAH, BYN, GBP …); /currency auto follows the language (RUB in Russian, "
            "USD in English). Numbers already stored are not converted."
        ).format(currency=_currency_name(now, lang))
        if arg:
            text = _("Unknown currency “{value}”.").format(value=html.escape(arg[:16])) + " " + text
        await message.reply(text)
        return
    await storage.workspaces.set_currency(message.chat.id, code)
    shown = code or default_currency(lang)
    await message.answer(
        _(
            "Currency: {currency}. Every sum of money is shown in it; numbers already "
            "stored are not converted."
        ).format(currency=_currency_name(shown, lang))
    )


async def cmd_delete_all(message: Message, workspace: Workspace) -> None:
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("Yes, delete everything"),
                    callback_data=DeleteAll(
                        workspace_id=workspace.id, confirm=True, born=_born(workspace)
                    ).pack(),
                ),
                InlineKeyboardButton(
                    text=_("Cancel"),
                    callback_data=DeleteAll(
                        workspace_id=workspace.id, confirm=False, born=_born(workspace)
                    ).pack(),
                ),
            ]
        ]
    )
    await message.answer(
        _("Delete all accounts, numbers, alerts and settings of this chat? This cannot be undone."),
        reply_markup=keyboard,
    )


async def on_delete_all(
    query: CallbackQuery,
    callback_data: DeleteAll,
    storage: Storage,
    bot: Bot,
    workspace: Workspace | None,
) -> None:
    reborn = workspace is not None and callback_data.born not in (0, _born(workspace))
    if workspace is None or callback_data.workspace_id != workspace.id or reborn:
        gone = reborn or await storage.workspaces.get(callback_data.workspace_id) is None
        if callback_data.confirm and gone:
            # A second press of "Yes" (or a press racing the first): already deleted.
            await query.answer(_("Already done: this chat's data is deleted."))
            return
        await query.answer(_("This button is not for this chat."), show_alert=True)
        return
    if not callback_data.confirm:
        await query.answer(_("Cancelled."))
        if query.message is not None:
            await bot.edit_message_text(
                _("Nothing was deleted."),
                chat_id=workspace.chat_id,
                message_id=query.message.message_id,
            )
        return
    if not await storage.workspaces.delete(workspace.id):
        # A second press racing the first: the first one deleted it and says so.
        await query.answer(_("Already done: this chat's data is deleted."))
        return
    log.info("workspace %s (chat %s) deleted on request", workspace.id, workspace.chat_id)
    await query.answer(_("Deleted."))
    if query.message is not None:
        await bot.edit_message_text(
            _("All data of this chat is deleted. Send numbers again to start over."),
            chat_id=workspace.chat_id,
            message_id=query.message.message_id,
        )


def create_router() -> Router:
    router = Router(name="settings")
    router.message.register(cmd_settings, Command("settings"))
    # Changes are for chat administrators (AdminOnly); without arguments these only show.
    router.message.register(cmd_lang, Command("lang", "language", magic=F.args), AdminOnly())
    router.message.register(cmd_lang, Command("lang", "language"))
    router.message.register(cmd_timezone, Command("timezone", "tz", magic=F.args), AdminOnly())
    router.message.register(cmd_timezone, Command("timezone", "tz"))
    router.message.register(cmd_margin, Command("margin", magic=F.args), AdminOnly())
    router.message.register(cmd_margin, Command("margin"))
    router.message.register(cmd_currency, Command("currency", magic=F.args), AdminOnly())
    router.message.register(cmd_currency, Command("currency"))
    router.message.register(cmd_delete_all, Command("delete_all"), AdminOnly())
    router.callback_query.register(on_delete_all, DeleteAll.filter(F.workspace_id > 0), AdminOnly())
    return router
