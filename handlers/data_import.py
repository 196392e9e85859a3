"""File uploads (CSV, TSV, TXT, XLSX; old XLS gets a "save as .xlsx" answer).

/undo lives in `handlers.undo`; /mappings in `handlers.mappings`.

Flow: the document's size is checked before anything is downloaded (the Bot
API's getFile refuses files over 20 MB, so asking would only waste a call);
the file is downloaded with `bot.download` (getFile + the file URL of
BOT_API_URL), parsed by `kpi.importing.parse_table` in a worker thread (a
100 000-row file takes seconds of CPU) and stored by `apply_import` in one
transaction: a file with a bad cell stores nothing and the reply names the
row, column and value.

A file without dates (a posts export, an aggregate table) takes its day from
the caption (`2024-05-31`); without one the bot asks with buttons. Only the
file id is kept in the FSM state while it waits: the answer downloads the
file again. That bounds memory to one file per active import, not one per
unanswered question.

Decisions:
* In a group the bot looks only at documents that look like tables (by name
  or MIME type) or whose caption mentions the bot. Busy team chats share
  PDFs, photos and briefs all day; answering each with "not a table" would be
  noise, so unrelated files get deliberate silence. In a private chat every
  document gets an answer.
* Files from ~256 KB up get a progress message that is edited in place
  ("Reading the file…" → "Saving 100 000 rows…" → the summary); small files
  get the summary directly, which keeps a busy group under Telegram's
  20-messages-a-minute limit.
"""

from __future__ import annotations

import asyncio
import html
import io
import logging
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    Document,
    ForceReply,
    InaccessibleMessage,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
)
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.services.events import DataChanged
from handlers.data_log import (
    format_day,
    local_today,
    metric_label,
    read_typed_day,
)
from handlers.filters import Is
from handlers.import_texts import (
    accepted_formats,
    became_label,
    failure_text,
    layout_name,
    needs_day_text,
    preview_text,
    summary_text,
    too_large,
)
from handlers.permissions import AdminOnly
from handlers.replies import current_language, split_text
from kpi.importing import (
    LAYOUT_CHOICE,
    ImportFailure,
    ParsedImport,
    parse_caption,
    parse_table,
)
from kpi.importing.layouts import LAYOUTS
from kpi.importing.values import ValueStore
from kpi.metrics import METRICS
from kpi.models import PostRecord
from kpi.numbers import format_moment, format_number
from storage import Storage
from storage.metrics import AudienceRow
from storage.records import Workspace

log = logging.getLogger(__name__)

MAX_DOWNLOAD = 20 * 1024 * 1024  # the Bot API's getFile limit
PROGRESS_FROM_BYTES = 256 * 1024

