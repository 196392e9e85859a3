"""/digest: the weekly digest's schedule, its buttons and "send now".

The digest itself (what it says, the dashboard, the periodic job that sends the
due ones exactly once) is bot/services/digest.py.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.services.digest import prepare, render_cached
from bot.services.digest_cache import DigestCache
from bot.services.rendering import ChartRenderer
from handlers.kpi_texts import format_day
from handlers.permissions import AdminOnly
from handlers.replies import current_language
from kpi.digest import next_send_time, parse_time, parse_weekday, report_week
from storage import Storage
from storage.records import Workspace

TIME_PRESETS = ("09:00", "10:00", "12:00", "15:00", "18:00")


# --------------------------------------------------------------------------- /digest


class DigestButton(CallbackData, prefix="dg"):
    ws: int
    act: str  # on, off, day, time, now
    val: str = ""


def _weekday_names() -> tuple[str, ...]:
    return (_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun"))


def schedule_text(workspace: Workspace, now: datetime) -> str:
    lang = current_language()
    if not workspace.digest_enabled:
        state = _("<b>Weekly digest</b>: off.")
    else:
        nxt = next_send_time(
            now, workspace.digest_weekday, workspace.digest_time, workspace.timezone
        ).astimezone(ZoneInfo(workspace.timezone))
        state = "\n".join(
            (
                _("<b>Weekly digest</b>: on, every {day} at {time} ({tz}).").format(
                    day=_weekday_names()[workspace.digest_weekday],
                    time=workspace.digest_time,
                    tz=html.escape(workspace.timezone),
                ),
                _("Next one: {day} {time}.").format(
                    day=format_day(nxt.date(), lang), time=nxt.strftime("%H:%M")
                ),
            )
        )
    return "\n".join(
        (
            state,
            _("It covers the last full week: every KPI, its change and a 12-week trend."),
            _(
                "Change it with the buttons or: /digest off, /digest on, /digest fri 18:00, "
                "/digest now — send it now."
            ),
        )
    )


def schedule_keyboard(workspace: Workspace) -> InlineKeyboardMarkup:
    def button(text: str, act: str, val: str = "") -> InlineKeyboardButton:
        data = DigestButton(ws=workspace.id, act=act, val=val).pack()
        return InlineKeyboardButton(text=text, callback_data=data)

    toggle = (
        button(_("Turn off"), "off") if workspace.digest_enabled else button(_("Turn on"), "on")
    )
    days = [
        button(("• " if i == workspace.digest_weekday else "") + name, "day", str(i))
        for i, name in enumerate(_weekday_names())
    ]
    times = [
        button(("• " if t == workspace.digest_time else "") + t, "time", t.replace(":", ""))
        for t in TIME_PRESETS
    ]
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [toggle, button(_("Send now"), "now")],
            days[:4],
            days[4:],
            times,
        ]
    )


def _usage() -> str:
    return _(
        "Use: /digest — the schedule; /digest off or /digest on; /digest fri 18:00 "
        "(a day, a time or both; пн…вс also work); /digest now — send it now."
    )


def _parse_schedule(words: Sequence[str]) -> tuple[int | None, str | None] | None:
    weekday = at = None
    for word in words:
        day = parse_weekday(word)
        if day is not None and weekday is None:
            weekday = day
            continue
        parsed = parse_time(word)
        if parsed is not None and at is None:
            at = parsed
            continue
        return None
    return (weekday, at) if weekday is not None or at is not None else None


async def send_digest_now(
    bot: Bot,
    storage: Storage,
    renderer: ChartRenderer,
    cache: DigestCache,
    i18n: I18n,
    workspace: Workspace,
    now: datetime,
    default_language: str,
) -> bool:
    """The digest of the last full week, sent at once; False if the workspace has no data."""
    if not await storage.digests.has_data(workspace.id):
        return False
    today = now.astimezone(ZoneInfo(workspace.timezone)).date()
    prepared = await prepare(storage, i18n, workspace, report_week(today), default_language)
    png = await render_cached(renderer, cache, prepared.spec) if prepared.spec else None
    if png is not None:
        await bot.send_photo(
            workspace.chat_id,
            BufferedInputFile(png, filename="digest.png"),
            caption=prepared.caption,
        )
        texts: Sequence[str] = prepared.details
    else:
        texts = prepared.text
    for text in texts:
        await bot.send_message(workspace.chat_id, text)
    return True


async def _now(
    message_chat_answer: Callable[[str], Awaitable[Any]],
    bot: Bot,
    storage: Storage,
    renderer: ChartRenderer,
    cache: DigestCache,
    i18n: I18n,
    workspace: Workspace,
    now: datetime,
) -> None:
    lang = workspace.language or current_language()
    if not await send_digest_now(bot, storage, renderer, cache, i18n, workspace, now, lang):
        await message_chat_answer(
            _("No numbers yet, so no digest. Send them with /log or a file, then try again.")
        )


async def cmd_digest(
    message: Message,
    command: CommandObject,
    bot: Bot,
    storage: Storage,
    renderer: ChartRenderer,
    digest_cache: DigestCache,
    i18n: I18n,
    workspace: Workspace,
    clock: Callable[[], datetime],
) -> None:
    words = (command.args or "").lower().split()
    if not words:
        await message.answer(
            schedule_text(workspace, clock()), reply_markup=schedule_keyboard(workspace)
        )
        return
    if words == ["now"] or words == ["сейчас"]:
        await _now(message.answer, bot, storage, renderer, digest_cache, i18n, workspace, clock())
        return
    if words[0] in ("off", "выкл", "выключить", "on", "вкл", "включить") and len(words) == 1:
        await storage.workspaces.set_digest(
            message.chat.id, enabled=words[0] in ("on", "вкл", "включить"), changed_at=clock()
        )
    else:
        parsed = _parse_schedule(words)
        if parsed is None:
            await message.reply(_usage())
            return
        weekday, at = parsed
        await storage.workspaces.set_digest(
            message.chat.id, enabled=True, weekday=weekday, time=at, changed_at=clock()
        )
    updated = await storage.workspaces.get_by_chat(message.chat.id)
    assert updated is not None
    await message.answer(schedule_text(updated, clock()), reply_markup=schedule_keyboard(updated))


async def on_digest_button(
    query: CallbackQuery,
    callback_data: DigestButton,
    bot: Bot,
    storage: Storage,
    renderer: ChartRenderer,
    digest_cache: DigestCache,
    i18n: I18n,
    workspace: Workspace | None,
    clock: Callable[[], datetime],
) -> None:
    if workspace is None or callback_data.ws != workspace.id or query.message is None:
        await query.answer(_("This button is not for this chat."), show_alert=True)
        return
    act, val = callback_data.act, callback_data.val
    if act == "now":
        await query.answer(_("Sending the digest…"))
        await _now(
            lambda text: bot.send_message(workspace.chat_id, text),
            bot, storage, renderer, digest_cache, i18n, workspace, clock(),
        )  # fmt: skip
        return
    changes: dict[str, Any] = {}
    if act in ("on", "off"):
        changes["enabled"] = act == "on"
    elif act == "day" and val.isdigit() and int(val) < 7:
        changes["weekday"] = int(val)
    elif act == "time" and (parsed := parse_time(f"{val[:2]}:{val[2:]}")) is not None:
        changes["time"] = parsed
    else:
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    await storage.workspaces.set_digest(workspace.chat_id, **changes, changed_at=clock())
    updated = await storage.workspaces.get_by_chat(workspace.chat_id)
    assert updated is not None
    await query.answer(_("Saved."))
    await bot.edit_message_text(
        schedule_text(updated, clock()),
        chat_id=updated.chat_id,
        message_id=query.message.message_id,
        reply_markup=schedule_keyboard(updated),
    )


def _changes_schedule(args: str | None) -> bool:
    words = (args or "").lower().split()
    return bool(words) and words not in (["now"], ["сейчас"])


def create_router() -> Router:
    router = Router(name="digest")
    # Changing the schedule is for administrators; showing it and `now` for anyone.
    router.message.register(
        cmd_digest, Command("digest", magic=F.args.func(_changes_schedule)), AdminOnly()
    )
    router.message.register(cmd_digest, Command("digest"))
    router.callback_query.register(
        on_digest_button, DigestButton.filter((F.ws > 0) & (F.act != "now")), AdminOnly()
    )
    router.callback_query.register(on_digest_button, DigestButton.filter(F.ws > 0))
    return router


__all__ = ["DigestButton", "create_router", "schedule_text", "send_digest_now"]
