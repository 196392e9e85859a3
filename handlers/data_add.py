"""/add: numbers step by step with inline buttons (aiogram FSM, per chat and user).

Account (the existing ones, or "New" and type a name) → day (today,
yesterday, or type a date) → metrics: a button per common metric, type its
value, repeat; "Save" stores everything as one batch (one /undo takes it back),
"Cancel" is on every step. The keyboard lives in one message that is edited
as the flow goes on; questions that need typing are separate messages with
ForceReply, so they reach the bot in groups with privacy mode on.

Callback data carries account ids and metric names, never account names
(names may contain `:`, the callback-data separator): `add:acc:17`, well
under Telegram's 64 bytes.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.i18n import gettext as _

from bot.services.events import DataChanged
from handlers.data_import import ImportFlow
from handlers.data_log import format_day, format_metric, local_today, metric_label, read_typed_day
from handlers.filters import Is
from handlers.permissions import AdminOnly
from handlers.replies import current_language
from kpi.accounts import normalize_account
from kpi.metrics import METRICS, TYPED_COUNTERS, Unit
from kpi.parsing import parse_duration, parse_number
from storage import Storage
from storage.records import Workspace

log = logging.getLogger(__name__)

# The metrics offered as buttons, in this order (two per row).
ADD_METRICS = (
    *TYPED_COUNTERS,
    "followers",
    "new_followers",
    "unfollows",
    "mentions",
    "posts",
)
MAX_ACCOUNT_BUTTONS = 24


class AddFlow(StatesGroup):
    account = State()
    account_name = State()
    day = State()
    day_typed = State()
    metric = State()
    value = State()


class AddCb(CallbackData, prefix="add"):
    action: str  # acc, new, day, metric, save, cancel
    value: str = ""


def _button(text: str, action: str, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=AddCb(action=action, value=value).pack())


def _cancel_row() -> list[InlineKeyboardButton]:
    return [_button(_("Cancel"), "cancel")]


# ---------------------------------------------------------------- steps


async def cmd_add(
    message: Message,
    bot: Bot,
    storage: Storage,
    workspace: Workspace,
    state: FSMContext,
) -> None:
    await state.clear()
    accounts = await storage.workspaces.list_accounts(workspace.id)
    rows: list[list[InlineKeyboardButton]] = []
    row: list[InlineKeyboardButton] = []
    for acc in accounts[:MAX_ACCOUNT_BUTTONS]:
        row.append(_button(acc.name, "acc", str(acc.id)))
        if len(row) == 2:
            rows.append(row)
            row = []
    if row:
        rows.append(row)
    rows.append([_button(_("➕ New account"), "new")])
    rows.append(_cancel_row())
    sent = await message.answer(
        _("<b>Adding numbers.</b> Step 1 of 3: which account?"),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
    )
    await state.set_state(AddFlow.account)
    await state.update_data(panel=sent.message_id, values={})


async def on_account(
    query: CallbackQuery,
    callback_data: AddCb,
    bot: Bot,
    storage: Storage,
    workspace: Workspace,
    clock: Callable[[], datetime],
    state: FSMContext,
) -> None:
    if callback_data.action == "new":
        await state.set_state(AddFlow.account_name)
        await query.answer()
        await _ask(bot, query, _("Type the account name, e.g. vk:brand, ig:brand or site."))
        return
    accounts = await storage.workspaces.list_accounts(workspace.id)
    chosen = next((a for a in accounts if str(a.id) == callback_data.value), None)
    if chosen is None:
        await query.answer(_("This account no longer exists. Start again: /add"), show_alert=True)
        return
    await query.answer()
    await state.update_data(account=chosen.name, new_account=False)
    await _show_days(bot, query.message.chat.id if query.message else 0, state, workspace, clock)


async def on_account_name(
    message: Message,
    bot: Bot,
    storage: Storage,
    workspace: Workspace,
    clock: Callable[[], datetime],
    state: FSMContext,
) -> None:
    text = (message.text or "").strip()
    name = normalize_account(text)
    if name is None:
        await message.reply(
            _("“{value}” is not an account name. Use platform:handle, e.g. vk:brand.").format(
                value=html.escape(text[:64])
            ),
            reply_markup=ForceReply(selective=True),
        )
        return
    existing = await storage.workspaces.find_account(workspace.id, name)
    await state.update_data(account=name, new_account=existing is None)
    await _show_days(bot, message.chat.id, state, workspace, clock)


async def _show_days(
    bot: Bot,
    chat_id: int,
    state: FSMContext,
    workspace: Workspace,
    clock: Callable[[], datetime],
) -> None:
    lang = current_language()
    today = local_today(workspace, clock)
    yesterday = today - timedelta(days=1)
    data = await state.get_data()
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                _button(_("Today, {day}").format(day=format_day(today, lang)), "day", "today"),
                _button(
                    _("Yesterday, {day}").format(day=format_day(yesterday, lang)),
                    "day",
                    "yesterday",
                ),
            ],
            [_button(_("Type a date"), "day", "type")],
            _cancel_row(),
        ]
    )
    await state.set_state(AddFlow.day)
    await _panel(
        bot,
        chat_id,
        state,
        _("<b>Adding numbers</b> for {account}{new}. Step 2 of 3: which day?").format(
            account=html.escape(str(data["account"])), new=_new_mark(data)
        ),
        keyboard,
    )


def _new_mark(data: dict[str, Any]) -> str:
    return " " + _("(new account)") if data.get("new_account") else ""


async def on_day(
    query: CallbackQuery,
    callback_data: AddCb,
    bot: Bot,
    workspace: Workspace,
    clock: Callable[[], datetime],
    state: FSMContext,
) -> None:
    today = local_today(workspace, clock)
    await query.answer()
    if callback_data.value == "type":
        await state.set_state(AddFlow.day_typed)
        await _ask(bot, query, _("Type the date, e.g. 31.05.2024 or 2024-05-31."))
        return
    day = today if callback_data.value == "today" else today - timedelta(days=1)
    await state.update_data(day=day.isoformat())
    await _show_metrics(bot, query.message.chat.id if query.message else 0, state)


async def on_day_typed(
    message: Message,
    bot: Bot,
    workspace: Workspace,
    clock: Callable[[], datetime],
    state: FSMContext,
) -> None:
    day = await read_typed_day(message, workspace, clock)
    if day is None:
        return
    await state.update_data(day=day.isoformat())
    await _show_metrics(bot, message.chat.id, state)


async def _show_metrics(bot: Bot, chat_id: int, state: FSMContext, note: str = "") -> None:
    lang = current_language()
    data = await state.get_data()
    values: dict[str, float] = data.get("values", {})
    rows: list[list[InlineKeyboardButton]] = []
    row: list[InlineKeyboardButton] = []
    for name in ADD_METRICS:
        label = metric_label(name, lang)
        if name in values:
            label = "✓ " + label
        row.append(_button(label, "metric", name))
        if len(row) == 2:
            rows.append(row)
            row = []
    if row:
        rows.append(row)
    last = [_button(_("Cancel"), "cancel")]
    if values:
        last.insert(0, _button(_("💾 Save"), "save"))
    rows.append(last)
    day = date.fromisoformat(str(data["day"]))
    lines = [
        _("<b>Adding numbers</b> for {account}{new}, {day}. Step 3 of 3: pick a metric, "
          "type its value, repeat; then Save.").format(
            account=html.escape(str(data["account"])),
            new=_new_mark(data),
            day=format_day(day, lang),
        )
    ]  # fmt: skip
    if values:
        lines.append("")
        for name in ADD_METRICS:
            if name in values:
                lines.append(
                    f"• {html.escape(metric_label(name, lang))}: "
                    f"{format_metric(name, values[name], lang)}"
                )
    if note:
        lines += ["", note]
    await state.set_state(AddFlow.metric)
    await _panel(bot, chat_id, state, "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows))


async def on_metric(
    query: CallbackQuery, callback_data: AddCb, bot: Bot, state: FSMContext
) -> None:
    name = callback_data.value
    if name not in METRICS:
        await query.answer(_("Unknown button."), show_alert=True)
        return
    await query.answer()
    await state.update_data(metric=name)
    await state.set_state(AddFlow.value)
    lang = current_language()
    if METRICS[name].unit is Unit.SECONDS:
        hint = _("Type the value of “{metric}”, e.g. 1:30:00 or 5400 (seconds).")
    elif METRICS[name].unit is Unit.MONEY:
        hint = _("Type the value of “{metric}”, e.g. 15 000 or 1234,50.")
    else:
        hint = _("Type the value of “{metric}”, e.g. 12 000.")
    await _ask(bot, query, hint.format(metric=html.escape(metric_label(name, lang))))


async def on_value(message: Message, bot: Bot, state: FSMContext) -> None:
    data = await state.get_data()
    name = str(data.get("metric", ""))
    text = (message.text or "").strip()
    lang = current_language()
    label = html.escape(metric_label(name, lang))
    try:
        seconds = METRICS[name].unit is Unit.SECONDS
        value = parse_duration(text) if seconds else parse_number(text)
    except (ValueError, KeyError):
        await message.reply(
            _("“{value}” is not a number. Type the value of “{metric}” again, e.g. 12 000.").format(
                value=html.escape(text[:64]), metric=label
            ),
            reply_markup=ForceReply(selective=True),
        )
        return
    if value < 0:
        await message.reply(
            _("“{metric}” cannot be negative. Type the value again.").format(metric=label),
            reply_markup=ForceReply(selective=True),
        )
        return
    values = dict(data.get("values", {}))
    values[name] = value
    await state.update_data(values=values, metric=None)
    note = _("Got it: {metric} = {value}. Pick the next metric or press Save.").format(
        metric=label, value=format_metric(name, value, lang)
    )
    # A fresh panel under the user's answer: the old one may have scrolled away.
    await state.update_data(panel=None)
    await _show_metrics(bot, message.chat.id, state, note)


async def on_save(
    query: CallbackQuery,
    bot: Bot,
    storage: Storage,
    workspace: Workspace,
    state: FSMContext,
    data_changed: DataChanged,
) -> None:
    data = await state.get_data()
    values: dict[str, float] = data.get("values", {})
    if not values:
        await query.answer(_("Pick a metric and type its value first."), show_alert=True)
        return
    account = str(data["account"])
    day = date.fromisoformat(str(data["day"]))
    await state.clear()
    outcome = await storage.metrics.apply_import(
        workspace.id,
        source="/add",
        user_id=query.from_user.id,
        values={(account, day): values},
        summary={"kind": "add"},
    )
    await query.answer(_("Saved."))
    await data_changed.emit(bot, workspace, day, day)
    lang = current_language()
    lines = [
        _("Saved for {day}, {account}:").format(
            day=format_day(day, lang), account=html.escape(account)
        )
    ]
    if account in outcome.accounts_created:
        lines[0] += " " + _("(new account — created)")
    for name in ADD_METRICS:
        if name in values:
            label = html.escape(metric_label(name, lang))
            lines.append(f"• {label}: {format_metric(name, values[name], lang)}")
    if outcome.replaced:
        lines.append(_("Earlier values of that day were replaced."))
    lines.append(_("/undo takes this back."))
    message = query.message
    if message is not None:
        await bot.edit_message_text(
            "\n".join(lines), chat_id=message.chat.id, message_id=message.message_id
        )


async def on_cancel(query: CallbackQuery, bot: Bot, state: FSMContext) -> None:
    await state.clear()
    await query.answer(_("Cancelled."))
    if query.message is not None:
        await bot.edit_message_text(
            _("Cancelled, nothing was saved."),
            chat_id=query.message.chat.id,
            message_id=query.message.message_id,
        )


async def cmd_cancel(message: Message, state: FSMContext) -> None:
    """/cancel while /add or an upload's day question waits for typing."""
    await state.clear()
    await message.reply(_("Cancelled, nothing was saved."))