TABLE_EXTENSIONS = (".csv", ".tsv", ".txt", ".tab", ".xlsx", ".xlsm", ".xls")
TABLE_MIMES = frozenset(
    (
        "text/csv",
        "text/plain",
        "text/tab-separated-values",
        "text/comma-separated-values",
        "application/csv",
        "application/vnd.ms-excel",
        "application/vnd.ms-excel.sheet.macroenabled.12",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
)
# Refused without a download: nothing with these names or types is a table.
NOT_TABLE_EXTENSIONS = (
    ".pdf",
    ".jpg",
    ".jpeg",
    ".png",
    ".gif",
    ".webp",
    ".heic",
    ".mp4",
    ".mov",
    ".mp3",
    ".ogg",
    ".doc",
    ".docx",
    ".ppt",
    ".pptx",
    ".zip",
    ".rar",
    ".7z",
    ".gz",
    ".ods",
    ".numbers",
)
# JSON is downloaded: Telegram's channel statistics come as JSON (kpi/importing/telegram_stats.py).
NOT_TABLE_MIME_PREFIXES = ("image/", "video/", "audio/", "application/pdf")


class ImportFlow(StatesGroup):
    day = State()  # buttons shown: which day does the file describe?
    typing_day = State()
    preview = State()  # "I read this file as…" shown: Import, Change a column, Cancel
    sheet = State()  # several worksheets hold a table: which one?
    again = State()  # the same file was imported before: import it again?


class ImportAgain(CallbackData, prefix="impagain"):
    go: bool


class ImportDay(CallbackData, prefix="impday"):
    choice: str  # today, yesterday, lastmonth, type, cancel


class ImportSheet(CallbackData, prefix="impsheet"):
    index: int  # the worksheet's position in the workbook; -1 = cancel


class ImportPreview(CallbackData, prefix="imppv"):
    action: str  # go, cols, col, set, back, cancel
    col: int = -1
    metric: str = ""  # for "set": a metric name, "" = ignore the column


def _kind(doc: Document) -> str:
    """ "table", "other" (certainly not a table) or "unknown"."""
    name = (doc.file_name or "").lower()
    mime = (doc.mime_type or "").lower()
    if name.endswith(TABLE_EXTENSIONS) or mime in TABLE_MIMES:
        return "table"
    if name.endswith(NOT_TABLE_EXTENSIONS) or mime.startswith(NOT_TABLE_MIME_PREFIXES):
        return "other"
    return "unknown"


async def _mentions_bot(bot: Bot, caption: str | None) -> bool:
    if not caption or "@" not in caption:
        return False
    me = await bot.me()
    return bool(me.username) and f"@{me.username}".lower() in caption.lower()


# ---------------------------------------------------------------- upload


async def on_document(
    message: Message,
    bot: Bot,
    storage: Storage,
    workspace: Workspace,
    clock: Callable[[], datetime],
    data_changed: DataChanged,
    state: FSMContext,
) -> None:
    doc = message.document
    assert doc is not None  # the filter says so
    kind = _kind(doc)
    if kind == "other":
        await message.reply(
            _("“{name}” is not a table.").format(name=html.escape(doc.file_name or "file"))
            + "\n"
            + accepted_formats()
        )
        return
    if doc.file_size is not None and doc.file_size > MAX_DOWNLOAD:
        await message.reply(too_large(doc.file_size))
        return
    if await _imported_before(message, doc, storage, workspace, state):
        return
    await _import_file(
        bot,
        storage,
        workspace,
        clock,
        data_changed,
        state,
        chat_id=message.chat.id,
        reply_to=message.message_id,
        user_id=message.from_user.id if message.from_user else None,
        file_id=doc.file_id,
        file_name=doc.file_name or "file.csv",
        file_size=doc.file_size,
        caption=message.caption,
        file_unique_id=doc.file_unique_id,
    )


async def _imported_before(
    message: Message, doc: Document, storage: Storage, workspace: Workspace, state: FSMContext
) -> bool:
    """The same file (Telegram's file_unique_id) was imported here: ask before doing it
    again (a second send by mistake, or Telegram delivering the upload twice)."""
    previous = await storage.runtime.imported_file(workspace.id, doc.file_unique_id)
    if previous is None:
        return False
    await state.set_state(ImportFlow.again)
    await state.update_data(
        file_id=doc.file_id,
        file_unique_id=doc.file_unique_id,
        file_name=doc.file_name or "file.csv",
        file_size=doc.file_size,
        caption=message.caption or "",
        reply_to=message.message_id,
    )
    when = previous.imported_at.astimezone(ZoneInfo(workspace.timezone))
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("Import again"), callback_data=ImportAgain(go=True).pack()
                ),
                InlineKeyboardButton(text=_("Cancel"), callback_data=ImportAgain(go=False).pack()),
            ]
        ]
    )
    await message.reply(
        _(
            "“{name}” was already imported on {when}; nothing changed. Import it again? "
            "(Values of the same days are replaced, not added.)"
        ).format(
            name=html.escape(doc.file_name or "file"),
            when=format_moment(when, current_language()),
        ),
        reply_markup=keyboard,
    )
    return True


