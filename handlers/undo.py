"""/undo: take back the last import, /log or /add (every write is one batch)."""

from __future__ import annotations

import html
from zoneinfo import ZoneInfo

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.services.events import DataChanged
from bot.texts import account_days, audience_rows, posts_count
from handlers.data_log import format_days
from handlers.permissions import AdminOnly
from handlers.replies import current_language
from kpi.numbers import format_moment
from storage import Storage
from storage.records import Workspace


def _source_name(source: str) -> str:
    if source.startswith("file:"):
        return _("the file “{name}”").format(name=html.escape(source[5:]))
    if source == "/log":
        return _("/log")
    if source == "/add":
        return _("/add")
    return html.escape(source)


async def cmd_undo(
    message: Message,
    bot: Bot,
    storage: Storage,
    workspace: Workspace,
    data_changed: DataChanged,
) -> None:
    lang = current_language()
    batch = await storage.metrics.last_batch(workspace.id)
    if batch is None:
        await message.reply(_("Nothing to undo: there are no imports or /log entries left."))
        return
    days = await storage.metrics.batch_days(workspace.id, batch.id)
    result = await storage.metrics.undo_last(workspace.id)
    if result is None:
        await message.reply(_("Nothing to undo: there are no imports or /log entries left."))
        return
    when = result.batch.created_at.astimezone(ZoneInfo(workspace.timezone))
    parts = [
        account_days(result.batch.rows, lang),
    ]
    if result.batch.posts:
        parts.append(posts_count(result.batch.posts, lang))
    if result.batch.audience:
        parts.append(audience_rows(result.batch.audience, lang))
    lines = [
        _("Undone: {source} from {when} ({what}).").format(
            source=_source_name(result.batch.source),
            when=format_moment(when, lang),
            what=", ".join(parts),
        )
    ]
    if days is not None:
        lines.append(_("Days affected: {days}.").format(days=format_days(days[0], days[1], lang)))
    if result.restored:
        lines.append(
            _("Earlier values restored: {rows}.").format(rows=account_days(result.restored, lang))
        )
    lines.append(_("/undo again takes back the import before it."))
    await message.answer("\n".join(lines))
    if days is not None:
        await data_changed.emit(bot, workspace, days[0], days[1])


def create_router() -> Router:
    router = Router(name="undo")
    router.message.register(cmd_undo, Command("undo", ignore_case=True), AdminOnly())
    return router
