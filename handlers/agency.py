"""Agency mode: /clients, /client, /agency, /brand.

An agency's chat links its clients' chats with consent on both sides: an admin there runs
`/clients link` and gets a one-time code (24 hours); an admin of the client's chat sends
`/agency <code>`. Either side ends it (`/clients unlink <name>`, `/agency leave`), at once.

What the agency's chat sees: `/clients [period]`, the roll-up of every client's key KPIs
(`/clients kpis ...`), what needs attention first, a page per message with buttons; and
`/client <name> <command ...>`, any KPI command for one client. The latter runs the
command's own handler through the dispatcher with the client's workspace in place of the
chat's, so the answer is the one the client's chat gets (handlers/kpi.py, not a copy).
Only reading commands are allowed that way, and only for this chat's own clients.

A client's chat sees only its own numbers: it has no clients, so /clients and /client
show nothing of the agency's other clients.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import date, datetime
from io import BytesIO
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import Bot, Dispatcher, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.services.agency import load_rollup, rollup_kpis
from handlers import agency_texts as at
from handlers.filters import Is
from handlers.permissions import AdminOnly
from handlers.replies import current_language
from handlers.selection import read_period_account
from kpi.models import Period
from kpi.pdfreport import LogoError, downscale_logo
from kpi.registry import COMMANDS as KPI_COMMANDS
from kpi.registry import PERIOD_KPIS, resolve_kpi
from kpi.rollup import MAX_ROLLUP_KPIS, RollupRow, page_count, page_of
from storage import Storage
from storage.agency import CODE_TTL, LINKED
from storage.records import Workspace

log = logging.getLogger(__name__)

# What `/client <name> ...` may run: commands that only read.
CLIENT_COMMANDS: tuple[str, ...] = (
    "report",
    *KPI_COMMANDS,
    "hashtags",
    "formats",
    "audience",
    "chart",
    "goals",
    "forecast",
    "why",
    "content",
)
BRAND_NAME_LIMIT = 64
_COLOUR = re.compile(r"^#?([0-9a-fA-F]{6})$")


class RollupPage(CallbackData, prefix="ag"):
    page: int
    start: str  # yyyymmdd: the period stays the one first asked for
    end: str


def _today(workspace: Workspace, clock: Callable[[], datetime]) -> date:
    return clock().astimezone(ZoneInfo(workspace.timezone)).date()


# --------------------------------------------------------------------------- roll-up


def _keyboard(page: int, pages: int, period: Period) -> InlineKeyboardMarkup | None:
    if pages <= 1:
        return None
    start, end = period.start.strftime("%Y%m%d"), period.end.strftime("%Y%m%d")
    row = []
    if page > 0:
        data = RollupPage(page=page - 1, start=start, end=end).pack()
        row.append(InlineKeyboardButton(text="◀", callback_data=data))
    row.append(
        InlineKeyboardButton(
            text=f"{page + 1}/{pages}",
            callback_data=RollupPage(page=page, start=start, end=end).pack(),
        )
    )
    if page + 1 < pages:
        data = RollupPage(page=page + 1, start=start, end=end).pack()
        row.append(InlineKeyboardButton(text="▶", callback_data=data))
    return InlineKeyboardMarkup(inline_keyboard=[row])


def rollup_page(
    rows: list[RollupRow], page: int, period: Period, lang: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    pages = page_count(len(rows))
    page = min(max(page, 0), pages - 1)
    shown = page_of(rows, page)
    first = rows.index(shown[0]) + 1 if shown else 1
    text = at.rollup_text(shown, first, len(rows), page, pages, period, lang)
    return text, _keyboard(page, pages, period)


async def cmd_clients(
    message: Message,
    command: CommandObject,
    storage: Storage,
    workspace: Workspace,
    clock: Callable[[], datetime],
) -> None:
    args = (command.args or "").strip()
    words = args.lower().split()
    if words and words[0] in ("help", "помощь"):
        await message.answer(at.clients_usage())
        return
    if words and words[0] == "kpis":
        brand = await storage.agency.brand(workspace.id)
        await message.answer(at.kpis_text(rollup_kpis(brand.rollup_kpis), changed=False))
        return
    today = _today(workspace, clock)
    asked = await read_period_account(args, "clients", storage, workspace, today)
    if asked.error is not None and not await storage.agency.client_count(workspace.id):
        await message.answer(at.no_clients() + "\n\n" + at.clients_usage())
        return
    if asked.error is not None or asked.account is not None:
        await message.reply(asked.error or at.clients_usage())
        return
    rows = await load_rollup(storage, workspace, asked.period, today)
    if not rows:
        agency = await storage.agency.agency_of(workspace.id)
        if agency is not None:  # a client's chat: its own agency, nothing about the others
            await message.answer(at.agency_status(_title(agency)))
            return
        await message.answer(at.no_clients() + "\n\n" + at.clients_usage())
        return
    text, keyboard = rollup_page(rows, 0, asked.period, current_language())
    await message.answer(text, reply_markup=keyboard)


async def on_rollup_page(
    callback: CallbackQuery,
    callback_data: RollupPage,
    storage: Storage,
    workspace: Workspace | None,
    clock: Callable[[], datetime],
) -> None:
    message = callback.message
    try:
        period = Period(
            datetime.strptime(callback_data.start, "%Y%m%d").date(),
            datetime.strptime(callback_data.end, "%Y%m%d").date(),
        )
    except ValueError:
        await callback.answer(_("This button is out of date."))
        return
    too_long = (period.end - period.start).days > 3700  # our buttons carry ≤ 10 years
    if workspace is None or not isinstance(message, Message) or too_long:
        await callback.answer(_("This button is out of date."))
        return
    rows = await load_rollup(storage, workspace, period, _today(workspace, clock))
    if not rows:
        await callback.answer(at.no_clients()[:200])
        return
    text, keyboard = rollup_page(rows, callback_data.page, period, current_language())
    await callback.answer()
    if text != (message.html_text if message.text else None):
        await message.edit_text(text, reply_markup=keyboard)


async def cmd_clients_kpis(
    message: Message, command: CommandObject, storage: Storage, clock: Callable[[], datetime],
    workspace: Workspace,
) -> None:  # fmt: skip
    words = (command.args or "").split()[1:]
    if words and words[0].lower() in ("default", "reset", "сброс"):
        await storage.agency.set_brand(workspace.id, clock(), rollup_kpis=None)
        await message.answer(at.kpis_text(rollup_kpis(None), changed=True))
        return
    known = ", ".join(PERIOD_KPIS)
    chosen: list[str] = []
    for word in words:
        key = resolve_kpi(word)
        if key is None or key not in PERIOD_KPIS:
            await message.reply(at.kpis_refused(word, known, MAX_ROLLUP_KPIS))
            return
        if key not in chosen:
            chosen.append(key)
    if len(chosen) > MAX_ROLLUP_KPIS:
        await message.reply(at.kpis_refused(words[MAX_ROLLUP_KPIS], known, MAX_ROLLUP_KPIS))
        return
    await storage.agency.set_brand(workspace.id, clock(), rollup_kpis=tuple(chosen))
    await message.answer(at.kpis_text(tuple(chosen), changed=True))


# --------------------------------------------------------------------------- linking


async def cmd_clients_manage(
    message: Message,
    command: CommandObject,
    bot: Bot,
    storage: Storage,
    workspace: Workspace,
    clock: Callable[[], datetime],
    i18n: I18n,
) -> None:
    """`/clients link` and `/clients unlink <name>` (admins of the agency's chat)."""
    words = (command.args or "").split()
    if words[0].lower() == "link":
        if await storage.agency.agency_of(workspace.id) is not None:
            await message.reply(at.redeem_refusal("is_client"))
            return
        code = await storage.agency.issue_code(workspace.id, clock())
        await message.answer(at.link_code_text(code, int(CODE_TTL.total_seconds() // 3600)))
        return
    name = " ".join(words[1:])
    clients = await storage.agency.clients(workspace.id)
    found = await storage.agency.client(workspace.id, name) if name else None
    if found is None:
        await message.reply(at.unknown_client(name, clients) if name else at.clients_usage())
        return
    await storage.agency.unlink(workspace.id, found.workspace.id)
    await message.answer(at.unlinked_text(found.name))
    await _tell(bot, i18n, found.workspace, lambda: at.client_notice_unlinked(_title(workspace)))


def _title(workspace: Workspace) -> str:
    return workspace.title or _("a private chat")


async def _tell(bot: Bot, i18n: I18n, to: Workspace, text: Callable[[], str]) -> None:
    """A notice to the other side of a link, in its language; a failure is only logged."""
    with i18n.use_locale(to.own_language or i18n.default_locale):
        body = text()
    try:
        await bot.send_message(to.chat_id, body)
    except TelegramAPIError as exc:
        log.warning("agency notice to chat %s not sent: %s", to.chat_id, exc)


async def cmd_agency_manage(
    message: Message,
    command: CommandObject,
    bot: Bot,
    storage: Storage,
    workspace: Workspace,
    clock: Callable[[], datetime],
    i18n: I18n,
) -> None:
    """`/agency <code>` and `/agency leave` (admins of the client's chat)."""
    arg = (command.args or "").strip()
    if arg.lower() in ("leave", "выйти"):
        agency = await storage.agency.leave(workspace.id)
        if agency is None:
            await message.reply(at.not_a_client())
            return
        await message.answer(at.left_text(_title(agency)))
        name = workspace.title or str(workspace.chat_id)
        await _tell(bot, i18n, agency, lambda: at.agency_notice_left(name))
        return
    redeemed = await storage.agency.redeem_code(arg, workspace, clock())
    if redeemed.outcome != LINKED or redeemed.agency is None or redeemed.name is None:
        await message.reply(at.redeem_refusal(redeemed.outcome))
        return
    name = redeemed.name
    await message.answer(at.linked_text(_title(redeemed.agency), name))
    title = _title(workspace)
    await _tell(bot, i18n, redeemed.agency, lambda: at.agency_notice_linked(title, name))


async def cmd_agency(message: Message, storage: Storage, workspace: Workspace) -> None:
    agency = await storage.agency.agency_of(workspace.id)
    await message.answer(at.agency_status(_title(agency) if agency else None))


# --------------------------------------------------------------------------- /client


async def cmd_client(message: Message, command: CommandObject, **data: Any) -> None:
    """`/client <name> <command ...>`: the command as the client's chat would answer it."""
    storage: Storage = data["storage"]
    workspace: Workspace = data["workspace"]
    words = (command.args or "").split()
    clients = await storage.agency.clients(workspace.id)
    if len(words) < 2:
        await message.answer(at.client_usage(clients) if clients else at.no_clients())
        return
    found = await storage.agency.client(workspace.id, words[0])
    if found is None:
        await message.reply(at.unknown_client(words[0], clients))
        return
    asked = words[1].lstrip("/").split("@", 1)[0].lower()
    if asked not in CLIENT_COMMANDS:
        await message.reply(at.client_command_refused(asked, CLIENT_COMMANDS))
        return
    await message.answer(at.client_header(found.name, found.workspace.title))
    rest = " ".join(words[2:])
    text = f"/{asked} {rest}".strip()
    entity = MessageEntity(type="bot_command", offset=0, length=len(asked) + 1)
    rewritten = message.model_copy(update={"text": text, "entities": [entity]})
    # The client's workspace in place of this chat's: its data, margin, currency and
    # language; every answer still goes to this chat (the message's).
    data = {**data, "workspace": found.workspace, "agency_workspace": workspace}
    dispatcher: Dispatcher = data["dispatcher"]
    await dispatcher.propagate_event("message", rewritten, **data)


# --------------------------------------------------------------------------- /brand


async def cmd_brand(message: Message, storage: Storage, workspace: Workspace) -> None:
    await message.answer(at.brand_text(await storage.agency.brand(workspace.id)))


async def cmd_brand_set(
    message: Message,
    command: CommandObject,
    storage: Storage,
    workspace: Workspace,
    clock: Callable[[], datetime],
) -> None:
    what, _sep, rest = (command.args or "").strip().partition(" ")
    what, rest = what.lower(), rest.strip()
    if what == "name" and 1 <= len(rest) <= BRAND_NAME_LIMIT:
        await storage.agency.set_brand(workspace.id, clock(), name=rest)
    elif what == "name":
        await message.reply(at.brand_name_bad(BRAND_NAME_LIMIT))
        return
    elif what in ("colour", "color", "цвет"):
        matched = _COLOUR.match(rest)
        if matched is None:
            await message.reply(at.brand_colour_bad(rest))
            return
        await storage.agency.set_brand(workspace.id, clock(), colour="#" + matched[1].lower())
    elif what == "reset":
        await storage.agency.set_brand(workspace.id, clock(), name=None, logo_png=None, colour=None)
    elif what == "logo":
        await message.reply(at.brand_logo_hint())
        return
    else:
        await message.reply(at.brand_usage())
        return
    await message.answer(at.brand_saved())


async def cmd_brand_logo(
    message: Message, bot: Bot, storage: Storage, workspace: Workspace,
    clock: Callable[[], datetime],
) -> None:  # fmt: skip
    """A photo with the caption `/brand logo`: downloaded (getFile), stored downscaled."""
    photo = message.photo or []
    if not photo:
        await message.reply(at.brand_logo_hint())
        return
    biggest = max(photo, key=lambda p: p.width * p.height)
    buffer = BytesIO()
    await bot.download(biggest.file_id, destination=buffer)
    try:
        png = downscale_logo(buffer.getvalue())
    except LogoError:
        await message.reply(at.brand_logo_bad())
        return
    await storage.agency.set_brand(workspace.id, clock(), logo_png=png)
    await message.answer(at.brand_saved())


def _cmd(name: str, pattern: str | None = None, *, args: bool = False) -> Command:
    if pattern is not None:
        return Command(name, ignore_case=True, magic=F.args.regexp(pattern, flags=re.IGNORECASE))
    if args:
        return Command(name, ignore_case=True, magic=F.args)
    return Command(name, ignore_case=True)


def create_router() -> Router:
    router = Router(name="agency")
    # Writes: admins only (handlers/permissions.py).
    manage = _cmd("clients", r"^\s*(link|unlink)\b")
    router.message.register(cmd_clients_manage, manage, AdminOnly())
    router.message.register(cmd_clients_kpis, _cmd("clients", r"^\s*kpis\s+\S"), AdminOnly())
    router.message.register(cmd_agency_manage, _cmd("agency", args=True), AdminOnly())
    router.message.register(cmd_brand_logo, _cmd("brand", r"^\s*logo\b"), Is(F.photo), AdminOnly())
    router.message.register(cmd_brand_set, _cmd("brand", args=True), AdminOnly())
    # Reads.
    router.message.register(cmd_clients, _cmd("clients"))
    router.message.register(cmd_client, _cmd("client"))
    router.message.register(cmd_agency, _cmd("agency"))
    router.message.register(cmd_brand, _cmd("brand"))
    router.callback_query.register(on_rollup_page, RollupPage.filter())
    return router


__all__ = ["CLIENT_COMMANDS", "RollupPage", "create_router", "rollup_page"]
