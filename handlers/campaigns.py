"""Campaign links of Telegram channels: `/campaign new|cost|revenue|conversions|stop` and
`/campaigns [period]` (named invite links; kpi/campaigns.py defines the figures, and
handlers/channels.py attributes joins to the links)."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from handlers.data_log import format_day, format_days, local_today
from handlers.permissions import AdminCache, require_admin
from handlers.replies import answer_long, current_language
from kpi.accounts import normalize_account
from kpi.campaigns import Join, campaign_figures
from kpi.models import Period
from kpi.numbers import format_number, format_percent
from kpi.parsing import parse_number
from kpi.periods import PeriodError, parse_period
from storage import Storage
from storage.channels import CampaignLink, LinkNameTaken
from storage.records import Account, Workspace

log = logging.getLogger(__name__)

_LINK_NAME_MAX = 32  # createChatInviteLink: name, 0-32 characters
_ALL_TIME = frozenset({"all", "всё", "все", "alltime", "all-time"})


def _campaign_usage() -> str:
    return _(
        "Campaign links (named invite links of a channel):\n"
        "/campaign new <i>name</i> [cost] [tg:channel] — create a link\n"
        "/campaign cost <i>name</i> <i>value</i>\n"
        "/campaign revenue <i>name</i> <i>value</i>\n"
        "/campaign conversions <i>name</i> <i>value</i>\n"
        "/campaign stop <i>name</i> — revoke the link\n"
        "/campaigns [period] — joins, leaves, still subscribed, CAC per link"
    )


def _number(raw: str) -> float | None:
    try:
        value = parse_number(raw)
    except ValueError:
        return None
    return value if value >= 0 else None


async def _channel_account(
    storage: Storage, workspace: Workspace, typed: str | None
) -> Account | str:
    """The linked channel account named (or the only one); else what to tell the user."""
    linked = [a for a in await storage.workspaces.list_accounts(workspace.id) if a.channel_chat_id]
    if typed is not None:
        name = normalize_account(typed)
        found = next((a for a in linked if a.name == name), None)
        if found is not None:
            return found
        return _("{name} is not a connected channel. Connect it: /account add tg:@channel").format(
            name=html.escape(typed[:64])
        )
    if len(linked) == 1:
        return linked[0]
    if not linked:
        return _(
            "No Telegram channel is connected. Make me an administrator of the channel, "
            "then send /account add tg:@yourchannel."
        )
    names = ", ".join(html.escape(a.name) for a in linked)
    return _("Name the channel: {names}.").format(names=names)


async def _campaign_new(
    message: Message, args: Sequence[str], bot: Bot, storage: Storage, workspace: Workspace,
    clock: Callable[[], datetime],
) -> None:  # fmt: skip
    if not args:
        await message.reply(_campaign_usage())
        return
    name, rest = args[0], args[1:]
    if len(name) > _LINK_NAME_MAX:
        await message.reply(
            _("A link name has at most 32 characters; “{name}” has {n}.").format(
                name=html.escape(name[:64]), n=len(name)
            )
        )
        return
    cost: float | None = None
    typed_account: str | None = None
    for token in rest:
        if ":" in token and typed_account is None:
            typed_account = token
        elif cost is None and (value := _number(token)) is not None:
            cost = value
        else:
            await message.reply(
                _("“{token}” is neither a cost nor a channel.").format(
                    token=html.escape(token[:64])
                )
                + "\n\n"
                + _campaign_usage()
            )
            return
    account = await _channel_account(storage, workspace, typed_account)
    if isinstance(account, str):
        await message.reply(account)
        return
    if await storage.channels.name_taken(workspace.id, name):
        await message.reply(
            _("There is already a campaign link “{name}”.").format(name=html.escape(name))
        )
        return
    assert account.channel_chat_id is not None
    try:
        link = await bot.create_chat_invite_link(account.channel_chat_id, name=name)
    except TelegramAPIError as exc:
        log.info("createChatInviteLink in %s failed: %s", account.channel_chat_id, exc)
        await message.reply(
            _(
                "Telegram refused to create the link: {reason}. I need to be an administrator "
                "of the channel with “Add subscribers” switched on."
            ).format(reason=html.escape(exc.message))
        )
        return
    try:
        await storage.channels.add_link(
            workspace.id, account.id, name, link.invite_link, cost, clock()
        )
    except LinkNameTaken:
        await message.reply(
            _("There is already a campaign link “{name}”.").format(name=html.escape(name))
        )
        return
    lang = current_language()
    lines = [
        _("Campaign link “{name}” for {account}:").format(
            name=html.escape(name), account=html.escape(account.name)
        ),
        html.escape(link.invite_link),
    ]
    if cost is not None:
        lines.append(_("Cost: {cost}.").format(cost=format_number(cost, lang)))
    lines.append(_("Joins through it are counted: /campaigns"))
    await message.answer("\n".join(lines))


async def _find_link(
    message: Message, storage: Storage, workspace: Workspace, name: str
) -> CampaignLink | None:
    found = await storage.channels.links(workspace.id, name)
    if not found:
        await message.reply(
            _("There is no campaign link “{name}”. The links: /campaigns").format(
                name=html.escape(name[:64])
            )
        )
        return None
    return found[0]


async def cmd_campaign(
    message: Message,
    command: CommandObject,
    bot: Bot,
    storage: Storage,
    admins: AdminCache,
    workspace: Workspace,
    clock: Callable[[], datetime],
) -> None:
    args = (command.args or "").split()
    action = args[0].lower() if args else ""
    actions = {
        "new": "new",
        "создать": "new",
        "новая": "new",
        "cost": "cost",
        "стоимость": "cost",
        "расход": "cost",
        "revenue": "revenue",
        "выручка": "revenue",
        "conversions": "conversions",
        "конверсии": "conversions",
        "stop": "stop",
        "стоп": "stop",
        "остановить": "stop",
    }
    if action not in actions:
        await message.reply(_campaign_usage())
        return
    action = actions[action]
    if not await require_admin(message, bot, admins):
        return
    if action == "new":
        await _campaign_new(message, args[1:], bot, storage, workspace, clock)
        return
    if action == "stop":
        if len(args) != 2:
            await message.reply(_campaign_usage())
            return
        link = await _find_link(message, storage, workspace, args[1])
        if link is None:
            return
        if link.revoked_at is not None:
            await message.reply(
                _("The link “{name}” is already stopped.").format(name=html.escape(link.name))
            )
            return
        if link.chat_id is None:  # the account no longer follows the channel
            await message.reply(
                _(
                    "{account} is no longer connected, so I can't revoke the link. Connect it "
                    "again (/account add {account}) or revoke the link in the channel's settings."
                ).format(account=html.escape(link.account_name))
            )
            return
        try:
            await bot.revoke_chat_invite_link(link.chat_id, link.invite_link)
        except TelegramAPIError as exc:
            log.info("revokeChatInviteLink in %s failed: %s", link.chat_id, exc)
            await message.reply(
                _("Telegram refused to revoke the link: {reason}.").format(
                    reason=html.escape(exc.message)
                )
            )
            return
        await storage.channels.revoke_link(workspace.id, link.id, clock())
        await message.answer(
            _(
                "The link “{name}” is revoked: nobody can join through it now. "
                "Its figures stay in /campaigns."
            ).format(name=html.escape(link.name))
        )
        return
    if len(args) != 3:
        await message.reply(_campaign_usage())
        return
    value = _number(args[2])
    if value is None:
        await message.reply(
            _(
                "“{value}” is not a number (a cost, revenue or conversions figure, 0 or more)."
            ).format(value=html.escape(args[2][:64]))
        )
        return
    link = await _find_link(message, storage, workspace, args[1])
    if link is None:
        return
    await storage.channels.set_link_value(workspace.id, link.id, action, value)
    labels = {"cost": _("cost"), "revenue": _("revenue"), "conversions": _("conversions")}
    await message.answer(
        _("Campaign link “{name}”: {what} = {value}.").format(
            name=html.escape(link.name),
            what=labels[action],
            value=format_number(value, current_language()),
        )
    )


def _link_lines(
    link: CampaignLink, joins: list[Join], all_joins: int, period: Period | None, lang: str,
    tz: ZoneInfo,
) -> list[str]:  # fmt: skip
    figures = campaign_figures(joins, link.cost, link.revenue, link.conversions)
    created = format_day(link.created_at.astimezone(tz).date(), lang)
    head = _("• <b>{name}</b> ({account}), since {day}").format(
        name=html.escape(link.name), account=html.escape(link.account_name), day=created
    )
    if link.revoked_at is not None:
        head += _(", stopped {day}").format(
            day=format_day(link.revoked_at.astimezone(tz).date(), lang)
        )

    def n(x: float) -> str:
        return format_number(x, lang)

    lines = [
        head,
        _("  joins {joins}, left {leaves}, still subscribed {still}").format(
            joins=n(figures.joins), leaves=n(figures.leaves), still=n(figures.still_subscribed)
        ),
    ]
    if link.cost is None:
        lines.append(
            _("  CAC: no cost attached (/campaign cost {name} 5000)").format(
                name=html.escape(link.name)
            )
        )
    elif period is not None and all_joins != figures.joins:
        # The cost is the link's whole cost: over part of its joins it would be wrong.
        lines.append(
            _("  cost {cost}; CAC only over the link's whole life: /campaigns").format(
                cost=n(link.cost)
            )
        )
    elif figures.cac is None:
        lines.append(
            _("  cost {cost}; CAC: nobody who joined through it is still subscribed").format(
                cost=n(link.cost)
            )
        )
    else:
        lines.append(
            _("  CAC = {cost} / {still} = {cac} per subscriber").format(
                cost=n(link.cost), still=n(figures.still_subscribed), cac=n(figures.cac)
            )
        )
    if figures.conversion is not None and figures.conversions is not None:
        lines.append(
            _("  conversion = {conv} / {joins} = {rate}").format(
                conv=n(figures.conversions),
                joins=n(figures.joins),
                rate=format_percent(figures.conversion, lang),
            )
        )
    if figures.revenue is not None:
        roi = "" if figures.roi is None else ", ROI " + format_percent(figures.roi, lang)
        lines.append(_("  revenue {revenue}").format(revenue=n(figures.revenue)) + roi)
    return lines


async def cmd_campaigns(
    message: Message,
    command: CommandObject,
    storage: Storage,
    workspace: Workspace,
    clock: Callable[[], datetime],
) -> None:
    lang = current_language()
    arg = (command.args or "").strip()
    period: Period | None = None
    if arg and arg.lower() not in _ALL_TIME:
        try:
            period = parse_period(arg, local_today(workspace, clock))
        except PeriodError as exc:
            await message.reply(
                _("“{token}” is not a period.").format(token=html.escape(exc.token[:64]))
                + "\n"
                + _("For example: /campaigns 30d, /campaigns 2024-05, /campaigns all")
            )
            return
    links = await storage.channels.links(workspace.id)
    if not links:
        await message.answer(
            _("No campaign links yet. Create one: /campaign new spring_promo 5000")
        )
        return
    tz = ZoneInfo(workspace.timezone)
    by_link: dict[int, list[tuple[date, bool]]] = {}
    for j in await storage.channels.link_joins(workspace.id):
        by_link.setdefault(j.link_id, []).append(
            (j.joined_at.astimezone(tz).date(), j.left_at is not None)
        )
    if period is None:
        title = _("<b>Campaign links</b>, all time")
    else:
        title = _("<b>Campaign links</b>, {days}").format(
            days=format_days(period.start, period.end, lang)
        )
    lines = [title]
    for link in links:
        seen = by_link.get(link.id, [])
        joins = [Join(day, left) for day, left in seen if period is None or day in period]
        lines.append("")
        lines.extend(_link_lines(link, joins, len(seen), period, lang, tz))
    lines.append("")
    lines.append(
        _(
            "CAC = the link's cost / joins through it still subscribed. Telegram does not say "
            "how many people opened the link without joining."
        )
    )
    await answer_long(message, "\n".join(lines))


def create_router() -> Router:
    router = Router(name="campaigns")
    router.message.register(cmd_campaign, Command("campaign"))
    router.message.register(cmd_campaigns, Command("campaigns"))
    return router
