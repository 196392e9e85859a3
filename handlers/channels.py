"""Telegram channels that feed themselves.

`/account add tg:@channel` (handlers/accounts.py) calls `link_channel`: getChat
resolves @channel to its id, getChatMember of the bot tells whether it is an
administrator there and which of the rights it needs are missing; the channel is
then linked and today's member count recorded at once.

From then on, as Telegram sends them (bot/app.py lists them in `allowed_updates`):
- `channel_post` / `edited_channel_post` → a post row (time, text, hashtags, format),
  edits update it; the day's `posts` count follows;
- `message_reaction_count` → the post's reaction total, and the day's `reactions`;
- `chat_member` → the day's `new_followers` / `unfollows`, the follower count moved
  by one between daily snapshots, and joins attributed to campaign links;
- `chat_join_request` → join requests per day.
The subscriber's id is kept only as a salted hash (storage/channels.py).

The daily member count of every linked channel is a job: bot/services/channels.py.

`/channels` lists the linked channels; handlers/campaigns.py has the campaign links.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
import secrets
from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.types import (
    ChatJoinRequest,
    ChatMemberAdministrator,
    ChatMemberUpdated,
    Message,
    MessageReactionCountUpdated,
    Update,
)
from aiogram.utils.i18n import gettext as _

from bot.services.events import DataChanged
from handlers.data_log import format_day, local_today
from handlers.replies import answer_long, current_language
from kpi.alerts import MAX_RULES, parse_rule
from kpi.numbers import format_number
from kpi.registry import CHANNEL_ALERTS
from storage import Storage
from storage.channels import ChannelTarget, PostWrite
from storage.records import Workspace

log = logging.getLogger(__name__)

_ADMIN = ("administrator", "creator")
# What the bot needs beyond being an administrator, and what for (an administrator
# receives posts, reactions and member updates without any right switched on).
NEEDED_RIGHTS = ("can_invite_users",)
_MEMBER_STATUSES = ("member", "administrator", "creator")
_HASHTAG = re.compile(r"#(\w+)")


def _right_label(right: str) -> str:
    labels = {
        "can_invite_users": _(
            "“Add subscribers” (invite links): needed for /campaign links and join requests"
        ),
    }
    return labels.get(right, right)


def _how_to_admin(handle: str, bot_username: str) -> str:
    return _(
        "To collect its followers, posts, reactions, joins and leaves, make me an administrator "
        "of @{channel}: channel → Manage channel → Administrators → Add administrator → @{bot}, "
        "with “Add subscribers” switched on (for campaign links). "
        "Then send /account add tg:{channel} again."
    ).format(channel=html.escape(handle), bot=html.escape(bot_username))


def missing_rights(member: object) -> list[str]:
    """The rights of `NEEDED_RIGHTS` an administrator lacks (a creator has them all)."""
    if isinstance(member, ChatMemberAdministrator):
        return [r for r in NEEDED_RIGHTS if not getattr(member, r, False)]
    return []


async def link_channel(
    bot: Bot,
    storage: Storage,
    workspace: Workspace,
    account_name: str,
    clock: Callable[[], datetime],
) -> str:
    """Link a `tg:` account to its channel; returns what to tell the user."""
    handle = account_name.split(":", 1)[1].lstrip("@") if ":" in account_name else ""
    me = await bot.me()
    username = me.username or "bot"
    if not handle:
        return _("Name the channel to follow its followers: /account add tg:yourchannel")
    try:
        chat = await bot.get_chat(f"@{handle}")
    except TelegramAPIError as exc:
        log.info("getChat @%s failed: %s", handle, exc)
        return "\n".join(
            (
                _("I can't find the public channel @{channel}.").format(
                    channel=html.escape(handle)
                ),
                _how_to_admin(handle, username),
            )
        )
    try:
        member = await bot.get_chat_member(chat.id, bot.id)
    except TelegramAPIError as exc:
        log.info("getChatMember in %s failed: %s", chat.id, exc)
        return _how_to_admin(handle, username)
    if member.status not in _ADMIN:
        return _how_to_admin(handle, username)
    account = await storage.workspaces.find_account(workspace.id, account_name)
    if account is None:  # deleted in the meantime
        return _("There is no account {name}.").format(name=html.escape(account_name))
    missing = missing_rights(member)
    await storage.channels.link(
        workspace.id, account.id, chat.id, missing, clock(), secrets.token_hex(16)
    )
    lines = [
        _(
            "I'm an administrator of @{channel}: I'll record its followers every day and its "
            "posts, reactions, joins and leaves as they happen (/channels)."
        ).format(channel=html.escape(handle))
    ]
    if missing:
        lines.append(_("Missing rights, switch them on in the channel's administrators:"))
        lines.extend(f"• {_right_label(r)}" for r in missing)
    if await _add_channel_alerts(storage, workspace, account.id, clock()):
        lines.append(
            _(
                "Alert on: unfollows 50% above the median of the 4 weeks before, "
                "checked every week (/alerts)."
            )
        )
    try:
        count = await bot.get_chat_member_count(chat.id)
    except TelegramAPIError as exc:
        log.info("getChatMemberCount in %s failed: %s", chat.id, exc)
        return "\n".join(lines)
    today = local_today(workspace, clock)
    await storage.metrics.record_gauge(workspace.id, account.id, today, "followers", count)
    lines.append(
        _("Followers today: {count}.").format(count=format_number(count, current_language()))
    )
    return "\n".join(lines)


async def _add_channel_alerts(
    storage: Storage, workspace: Workspace, account_id: int, now: datetime
) -> bool:
    """The registry's default rules for a channel (`CHANNEL_ALERTS`), each once per
    account: linking again adds nothing. True when a rule was added."""
    rules = await storage.alerts.list_rules(workspace.id)
    have = {(r.kpi, r.kind, r.op, r.account_id) for r in rules}
    added = False
    for text in CHANNEL_ALERTS:
        spec = parse_rule(text)
        if (spec.kpi, spec.kind, spec.op, account_id) in have or len(rules) >= MAX_RULES:
            continue
        await storage.alerts.add_rule(
            workspace.id, kpi=spec.kpi, kind=spec.kind, op=spec.op, value=spec.value,
            min_volume=spec.min_volume, account_id=account_id, now=now,
        )  # fmt: skip
        added = True
    return added


# --- updates from the channel -------------------------------------------------------


def _local_day(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()


def post_format(message: Message) -> str:
    """The post's format from its content (a forward is "forwarded" whatever it holds)."""
    if message.forward_origin is not None:
        return "forwarded"
    if message.media_group_id is not None:
        return "album"
    kinds = (
        ("photo", message.photo),
        ("video", message.video),
        ("poll", message.poll),
        ("voice", message.voice),
        ("document", message.document),
        ("video_note", message.video_note),
        ("audio", message.audio),
        ("animation", message.animation),
        ("sticker", message.sticker),
        ("text", message.text),
    )
    # An animation also carries `document`: the more specific kind wins.
    if message.animation is not None:
        return "animation"
    return next((name for name, value in kinds if value), "other")