async def cmd_cancel_idle(message: Message) -> None:
    """/cancel with nothing in progress: say so rather than stay silent."""
    await message.reply(_("Nothing to cancel."))


async def on_stale(query: CallbackQuery) -> None:
    await query.answer(_("These buttons are no longer active. Start again: /add"), show_alert=True)


# ---------------------------------------------------------------- plumbing


async def _ask(bot: Bot, query: CallbackQuery, text: str) -> None:
    """A question that needs typing: a new message the client offers to reply to."""
    if query.message is None:
        return
    await bot.send_message(query.message.chat.id, text, reply_markup=ForceReply(selective=True))


async def _panel(
    bot: Bot, chat_id: int, state: FSMContext, text: str, keyboard: InlineKeyboardMarkup
) -> None:
    """Edit the flow's keyboard message, or send a new one when there is none."""
    data = await state.get_data()
    panel = data.get("panel")
    if panel is not None:
        try:
            await bot.edit_message_text(
                text, chat_id=chat_id, message_id=int(panel), reply_markup=keyboard
            )
            return
        except Exception as exc:  # deleted or too old to edit: send a new panel
            log.info("add panel %s could not be edited: %s", panel, exc)
    sent = await bot.send_message(chat_id, text, reply_markup=keyboard)
    await state.update_data(panel=sent.message_id)