async def on_import_again(
    query: CallbackQuery,
    callback_data: ImportAgain,
    bot: Bot,
    storage: Storage,
    workspace: Workspace,
    clock: Callable[[], datetime],
    data_changed: DataChanged,
    state: FSMContext,
) -> None:
    message = await _open_question(query, state, ImportFlow.again)
    if message is None:
        return
    data = await state.get_data()
    await state.clear()  # before any request: a second press finds no question
    await query.answer()
    await bot.edit_message_reply_markup(
        chat_id=message.chat.id, message_id=message.message_id, reply_markup=None
    )
    if not callback_data.go:
        return
    await _import_file(
        bot, storage, workspace, clock, data_changed, state,
        chat_id=message.chat.id, user_id=query.from_user.id, **_pending_file(data),
    )  # fmt: skip


async def _open_question(
    query: CallbackQuery, state: FSMContext, *open_in: State
) -> Message | InaccessibleMessage | None:
    """The question's message while the chat's import question is one of `open_in`;
    otherwise the press is answered (no popup) and None."""
    message = query.message
    if message is None or await state.get_state() not in {s.state for s in open_in}:
        # Answered already (a second press) or expired: say so quietly, no popup.
        await query.answer(_("Already done, or this question has expired: send the file again."))
        return None
    return message


def _pending_file(data: Mapping[str, Any]) -> dict[str, Any]:
    """The file a question is about, as `_import_file` takes it, from the FSM data."""
    return {
        "reply_to": data.get("reply_to"),
        "file_id": str(data["file_id"]),
        "file_name": str(data.get("file_name") or "file.csv"),
        "file_size": data.get("file_size"),
        "caption": str(data.get("caption") or "") or None,
        "file_unique_id": data.get("file_unique_id"),
    }


async def _cancelled(query: CallbackQuery, bot: Bot, chat_id: int, message_id: int) -> None:
    await query.answer()
    await bot.edit_message_text(
        _("Import cancelled, nothing was saved."), chat_id=chat_id, message_id=message_id
    )


async def for_the_bot(message: Message, bot: Bot) -> bool:
    """A document the bot should look at: in a group only tables or files whose caption
    mentions the bot (deliberate silence otherwise: not every file is for the bot)."""
    doc = message.document
    if doc is None:
        return False
    if message.chat.type not in ("group", "supergroup") or _kind(doc) == "table":
        return True
    return await _mentions_bot(bot, message.caption)


async def _download(bot: Bot, file_id: str) -> bytes | None:
    """The file's bytes; None when the Bot API says it is too big."""
    buffer = io.BytesIO()
    try:
        await bot.download(file_id, destination=buffer)
    except TelegramBadRequest as exc:
        if "too big" in str(exc).lower():
            return None
        raise
    return buffer.getvalue()