def post_hashtags(message: Message) -> tuple[str, ...]:
    """Hashtags from the message's entities (lower-case, without '#'), else from `#words`."""
    text = message.text or message.caption or ""
    entities = message.entities or message.caption_entities or []
    tags = [e.extract_from(text) for e in entities if e.type == "hashtag"]
    if not entities:
        tags = [f"#{t}" for t in _HASHTAG.findall(text)]
    seen: dict[str, None] = {}
    for tag in tags:
        folded = tag.lstrip("#").casefold().replace("ё", "е")
        if folded:
            seen.setdefault(folded, None)
    return tuple(seen)


async def _emit(
    bot: Bot, storage: Storage, data_changed: DataChanged, target: ChannelTarget, day: date
) -> None:
    workspace = await storage.workspaces.get(target.workspace_id)
    if workspace is not None:
        await data_changed.emit(bot, workspace, day, day)


async def on_channel_post(
    message: Message, bot: Bot, storage: Storage, data_changed: DataChanged
) -> None:
    """A new or edited post: one post row per message (per album), edits update it."""
    targets = await storage.channels.targets(message.chat.id)
    if not targets:
        return
    key = (
        f"tg:album:{message.media_group_id}"
        if message.media_group_id is not None
        else f"tg:{message.message_id}"
    )
    for target in targets:
        post = PostWrite(
            post_key=key,
            message_id=message.message_id,
            day=_local_day(message.date, target.timezone),
            published_at=message.date,
            format=post_format(message),
            hashtags=post_hashtags(message),
            text=message.text or message.caption,
        )
        await storage.channels.record_post(target, post)
        await _emit(bot, storage, data_changed, target, post.day)


async def on_reaction_count(
    event: MessageReactionCountUpdated,
    event_update: Update,
    bot: Bot,
    storage: Storage,
    data_changed: DataChanged,
) -> None:
    """Telegram's (grouped, delayed) reaction totals of one message. Updates are handled
    concurrently: the update id decides which total is the latest."""
    total = float(sum(r.total_count for r in event.reactions))
    for target in await storage.channels.targets(event.chat.id):
        day = await storage.channels.record_reactions(
            target, event.message_id, total, event_update.update_id
        )
        if day is None:
            log.info(
                "reactions of message %s in channel %s not recorded (unknown post or older total)",
                event.message_id,
                event.chat.id,
            )
            continue
        await _emit(bot, storage, data_changed, target, day)