def create_router() -> Router:
    router = Router(name="data_add")
    router.message.register(cmd_add, Command("add", ignore_case=True), AdminOnly())
    router.message.register(
        cmd_cancel,
        Command("cancel", ignore_case=True),
        StateFilter(*AddFlow.__states__, *ImportFlow.__states__),
    )
    router.message.register(cmd_cancel_idle, Command("cancel", ignore_case=True))
    text = Is(F.text & ~F.text.startswith("/"))
    router.message.register(on_account_name, StateFilter(AddFlow.account_name), text)
    router.message.register(on_day_typed, StateFilter(AddFlow.day_typed), text)
    router.message.register(on_value, StateFilter(AddFlow.value), text)
    router.callback_query.register(
        on_cancel, AddCb.filter(F.action == "cancel"), StateFilter(*AddFlow.__states__)
    )
    router.callback_query.register(
        on_account, AddCb.filter(F.action.in_({"acc", "new"})), StateFilter(AddFlow.account)
    )
    router.callback_query.register(
        on_day, AddCb.filter(F.action == "day"), StateFilter(AddFlow.day)
    )
    router.callback_query.register(
        on_metric, AddCb.filter(F.action == "metric"), StateFilter(AddFlow.metric, AddFlow.value)
    )
    router.callback_query.register(
        on_save,
        AddCb.filter(F.action == "save"),
        StateFilter(AddFlow.metric, AddFlow.value),
        AdminOnly(),
    )
    router.callback_query.register(on_stale, AddCb.filter())
    return router
