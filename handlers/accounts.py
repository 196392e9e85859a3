"""/account add|list|rename|delete."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from handlers import channels
from handlers.permissions import AdminOnly
from kpi.accounts import normalize_account
from storage import Storage
from storage.records import Workspace
from storage.workspaces import AccountExists


def _usage() -> str:
    return _(
        "Accounts: <code>platform:handle</code>, e.g. vk:brand, ig:brand, tg:brandchannel, "
        "ads:vk, site.\n"
        "/account list — all accounts\n"
        "/account add vk:brand\n"
        "/account rename vk:brand vk:newbrand\n"
        "/account delete vk:brand — with all its numbers"
    )


def _bad_name(value: str) -> str:
    return _("“{value}” is not an account name. Use platform:handle, e.g. vk:brand.").format(
        value=html.escape(value[:64])
    )


async def cmd_account(
    message: Message,
    command: CommandObject,
    storage: Storage,
    bot: Bot,
    workspace: Workspace,
    clock: Callable[[], datetime],
) -> None:
    args = (command.args or "").split()
    action = args[0].lower() if args else "list"
    repo = storage.workspaces
    if action in ("list", "список", "ls"):
        accounts = await repo.list_accounts(workspace.id)
        lines = [_("<b>Accounts</b>")]
        for acc in accounts:
            mark = _(" (default)") if acc.is_default else ""
            lines.append(f"• {html.escape(acc.name)}{mark}")
        lines.append("")
        lines.append(_("Add one: /account add vk:brand"))
        await message.answer("\n".join(lines))
        return
    if action not in ("add", "rename", "delete", "добавить", "переименовать", "удалить"):
        await message.reply(_usage())
        return
    names = [normalize_account(a) for a in args[1:]]
    need = 2 if action in ("rename", "переименовать") else 1
    if len(args) - 1 != need:
        await message.reply(_usage())
        return
    for raw, name in zip(args[1:], names, strict=True):
        if name is None:
            await message.reply(_bad_name(raw))
            return
    first = names[0]
    assert first is not None
    if action in ("add", "добавить"):
        try:
            await repo.add_account(workspace.id, first)
        except AccountExists:
            text = _("Account {name} already exists.").format(name=first)
            if first.startswith("tg:"):  # adding it again re-checks the channel link
                text += "\n" + await channels.link_channel(bot, storage, workspace, first, clock)
            await message.reply(text)
            return
        text = _("Account {name} added.").format(name=first)
        if first.startswith("tg:"):
            text += "\n" + await channels.link_channel(bot, storage, workspace, first, clock)
        await message.answer(text)
    elif action in ("rename", "переименовать"):
        second = names[1]
        assert second is not None
        try:
            done = await repo.rename_account(workspace.id, first, second)
        except AccountExists:
            await message.reply(_("Account {name} already exists.").format(name=second))
            return
        if done:
            await message.answer(_("Account {old} renamed to {new}.").format(old=first, new=second))
        else:
            await message.reply(_("There is no account {name}.").format(name=first))
    else:
        account = await repo.find_account(workspace.id, first)
        if account is None:
            await message.reply(_("There is no account {name}.").format(name=first))
        elif account.is_default:
            await message.reply(_("The default account can't be deleted."))
        else:
            await repo.delete_account(workspace.id, first)
            await message.answer(
                _("Account {name} and its numbers are deleted.").format(name=first)
            )


_CHANGES = ("add", "rename", "delete", "добавить", "переименовать", "удалить")


def _changes(args: str | None) -> bool:
    words = (args or "").split()
    return bool(words) and words[0].lower() in _CHANGES


def create_router() -> Router:
    router = Router(name="accounts")
    router.message.register(
        cmd_account, Command("account", "accounts", magic=F.args.func(_changes)), AdminOnly()
    )
    router.message.register(cmd_account, Command("account", "accounts"))
    return router