def _is_member(member: object) -> bool:
    status = getattr(member, "status", "")
    return status in _MEMBER_STATUSES or (status == "restricted" and bool(member.is_member))  # type: ignore[attr-defined]


def member_hash(salt: str, user_id: int) -> str:
    """The only trace of a subscriber that is stored: sha256 of the account's salt and id."""
    return hashlib.sha256(f"{salt}:{user_id}".encode()).hexdigest()


async def on_chat_member(
    event: ChatMemberUpdated,
    event_update: Update,
    bot: Bot,
    storage: Storage,
    data_changed: DataChanged,
) -> None:
    """A subscriber joined or left the channel."""
    if event.chat.type != "channel":
        return
    was, now = _is_member(event.old_chat_member), _is_member(event.new_chat_member)
    user = event.new_chat_member.user
    if was == now or user.is_bot:
        return
    link = event.invite_link.invite_link if event.invite_link is not None else None
    for target in await storage.channels.targets(event.chat.id):
        day = _local_day(event.date, target.timezone)
        hashed = member_hash(target.salt, user.id)
        if now:
            await storage.channels.record_join(
                target, hashed, link, event.date, day, event_update.update_id
            )
        else:
            await storage.channels.record_leave(
                target, hashed, event.date, day, event_update.update_id
            )
        await _emit(bot, storage, data_changed, target, day)


async def on_join_request(event: ChatJoinRequest, storage: Storage) -> None:
    """Counted only: approving or declining stays with the channel's people."""
    for target in await storage.channels.targets(event.chat.id):
        await storage.channels.record_join_request(target, _local_day(event.date, target.timezone))


async def on_channel_membership(
    event: ChatMemberUpdated, storage: Storage, clock: Callable[[], datetime]
) -> None:
    """The bot's own rights in a channel changed: remember which needed ones are missing."""
    if event.chat.type != "channel":
        return
    for target in await storage.channels.targets(event.chat.id):
        if event.new_chat_member.status not in _ADMIN:
            log.warning(
                "no longer an administrator of channel %s (account %s): collecting stops",
                event.chat.id,
                target.account_name,
            )
            continue
        await storage.channels.link(
            target.workspace_id,
            target.account_id,
            event.chat.id,
            missing_rights(event.new_chat_member),
            clock(),
            target.salt,
        )


# --- /channels --------------------------------------------------------------------


async def cmd_channels(message: Message, storage: Storage, workspace: Workspace) -> None:
    lang = current_language()
    infos = await storage.channels.channels(workspace.id)
    if not infos:
        await message.answer(
            _(
                "No Telegram channel is connected. Make me an administrator of the channel, "
                "then send /account add tg:@yourchannel."
            )
        )
        return
    lines = [_("<b>Connected channels</b>")]
    for info in infos:
        since = format_day(info.linked_at.astimezone(ZoneInfo(workspace.timezone)).date(), lang)
        lines.append("")
        lines.append(
            _("<b>{account}</b>, collecting since {day}").format(
                account=html.escape(info.account_name), day=since
            )
        )
        lines.append(
            _(
                "Collected: followers daily; posts {posts}; joins {joins}, leaves {leaves}; "
                "join requests {requests}; campaign links {links}; reactions per post."
            ).format(
                posts=format_number(info.posts, lang),
                joins=format_number(info.joins, lang),
                leaves=format_number(info.leaves, lang),
                requests=format_number(info.join_requests, lang),
                links=format_number(info.links, lang),
            )
        )
        if info.missing_rights:
            lines.append(_("Missing rights:"))
            lines.extend(f"• {_right_label(r)}" for r in info.missing_rights)
    lines.append("")
    lines.append(
        _(
            "The Bot API gives no view counts: for views, upload the channel's statistics "
            "JSON from Telegram."
        )
    )
    await answer_long(message, "\n".join(lines))


def create_router() -> Router:
    router = Router(name="channels")
    router.channel_post.register(on_channel_post)
    router.edited_channel_post.register(on_channel_post)
    router.message_reaction_count.register(on_reaction_count)
    router.chat_member.register(on_chat_member)
    router.chat_join_request.register(on_join_request)
    router.message.register(cmd_channels, Command("channels"))
    return router


def create_membership_router() -> Router:
    """The bot's own membership in channels; placed before the start router's handler,
    which acts on groups only."""
    router = Router(name="channel_membership")
    router.my_chat_member.register(on_channel_membership, _is_channel_event)
    return router


async def _is_channel_event(event: ChatMemberUpdated) -> bool:
    return event.chat.type == "channel"