async def _import_file(
    bot: Bot,
    storage: Storage,
    workspace: Workspace,
    clock: Callable[[], datetime],
    data_changed: DataChanged,
    state: FSMContext,
    *,
    chat_id: int,
    reply_to: int | None,
    user_id: int | None,
    file_id: str,
    file_name: str,
    file_size: int | None,
    caption: str | None,
    overrides: dict[int, str] | None = None,
    confirmed: bool = False,
    progress: _Progress | None = None,
    sheet: int | None = None,
    file_unique_id: str | None = None,
) -> None:
    lang = current_language()
    progress = progress or _Progress(bot, chat_id, reply_to)
    if (file_size or 0) >= PROGRESS_FROM_BYTES:
        await progress.show(_("Reading the file…"))
    try:
        data = await _download(bot, file_id)
    except Exception:  # network, 5xx, a file gone from Telegram's servers: say so, store nothing
        log.warning("download of %r (file_id %s) failed", file_name, file_id, exc_info=True)
        await progress.finish(
            _("I could not download “{name}” from Telegram. Nothing was imported: "
              "please send the file again.").format(name=html.escape(file_name))
        )  # fmt: skip
        return
    if data is None:
        await progress.finish(too_large(file_size))
        return
    tz = ZoneInfo(workspace.timezone)
    today = local_today(workspace, clock)
    remembered = False
    try:
        parsed = await asyncio.to_thread(
            parse_table, data, file_name, tz=tz, caption=caption, overrides=overrides,
            today=today, sheet=sheet,
        )  # fmt: skip
        if overrides is None:
            mapping = await storage.mappings.mapping_for(workspace.id, parsed.signature)
            if mapping is not None:
                remembered = confirmed = True
                overrides = mapping.overrides
                if mapping.overrides:
                    parsed = await asyncio.to_thread(
                        parse_table, data, file_name, tz=tz, caption=caption,
                        overrides=overrides, today=today, sheet=sheet,
                    )  # fmt: skip
    except ImportFailure as exc:
        log.info("import of %r refused: %s", file_name, exc)
        await progress.finish(failure_text(exc, file_name))
        return
    del data
    if parsed.sheet_choices:
        await state.set_state(ImportFlow.sheet)
        await state.update_data(
            file_id=file_id, file_name=file_name, file_size=file_size,
            caption=caption or "", reply_to=reply_to, file_unique_id=file_unique_id,
        )  # fmt: skip
        await progress.finish(
            _("“{name}” has several sheets with tables. Which one shall I import?").format(
                name=html.escape(file_name)
            ),
            reply_markup=_sheet_keyboard(parsed.sheet_choices),
        )
        return
    if (parsed.unsure or parsed.layout_alternative) and not confirmed:
        # Nothing is stored under a metric (or a layout) the bot is not sure of without
        # the user's word.
        await state.set_state(ImportFlow.preview)
        await state.update_data(
            file_id=file_id,
            file_name=file_name,
            file_size=file_size,
            caption=caption or "",
            reply_to=reply_to,
            overrides={str(k): v for k, v in (overrides or {}).items()},
            sheet=sheet,
            file_unique_id=file_unique_id,
        )
        await progress.finish(
            preview_text(parsed, file_name, workspace.timezone),
            reply_markup=_preview_keyboard(parsed),
        )
        return
    if parsed.needs_day:
        await state.set_state(ImportFlow.day)
        await state.update_data(
            file_id=file_id,
            file_name=file_name,
            file_size=file_size,
            caption=caption or "",
            reply_to=reply_to,
            overrides={str(k): v for k, v in (overrides or {}).items()},
            confirmed=confirmed,
            sheet=sheet,
            file_unique_id=file_unique_id,
        )
        today = local_today(workspace, clock)
        await progress.finish(
            needs_day_text(parsed, file_name), reply_markup=_day_keyboard(today, lang)
        )
        return
    if parsed.rows_read >= 10_000:
        await progress.show(
            ngettext("Saving {rows} row…", "Saving {rows} rows…", parsed.rows_read).format(
                rows=format_number(parsed.rows_read, lang)
            )
        )
    default = (await storage.workspaces.default_account(workspace.id)).name
    today = local_today(workspace, clock)
    values, posts, audience = map_accounts(parsed, default, caption_day(caption) or today)
    first_last = _touched_days(parsed, audience)
    summary: dict[str, Any] = {
        "kind": "file",
        "file": file_name[:200],
        "layout": parsed.layout,
        "platform": parsed.platform,
        "rows_read": parsed.rows_read,
    }
    outcome = await storage.metrics.apply_import(
        workspace.id,
        source=f"file:{file_name}",
        user_id=user_id,
        values=values,
        posts_in=posts,
        audience_in=audience,
        summary=summary,
    )
    if file_unique_id:
        await storage.runtime.remember_file(
            workspace.id, file_unique_id, file_name, outcome.batch_id, clock()
        )
    log.info(
        "workspace %s imported %r: %s rows, %s account-days",
        workspace.id,
        file_name,
        parsed.rows_read,
        outcome.rows,
    )
    if confirmed and not remembered:
        await storage.mappings.save_mapping(
            workspace.id, parsed.signature, parsed.headers, dict(overrides or {}), clock()
        )
    if first_last is not None:
        await data_changed.emit(bot, workspace, first_last[0], first_last[1])
    text = summary_text(parsed, outcome, values, file_name, lang, timezone=workspace.timezone)
    if remembered:
        text += "\n" + _("Read as last time (change: /mappings).")
    elif confirmed:
        text += "\n" + _("I will read files with these columns the same way (change: /mappings).")
    await progress.finish(text)


