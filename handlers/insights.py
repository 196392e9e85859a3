"""/why <kpi> [period] [account] and /content [period] [account].

/why compares the period with the previous one of equal length (`storage.metrics.
period_pair`, the figures every KPI answer shows) and splits the change by account
(`kpi.why`): each account's own sums come from the same query with its id. /content reads
the period's posts (`storage.metrics.posts_in_period`) and reports what stood out
(`kpi.content`). Both only read, so anyone may ask.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.services.insights import why_for
from bot.texts import code
from handlers import insights_texts as t
from handlers.kpi_texts import format_period, header, kpi_name
from handlers.replies import current_language, split_text
from handlers.selection import read_period_account
from kpi.content import from_records, insights
from kpi.kpis import KPI_FUNCTIONS, KPI_KEYS, resolve_kpi
from kpi.models import Period
from kpi.registry import unit_of
from kpi.why import Why
from storage import Storage
from storage.records import Account, Workspace

WHY_KPIS: tuple[str, ...] = tuple(k for k in KPI_KEYS if k in KPI_FUNCTIONS)


def _kpi_list() -> str:
    return ", ".join(code(k) for k in WHY_KPIS)


async def _period_and_account(
    message: Message,
    args: str,
    command: str,
    storage: Storage,
    workspace: Workspace,
    clock: Callable[[], datetime],
) -> tuple[Period, Account | None] | None:
    """As every KPI command reads them (handlers/selection.py), or None once the reply
    has said why not."""
    today = clock().astimezone(ZoneInfo(workspace.timezone)).date()
    asked = await read_period_account(args, command, storage, workspace, today)
    if asked.error is not None:
        await message.reply(asked.error)
        return None
    return asked.period, asked.account


async def cmd_why(
    message: Message,
    command: CommandObject,
    storage: Storage,
    workspace: Workspace,
    clock: Callable[[], datetime],
) -> None:
    words = (command.args or "").split(maxsplit=1)
    if not words:
        await message.reply(t.why_usage(_kpi_list()))
        return
    kpi = resolve_kpi(words[0])
    if kpi is None or kpi not in KPI_FUNCTIONS:
        intro = _("I don't know the KPI “{value}”.").format(value=html.escape(words[0][:64]))
        await message.reply(f"{intro}\n{t.why_usage(_kpi_list())}")
        return
    chosen = await _period_and_account(
        message, words[1] if len(words) > 1 else "", f"why {kpi}", storage, workspace, clock
    )
    if chosen is None:
        return
    period, account = chosen
    lang = current_language()
    result = await why_for(storage, workspace, kpi, period, account)
    title = "❓ " + header(
        html.escape(kpi_name(kpi)), period, account.name if account else None, lang
    )
    if isinstance(result, Why):
        text = t.why_answer(result, unit_of(kpi), title, lang)
        previous = period.previous()
        text += "\n" + _("Against {period}.").format(period=format_period(previous, lang))
    else:
        text = title + "\n" + t.why_cannot(kpi, result)
    for part in split_text(text):
        await message.answer(part)


async def cmd_content(
    message: Message,
    command: CommandObject,
    storage: Storage,
    workspace: Workspace,
    clock: Callable[[], datetime],
) -> None:
    chosen = await _period_and_account(
        message, command.args or "", "content", storage, workspace, clock
    )
    if chosen is None:
        return
    period, account = chosen
    lang = current_language()
    records = await storage.metrics.posts_in_period(
        workspace.id, period, account.id if account else None
    )
    posts, left_out, basis = from_records(records)
    # The bootstrap is numpy work: off the event loop.
    found = await asyncio.to_thread(insights, posts, left_out=left_out, basis=basis)
    text = t.content_answer(
        found, format_period(period, lang), account.name if account else None, lang
    )
    for part in split_text(text):
        await message.answer(part)


def create_router() -> Router:
    router = Router(name="insights")
    router.message.register(cmd_why, Command("why"))
    router.message.register(cmd_content, Command("content"))
    return router
