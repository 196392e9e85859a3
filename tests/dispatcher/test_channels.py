"""Telegram channels through the real dispatcher: linking with rights, posts and edits,
reaction totals, joins and leaves, campaign links (handlers/channels.py)."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.app import create_bot, create_dispatcher
from bot.config import Settings
from bot.services.delivery import PacedSender
from kpi.models import Period
from storage import Storage
from storage.schema import channel_joins, channels, posts
from tests.conftest import SMM_DATA, TEST_TOKEN
from tests.dispatcher.conftest import Harness
from tests.fakeapi.recording import RecordingSession

CHAT = 501
CHANNEL = -1007770001
STATS = SMM_DATA / "telegram_stats_graphs_2019.json"


@pytest.fixture
async def h(storage: Storage, settings: Settings) -> AsyncIterator[Harness]:
    # The fake knows the bot by the same token, so "is the bot an administrator of the
    # channel" means the same to both sides.
    session = RecordingSession(token=TEST_TOKEN)
    bot = create_bot(settings, session=session)
    yield Harness(create_dispatcher(storage, settings), bot, session, storage, settings)
    await bot.session.close()


async def _ws_id(h: Harness) -> int:
    ws = await h.storage.workspaces.get_by_chat(CHAT)
    assert ws is not None
    return ws.id


async def _connect(h: Harness, *, can_invite: bool = True) -> str:
    h.fake.add_channel(CHANNEL, "brandchannel")
    h.fake.set_chat_member(CHANNEL, h.bot.id, "administrator", can_invite_users=can_invite)
    h.fake.set_member_count(CHANNEL, 1000)
    return await h.say_text("/account add tg:@brandchannel", CHAT, language_code="en")


async def test_connecting_says_which_rights_are_missing(h: Harness) -> None:
    text = await _connect(h, can_invite=False)
    assert text == (
        "Account tg:brandchannel added.\n"
        "I'm an administrator of @brandchannel: I'll record its followers every day and its "
        "posts, reactions, joins and leaves as they happen (/channels).\n"
        "Missing rights, switch them on in the channel's administrators:\n"
        "• “Add subscribers” (invite links): needed for /campaign links and join requests\n"
        "Alert on: unfollows 50% above the median of the 4 weeks before, checked every week "
        "(/alerts).\n"
        "Followers today: 1,000."
    )
    # The registry's default channel rule, for this account: a spike of +50 % on unfollows.
    ws_id = await _ws_id(h)
    rules = await h.storage.alerts.list_rules(ws_id)
    (rule,) = [r for r in rules if r.kpi == "unfollows"]
    assert (rule.kpi, rule.kind, rule.op, rule.value, rule.account, rule.min_volume) == (
        "unfollows", "spike", "+", 50.0, "tg:brandchannel", None,
    )  # fmt: skip
    # Without the right, Telegram refuses the link and the bot says why.
    reply = await h.say_text("/campaign new spring 100", CHAT, language_code="en")
    assert reply.startswith("Telegram refused to create the link: ")
    (refused,) = [c for c in h.fake.calls if c.method == "createChatInviteLink"]
    assert refused.status == 400
    # Granted now: adding again re-checks, keeps the start date and the salt.
    async with h.storage.engine.connect() as conn:
        before = (await conn.execute(select(channels))).one()
    h.fake.set_chat_member(CHANNEL, h.bot.id, "administrator", can_invite_users=True)
    again = await h.say_text("/account add tg:brandchannel", CHAT, language_code="en")
    assert "Missing rights" not in again
    assert "Alert on" not in again  # the rule is there already: not added twice
    assert len(await h.storage.alerts.list_rules(ws_id)) == len(rules)
    async with h.storage.engine.connect() as conn:
        after = (await conn.execute(select(channels))).one()
    assert (after.linked_at, after.salt, after.missing_rights) == (
        before.linked_at,
        before.salt,
        "",
    )
    listing = await h.say_text("/channels", CHAT, language_code="en")
    assert "tg:brandchannel, collecting since" in listing
    assert "Missing rights" not in listing


async def test_not_an_administrator_gets_the_steps(h: Harness) -> None:
    h.fake.add_channel(CHANNEL, "brandchannel")
    h.fake.set_chat_member(CHANNEL, h.bot.id, "member")
    text = await h.say_text("/account add tg:brandchannel", CHAT, language_code="en")
    assert text == (
        "Account tg:brandchannel added.\n"
        "To collect its followers, posts, reactions, joins and leaves, make me an administrator "
        "of @brandchannel: channel → Manage channel → Administrators → Add administrator → "
        "@smm_test_bot, with “Add subscribers” switched on (for campaign links). "
        "Then send /account add tg:brandchannel again."
    )
    assert await h.storage.channels.targets(CHANNEL) == []
    # Telegram sends nothing of the channel to a bot that is not its administrator.
    dropped = h.fake.channel_post(CHANNEL, "hello #x")
    assert "update_id" not in dropped and h.fake.dropped_updates[-1] is dropped


async def test_posts_edits_and_reactions_become_post_rows_and_daily_metrics(h: Harness) -> None:
    await _connect(h)
    ws_id = await _ws_id(h)
    now = int(time.time())
    f = h.fake
    feed = h.feed
    await feed(f.channel_post(CHANNEL, "Spring sale #Sale #promo", date=now))  # 1
    await feed(f.channel_post(CHANNEL, kind="photo", caption="Look #promo", date=now))  # 2
    await feed(f.channel_post(CHANNEL, kind="photo", caption="Album #sale", media_group_id="g1",
                              date=now))  # 3  # fmt: skip
    await feed(f.channel_post(CHANNEL, kind="photo", media_group_id="g1", date=now))  # 4
    await feed(f.channel_post(CHANNEL, "Which one?", kind="poll", date=now))  # 5
    await feed(f.channel_post(CHANNEL, kind="voice", date=now))  # 6
    await feed(f.channel_post(CHANNEL, kind="document", caption="Report", date=now))  # 7
    await feed(f.channel_post(CHANNEL, "Via partner #promo", forwarded_from=-100555, date=now))
    await feed(f.channel_post(CHANNEL, kind="video", caption="Clip", date=now))  # 9
    await feed(f.channel_post(CHANNEL, "Evening #PROMO", date=now))  # 10
    await feed(f.channel_post(CHANNEL, kind="photo", caption="More", date=now))  # 11
    # The edit drops #Sale from post 1.
    await feed(f.edit_channel_post(CHANNEL, 1, "Spring sale, now #promo only"))
    older = f.reaction_count(CHANNEL, 1, {"👍": 5, "🔥": 2})
    newer = f.reaction_count(CHANNEL, 1, {"👍": 6, "🔥": 2})  # totals replace, not add
    await feed(newer)
    await feed(older)  # handled late (updates run concurrently): the newer total stays
    await feed(f.reaction_count(CHANNEL, 3, {"❤": 3}))
    await feed(f.reaction_count(CHANNEL, 4, {"❤": 1}))
    await feed(f.reaction_count(CHANNEL, 2, {"👍": 4}))
    await feed(f.reaction_count(CHANNEL, 10, {"👍": 2}))

    async with h.storage.engine.connect() as conn:
        rows = (await conn.execute(select(posts).order_by(posts.c.id))).all()
    got = [(r.post_key, r.format, r.hashtags, r.reactions) for r in rows]
    assert got == [
        ("tg:1", "text", "promo", 8.0),
        ("tg:2", "photo", "promo", 4.0),
        ("tg:album:g1", "album", "sale", 4.0),
        ("tg:5", "poll", None, None),
        ("tg:6", "voice", None, None),
        ("tg:7", "document", None, None),
        ("tg:8", "forwarded", "promo", None),
        ("tg:9", "video", None, None),
        ("tg:10", "text", "promo", 2.0),
        ("tg:11", "photo", None, None),
    ]
    assert rows[0].text == "Spring sale, now #promo only"
    today = datetime.fromtimestamp(now, UTC).astimezone(ZoneInfo("Europe/Moscow")).date()
    assert {r.day for r in rows} == {today}
    account = await h.storage.workspaces.find_account(ws_id, "tg:brandchannel")
    assert account is not None
    data = await h.storage.metrics.period_data(ws_id, Period(today, today), account_id=account.id)
    assert data.sums["posts"] == 10
    assert data.sums["reactions"] == 8 + 4 + 4 + 2

    # /formats: interactions (reactions) per post where there is no reach; a format needs
    # 2 posts: text (posts 1, 10: 8 and 2 reactions) and photo (posts 2, 11: 4 and none).
    formats = await h.say_text("/formats 7d tg:brandchannel", CHAT, language_code="en")
    assert "Posts: 10" in formats
    assert "1. text — posts: 2 · avg interactions 5\n" in formats
    assert "2. photo — posts: 2 · avg interactions 4\n" in formats
    assert "the Bot API gives no views" in formats
    hashtags = await h.say_text("/hashtags 7d tg:brandchannel", CHAT, language_code="en")
    # #promo: posts 1, 2, 8, 10 with 8, 4, none, 2 reactions → 14 / 3 posts with a figure.
    assert "1. #promo — posts: 4 · avg interactions 4.67\n" in hashtags
    assert "#sale" not in hashtags  # in one post only (the album) after the edit


async def test_joins_leaves_and_campaign_links(h: Harness) -> None:
    await _connect(h)
    ws_id = await _ws_id(h)
    f = h.fake
    first = await h.say_text("/campaign new promo_a 3000", CHAT, language_code="en")
    second = await h.say_text("/campaign new promo_b 1 000", CHAT, language_code="en")
    assert second.startswith("“000” is neither a cost nor a channel.")
    await h.say("/campaign new promo_b 1000 tg:brandchannel", CHAT, language_code="en")
    created = [c for c in f.sent("createChatInviteLink")]
    assert [c.params["name"] for c in created] == ["promo_a", "promo_b"]
    link_a, link_b = (c.result["invite_link"] for c in created)
    assert first == (
        f"Campaign link “promo_a” for tg:brandchannel:\n{link_a}\nCost: 3,000.\n"
        "Joins through it are counted: /campaigns"
    )
    long_name = await h.say_text("/campaign new " + "x" * 33, CHAT, language_code="en")
    assert long_name == "A link name has at most 32 characters; “" + "x" * 33 + "” has 33."
    taken = await h.say_text("/campaign new promo_a", CHAT, language_code="en")
    assert taken == "There is already a campaign link “promo_a”."

    for user, link in ((11, link_a), (13, link_a), (14, link_b), (15, link_b)):
        await h.feed(f.channel_member(CHANNEL, user, "left", "member", invite_link=link))
    # User 12 joins through promo_a and leaves at once; the leave is handled first.
    join_12 = f.channel_member(CHANNEL, 12, "left", "member", invite_link=link_a)
    leave_12 = f.channel_member(CHANNEL, 12, "member", "left")
    await h.feed(leave_12)
    await h.feed(join_12)
    await h.feed(f.channel_member(CHANNEL, 16, "left", "member"))  # no campaign link
    await h.feed(f.channel_member(CHANNEL, 14, "member", "kicked"))
    await h.feed(f.channel_member(CHANNEL, 17, "member", "left"))  # joined before the bot
    await h.feed(f.join_request(CHANNEL, 18))

    today = datetime.now(ZoneInfo("Europe/Moscow")).date()
    account = await h.storage.workspaces.find_account(ws_id, "tg:brandchannel")
    assert account is not None
    data = await h.storage.metrics.period_data(ws_id, Period(today, today), account_id=account.id)
    assert (data.sums["new_followers"], data.sums["unfollows"]) == (6, 3)
    # moved from the day's snapshot by each join and leave, between snapshots
    assert data.accounts[0].followers.last == 1000 + 6 - 3

    # Only salted hashes are stored, never the ids.
    async with h.storage.engine.connect() as conn:
        salt = (await conn.execute(select(channels.c.salt))).scalar_one()
        hashes = set((await conn.execute(select(channel_joins.c.member_hash))).scalars())
    # 11-16 joined, 17's leave is kept unmatched (a join handled late would close it).
    assert hashes == {hashlib.sha256(f"{salt}:{u}".encode()).hexdigest() for u in range(11, 18)}

    await h.say("/campaign revenue promo_a 9000", CHAT, language_code="en")
    await h.say("/campaign conversions promo_a 1", CHAT, language_code="en")
    text = await h.say_text("/campaigns", CHAT, language_code="en")
    # promo_a: 3 joins, user 12 left → 2 stayed; CAC 3000 / 2 = 1500; conversion 1 / 3.
    assert "  joins 3, left 1, still subscribed 2" in text
    assert "  CAC = 3,000 / 2 = 1,500 per subscriber" in text
    assert "  conversion = 1 / 3 = 33.3%" in text
    assert "  revenue 9,000, ROI 200%" in text
    # promo_b: 2 joins, user 14 removed → 1 stayed; CAC 1000 / 1.
    assert "  joins 2, left 1, still subscribed 1" in text
    assert "  CAC = 1,000 / 1 = 1,000 per subscriber" in text

    stop = await h.say_text("/campaign stop promo_b", CHAT, language_code="en")
    assert stop.startswith("The link “promo_b” is revoked")
    assert f.last("revokeChatInviteLink").params["invite_link"] == link_b
    assert f.invite_links[link_b]["object"]["is_revoked"] is True
    listing = await h.say_text("/channels", CHAT, language_code="en")
    assert "posts 0; joins 6, leaves 3; join requests 1; campaign links 2" in listing


@pytest.mark.shared_data
async def test_telegram_statistics_json_uploads_as_metrics(h: Harness) -> None:
    charts = json.loads(STATS.read_bytes())
    first = {col[0]: col[1:] for col in charts[0]["columns"]}
    days = [datetime.fromtimestamp(ms / 1000, UTC).date() for ms in first["x"]]
    joined, left = sum(first["y0"]), sum(first["y1"])
    update = h.fake.document(CHAT, "stats-json", STATS.name, "tg:brandchannel",
                             data=STATS.read_bytes(), push=False, language_code="en")  # fmt: skip
    calls = await h.feed(update)
    text = [c.visible_text or "" for c in calls if c.method == "sendMessage"][-1]
    assert text.startswith(
        f"Imported “{STATS.name}”\nRecognised: Telegram channel statistics (graphs JSON), "
        "series without names: the green and red lines of the first graph read as joined and "
        "left (Telegram's colours for them).\n"
        f"Rows: {2 * len(days)} read, {2 * len(days)} used.\n"
        f"Dates: {days[0]:%b} {days[0].day}, {days[0].year} – "
        f"{days[-1]:%b} {days[-1].day}, {days[-1].year}.\n"
        "Accounts: tg:brandchannel (new).\n"
    )
    assert f"• New followers: Σ {joined:,}" in text and f"• Unfollows: Σ {left:,}" in text
    assert (
        "• another graph of the same figures for the same days: “graph 2: #0, #1”, "
        "“graph 3: #0, #1”, “graph 4: #0, #1”" in text
    )
    assert "• a graph whose series have no names: “graph 5: #0, #1, #2, #3”" in text
    growth = await h.say_text(
        f"/growth {days[0].isoformat()}..{days[-1].isoformat()} tg:brandchannel",
        CHAT,
        language_code="en",
    )
    # Net from the flows: Σ joined − Σ left of the file (8 609 − 6 061).
    assert f"Net new followers: +{joined - left:,}" in growth


DIGEST_NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # Wednesday: the digest's week is 23-29 Nov


@pytest.fixture
async def hd(storage: Storage, settings: Settings) -> AsyncIterator[Harness]:
    session = RecordingSession(token=TEST_TOKEN)
    bot = create_bot(settings, session=session)
    sender = PacedSender()  # pacing is the outbox's (SEND_PACING off in tests)
    dp = create_dispatcher(storage, settings, sender=sender, clock=lambda: DIGEST_NOW)
    yield Harness(dp, bot, session, storage, settings)
    await bot.session.close()


def _at(day: date, hour: int = 12) -> int:
    return int(
        datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo("Europe/Moscow")).timestamp()
    )


async def test_channel_figures_reach_the_digest(hd: Harness) -> None:
    await hd.say("/lang en", CHAT, language_code="en")
    await _connect(hd)
    ws_id = await _ws_id(hd)
    account = await hd.storage.workspaces.find_account(ws_id, "tg:brandchannel")
    assert account is not None
    f = hd.fake
    before, week = date(2026, 11, 18), date(2026, 11, 25)  # weeks 47 and 48
    for day, count in ((date(2026, 11, 15), 1000), (date(2026, 11, 22), 1000)):
        await hd.storage.metrics.record_gauge(ws_id, account.id, day, "followers", count)
    # Week 47: 2 posts, 10 reactions each. Week 48: 3 posts with 20, 10 and 30 reactions,
    # 12 joins and 2 leaves (followers 1 000 → 1 010 across the week).
    plan = [(before, 10), (before, 10), (week, 20), (week, 10), (week, 30)]
    for day, reactions in plan:
        update = await hd.feed(f.channel_post(CHANNEL, "post #x", date=_at(day)))
        assert update == []  # nothing is said in the channel
        message_id = max(mid for (cid, mid) in f.messages if cid == CHANNEL)
        await hd.feed(f.reaction_count(CHANNEL, message_id, {"👍": reactions}, date=_at(day, 13)))
    for user in range(100, 112):
        await hd.feed(f.channel_member(CHANNEL, user, "left", "member", date=_at(week)))
    for user in (100, 101):
        await hd.feed(f.channel_member(CHANNEL, user, "member", "left", date=_at(week, 14)))
    calls = await hd.say("/digest now", CHAT, language_code="en")
    (photo,) = [c for c in calls if c.method == "sendPhoto"]
    # Growth: followers 1 000 before the week, 1 000 + 12 − 2 = 1 010 at its end.
    lines = (photo.visible_text or "").splitlines()
    assert "Audience growth: 1% · ↑ +1 pp 🟢" in lines
    # Engagement without reach: ER by followers = Σ reactions / Σ posts / average followers
    # × 100. Week 48: 60 / 3 = 20 per post over 1 010 followers (the one gauge in the week,
    # 1 000 + 12 − 2) = 1.98 %; week 47: 20 / 2 = 10 per post over 1 000 = 1 %.
    er_now, er_before = 60 / 3 / 1010 * 100, 20 / 2 / 1000 * 100
    assert f"{er_now:.2f}" == "1.98" and f"{er_now - er_before:.2f}" == "0.98"
    assert "Engagement (ER by followers): 1.98% · ↑ +0.98 pp 🟢" in lines


async def test_campaign_commands_refuse_bad_input_and_change_nothing(h: Harness) -> None:
    none_yet = await h.say_text("/campaigns", CHAT, language_code="en")
    assert none_yet == "No campaign links yet. Create one: /campaign new spring_promo 5000"
    no_channel = await h.say_text("/campaign new spring", CHAT, language_code="en")
    assert no_channel == (
        "No Telegram channel is connected. Make me an administrator of the channel, "
        "then send /account add tg:@yourchannel."
    )
    await _connect(h)
    usage = await h.say_text("/campaign launch spring", CHAT, language_code="en")
    assert usage.startswith("Campaign links (named invite links of a channel):")
    await h.say("/campaign new spring 500", CHAT, language_code="en")
    bad = await h.say_text("/campaign cost spring lots", CHAT, language_code="en")
    assert bad == "“lots” is not a number (a cost, revenue or conversions figure, 0 or more)."
    negative = await h.say_text("/campaign revenue spring -5", CHAT, language_code="en")
    assert negative.startswith("“-5” is not a number")
    unknown = await h.say_text("/campaign cost autumn 100", CHAT, language_code="en")
    assert unknown == "There is no campaign link “autumn”. The links: /campaigns"
    period = await h.say_text("/campaigns someday", CHAT, language_code="en")
    assert period.startswith("“someday” is not a period.")
    (link,) = await h.storage.channels.links(await _ws_id(h))
    assert (link.cost, link.revenue) == (500.0, None)
    # In a group only administrators create links; anyone may look.
    group = -100600
    h.fake.set_chat_member(group, 4242, "member")
    refused = await h.say_text("/campaign new other", group, user_id=4242, language_code="en")
    assert refused == "Only chat administrators can change this. Anyone can ask for KPIs."
    assert len([c for c in h.fake.calls if c.method == "createChatInviteLink"]) == 1
    ru = await h.say_text("/campaigns", CHAT, language_code="ru")
    assert "  подписались 0, отписались 0, остались 0" in ru
    assert "  стоимость 500; CAC: никто из подписавшихся по ней не остался" in ru


async def test_two_workspaces_following_one_channel_stay_apart(h: Harness) -> None:
    await _connect(h)
    other = 502
    second = await h.say_text("/account add tg:brandchannel", other, language_code="en")
    assert "I'm an administrator of @brandchannel" in second
    await h.say("/campaign new only_a 100", CHAT, language_code="en")
    (created,) = h.fake.sent("createChatInviteLink")
    await h.feed(h.fake.channel_post(CHANNEL, "Hello #both"))
    await h.feed(h.fake.channel_member(CHANNEL, 77, "left", "member",
                                       invite_link=created.result["invite_link"]))  # fmt: skip
    ws_a = await h.storage.workspaces.get_by_chat(CHAT)
    ws_b = await h.storage.workspaces.get_by_chat(other)
    assert ws_a is not None and ws_b is not None
    async with h.storage.engine.connect() as conn:
        by_ws = (
            await conn.execute(
                select(posts.c.workspace_id, func.count()).group_by(posts.c.workspace_id)
            )
        ).all()
        salts = set((await conn.execute(select(channels.c.salt))).scalars())
        joins = (
            await conn.execute(select(channel_joins.c.workspace_id, channel_joins.c.link_id))
        ).all()
    assert sorted(by_ws) == sorted([(ws_a.id, 1), (ws_b.id, 1)])
    assert len(salts) == 2  # the same subscriber hashes differently in each workspace
    (link,) = await h.storage.channels.links(ws_a.id)
    assert sorted(joins) == sorted([(ws_a.id, link.id), (ws_b.id, None)])
    assert await h.storage.channels.links(ws_b.id) == []
    b_text = await h.say_text("/campaigns", other, language_code="en")
    assert b_text == "No campaign links yet. Create one: /campaign new spring_promo 5000"


async def test_the_bots_rights_in_the_channel_are_followed(h: Harness) -> None:
    await _connect(h)
    update = h.fake.my_chat_member(CHANNEL, "administrator", "administrator", push=False)
    update["my_chat_member"]["new_chat_member"]["can_invite_users"] = False
    await h.feed(update)
    (info,) = await h.storage.channels.channels(await _ws_id(h))
    assert info.missing_rights == ("can_invite_users",)
    listing = await h.say_text("/channels", CHAT, language_code="en")
    assert "Missing rights:\n• “Add subscribers” (invite links)" in listing


async def test_campaigns_over_a_period_show_cac_only_for_whole_links(hd: Harness) -> None:
    await _connect(hd)
    await hd.say("/campaign new winter 900", CHAT, language_code="en")
    (created,) = hd.fake.sent("createChatInviteLink")
    link = created.result["invite_link"]
    for user, day in ((1, date(2026, 11, 30)), (2, date(2026, 12, 2)), (3, date(2026, 12, 2))):
        await hd.feed(hd.fake.channel_member(CHANNEL, user, "left", "member", invite_link=link,
                                             date=_at(day)))  # fmt: skip
    week = await hd.say_text("/campaigns 7d", CHAT, language_code="en")
    assert "  joins 3, left 0, still subscribed 3" in week
    assert "  CAC = 900 / 3 = 300 per subscriber" in week
    today = await hd.say_text("/campaigns 2026-12-02..2026-12-02", CHAT, language_code="en")
    assert today.startswith("Campaign links, Dec 2, 2026\n")
    assert "  joins 2, left 0, still subscribed 2" in today
    assert "  cost 900; CAC only over the link's whole life: /campaigns" in today