def caption_day(caption: str | None) -> date | None:
    try:
        return parse_caption(caption)[0]
    except ImportFailure:
        return None


def _touched_days(parsed: ParsedImport, audience: list[AudienceRow]) -> tuple[date, date] | None:
    if parsed.date_range is not None:
        return parsed.date_range
    if audience:
        day = audience[0].day
        return day, day
    return None


def map_accounts(
    parsed: ParsedImport, default_account: str, audience_day: date
) -> tuple[ValueStore[tuple[str, date]], list[PostRecord], list[AudienceRow]]:
    """Rows without an account (None in values, "" in posts) go to the default account.

    A caption's account is already applied by `parse_table`.
    """
    rename = {key: (default_account, key[1]) for key in parsed.values if not key[0]}
    values = cast("ValueStore[tuple[str, date]]", parsed.values.renamed(rename))
    posts = [
        p
        if p.account
        else PostRecord(
            account=default_account,
            day=p.day,
            post_id=p.post_id,
            format=p.format,
            hashtags=p.hashtags,
            text=p.text,
            reach=p.reach,
            impressions=p.impressions,
            likes=p.likes,
            comments=p.comments,
            shares=p.shares,
            saves=p.saves,
            link_clicks=p.link_clicks,
            reactions=p.reactions,
        )
        for p in parsed.posts
    ]
    accounts = parsed.accounts or set()
    audience_account = next(iter(accounts)) if len(accounts) == 1 else default_account
    audience = [AudienceRow(audience_account, audience_day, b) for b in parsed.audience]
    return values, posts, audience


class _Progress:
    """One status message, edited in place; the final text may need more messages."""

    def __init__(self, bot: Bot, chat_id: int, reply_to: int | None) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.reply_to = reply_to
        self.message_id: int | None = None

    async def show(self, text: str) -> None:
        if self.message_id is None:
            sent = await self.bot.send_message(
                self.chat_id, text, reply_parameters=self._reply_parameters()
            )
            self.message_id = sent.message_id
        else:
            await self._edit(text)

    def _reply_parameters(self) -> ReplyParameters | None:
        # The user may have deleted the file meanwhile: answer anyway.
        if self.reply_to is None:
            return None
        return ReplyParameters(message_id=self.reply_to, allow_sending_without_reply=True)

    async def _edit(self, text: str, reply_markup: InlineKeyboardMarkup | None = None) -> None:
        try:
            await self.bot.edit_message_text(
                text, chat_id=self.chat_id, message_id=self.message_id, reply_markup=reply_markup
            )
        except TelegramBadRequest as exc:
            # The status message was deleted meanwhile: say it in a new one.
            log.info("progress message edit failed: %s", exc)
            self.message_id = None
            await self.show(text)

    async def finish(self, text: str, reply_markup: InlineKeyboardMarkup | None = None) -> None:
        parts = split_text(text)
        for i, part in enumerate(parts):
            markup = reply_markup if i == len(parts) - 1 else None
            if i == 0 and self.message_id is not None:
                await self._edit(part, markup)
            else:
                await self.bot.send_message(
                    self.chat_id,
                    part,
                    reply_parameters=self._reply_parameters() if i == 0 else None,
                    reply_markup=markup,
                )


