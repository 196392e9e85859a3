"""Telegram channels the bot administers: posts, reaction totals, joins and leaves,
join requests and campaign invite links (handlers/channels.py feeds it).

What is written where:
- a post is a `posts` row (key `tg:<message_id>`, or `tg:album:<media_group_id>` for an
  album, whose messages all point at it in `channel_messages`); the day's `posts` and
  `reactions` in `daily_metrics` are recounted from the rows, so a repeated update
  changes nothing;
- a join or a leave adds 1 to the day's `new_followers` / `unfollows` and moves the
  day's `followers` by one from the last known count (the daily getChatMemberCount
  snapshot then puts the exact figure back);
- `channel_joins` keeps, per join, only a salted hash of the subscriber's id (to close
  the join when the same person leaves) and the campaign link it came through.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Table, and_, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.db import write_transaction
from storage.schema import (
    accounts,
    campaign_links,
    channel_join_requests,
    channel_joins,
    channel_messages,
    channels,
    daily_metrics,
    posts,
    workspaces,
)


@dataclass(frozen=True, slots=True)
class ChannelTarget:
    """One workspace account that follows a channel (a channel may be in several)."""

    workspace_id: int
    account_id: int
    account_name: str
    timezone: str
    salt: str


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    account_name: str
    chat_id: int
    linked_at: datetime
    missing_rights: tuple[str, ...]
    posts: int
    joins: int
    leaves: int
    join_requests: int
    links: int


@dataclass(frozen=True, slots=True)
class CampaignLink:
    id: int
    account_id: int
    account_name: str
    chat_id: int | None
    name: str
    invite_link: str
    cost: float | None
    revenue: float | None
    conversions: float | None
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class LinkJoin:
    link_id: int
    member_hash: str
    joined_at: datetime
    left_at: datetime | None


@dataclass(frozen=True, slots=True)
class PostWrite:
    """A channel message as a post: `post_key` is shared by the messages of an album."""

    post_key: str
    message_id: int
    day: date
    published_at: datetime
    format: str
    hashtags: tuple[str, ...]
    text: str | None


class LinkNameTaken(ValueError):
    pass


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything stored here is UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _aware_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else _aware(value)


class ChannelRepo:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._dialect = engine.dialect.name

    def _insert(self, table: Table) -> postgresql.Insert | sqlite.Insert:
        if self._dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    # --- linking ------------------------------------------------------------------

    async def link(
        self,
        workspace_id: int,
        account_id: int,
        chat_id: int,
        missing_rights: Sequence[str],
        now: datetime,
        salt: str,
    ) -> None:
        """Start (or re-check) collecting for an account. The start time and the salt of
        an account already linked to the same channel are kept."""
        missing = " ".join(missing_rights)
        async with write_transaction(self._engine) as conn:
            await conn.execute(
                update(accounts)
                .where(accounts.c.id == account_id, accounts.c.workspace_id == workspace_id)
                .values(channel_chat_id=chat_id)
            )
            row = (
                await conn.execute(
                    select(channels.c.chat_id).where(channels.c.account_id == account_id)
                )
            ).first()
            if row is not None and row.chat_id == chat_id:
                await conn.execute(
                    update(channels)
                    .where(channels.c.account_id == account_id)
                    .values(missing_rights=missing)
                )
                return
            if row is not None:
                await conn.execute(channels.delete().where(channels.c.account_id == account_id))
            await conn.execute(
                channels.insert().values(
                    account_id=account_id,
                    workspace_id=workspace_id,
                    chat_id=chat_id,
                    linked_at=now,
                    missing_rights=missing,
                    salt=salt,
                )
            )

    async def targets(self, chat_id: int) -> list[ChannelTarget]:
        """The active workspaces' accounts that follow this channel."""
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(
                        channels.c.workspace_id,
                        channels.c.account_id,
                        channels.c.salt,
                        accounts.c.name,
                        workspaces.c.timezone,
                    )
                    .join(accounts, accounts.c.id == channels.c.account_id)
                    .join(workspaces, workspaces.c.id == channels.c.workspace_id)
                    .where(
                        channels.c.chat_id == chat_id,
                        accounts.c.channel_chat_id == chat_id,
                        workspaces.c.active.is_(True),
                    )
                )
            ).all()
        return [
            ChannelTarget(r.workspace_id, r.account_id, r.name, r.timezone, r.salt) for r in rows
        ]

    async def channels(self, workspace_id: int) -> list[ChannelInfo]:
        """The workspace's linked channels with what was collected since they were linked."""
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(channels, accounts.c.name)
                    .join(accounts, accounts.c.id == channels.c.account_id)
                    .where(channels.c.workspace_id == workspace_id)
                    .order_by(accounts.c.name)
                )
            ).all()
            out = []
            for r in rows:
                scope = (
                    channel_joins.c.workspace_id == workspace_id,
                    channel_joins.c.account_id == r.account_id,
                )
                n_posts = await conn.scalar(
                    select(func.count())
                    .select_from(posts)
                    .where(
                        posts.c.workspace_id == workspace_id,
                        posts.c.account_id == r.account_id,
                        posts.c.published_at.is_not(None),
                    )
                )
                joins = await conn.scalar(
                    select(func.count())
                    .select_from(channel_joins)
                    .where(*scope, channel_joins.c.joined_at.is_not(None))
                )
                leaves = await conn.scalar(
                    select(func.count())
                    .select_from(channel_joins)
                    .where(*scope, channel_joins.c.left_at.is_not(None))
                )
                requests = await conn.scalar(
                    select(func.coalesce(func.sum(channel_join_requests.c.requests), 0)).where(
                        channel_join_requests.c.workspace_id == workspace_id,
                        channel_join_requests.c.account_id == r.account_id,
                    )
                )
                links = await conn.scalar(
                    select(func.count())
                    .select_from(campaign_links)
                    .where(
                        campaign_links.c.workspace_id == workspace_id,
                        campaign_links.c.account_id == r.account_id,
                    )
                )
                out.append(
                    ChannelInfo(
                        account_name=r.name,
                        chat_id=r.chat_id,
                        linked_at=_aware(r.linked_at),
                        missing_rights=tuple(r.missing_rights.split()),
                        posts=int(n_posts or 0),
                        joins=int(joins or 0),
                        leaves=int(leaves or 0),
                        join_requests=int(requests or 0),
                        links=int(links or 0),
                    )
                )
        return out

    # --- daily counters -----------------------------------------------------------

    async def _set_daily(
        self, conn: AsyncConnection, target: ChannelTarget, day: date, metric: str, value: float
    ) -> None:
        stmt = self._insert(daily_metrics).values(
            workspace_id=target.workspace_id,
            account_id=target.account_id,
            day=day,
            **{metric: value},
        )
        await conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["workspace_id", "account_id", "day"], set_={metric: value}
            )
        )

    async def _add_daily(
        self, conn: AsyncConnection, target: ChannelTarget, day: date, metric: str
    ) -> None:
        stmt = self._insert(daily_metrics).values(
            workspace_id=target.workspace_id,
            account_id=target.account_id,
            day=day,
            **{metric: 1.0},
        )
        column = daily_metrics.c[metric]
        await conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["workspace_id", "account_id", "day"],
                set_={metric: func.coalesce(column, 0.0) + 1.0},
            )
        )

    async def _move_followers(
        self, conn: AsyncConnection, target: ChannelTarget, day: date, delta: int
    ) -> None:
        """Today's follower count = the last known count ± 1 (none known: left alone)."""
        dm = daily_metrics.c
        last = await conn.scalar(
            select(dm.followers)
            .where(
                dm.workspace_id == target.workspace_id,
                dm.account_id == target.account_id,
                dm.day <= day,
                dm.followers.is_not(None),
            )
            .order_by(dm.day.desc())
            .limit(1)
        )
        if last is not None:
            await self._set_daily(conn, target, day, "followers", max(0.0, last + delta))

    async def _recount_posts(self, conn: AsyncConnection, target: ChannelTarget, day: date) -> None:
        scope = (
            posts.c.workspace_id == target.workspace_id,
            posts.c.account_id == target.account_id,
            posts.c.day == day,
        )
        count = await conn.scalar(select(func.count()).select_from(posts).where(*scope))
        await self._set_daily(conn, target, day, "posts", float(count or 0))
        total = await conn.scalar(select(func.sum(posts.c.reactions)).where(*scope))
        if total is not None:
            await self._set_daily(conn, target, day, "reactions", float(total))

    # --- posts and reactions ------------------------------------------------------

    async def record_post(self, target: ChannelTarget, post: PostWrite) -> bool:
        """Insert or update a channel post; True when the post is new."""
        key = (posts.c.workspace_id == target.workspace_id) & (
            posts.c.account_id == target.account_id
        )
        async with write_transaction(self._engine) as conn:
            row = (
                await conn.execute(
                    select(posts.c.id, posts.c.day, posts.c.text, posts.c.hashtags).where(
                        key, posts.c.post_key == post.post_key
                    )
                )
            ).first()
            hashtags = " ".join(post.hashtags) or None
            if row is None:
                await conn.execute(
                    posts.insert().values(
                        workspace_id=target.workspace_id,
                        account_id=target.account_id,
                        day=post.day,
                        post_key=post.post_key,
                        format=post.format,
                        hashtags=hashtags,
                        text=post.text,
                        published_at=post.published_at,
                    )
                )
            else:
                values: dict[str, object] = {"format": post.format}
                # An album's caption is on one of its messages: the others keep it.
                if post.text is not None or not post.post_key.startswith("tg:album:"):
                    values.update(text=post.text, hashtags=hashtags)
                await conn.execute(update(posts).where(posts.c.id == row.id).values(**values))
            msg = self._insert(channel_messages).values(
                workspace_id=target.workspace_id,
                account_id=target.account_id,
                message_id=post.message_id,
                post_key=post.post_key,
            )
            await conn.execute(
                msg.on_conflict_do_nothing(
                    index_elements=["workspace_id", "account_id", "message_id"]
                )
            )
            await self._recount_posts(conn, target, post.day if row is None else row.day)
        return row is None

    async def record_reactions(
        self, target: ChannelTarget, message_id: int, total: float, update_id: int
    ) -> date | None:
        """A message's reaction total as of update `update_id`; returns the post's day, None
        for an unknown message (posted before the bot collected) or a total older than the
        one stored."""
        cm = channel_messages.c
        scope = and_(cm.workspace_id == target.workspace_id, cm.account_id == target.account_id)
        async with write_transaction(self._engine) as conn:
            post_key = await conn.scalar(
                select(cm.post_key).where(scope, cm.message_id == message_id)
            )
            if post_key is None:
                return None
            newer = await conn.execute(
                update(channel_messages)
                .where(
                    scope,
                    cm.message_id == message_id,
                    (cm.reactions_update_id.is_(None)) | (cm.reactions_update_id < update_id),
                )
                .values(reactions=total, reactions_update_id=update_id)
            )
            if not newer.rowcount:
                return None
            post_total = await conn.scalar(
                select(func.sum(cm.reactions)).where(scope, cm.post_key == post_key)
            )
            post_scope = and_(
                posts.c.workspace_id == target.workspace_id,
                posts.c.account_id == target.account_id,
                posts.c.post_key == post_key,
            )
            day: date | None = await conn.scalar(select(posts.c.day).where(post_scope))
            if day is None:
                return None
            await conn.execute(update(posts).where(post_scope).values(reactions=post_total))
            await self._recount_posts(conn, target, day)
        return day

    # --- members ------------------------------------------------------------------

    async def record_join(
        self,
        target: ChannelTarget,
        member_hash: str,
        invite_link: str | None,
        at: datetime,
        day: date,
        update_id: int,
    ) -> bool:
        """A subscriber joined (through `invite_link`, if any); False when this person's
        join is already open (a repeated update). A leave of theirs handled earlier but sent
        later (a larger update id) closes this join at once."""
        cj = channel_joins.c
        scope = and_(
            cj.workspace_id == target.workspace_id,
            cj.account_id == target.account_id,
            cj.member_hash == member_hash,
        )
        async with write_transaction(self._engine) as conn:
            open_join = await conn.scalar(
                select(cj.id).where(scope, cj.joined_at.is_not(None), cj.left_at.is_(None))
            )
            if open_join is not None:
                return False
            link_id = None
            if invite_link:
                link_id = await conn.scalar(
                    select(campaign_links.c.id).where(
                        campaign_links.c.workspace_id == target.workspace_id,
                        campaign_links.c.account_id == target.account_id,
                        campaign_links.c.invite_link == invite_link,
                    )
                )
            values = {"link_id": link_id, "joined_at": at, "joined_update_id": update_id}
            early_leave = await conn.scalar(
                select(cj.id)
                .where(scope, cj.joined_at.is_(None), cj.left_update_id > update_id)
                .order_by(cj.left_update_id)
                .limit(1)
            )
            if early_leave is not None:
                await conn.execute(
                    update(channel_joins).where(cj.id == early_leave).values(**values)
                )
            else:
                await conn.execute(
                    channel_joins.insert().values(
                        workspace_id=target.workspace_id,
                        account_id=target.account_id,
                        member_hash=member_hash,
                        **values,
                    )
                )
            await self._add_daily(conn, target, day, "new_followers")
            await self._move_followers(conn, target, day, +1)
        return True

    async def record_leave(
        self, target: ChannelTarget, member_hash: str, at: datetime, day: date, update_id: int
    ) -> None:
        """A subscriber left: their open join (if seen) is closed; the day's unfollows
        count it either way (people who joined before the bot collected leave too)."""
        cj = channel_joins.c
        scope = and_(
            cj.workspace_id == target.workspace_id,
            cj.account_id == target.account_id,
            cj.member_hash == member_hash,
        )
        async with write_transaction(self._engine) as conn:
            open_join = await conn.scalar(
                select(cj.id)
                .where(
                    scope,
                    cj.joined_at.is_not(None),
                    cj.left_at.is_(None),
                    cj.joined_update_id < update_id,
                )
                .order_by(cj.id.desc())
                .limit(1)
            )
            if open_join is not None:
                await conn.execute(
                    update(channel_joins)
                    .where(cj.id == open_join)
                    .values(left_at=at, left_update_id=update_id)
                )
            else:
                await conn.execute(
                    channel_joins.insert().values(
                        workspace_id=target.workspace_id,
                        account_id=target.account_id,
                        member_hash=member_hash,
                        left_at=at,
                        left_update_id=update_id,
                    )
                )
            await self._add_daily(conn, target, day, "unfollows")
            await self._move_followers(conn, target, day, -1)

    async def record_join_request(self, target: ChannelTarget, day: date) -> None:
        stmt = self._insert(channel_join_requests).values(
            workspace_id=target.workspace_id, account_id=target.account_id, day=day, requests=1
        )
        async with write_transaction(self._engine) as conn:
            await conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["workspace_id", "account_id", "day"],
                    set_={"requests": channel_join_requests.c.requests + 1},
                )
            )

    # --- campaign links -----------------------------------------------------------

    async def add_link(
        self,
        workspace_id: int,
        account_id: int,
        name: str,
        invite_link: str,
        cost: float | None,
        now: datetime,
    ) -> None:
        async with write_transaction(self._engine) as conn:
            taken = await conn.scalar(
                select(campaign_links.c.id).where(
                    campaign_links.c.workspace_id == workspace_id, campaign_links.c.name == name
                )
            )
            if taken is not None:
                raise LinkNameTaken(name)
            await conn.execute(
                campaign_links.insert().values(
                    workspace_id=workspace_id,
                    account_id=account_id,
                    name=name,
                    invite_link=invite_link,
                    cost=cost,
                    created_at=now,
                )
            )

    async def name_taken(self, workspace_id: int, name: str) -> bool:
        async with self._engine.connect() as conn:
            found = await conn.scalar(
                select(campaign_links.c.id).where(
                    campaign_links.c.workspace_id == workspace_id, campaign_links.c.name == name
                )
            )
        return found is not None

    async def links(self, workspace_id: int, name: str | None = None) -> list[CampaignLink]:
        cl = campaign_links.c
        cond = [cl.workspace_id == workspace_id]
        if name is not None:
            cond.append(func.lower(cl.name) == name.lower())
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(
                        campaign_links,
                        accounts.c.name.label("account_name"),
                        accounts.c.channel_chat_id,
                    )
                    .join(accounts, accounts.c.id == cl.account_id)
                    .where(*cond)
                    .order_by(cl.created_at, cl.id)
                )
            ).all()
        return [
            CampaignLink(
                r.id,
                r.account_id,
                r.account_name,
                r.channel_chat_id,
                r.name,
                r.invite_link,
                r.cost,
                r.revenue,
                r.conversions,
                _aware(r.created_at),
                _aware_or_none(r.revoked_at),
            )
            for r in rows
        ]

    async def set_link_value(
        self, workspace_id: int, link_id: int, field: str, value: float
    ) -> None:
        if field not in ("cost", "revenue", "conversions"):
            raise ValueError(field)
        async with write_transaction(self._engine) as conn:
            await conn.execute(
                update(campaign_links)
                .where(
                    campaign_links.c.workspace_id == workspace_id, campaign_links.c.id == link_id
                )
                .values({field: value})
            )

    async def revoke_link(self, workspace_id: int, link_id: int, now: datetime) -> None:
        async with write_transaction(self._engine) as conn:
            await conn.execute(
                update(campaign_links)
                .where(
                    campaign_links.c.workspace_id == workspace_id, campaign_links.c.id == link_id
                )
                .values(revoked_at=now)
            )

    async def link_joins(self, workspace_id: int) -> list[LinkJoin]:
        """Every join that came through one of the workspace's campaign links."""
        cj = channel_joins.c
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(cj.link_id, cj.member_hash, cj.joined_at, cj.left_at)
                    .where(
                        cj.workspace_id == workspace_id,
                        cj.link_id.is_not(None),
                        cj.joined_at.is_not(None),
                    )
                    .order_by(cj.id)
                )
            ).all()
        return [
            LinkJoin(r.link_id, r.member_hash, _aware(r.joined_at), _aware_or_none(r.left_at))
            for r in rows
        ]
