"""/start, /help, and the bot joining, leaving or following a chat migration."""

from __future__ import annotations

import html
import logging

from aiogram import F, Router
from aiogram.filters import Command, CommandStart
from aiogram.types import ChatMemberUpdated, Message
from aiogram.utils.i18n import gettext as _

from bot.texts import COMMANDS
from handlers.filters import Is
from handlers.permissions import AdminCache
from handlers.selection import spoken_forms
from storage import Storage
from storage.records import Workspace

log = logging.getLogger(__name__)


def welcome_text() -> str:
    return "\n".join(
        (
            _("<b>Hi! I count your SMM KPIs.</b>"),
            _("Send me numbers in any of three ways:"),
            _(
                "• type them: <code>/log reach=12000 likes=340</code> "
                "(or in Russian: охват, лайки);"
            ),
            _("• step by step with buttons: /add;"),
            _(
                "• send a CSV or XLSX export from VK, Instagram, Telegram, Google Analytics "
                "or an ad cabinet as a file."
            ),
            _("Then ask: /report, /roi, /engagement … — /help lists every command."),
        )
    )


async def cmd_start(message: Message, workspace: Workspace | None) -> None:
    await message.answer(welcome_text())


async def cmd_help(message: Message) -> None:
    titles = {
        "kpi": _("<b>KPIs</b> (add a period and an account: <code>/roi 30d vk:brand</code>)"),
        "data": _("<b>Data</b>"),
        "setup": _("<b>Setup</b>"),
    }
    lines: list[str] = []
    for group, title in titles.items():
        lines.append(title)
        lines.extend(
            f"/{c.command} — {html.escape(str(c.description))}"
            for c in COMMANDS
            if c.group == group
        )
        lines.append("")
    lines.append(
        _("Periods as you would write them: {spoken}; or short: {short}.").format(
            spoken=spoken_forms(),
            short="7d, 30d, 12w, 3m, week, month, quarter, ytd, 2024-05, 2024-Q2, 2024",
        )
    )
    lines.append(
        _(
            "No command needed: write “reach in May” or “report for last week” (in a group, "
            "mention me or reply to me); a mistyped command gets a suggestion."
        )
    )
    await message.answer("\n".join(lines))


async def on_bot_membership(
    event: ChatMemberUpdated, storage: Storage, admins: AdminCache, default_timezone: str
) -> None:
    """Added to a group: create the workspace and greet. Removed: mark it inactive."""
    chat = event.chat
    status = event.new_chat_member.status
    admins.forget_chat(chat.id)
    if status in ("left", "kicked"):
        await storage.workspaces.set_active(chat.id, False)
        log.info("bot removed from chat %s; workspace marked inactive", chat.id)
        return
    if event.old_chat_member.status in ("left", "kicked") and chat.type != "channel":
        _ws, _created = await storage.workspaces.ensure(
            chat.id, chat.type, chat.title, default_timezone
        )
        await event.bot.send_message(chat.id, welcome_text())  # type: ignore[union-attr]


async def on_migrate(message: Message, storage: Storage) -> None:
    """A group became a supergroup: its workspace moves to the new chat id."""
    new_id = message.migrate_to_chat_id
    if new_id is not None:
        moved = await storage.workspaces.migrate_chat(message.chat.id, new_id)
        log.info("chat %s migrated to %s (workspace moved: %s)", message.chat.id, new_id, moved)


async def on_migrated_from(message: Message, storage: Storage) -> None:
    old_id = message.migrate_from_chat_id
    if old_id is not None:
        await storage.workspaces.migrate_chat(old_id, message.chat.id)


def create_router() -> Router:
    router = Router(name="start")
    router.message.register(on_migrate, Is(F.migrate_to_chat_id))
    router.message.register(on_migrated_from, Is(F.migrate_from_chat_id))
    router.message.register(cmd_start, CommandStart())
    router.message.register(cmd_help, Command("help"))
    router.my_chat_member.register(on_bot_membership)
    return router
