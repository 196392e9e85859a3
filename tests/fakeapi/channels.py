"""Channels in the fake Bot API: invite links and the updates a channel's administrator bot gets.

Behaviour modelled on the Bot API documentation:
- `channel_post`, `edited_channel_post`, `message_reaction_count` and `chat_member` reach a
  bot only when it is an administrator of the channel; `chat_join_request` only when it
  also may invite users. Builders drop (into ``dropped_updates``) what Telegram would not
  send, so a test cannot pass on updates the real bot would never see.
- `createChatInviteLink` / `revokeChatInviteLink` need an administrator with
  `can_invite_users`; a name has 0-32 characters; `member_limit` (1-99999) and
  `creates_join_request` exclude each other; only links the bot created can be revoked.
- Hashtags in a post's text arrive as `hashtag` entities with UTF-16 offsets.
"""

from __future__ import annotations

import itertools
import re
import secrets
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .core import Call

_HASHTAG = re.compile(r"#\w+")
_LINK_SEQ = itertools.count(1)


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def hashtag_entities(text: str) -> list[dict[str, Any]]:
    return [
        {"type": "hashtag", "offset": _utf16_len(text[: m.start()]), "length": _utf16_len(m[0])}
        for m in _HASHTAG.finditer(text)
    ]


class ChannelMixin:
    """Mixed into ``FakeTelegram`` (which provides the state used here)."""

    # Provided by FakeTelegram.
    bot_id: int
    bot_user: dict[str, Any]
    chats: dict[int | str, dict[str, Any]]
    members: dict[tuple[int | str, int], dict[str, Any]]
    messages: dict[tuple[int | str, int], dict[str, Any]]
    dropped_updates: list[dict[str, Any]]
    usernames: dict[str, int]
    invite_links: dict[str, dict[str, Any]]

    if TYPE_CHECKING:

        def _chat(self, chat_id: int | str, chat_type: str | None = ...,
                  title: str | None = ...) -> dict[str, Any]: ...  # fmt: skip
        def _user(self, user_id: int, language_code: str | None = ...) -> dict[str, Any]: ...
        def _member(self, status: str, user: Mapping[str, Any]) -> dict[str, Any]: ...
        def _next_message_id(self, chat_id: int | str) -> int: ...
        def _require_chat(self, call: Call) -> int | str: ...
        def push_update(self, update: dict[str, Any]) -> dict[str, Any]: ...
        def set_chat_member(self, chat_id: int | str, user_id: int, status: str,
                            **fields: Any) -> dict[str, Any]: ...  # fmt: skip

    # ---- set-up ---------------------------------------------------------------------

    def add_channel(self, chat_id: int, username: str, title: str | None = None) -> dict[str, Any]:
        """A public channel: getChat("@username") resolves to it."""
        chat = self._chat(chat_id, "channel", title or username.title())
        chat["username"] = username
        self.usernames[f"@{username.lower()}"] = chat_id
        return chat

    def resolve_username(self, chat_id: int | str | None) -> int | str | None:
        if isinstance(chat_id, str) and chat_id.lower() in self.usernames:
            return self.usernames[chat_id.lower()]
        return chat_id

    def _bot_admin(self, chat_id: int | str) -> dict[str, Any] | None:
        member = self.members.get((chat_id, self.bot_id))
        if member is None or member["status"] not in ("administrator", "creator"):
            return None
        return member

    def _can_invite(self, chat_id: int | str) -> bool:
        member = self._bot_admin(chat_id)
        return member is not None and (
            member["status"] == "creator" or bool(member.get("can_invite_users"))
        )

    def _deliver(self, chat_id: int | str, update: dict[str, Any], *, invite: bool = False) -> (
        dict[str, Any]
    ):  # fmt: skip
        allowed = self._can_invite(chat_id) if invite else self._bot_admin(chat_id) is not None
        if not allowed:
            self.dropped_updates.append(update)
            return update
        return self.push_update(update)

    # ---- update builders ------------------------------------------------------------

    def channel_post(
        self,
        chat_id: int,
        text: str | None = None,
        *,
        kind: str = "text",
        caption: str | None = None,
        media_group_id: str | None = None,
        forwarded_from: int | None = None,
        date: int | None = None,
    ) -> dict[str, Any]:
        """A post in the channel: kind = text, photo, video, poll, voice, document."""
        chat = self._chat(chat_id, "channel")
        msg: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "sender_chat": dict(chat),
            "chat": dict(chat),
            "date": date if date is not None else int(time.time()),
        }
        body = text if kind == "text" else caption
        if kind == "text":
            if not text:
                raise ValueError("a text post needs text")
            msg["text"] = text
        elif kind == "photo":
            msg["photo"] = [{"file_id": f"ph-{msg['message_id']}", "file_unique_id": "phU",
                             "width": 1280, "height": 853}]  # fmt: skip
        elif kind == "video":
            msg["video"] = {"file_id": f"vd-{msg['message_id']}", "file_unique_id": "vdU",
                            "width": 1280, "height": 720, "duration": 12}  # fmt: skip
        elif kind == "voice":
            msg["voice"] = {"file_id": f"vc-{msg['message_id']}", "file_unique_id": "vcU",
                            "duration": 7}  # fmt: skip
        elif kind == "document":
            msg["document"] = {"file_id": f"dc-{msg['message_id']}", "file_unique_id": "dcU",
                               "file_name": "report.pdf"}  # fmt: skip
        elif kind == "poll":
            msg["poll"] = {
                "id": str(msg["message_id"]), "question": text or "?",
                "options": [{"persistent_id": "0", "text": "yes", "voter_count": 0},
                            {"persistent_id": "1", "text": "no", "voter_count": 0}],
                "total_voter_count": 0, "is_closed": False, "is_anonymous": True,
                "type": "regular", "allows_multiple_answers": False, "allows_revoting": False,
                "members_only": False,
            }  # fmt: skip
            body = None
        else:
            raise ValueError(f"unknown post kind {kind!r}")
        if body and kind != "text":
            msg["caption"] = body
        if body:
            entities = hashtag_entities(body)
            if entities:
                msg["entities" if kind == "text" else "caption_entities"] = entities
        if media_group_id is not None:
            if kind not in ("photo", "video", "document"):
                raise ValueError("only photos, videos and documents form albums")
            msg["media_group_id"] = media_group_id
        if forwarded_from is not None:
            origin = self._chat(forwarded_from, "channel")
            msg["forward_origin"] = {"type": "channel", "chat": dict(origin), "message_id": 1,
                                     "date": msg["date"] - 3600}  # fmt: skip
        self.messages[(chat_id, msg["message_id"])] = msg
        return self._deliver(chat_id, {"channel_post": msg})

    def edit_channel_post(
        self, chat_id: int, message_id: int, text: str, *, edit_date: int | None = None
    ) -> dict[str, Any]:
        """The channel edits a post's text (or caption); hashtag entities follow."""
        original = self.messages.get((chat_id, message_id))
        if original is None or "sender_chat" not in original:
            raise ValueError(f"no channel post {message_id} in {chat_id}")
        msg = {k: v for k, v in original.items() if k not in ("entities", "caption_entities")}
        key = "text" if "text" in original else "caption"
        msg[key] = text
        entities = hashtag_entities(text)
        if entities:
            msg["entities" if key == "text" else "caption_entities"] = entities
        msg["edit_date"] = edit_date if edit_date is not None else int(time.time())
        self.messages[(chat_id, message_id)] = msg
        return self._deliver(chat_id, {"edited_channel_post": msg})

    def reaction_count(
        self, chat_id: int, message_id: int, counts: Mapping[str, int], *, date: int | None = None
    ) -> dict[str, Any]:
        """Anonymous reaction totals of a channel message (what Telegram sends, grouped)."""
        if (chat_id, message_id) not in self.messages:
            raise ValueError(f"no message {message_id} in {chat_id}")
        if any(n <= 0 for n in counts.values()):
            raise ValueError("Telegram lists only reactions that are present (total_count > 0)")
        event = {
            "chat": dict(self._chat(chat_id, "channel")),
            "message_id": message_id,
            "date": date if date is not None else int(time.time()),
            "reactions": [
                {"type": {"type": "emoji", "emoji": emoji}, "total_count": n}
                for emoji, n in counts.items()
            ],
        }
        return self._deliver(chat_id, {"message_reaction_count": event})

    def channel_member(
        self,
        chat_id: int,
        user_id: int,
        old_status: str,
        new_status: str,
        *,
        invite_link: str | None = None,
        date: int | None = None,
    ) -> dict[str, Any]:
        """A subscriber's status changed (joined: left → member; left: member → left).
        A join through one of the bot's links carries the full link object."""
        chat = self._chat(chat_id, "channel")
        user = self._user(user_id, None)
        old = self._member(old_status, user)
        new = self.set_chat_member(chat_id, user_id, new_status)
        event: dict[str, Any] = {
            "chat": dict(chat),
            "from": user,
            "date": date if date is not None else int(time.time()),
            "old_chat_member": old,
            "new_chat_member": dict(new),
        }
        if invite_link is not None:
            link = self.invite_links.get(invite_link)
            if link is None or link["chat_id"] != chat_id:
                raise ValueError(f"{invite_link} is not a link of {chat_id}")
            if link["object"]["is_revoked"]:
                raise ValueError("nobody joins through a revoked link")
            event["invite_link"] = dict(link["object"])
        return self._deliver(chat_id, {"chat_member": event})

    def join_request(self, chat_id: int, user_id: int, *, date: int | None = None) -> (
        dict[str, Any]
    ):  # fmt: skip
        user = self._user(user_id, None)
        event = {
            "chat": dict(self._chat(chat_id, "channel")),
            "from": user,
            "user_chat_id": user_id,
            "date": date if date is not None else int(time.time()),
        }
        return self._deliver(chat_id, {"chat_join_request": event}, invite=True)

    # ---- methods --------------------------------------------------------------------

    def _invite_rights(self, call: Call) -> int | str:
        from .core import ApiError

        chat_id = self._require_chat(call)
        if chat_id not in self.chats or self.chats[chat_id]["type"] == "private":
            raise ApiError(400, "Bad Request: chat not found")
        if self._bot_admin(chat_id) is None:
            raise ApiError(400, "Bad Request: CHAT_ADMIN_REQUIRED")
        if not self._can_invite(chat_id):
            raise ApiError(400, "Bad Request: not enough rights to manage chat invite link")
        return chat_id

    def _m_createChatInviteLink(self, call: Call) -> dict[str, Any]:
        from .core import ApiError

        chat_id = self._invite_rights(call)
        p = call.params
        name = p.get("name")
        if name is not None and len(str(name)) > 32:
            raise ApiError(400, "Bad Request: invite link name is too long")
        limit = p.get("member_limit")
        if limit is not None and not 1 <= int(limit) <= 99999:
            raise ApiError(400, "Bad Request: member_limit must be between 1 and 99999")
        if limit is not None and p.get("creates_join_request"):
            raise ApiError(
                400, "Bad Request: member_limit can't be specified with creates_join_request"
            )
        url = f"https://t.me/+{secrets.token_urlsafe(12)}{next(_LINK_SEQ)}"
        link: dict[str, Any] = {
            "invite_link": url,
            "creator": dict(self.bot_user),
            "creates_join_request": bool(p.get("creates_join_request")),
            "is_primary": False,
            "is_revoked": False,
        }
        for key in ("name", "expire_date", "member_limit"):
            if p.get(key) is not None:
                link[key] = p[key]
        self.invite_links[url] = {"chat_id": chat_id, "object": link}
        return dict(link)

    def _m_revokeChatInviteLink(self, call: Call) -> dict[str, Any]:
        from .core import ApiError

        chat_id = self._invite_rights(call)
        stored = self.invite_links.get(str(call.params["invite_link"]))
        if stored is None or stored["chat_id"] != chat_id:
            raise ApiError(400, "Bad Request: INVITE_HASH_INVALID")
        stored["object"]["is_revoked"] = True
        return dict(stored["object"])