# ---------------------------------------------------------------- the day question


def _last_day_of_last_month(today: date) -> date:
    return today.replace(day=1) - timedelta(days=1)


def _day_keyboard(today: date, lang: str) -> InlineKeyboardMarkup:
    def button(text: str, choice: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(text=text, callback_data=ImportDay(choice=choice).pack())

    yesterday = today - timedelta(days=1)
    last_month = _last_day_of_last_month(today)
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button(_("Today, {day}").format(day=format_day(today, lang)), "today"),
                button(_("Yesterday, {day}").format(day=format_day(yesterday, lang)), "yesterday"),
            ],
            [
                button(
                    _("End of last month, {day}").format(day=format_day(last_month, lang)),
                    "lastmonth",
                )
            ],
            [button(_("Type a date"), "type"), button(_("Cancel"), "cancel")],
        ]
    )


async def on_import_day(
    query: CallbackQuery,
    callback_data: ImportDay,
    bot: Bot,
    storage: Storage,
    workspace: Workspace,
    clock: Callable[[], datetime],
    data_changed: DataChanged,
    state: FSMContext,
) -> None:
    message = await _open_question(query, state, ImportFlow.day, ImportFlow.typing_day)
    if message is None:
        return
    today = local_today(workspace, clock)
    choice = callback_data.choice
    pending = await state.get_data()
    if choice in ("today", "yesterday", "lastmonth"):
        # Taken before any request: a second press arriving meanwhile finds no question.
        await state.clear()
    days = {
        "today": today,
        "yesterday": today - timedelta(days=1),
        "lastmonth": _last_day_of_last_month(today),
    }
    if choice == "cancel":
        await state.clear()
        await _cancelled(query, bot, message.chat.id, message.message_id)
        return
    if choice == "type":
        await state.set_state(ImportFlow.typing_day)
        await query.answer()
        await bot.send_message(
            message.chat.id,
            _("Type the date, e.g. 31.05.2024 or 2024-05-31."),
            reply_markup=ForceReply(selective=True),
        )
        return
    day = days.get(choice)
    if day is None:
        await query.answer(_("Unknown button."), show_alert=True)
        return
    await query.answer()
    await bot.edit_message_text(
        _("Day: {day}.").format(day=format_day(day, current_language())),
        chat_id=message.chat.id,
        message_id=message.message_id,
    )
    await _resume(
        bot, storage, workspace, clock, data_changed, state, message.chat.id, day, query,
        pending=pending,
    )  # fmt: skip


async def on_import_day_typed(
    message: Message,
    bot: Bot,
    storage: Storage,
    workspace: Workspace,
    clock: Callable[[], datetime],
    data_changed: DataChanged,
    state: FSMContext,
) -> None:
    day = await read_typed_day(message, workspace, clock)
    if day is None:
        return
    user = message.from_user
    await _resume(
        bot, storage, workspace, clock, data_changed, state, message.chat.id, day, None,
        user_id=user.id if user else None,
    )  # fmt: skip


async def _resume(
    bot: Bot,
    storage: Storage,
    workspace: Workspace,
    clock: Callable[[], datetime],
    data_changed: DataChanged,
    state: FSMContext,
    chat_id: int,
    day: date,
    query: CallbackQuery | None,
    *,
    user_id: int | None = None,
    pending: dict[str, Any] | None = None,
) -> None:
    data = pending if pending is not None else await state.get_data()
    await state.clear()
    caption = f"{data.get('caption', '')} {day.isoformat()}".strip()
    await _import_file(
        bot, storage, workspace, clock, data_changed, state,
        chat_id=chat_id, user_id=query.from_user.id if query is not None else user_id,
        **{**_pending_file(data), "caption": caption},
        overrides=_state_overrides(data) if data.get("confirmed") else None,
        confirmed=bool(data.get("confirmed")), sheet=data.get("sheet"),
    )  # fmt: skip


