"""End-to-end: a Telegram channel connected in the fake Telegram feeds the bot process on
its own over HTTP: posts, an edit, reaction totals, joins through two campaign links and
leaves; /campaigns, /hashtags, /formats and /growth answer with no upload."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from tests.e2e.conftest import BotProcess
from tests.fakeapi.server import FakeBotAPI

pytestmark = pytest.mark.e2e

CHAT = 601
CHANNEL = -1008800001


class Chat:
    def __init__(self, api: FakeBotAPI, chat_id: int) -> None:
        self.api = api
        self.chat_id = chat_id

    async def ask(self, text: str) -> str:
        before = len(self.api.sent("sendMessage", chat_id=self.chat_id))
        self.api.message(self.chat_id, text, language_code="en")
        calls = await self.api.wait_for(
            "sendMessage", chat_id=self.chat_id, count=before + 1, timeout=20
        )
        return calls[-1].visible_text or ""

    async def ask_until(self, text: str, ready: Callable[[str], bool]) -> str:
        """Updates are handled concurrently: ask again until the channel's updates are in."""
        answer = ""
        for _ in range(40):
            answer = await self.ask(text)
            if ready(answer):
                return answer
            await asyncio.sleep(0.25)
        raise AssertionError(f"{text!r} never became ready: {answer!r}")


async def test_a_connected_channel_yields_posts_reactions_joins_and_campaign_cac(
    api: FakeBotAPI, bot_process: BotProcess
) -> None:
    await bot_process.start()
    (getupdates,) = await api.wait_for("getUpdates", timeout=20)
    channel_updates = {"channel_post", "edited_channel_post", "message_reaction_count",
                       "chat_member", "my_chat_member", "chat_join_request"}  # fmt: skip
    assert channel_updates <= set(getupdates.params["allowed_updates"])
    api.add_channel(CHANNEL, "brandchannel", "Brand")
    api.set_chat_member(CHANNEL, api.bot_id, "administrator")
    api.set_member_count(CHANNEL, 500)
    chat = Chat(api, CHAT)
    linked = await chat.ask("/account add tg:@brandchannel")
    assert "I'm an administrator of @brandchannel" in linked
    assert "Missing rights" not in linked and "Followers today: 500." in linked

    spring = await chat.ask("/campaign new spring 3000")
    autumn = await chat.ask("/campaign new autumn 1200")
    link_spring, link_autumn = (c.result["invite_link"] for c in api.sent("createChatInviteLink"))
    assert link_spring in spring and link_autumn in autumn

    # Posts: (id, reactions): 1 text #promo (7), 2 photo #promo (3), 3+4 album #tips
    # (2 + 1 on its two photos), 5 text #tips (4), 6 poll, 7 forwarded #promo (none).
    api.channel_post(CHANNEL, "Sale starts #promo #sale")
    api.channel_post(CHANNEL, kind="photo", caption="New arrivals #promo")
    api.channel_post(CHANNEL, kind="photo", caption="How to wear it #tips", media_group_id="a1")
    api.channel_post(CHANNEL, kind="photo", media_group_id="a1")
    api.channel_post(CHANNEL, "Five ways #tips")
    api.channel_post(CHANNEL, "Which colour?", kind="poll")
    api.channel_post(CHANNEL, "From our partner #promo", forwarded_from=-1005550001)
    formats = await chat.ask_until("/formats 7d", lambda t: "Posts: 6" in t)
    api.edit_channel_post(CHANNEL, 1, "Sale starts today #promo")  # #sale is gone
    for message_id, counts in ((1, {"👍": 5, "🔥": 1}), (1, {"👍": 6, "🔥": 1}), (2, {"❤": 3}),
                               (3, {"👍": 2}), (4, {"👍": 1}), (5, {"🔥": 4})):  # fmt: skip
        api.reaction_count(CHANNEL, message_id, counts)

    # Joins: spring brings users 1-4, autumn 5-7, user 8 comes without a link; users 2 and 3
    # (spring) and 5 (autumn) leave, and 9, who joined before the bot was there.
    for user in (1, 2, 3, 4):
        api.channel_member(CHANNEL, user, "left", "member", invite_link=link_spring)
    for user in (5, 6, 7):
        api.channel_member(CHANNEL, user, "left", "member", invite_link=link_autumn)
    api.channel_member(CHANNEL, 8, "left", "member")
    # No waiting here: the leaves may be handled before the joins they close (updates run
    # concurrently); the update ids put them back in order.
    for user in (2, 3, 5, 9):
        api.channel_member(CHANNEL, user, "member", "left")
    api.join_request(CHANNEL, 10)
    listing = await chat.ask_until("/channels", lambda t: "joins 8, leaves 4; join requests 1" in t)
    assert "tg:brandchannel, collecting since" in listing
    assert "posts 6; joins 8, leaves 4; join requests 1; campaign links 2" in listing

    await chat.ask("/campaign revenue spring 6000")
    campaigns = await chat.ask("/campaigns")
    # By hand: spring 4 joins, 2 left, 2 stayed: CAC = 3000 / 2 = 1500, ROI (6000 − 3000) / 3000.
    # autumn 3 joins, 1 left, 2 stayed: CAC = 1200 / 2 = 600.
    spring_part, autumn_part = campaigns.split("• autumn")[0], campaigns.split("• autumn")[1]
    assert "• spring (tg:brandchannel)" in spring_part
    assert "joins 4, left 2, still subscribed 2" in spring_part
    assert "CAC = 3,000 / 2 = 1,500 per subscriber" in spring_part
    assert "revenue 6,000, ROI 100%" in spring_part
    assert "joins 3, left 1, still subscribed 2" in autumn_part
    assert "CAC = 1,200 / 2 = 600 per subscriber" in autumn_part

    # Reactions per post: text 1 (7) and 5 (4); photo 2 (3); album 3 (3); #promo: 1, 2, 7.
    formats = await chat.ask_until("/formats 7d", lambda t: "avg interactions 5.5" in t)
    assert "1. text — posts: 2 · avg interactions 5.5" in formats  # posts 1 and 5
    hashtags = await chat.ask("/hashtags 7d")
    # #promo: posts 1 (7), 2 (3), 7 (none) → 10 / 2; #tips: album (3) and post 5 (4) → 7 / 2.
    assert "1. #promo — posts: 3 · avg interactions 5" in hashtags
    assert "2. #tips — posts: 2 · avg interactions 3.5" in hashtags
    assert "#sale" not in hashtags

    growth = await chat.ask("/growth 7d tg:brandchannel")
    assert "Net new followers: +4" in growth  # 8 joins − 4 leaves, from the flows

    await chat.ask("/campaign stop autumn")
    assert api.last("revokeChatInviteLink").params["invite_link"] == link_autumn
    assert api.invite_links[link_autumn]["object"]["is_revoked"] is True
    assert await bot_process.stop() == 0
