"""The fake Bot API's channels (tests/fakeapi/channels.py): what a real bot would and would
not be sent or allowed, over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest

from tests.fakeapi import DEFAULT_TOKEN, FakeBotAPI
from tests.fakeapi.channels import hashtag_entities

CHANNEL = -1003330001


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(token=DEFAULT_TOKEN) as server:
        server.add_channel(CHANNEL, "brand")
        yield server


@pytest.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    b = Bot(DEFAULT_TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(api.base_url)))
    try:
        yield b
    finally:
        await b.session.close()


async def test_get_chat_resolves_the_channel_username(api: FakeBotAPI, bot: Bot) -> None:
    chat = await bot.get_chat("@Brand")
    assert (chat.id, chat.type, chat.username) == (CHANNEL, "channel", "brand")


async def test_invite_links_need_an_administrator_who_may_invite(api: FakeBotAPI, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="CHAT_ADMIN_REQUIRED"):
        await bot.create_chat_invite_link(CHANNEL, name="spring")
    api.set_chat_member(CHANNEL, api.bot_id, "administrator", can_invite_users=False)
    with pytest.raises(TelegramBadRequest, match="not enough rights"):
        await bot.create_chat_invite_link(CHANNEL, name="spring")
    api.set_chat_member(CHANNEL, api.bot_id, "administrator")
    link = await bot.create_chat_invite_link(CHANNEL, name="spring")
    assert (link.name, link.is_revoked, link.creator.id) == ("spring", False, api.bot_id)
    with pytest.raises(TelegramBadRequest):
        await bot.create_chat_invite_link(CHANNEL, name="x" * 33)
    with pytest.raises(TelegramBadRequest, match="member_limit"):
        await bot.create_chat_invite_link(CHANNEL, member_limit=5, creates_join_request=True)
    revoked = await bot.revoke_chat_invite_link(CHANNEL, link.invite_link)
    assert revoked.is_revoked
    with pytest.raises(TelegramBadRequest, match="INVITE_HASH_INVALID"):
        await bot.revoke_chat_invite_link(CHANNEL, "https://t.me/+nothere")
    with pytest.raises(ValueError, match="revoked"):
        api.channel_member(CHANNEL, 5, "left", "member", invite_link=link.invite_link)


async def test_channel_updates_reach_only_an_administrator_that_asked(
    api: FakeBotAPI, bot: Bot
) -> None:
    api.channel_post(CHANNEL, "before #admin")  # not an administrator yet: never sent
    assert len(api.dropped_updates) == 1
    api.set_chat_member(CHANNEL, api.bot_id, "administrator")
    api.channel_post(CHANNEL, "Привет #весна и #sale")
    api.reaction_count(CHANNEL, 2, {"👍": 3})
    api.channel_member(CHANNEL, 7, "left", "member")
    # Reactions and member updates are opt-in: without asking, the bot gets the post only.
    updates = await bot.get_updates(timeout=0)
    assert [u.event_type for u in updates] == ["channel_post"]
    post = updates[0].channel_post
    assert post is not None and post.entities is not None
    assert [e.extract_from(post.text or "") for e in post.entities] == ["#весна", "#sale"]
    api.channel_member(CHANNEL, 8, "left", "member")
    asked = await bot.get_updates(
        offset=updates[0].update_id + 1, timeout=0, allowed_updates=["chat_member"]
    )
    assert [u.event_type for u in asked] == ["chat_member"]


def test_hashtag_entities_count_utf16_units() -> None:
    text = "😀 #one и #два"
    assert hashtag_entities(text) == [
        {"type": "hashtag", "offset": 3, "length": 4},
        {"type": "hashtag", "offset": 10, "length": 4},
    ]