def _state_overrides(data: Mapping[str, Any]) -> dict[int, str]:
    return {int(k): str(v) for k, v in (data.get("overrides") or {}).items()}


# ---------------------------------------------------------------- the sheet question


def _sheet_keyboard(choices: tuple[tuple[int, str], ...]) -> InlineKeyboardMarkup:
    rows = [
        [InlineKeyboardButton(text=name[:60], callback_data=ImportSheet(index=i).pack())]
        for i, name in choices[:20]
    ]
    rows.append(
        [InlineKeyboardButton(text=_("Cancel"), callback_data=ImportSheet(index=-1).pack())]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def on_import_sheet(
    query: CallbackQuery,
    callback_data: ImportSheet,
    bot: Bot,
    storage: Storage,
    workspace: Workspace,
    clock: Callable[[], datetime],
    data_changed: DataChanged,
    state: FSMContext,
) -> None:
    message = await _open_question(query, state, ImportFlow.sheet)
    if message is None:
        return
    data = await state.get_data()
    await state.clear()  # before any request: a second press finds no question
    chat_id, message_id = message.chat.id, message.message_id
    if callback_data.index < 0:
        await _cancelled(query, bot, chat_id, message_id)
        return
    await query.answer()
    progress = _Progress(bot, chat_id, data.get("reply_to"))
    progress.message_id = message_id
    await _import_file(
        bot, storage, workspace, clock, data_changed, state,
        chat_id=chat_id, user_id=query.from_user.id, **_pending_file(data),
        progress=progress, sheet=callback_data.index,
    )  # fmt: skip


# ---------------------------------------------------------------- the preview


def _preview_keyboard(parsed: ParsedImport | None = None) -> InlineKeyboardMarkup:
    def button(text: str, action: str, metric: str = "") -> InlineKeyboardButton:
        data = ImportPreview(action=action, metric=metric).pack()
        return InlineKeyboardButton(text=text, callback_data=data)

    rows = [[button(_("Import"), "go"), button(_("Change a column"), "cols")]]
    if parsed is not None and parsed.layout_alternative:
        other = parsed.layout_alternative
        rows.append(
            [button(_("Read as: {layout}").format(layout=layout_name(other)), "layout", other)]
        )
    rows.append([button(_("Cancel"), "cancel")])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _columns_keyboard(parsed: ParsedImport, lang: str) -> InlineKeyboardMarkup:
    rows = []
    for index, header, became, _reason in parsed.columns[:60]:
        shown = _("ignore") if became == "ignored" else became_label(became, lang)
        text = f"{header or '—'} → {html.unescape(shown)}"
        rows.append(
            [
                InlineKeyboardButton(
                    text=text[:60],
                    callback_data=ImportPreview(action="col", col=index).pack(),
                )
            ]
        )
    rows.append(
        [InlineKeyboardButton(text=_("Back"), callback_data=ImportPreview(action="back").pack())]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _metric_keyboard(index: int, lang: str) -> InlineKeyboardMarkup:
    def button(text: str, metric: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            text=text, callback_data=ImportPreview(action="set", col=index, metric=metric).pack()
        )

    buttons = [button(metric_label(name, lang), name) for name in METRICS]
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    rows.append([button(_("Ignore this column"), "")])
    rows.append(
        [InlineKeyboardButton(text=_("Back"), callback_data=ImportPreview(action="back").pack())]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def _reparse(
    bot: Bot, workspace: Workspace, data: Mapping[str, Any], today: date
) -> ParsedImport | str:
    """The file read again with the choices so far, or the text that says why it cannot be."""
    name = str(data.get("file_name") or "file.csv")
    try:
        raw = await _download(bot, str(data["file_id"]))
    except Exception:
        log.warning("download of %r for the preview failed", name, exc_info=True)
        return _("I could not download “{name}” from Telegram. Please send the file again.").format(
            name=html.escape(name)
        )
    if raw is None:
        return too_large(data.get("file_size"))
    try:
        return await asyncio.to_thread(
            parse_table, raw, name, tz=ZoneInfo(workspace.timezone),
            caption=str(data.get("caption") or "") or None, overrides=_state_overrides(data),
            today=today, sheet=data.get("sheet"),
        )  # fmt: skip
    except ImportFailure as exc:
        return failure_text(exc, name)


async def on_import_preview(
    query: CallbackQuery,
    callback_data: ImportPreview,
    bot: Bot,
    storage: Storage,
    workspace: Workspace,
    clock: Callable[[], datetime],
    data_changed: DataChanged,
    state: FSMContext,
) -> None:
    message = await _open_question(query, state, ImportFlow.preview)
    if message is None:
        return
    lang = current_language()
    action = callback_data.action
    data = await state.get_data()
    chat_id, message_id = message.chat.id, message.message_id
    if action == "cancel":
        await state.clear()
        await _cancelled(query, bot, chat_id, message_id)
        return
    if action == "go":
        await state.clear()  # before any request: a second press finds no question
        await query.answer()
        progress = _Progress(bot, chat_id, data.get("reply_to"))
        progress.message_id = message_id
        await _import_file(
            bot, storage, workspace, clock, data_changed, state,
            chat_id=chat_id, user_id=query.from_user.id, **_pending_file(data),
            overrides=_state_overrides(data), confirmed=True, progress=progress,
            sheet=data.get("sheet"),
        )  # fmt: skip
        return
    if action == "col":
        await query.answer()
        await bot.edit_message_reply_markup(
            chat_id=chat_id, message_id=message_id,
            reply_markup=_metric_keyboard(callback_data.col, lang),
        )  # fmt: skip
        return
    if action in ("set", "layout"):
        valid = LAYOUTS if action == "layout" else METRICS
        if (callback_data.metric or action == "layout") and callback_data.metric not in valid:
            await query.answer(_("Unknown button."), show_alert=True)
            return
        chosen = dict(data.get("overrides") or {})
        key = LAYOUT_CHOICE if action == "layout" else callback_data.col
        chosen[str(key)] = callback_data.metric
        await state.update_data(overrides=chosen)
        data = await state.get_data()
    await query.answer()
    parsed = await _reparse(bot, workspace, data, local_today(workspace, clock))
    if isinstance(parsed, str):
        await state.clear()
        await bot.edit_message_text(parsed, chat_id=chat_id, message_id=message_id)
        return
    # "cols": the column list; "back", "set": the preview again with the choices so far.
    markup = _columns_keyboard(parsed, lang) if action == "cols" else _preview_keyboard(parsed)
    name = str(data.get("file_name") or "file.csv")
    text = split_text(preview_text(parsed, name, workspace.timezone))[0]
    await bot.edit_message_text(text, chat_id=chat_id, message_id=message_id, reply_markup=markup)


def create_router() -> Router:
    router = Router(name="data_import")
    router.callback_query.register(on_import_day, ImportDay.filter(), AdminOnly())
    router.callback_query.register(on_import_preview, ImportPreview.filter(), AdminOnly())
    router.callback_query.register(on_import_sheet, ImportSheet.filter(), AdminOnly())
    router.callback_query.register(on_import_again, ImportAgain.filter(), AdminOnly())
    router.message.register(
        on_import_day_typed,
        StateFilter(ImportFlow.typing_day),
        Is(F.text & ~F.text.startswith("/")),
    )
    router.message.register(on_document, Is(F.document), for_the_bot, AdminOnly())
    return router


__all__ = [
    "ImportAgain",
    "ImportDay",
    "ImportFlow",
    "ImportPreview",
    "ImportSheet",
    "accepted_formats",
    "create_router",
    "failure_text",
    "map_accounts",
    "summary_text",
]
