"""Transport-independent fake Telegram Bot API: state, method handlers, update builders.

``FakeTelegram`` is shared by the HTTP server (``server.FakeBotAPI``) and by the in-process
recording session (``recording.RecordingSession``).  Everything is single-threaded asyncio.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import json
import math
import mimetypes
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import spec
from .channels import ChannelMixin

DEFAULT_TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"

FORBIDDEN_BLOCKED = "Forbidden: bot was blocked by the user"
MIGRATED = "Bad Request: group chat was upgraded to a supergroup chat"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
CONFLICT = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)
MAX_DOWNLOAD = 20 * 1024 * 1024
# Update types Telegram does not deliver unless explicitly listed in allowed_updates.
OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
MEMBER_STATUSES = ("creator", "administrator", "member", "restricted", "left", "kicked")

_STATUS_TEXT = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def error_payload(status: int, description: str | None = None, **parameters: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "ok": False,
        "error_code": status,
        "description": description or _STATUS_TEXT.get(status, "Error"),
    }
    if parameters:
        payload["parameters"] = parameters
    return payload


class ApiError(Exception):
    """Raised by method handlers to answer with a Telegram error."""

    def __init__(self, status: int, description: str, **parameters: Any) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


class UnsupportedMethod(Exception):
    """The method exists in the spec but the fake has no handler (use ``set_result``)."""


@dataclass
class UploadedFile:
    name: str  # multipart field name
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    file_size: int


@dataclass
class Call:
    """One recorded API request (every request is recorded, failed ones too)."""

    method: str  # spec spelling, e.g. "sendMessage"
    params: dict[str, Any]  # decoded: ints, bools, JSON objects
    files: dict[str, UploadedFile]  # keyed by the parameter they fill ("photo", "document")
    chat_id: int | str | None
    timestamp: float  # time.monotonic()
    raw_params: dict[str, Any] = field(default_factory=dict)
    status: int = 0
    response: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response and self.response.get("ok"))

    @property
    def result(self) -> Any:
        return (self.response or {}).get("result")

    @property
    def text(self) -> str | None:
        """Raw ``text`` or ``caption`` as sent (markup included)."""
        value = self.params.get("text", self.params.get("caption"))
        return value if isinstance(value, str) else None

    @property
    def visible_text(self) -> str | None:
        """``text``/``caption`` as the user sees it (HTML parsed)."""
        if self.text is None:
            return None
        pm = self.params.get("parse_mode")
        return spec.visible_text(self.text, pm if isinstance(pm, str) else None)

    @property
    def reply_markup(self) -> dict[str, Any] | None:
        markup = self.params.get("reply_markup")
        return markup if isinstance(markup, dict) else None

    @property
    def callback_data(self) -> list[str]:
        """All callback_data values of an inline keyboard, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [b["callback_data"] for row in rows for b in row if "callback_data" in b]

    @property
    def message_id(self) -> int | None:
        result = self.result
        return result.get("message_id") if isinstance(result, dict) else None


@dataclass
class Webhook:
    """What setWebhook set: where updates go, the secret header, parallel connections."""

    url: str
    secret_token: str | None
    max_connections: int = 40


@dataclass
class Reply:
    status: int
    payload: dict[str, Any]
    drop: bool = False  # close the connection without answering
    problems: list[str] = field(default_factory=list)


@dataclass
class _Fault:
    method: str  # lower-case method name or "*"
    kind: str  # "error" | "drop" | "delay"
    remaining: int | None  # None = forever
    chat_id: int | str | None = None
    status: int = 429
    retry_after: int | None = None
    description: str | None = None
    delay: float = 0.0

    def matches(self, method: str, chat_id: Any) -> bool:
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.method not in ("*", method.lower()):
            return False
        return self.chat_id is None or str(self.chat_id) == str(chat_id)


class _Bucket:
    def __init__(self, capacity: float, rate: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self.tokens = capacity
        self.last = time.monotonic()

    def wait_needed(self, now: float) -> float:
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


class _Window:
    """At most `limit` sends in any `span` seconds (Telegram's "20 messages per minute
    in a group", read literally: no burst allowance on top of the minute)."""

    def __init__(self, limit: float, span: float = 60.0) -> None:
        self.limit = limit
        self.span = span
        self.sends: deque[float] = deque()

    def wait_needed(self, now: float) -> float:
        while self.sends and self.sends[0] <= now - self.span:
            self.sends.popleft()
        if len(self.sends) < self.limit:
            return 0.0
        return self.sends[-int(self.limit)] + self.span - now

    def take(self, now: float) -> None:
        self.sends.append(now)


class _RateLimiter:
    def __init__(
        self,
        per_second: float,
        per_chat_per_second: float,
        per_group_per_minute: float,
        per_chat_burst: int,
    ) -> None:
        self.per_second = per_second
        self.per_chat_per_second = per_chat_per_second
        self.per_group_per_minute = per_group_per_minute
        self.per_chat_burst = per_chat_burst
        self.global_bucket = _Bucket(per_second, per_second)
        self.chat_buckets: dict[str, _Bucket] = {}
        self.group_windows: dict[str, _Window] = {}

    def check(self, chat_id: Any) -> int:
        """0 if the send may pass (and is counted), else retry_after seconds."""
        now = time.monotonic()
        buckets = [self.global_bucket]
        window: _Window | None = None
        if chat_id is not None:
            key = str(chat_id)
            buckets.append(
                self.chat_buckets.setdefault(
                    key, _Bucket(self.per_chat_burst, self.per_chat_per_second)
                )
            )
            if key.startswith("-"):
                window = self.group_windows.setdefault(key, _Window(self.per_group_per_minute))
        waits = [b.wait_needed(now) for b in buckets]
        if window is not None:
            waits.append(window.wait_needed(now))
        wait = max(waits)
        if wait > 0:
            return max(1, math.ceil(wait))
        for b in buckets:
            b.take()
        if window is not None:
            window.take(now)
        return 0


def _is_send(method: str) -> bool:
    m = method.lower()
    return (m.startswith(("send", "edit", "copymessage", "forwardmessage"))) and (
        m != "sendchataction"
    )


def _is_chat_write(method: str) -> bool:
    m = method.lower()
    return m.startswith(("send", "edit", "copymessage", "forwardmessage"))


def _norm_chat_id(value: Any) -> int | str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    s = str(value).strip()
    if s.lstrip("-").isdigit():
        return int(s)
    return s


def _update_type(update: Mapping[str, Any]) -> str:
    return next((k for k in update if k != "update_id"), "")


class FakeTelegram(ChannelMixin):
    """State and behaviour of a fake Bot API (no transport)."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = "smm_test_bot",
        bot_first_name: str = "SMM Test Bot",
        default_member_status: str = "member",
        strict_edits: bool = True,
    ) -> None:
        self.token = token
        prefix = token.split(":", 1)[0]
        self.bot_id = int(prefix) if prefix.isdigit() else 123456
        self.bot_user: dict[str, Any] = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.default_member_status = default_member_status
        self.strict_edits = strict_edits

        self.calls: list[Call] = []
        self.violations: list[str] = []
        self.flood_hits: list[Call] = []
        self.dropped_updates: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []  # not yet confirmed
        self.delivered: list[dict[str, Any]] = []  # returned by getUpdates at least once

        self.chats: dict[int | str, dict[str, Any]] = {}
        self.messages: dict[tuple[int | str, int], dict[str, Any]] = {}
        self.members: dict[tuple[int | str, int], dict[str, Any]] = {}
        self.member_counts: dict[int | str, int] = {}
        self.files: dict[str, StoredFile] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.blocked: dict[int | str, str] = {}
        self.migrated: dict[int | str, int] = {}
        self.callbacks: dict[str, dict[str, Any]] = {}
        self.usernames: dict[str, int] = {}  # "@name" -> channel id (tests/fakeapi/channels.py)
        self.invite_links: dict[str, dict[str, Any]] = {}

        self._raw_content: dict[tuple[int | str, int], tuple[Any, ...]] = {}
        self._message_ids: dict[int | str, int] = {}
        self._update_ids = itertools.count(100_000_001)
        self._callback_ids = itertools.count(4_000_000_000_000_001)
        self._file_seq = itertools.count(1)
        self._faults: list[_Fault] = []
        self._rate: _RateLimiter | None = None
        self._results: dict[str, Any] = {}
        self._allowed_updates: list[str] | None = None
        self._poll_generation = 0
        self._closing = False
        self._update_event = asyncio.Event()
        self._call_event = asyncio.Event()
        # setWebhook: Telegram demands HTTPS; the fake on loopback takes http:// too.
        self.webhook: Webhook | None = None
        self.allow_http_webhooks = True

    # ----------------------------------------------------------------------------------
    # Configuration
    # ----------------------------------------------------------------------------------

    def add_chat(
        self, chat_id: int | str, chat_type: str | None = None, title: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:  # fmt: skip
        """Register (or update) a chat; returns the Chat object."""
        chat = self._chat(chat_id, chat_type, title)
        chat.update(extra)
        return chat

    def set_chat_member(
        self, chat_id: int | str, user_id: int, status: str, **fields: Any
    ) -> dict[str, Any]:
        """Configure getChatMember for (chat, user): creator/administrator/member/restricted/
        left/kicked. Extra fields override the generated ChatMember fields."""
        if status not in MEMBER_STATUSES:
            raise ValueError(f"unknown status {status!r}, expected one of {MEMBER_STATUSES}")
        user = self.bot_user if user_id == self.bot_id else self._user(user_id, None)
        member = self._member(status, user)
        member.update(fields)
        self.members[(chat_id, user_id)] = member
        return member

    def set_member_count(self, chat_id: int | str, count: int) -> None:
        self.member_counts[chat_id] = count

    def add_file(
        self,
        file_id: str,
        data: bytes,
        file_size: int | None = None,
        file_path: str | None = None,
    ) -> str:
        """Register a downloadable file (getFile + /file/bot<token>/<file_path>)."""
        seq = next(self._file_seq)
        self.files[file_id] = StoredFile(
            file_id=file_id,
            file_unique_id=f"AgAD{seq:08d}",
            data=data,
            file_path=file_path or f"documents/file_{seq}",
            file_size=len(data) if file_size is None else file_size,
        )
        return file_id

    def read_file(self, file_path: str) -> bytes | None:
        for stored in self.files.values():
            if stored.file_path == file_path:
                return stored.data
        return None

    def set_result(self, method: str, result: Any) -> None:
        """Override a method's result: a value, or ``callable(call)`` (may be async) that
        returns the result or raises ``ApiError``. Also makes spec methods without a
        built-in handler usable."""
        self._results[method.lower()] = result

    def fail_next(
        self,
        method: str,
        count: int = 1,
        status: int = 429,
        retry_after: int | None = 1,
        chat_id: int | str | None = None,
        description: str | None = None,
    ) -> None:
        """The next ``count`` calls of ``method`` ("*" = any) answer with an error.
        429 carries ``parameters.retry_after``; 5xx give TelegramServerError in aiogram."""
        if description is None:
            if status == 429:
                description = f"Too Many Requests: retry after {retry_after}"
            else:
                description = _STATUS_TEXT.get(status, "Error")
        self._faults.append(
            _Fault(
                method=method.lower(),
                kind="error",
                remaining=count,
                chat_id=chat_id,
                status=status,
                retry_after=retry_after if status == 429 else None,
                description=description,
            )
        )

    def drop_next(self, method: str, count: int = 1, chat_id: int | str | None = None) -> None:
        """The next ``count`` calls are answered by closing the connection."""
        self._faults.append(_Fault(method=method.lower(), kind="drop", remaining=count,
                                   chat_id=chat_id))  # fmt: skip

    def slow(
        self,
        method: str,
        delay: float,
        count: int | None = None,
        chat_id: int | str | None = None,
    ) -> None:
        """Delay answers of ``method`` by ``delay`` seconds (``count=None``: until cleared)."""
        self._faults.append(
            _Fault(method=method.lower(), kind="delay", remaining=count, chat_id=chat_id,
                   delay=delay)
        )  # fmt: skip

    def clear_faults(self) -> None:
        self._faults.clear()

    def block_chat(self, chat_id: int | str, description: str = FORBIDDEN_BLOCKED) -> None:
        """Sends/edits to ``chat_id`` answer 403 (aiogram: TelegramForbiddenError)."""
        self.blocked[chat_id] = description

    def unblock_chat(self, chat_id: int | str) -> None:
        self.blocked.pop(chat_id, None)

    def rate_limit(
        self,
        per_second: float = 30,
        per_chat_per_second: float = 1,
        per_group_per_minute: float = 20,
        per_chat_burst: int = 3,
        *,
        enabled: bool = True,
    ) -> None:
        """Enforce Telegram-like flood limits on sending methods (token buckets): global
        ``per_second``; per chat ``per_chat_per_second`` with bursts up to
        ``per_chat_burst``; per group (negative chat id) at most ``per_group_per_minute``
        sends in any 60 seconds (a sliding window, no burst on top).
        Violations answer 429 with ``parameters.retry_after`` and land in ``flood_hits``."""
        self._rate = (
            _RateLimiter(per_second, per_chat_per_second, per_group_per_minute, per_chat_burst)
            if enabled
            else None
        )

    # ----------------------------------------------------------------------------------
    # Inspection
    # ----------------------------------------------------------------------------------

    def _match(
        self,
        method: str | Callable[[Call], bool] | None,
        chat_id: int | str | None,
        include_failed: bool,
    ) -> list[Call]:
        out = []
        for call in self.calls:
            if not include_failed and not call.ok:
                continue
            if chat_id is not None and str(call.chat_id) != str(chat_id):
                continue
            if callable(method):
                if not method(call):
                    continue
            elif method is not None and call.method.lower() != method.lower():
                continue
            out.append(call)
        return out

    def sent(
        self,
        method: str | None = None,
        chat_id: int | str | None = None,
        *,
        include_failed: bool = False,
    ) -> list[Call]:
        """Successful calls (optionally filtered by method and chat)."""
        return self._match(method, chat_id, include_failed)

    def last(self, method: str | None = None, chat_id: int | str | None = None) -> Call:
        calls = self.sent(method, chat_id)
        if not calls:
            raise AssertionError(f"no successful {method or 'call'} to chat {chat_id}")
        return calls[-1]

    @property
    def errors(self) -> list[Call]:
        """Calls answered with a non-200 status."""
        return [c for c in self.calls if c.status != 200]

    def clear_calls(self) -> None:
        self.calls.clear()
        self.violations.clear()
        self.flood_hits.clear()

    async def wait_for(
        self,
        predicate_or_method: str | Callable[[Call], bool] | None = None,
        chat_id: int | str | None = None,
        count: int = 1,
        timeout: float = 10,  # noqa: ASYNC109 - public API of the fake
        *,
        include_failed: bool = False,
    ) -> list[Call]:
        """Wait until at least ``count`` successful matching calls were recorded (in total,
        including earlier ones); return the first ``count``. AssertionError on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            matched = self._match(predicate_or_method, chat_id, include_failed)
            if len(matched) >= count:
                return matched[:count]
            remaining = deadline - loop.time()
            if remaining <= 0:
                summary = "\n".join(
                    f"  {c.method} chat={c.chat_id} status={c.status} text={c.text!r:.80}"
                    for c in self.calls[-30:]
                )
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {count} x "
                    f"{getattr(predicate_or_method, '__name__', predicate_or_method)} "
                    f"(chat={chat_id}); got {len(matched)}. Recent calls:\n{summary}"
                )
            self._call_event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._call_event.wait(), remaining)

    # ----------------------------------------------------------------------------------
    # Objects
    # ----------------------------------------------------------------------------------

    @staticmethod
    def infer_chat_type(chat_id: int | str) -> str:
        s = str(chat_id)
        if s.startswith("-100"):
            return "supergroup"
        if s.startswith("-"):
            return "group"
        if s.startswith("@"):
            return "channel"
        return "private"

    def _user(
        self,
        user_id: int,
        language_code: str | None = "ru",
        first_name: str | None = None,
        username: str | None = None,
    ) -> dict[str, Any]:
        user: dict[str, Any] = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name or f"User{user_id}",
        }
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        return user

    def _chat(
        self,
        chat_id: int | str,
        chat_type: str | None = None,
        title: str | None = None,
        user: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        chat = self.chats.get(chat_id)
        if chat is not None:
            if chat_type and chat["type"] != chat_type:
                chat["type"] = chat_type
            if title and chat_type != "private":
                chat["title"] = title
            return chat
        chat_type = chat_type or self.infer_chat_type(chat_id)
        chat = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = (user or {}).get("first_name") or f"User{chat_id}"
            if user and user.get("username"):
                chat["username"] = user["username"]
        else:
            chat["title"] = title or f"Test {chat_type} {chat_id}"
        self.chats[chat_id] = chat
        return chat

    def _member(self, status: str, user: Mapping[str, Any]) -> dict[str, Any]:
        member: dict[str, Any] = {"status": status, "user": dict(user)}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(
                can_be_edited=False,
                is_anonymous=False,
                **dict.fromkeys(
                    (
                        "can_manage_chat", "can_delete_messages", "can_manage_video_chats",
                        "can_restrict_members", "can_promote_members", "can_change_info",
                        "can_invite_users", "can_post_stories", "can_edit_stories",
                        "can_delete_stories", "can_send_welcome_messages", "can_pin_messages",
                    ),
                    True,
                ),
            )  # fmt: skip
        elif status == "restricted":
            member.update(
                is_member=True,
                until_date=0,
                **dict.fromkeys(
                    (
                        "can_send_messages", "can_send_audios", "can_send_documents",
                        "can_send_photos", "can_send_videos", "can_send_video_notes",
                        "can_send_voice_notes", "can_send_polls", "can_send_other_messages",
                        "can_add_web_page_previews", "can_react_to_messages", "can_edit_tag",
                        "can_change_info", "can_invite_users", "can_pin_messages",
                        "can_manage_topics",
                    ),
                    False,
                ),
            )  # fmt: skip
        elif status == "kicked":
            member["until_date"] = 0
        return member

    def _next_message_id(self, chat_id: int | str) -> int:
        mid = self._message_ids.get(chat_id, 0) + 1
        self._message_ids[chat_id] = mid
        return mid

    def _new_message(
        self, chat_id: int | str, sender: Mapping[str, Any], **content: Any
    ) -> dict[str, Any]:
        chat = self._chat(chat_id, user=sender if str(chat_id) == str(sender.get("id")) else None)
        msg: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "from": dict(sender),
            "chat": dict(chat),
            "date": int(time.time()),
        }
        msg.update({k: v for k, v in content.items() if v is not None})
        self.messages[(chat_id, msg["message_id"])] = msg
        return msg

    def _new_file_ids(self, kind: str) -> tuple[str, str]:
        seq = next(self._file_seq)
        return f"{kind}-{seq:06d}-fake", f"AgAD{seq:08d}"

    # ----------------------------------------------------------------------------------
    # Update builders (each pushes the update and returns it)
    # ----------------------------------------------------------------------------------

    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates (assigns update_id if missing)."""
        if "update_id" not in update:
            update = {"update_id": next(self._update_ids), **update}
        self.updates.append(update)
        self._update_event.set()
        return update

    def message(
        self,
        chat_id: int | str,
        text: str,
        user_id: int | None = None,
        language_code: str | None = "ru",
        chat_type: str | None = None,
        title: str | None = None,
        *,
        first_name: str | None = None,
        username: str | None = None,
        reply_to_message_id: int | None = None,
        entities: list[dict[str, Any]] | None = None,
        push: bool = True,
    ) -> dict[str, Any]:
        """A text message from a user. ``/command`` texts get a bot_command entity."""
        chat_type = chat_type or self.infer_chat_type(chat_id)
        if user_id is None:
            user_id = int(chat_id) if chat_type == "private" else 1001
        user = self._user(user_id, language_code, first_name, username)
        self._chat(chat_id, chat_type, title, user)
        if entities is None and text.startswith("/"):
            command = text.split()[0]
            entities = [{"type": "bot_command", "offset": 0,
                         "length": len(command.encode("utf-16-le")) // 2}]  # fmt: skip
        msg = self._new_message(chat_id, user, text=text, entities=entities or None)
        if reply_to_message_id is not None:
            replied = self.messages.get((chat_id, reply_to_message_id))
            if replied is not None:
                msg["reply_to_message"] = replied
        update = {"update_id": next(self._update_ids), "message": msg}
        return self.push_update(update) if push else update

    def document(
        self,
        chat_id: int | str,
        file_id: str,
        file_name: str,
        caption: str | None = None,
        user_id: int | None = None,
        language_code: str | None = "ru",
        chat_type: str | None = None,
        title: str | None = None,
        *,
        mime_type: str | None = None,
        file_size: int | None = None,
        data: bytes | None = None,
        push: bool = True,
    ) -> dict[str, Any]:
        """A document message. Pass ``data`` (or call ``add_file`` first) to make it
        downloadable."""
        chat_type = chat_type or self.infer_chat_type(chat_id)
        if user_id is None:
            user_id = int(chat_id) if chat_type == "private" else 1001
        if data is not None:
            self.add_file(file_id, data, file_size)
        stored = self.files.get(file_id)
        user = self._user(user_id, language_code)
        self._chat(chat_id, chat_type, title, user)
        document: dict[str, Any] = {
            "file_id": file_id,
            "file_unique_id": stored.file_unique_id if stored else f"u-{file_id}"[:32],
            "file_name": file_name,
            "mime_type": mime_type
            or mimetypes.guess_type(file_name)[0]
            or "application/octet-stream",
        }
        size = file_size if file_size is not None else (stored.file_size if stored else None)
        if size is not None:
            document["file_size"] = size
        msg = self._new_message(chat_id, user, document=document, caption=caption)
        update = {"update_id": next(self._update_ids), "message": msg}
        return self.push_update(update) if push else update

    def photo(
        self,
        chat_id: int | str,
        data: bytes,
        caption: str | None = None,
        user_id: int | None = None,
        language_code: str | None = "ru",
        chat_type: str | None = None,
        *,
        width: int = 512,
        height: int = 512,
        push: bool = True,
    ) -> dict[str, Any]:
        """A photo message: Telegram sends several sizes of one picture (a 90 px thumbnail
        and the picture); each is a downloadable file (getFile). The caption's command
        gets a bot_command entity, as Telegram marks it."""
        chat_type = chat_type or self.infer_chat_type(chat_id)
        if user_id is None:
            user_id = int(chat_id) if chat_type == "private" else 1001
        user = self._user(user_id, language_code)
        self._chat(chat_id, chat_type, None, user)
        sizes = []
        scale = 90 / max(width, height)
        for w, h in ((max(1, int(width * scale)), max(1, int(height * scale))), (width, height)):
            file_id, unique = self._new_file_ids("photo")
            self.add_file(file_id, data, file_path=f"photos/{file_id}.jpg")
            self.files[file_id].file_unique_id = unique
            sizes.append({"file_id": file_id, "file_unique_id": unique, "width": w,
                          "height": h, "file_size": len(data)})  # fmt: skip
        entities = None
        if caption and caption.startswith("/"):
            command = caption.split()[0]
            entities = [{"type": "bot_command", "offset": 0,
                         "length": len(command.encode("utf-16-le")) // 2}]  # fmt: skip
        msg = self._new_message(
            chat_id, user, photo=sizes, caption=caption, caption_entities=entities
        )
        update = {"update_id": next(self._update_ids), "message": msg}
        return self.push_update(update) if push else update

    def callback(
        self,
        chat_id: int | str,
        message_id: int,
        data: str,
        user_id: int | None = None,
        language_code: str | None = "ru",
        *,
        push: bool = True,
    ) -> dict[str, Any]:
        """A callback_query for an inline button under message ``message_id``."""
        chat = self._chat(chat_id)
        if user_id is None:
            user_id = int(chat_id) if chat["type"] == "private" else 1001
        user = self._user(user_id, language_code)
        msg = self.messages.get((chat_id, message_id))
        if msg is None:  # synthesize a bot message so edits of it work
            msg = {"message_id": message_id, "from": dict(self.bot_user), "chat": dict(chat),
                   "date": int(time.time()), "text": "…"}  # fmt: skip
            self.messages[(chat_id, message_id)] = msg
            self._message_ids[chat_id] = max(self._message_ids.get(chat_id, 0), message_id)
        query_id = str(next(self._callback_ids))
        self.callbacks[query_id] = {"chat_id": chat_id, "answered": False}
        query = {
            "id": query_id,
            "from": user,
            "message": msg,
            "chat_instance": f"-{abs(hash(str(chat_id))) % 10**18}",
            "data": data,
        }
        update = {"update_id": next(self._update_ids), "callback_query": query}
        return self.push_update(update) if push else update

    def my_chat_member(
        self,
        chat_id: int | str,
        old_status: str,
        new_status: str,
        chat_type: str | None = None,
        user_id: int = 1001,
        title: str | None = None,
        *,
        push: bool = True,
    ) -> dict[str, Any]:
        """The bot's own membership changed (added/promoted/removed). Also updates what
        getChatMember returns for the bot in that chat."""
        chat = self._chat(chat_id, chat_type, title)
        actor = self._user(user_id)
        old = self._member(old_status, self.bot_user)
        new = self.set_chat_member(chat_id, self.bot_id, new_status)
        event = {
            "chat": dict(chat),
            "from": actor,
            "date": int(time.time()),
            "old_chat_member": old,
            "new_chat_member": dict(new),
        }
        update = {"update_id": next(self._update_ids), "my_chat_member": event}
        return self.push_update(update) if push else update

    def migrate(
        self,
        old_chat_id: int,
        new_chat_id: int,
        user_id: int = 1001,
        title: str | None = None,
        *,
        push: bool = True,
    ) -> list[dict[str, Any]]:
        """Group -> supergroup upgrade: service messages in both chats; afterwards sends
        to the old id fail with 400 + parameters.migrate_to_chat_id."""
        old_chat = self._chat(old_chat_id, "group", title)
        new_chat = self._chat(new_chat_id, "supergroup", title or old_chat.get("title"))
        user = self._user(user_id)
        m_old = self._new_message(old_chat_id, user, migrate_to_chat_id=new_chat_id)
        m_new = self._new_message(new_chat_id, user, migrate_from_chat_id=old_chat_id)
        m_new["sender_chat"] = dict(new_chat)
        self.migrated[old_chat_id] = new_chat_id
        ups = [
            {"update_id": next(self._update_ids), "message": m_old},
            {"update_id": next(self._update_ids), "message": m_new},
        ]
        return [self.push_update(u) for u in ups] if push else ups

    # ----------------------------------------------------------------------------------
    # Request handling
    # ----------------------------------------------------------------------------------

    def close(self) -> None:
        """Release pending long polls (used on shutdown)."""
        self._closing = True
        self._update_event.set()

    async def handle(
        self,
        method: str,
        raw_params: Mapping[str, Any],
        files: Mapping[str, UploadedFile] | None = None,
        *,
        token: str | None = None,
    ) -> Reply:
        """Process one request. ``token`` (when given) must match."""
        files = dict(files or {})
        name = spec.canonical_method(method) or method
        params = spec.decode_params(name, raw_params)
        by_param: dict[str, UploadedFile] = {}
        for key, value in params.items():
            if isinstance(value, str) and value.startswith("attach://"):
                part = files.get(value[len("attach://") :])
                if part is not None:
                    by_param[key] = part
        for key, part in files.items():
            if part not in by_param.values():
                by_param[key] = part
        chat_id = self.resolve_username(_norm_chat_id(params.get("chat_id")))
        if chat_id is None and "callback_query_id" in params:
            chat_id = self.callbacks.get(str(params["callback_query_id"]), {}).get("chat_id")
        call = Call(
            method=name,
            params=params,
            files=by_param,
            chat_id=chat_id,
            timestamp=time.monotonic(),
            raw_params=dict(raw_params),
        )
        self.calls.append(call)
        try:
            reply = await self._process(call, token, set(files))
        except UnsupportedMethod as exc:
            msg = f"{name}: not implemented by the fake Bot API (use set_result): {exc}"
            call.problems.append(msg)
            self.violations.append(msg)
            reply = Reply(400, error_payload(400, f"Bad Request: {msg}"), problems=[msg])
        call.status = 0 if reply.drop else reply.status
        call.response = None if reply.drop else reply.payload
        self._call_event.set()
        return reply

    async def _process(self, call: Call, token: str | None, file_parts: set[str]) -> Reply:
        if token is not None and token != self.token:
            return Reply(401, error_payload(401, "Unauthorized"))
        problems = spec.validate(call.method, call.raw_params, file_parts)
        if problems:
            texts = [str(p) for p in problems]
            call.problems.extend(texts)
            self.violations.extend(texts)
            first = problems[0]
            return Reply(first.error_code, error_payload(first.error_code, first.description),
                         problems=texts)  # fmt: skip

        for fault in self._faults:
            if not fault.matches(call.method, call.chat_id):
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
            if fault.kind == "delay":
                await asyncio.sleep(fault.delay)
                continue
            if fault.kind == "drop":
                return Reply(0, {}, drop=True)
            params = {"retry_after": fault.retry_after} if fault.retry_after else {}
            return Reply(fault.status, error_payload(fault.status, fault.description, **params))
        self._faults = [f for f in self._faults if f.remaining is None or f.remaining > 0]

        if _is_chat_write(call.method) and call.chat_id is not None:
            if call.chat_id in self.migrated:
                new_id = self.migrated[call.chat_id]
                return Reply(400, error_payload(400, MIGRATED, migrate_to_chat_id=new_id))
            if call.chat_id in self.blocked:
                return Reply(403, error_payload(403, self.blocked[call.chat_id]))
        if self._rate is not None and _is_send(call.method):
            retry_after = self._rate.check(call.chat_id)
            if retry_after:
                self.flood_hits.append(call)
                return Reply(
                    429,
                    error_payload(
                        429, f"Too Many Requests: retry after {retry_after}",
                        retry_after=retry_after,
                    ),
                )  # fmt: skip

        try:
            override = self._results.get(call.method.lower())
            if override is not None:
                result = override(call) if callable(override) else override
            else:
                handler = getattr(self, f"_m_{call.method}", None)
                if handler is None:
                    raise UnsupportedMethod(call.method)
                result = handler(call)
            if inspect.isawaitable(result):
                result = await result
        except ApiError as exc:
            return Reply(exc.status, error_payload(exc.status, exc.description, **exc.parameters))
        return Reply(200, {"ok": True, "result": result})

    # ----------------------------------------------------------------------------------
    # Method handlers: _m_<spec name>(call) -> result
    # ----------------------------------------------------------------------------------

    def _m_getMe(self, call: Call) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _m_logOut(self, call: Call) -> bool:
        return True

    def _m_close(self, call: Call) -> bool:
        return True

    def _m_deleteWebhook(self, call: Call) -> bool:
        if call.params.get("drop_pending_updates"):
            self.updates.clear()
        self.webhook = None
        self._webhook_changed()
        return True

    def _m_setWebhook(self, call: Call) -> bool:
        p = call.params
        url = str(p["url"])
        if not url:  # an empty url removes the webhook, as in the Bot API
            return self._m_deleteWebhook(call)
        if not url.startswith("https://") and not self.allow_http_webhooks:
            raise ApiError(400, "Bad Request: bad webhook: HTTPS URL must be provided for webhook")
        secret = p.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        if "allowed_updates" in p:
            self._allowed_updates = list(p["allowed_updates"])
        if p.get("drop_pending_updates"):
            self.updates.clear()
        self.webhook = Webhook(
            url=url,
            secret_token=None if secret is None else str(secret),
            max_connections=int(p.get("max_connections", 40)),
        )
        self._webhook_changed()
        return True

    def _webhook_changed(self) -> None:
        """Hook for the HTTP front-end (tests/fakeapi/server.py starts or stops pushing)."""
        self._update_event.set()

    def _m_getWebhookInfo(self, call: Call) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook.url if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.updates),
        }
        if self.webhook is not None:
            info["max_connections"] = self.webhook.max_connections
            if self._allowed_updates is not None:
                info["allowed_updates"] = list(self._allowed_updates)
        return info

    def _confirm(self, offset: int) -> None:
        if offset < 0:
            self.updates = self.updates[offset:]
        else:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]

    def _deliverable(self, limit: int) -> list[dict[str, Any]]:
        allowed = self._allowed_updates
        out: list[dict[str, Any]] = []
        keep: list[dict[str, Any]] = []
        for update in self.updates:
            utype = _update_type(update)
            wanted = (utype in allowed) if allowed else utype not in OPT_IN_UPDATES
            if wanted:
                keep.append(update)
                if len(out) < limit:
                    out.append(update)
            else:
                self.dropped_updates.append(update)
        self.updates = keep
        return out

    async def _m_getUpdates(self, call: Call) -> list[dict[str, Any]]:
        p = call.params
        if self.webhook is not None:
            raise ApiError(409, WEBHOOK_ACTIVE)
        if "allowed_updates" in p:
            self._allowed_updates = list(p["allowed_updates"])
        limit = int(p.get("limit", 100))
        timeout = float(p.get("timeout", 0))
        self._poll_generation += 1
        generation = self._poll_generation
        self._update_event.set()  # wake (and thereby terminate) an older long poll
        await asyncio.sleep(0)
        if p.get("offset") is not None:
            self._confirm(int(p["offset"]))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(409, CONFLICT)
            batch = self._deliverable(limit)
            remaining = deadline - loop.time()
            if batch or remaining <= 0 or self._closing:
                for u in batch:
                    if u not in self.delivered:
                        self.delivered.append(u)
                return batch
            self._update_event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._update_event.wait(), remaining)

    # ---- messages ----------------------------------------------------------------------

    def _reply_to(self, call: Call) -> dict[str, Any] | None:
        # reply_to_message_id / allow_sending_without_reply were removed in Bot API 7.0:
        # validation rejects them before this point.
        rp = call.params.get("reply_parameters")
        if not isinstance(rp, dict) or rp.get("message_id") is None:
            return None
        mid = rp["message_id"]
        allow = bool(rp.get("allow_sending_without_reply"))
        replied = self.messages.get((call.chat_id, int(mid)))  # type: ignore[arg-type]
        if replied is None and not allow:
            raise ApiError(400, "Bad Request: message to be replied not found")
        return replied

    @staticmethod
    def _inline_markup(call: Call) -> dict[str, Any] | None:
        markup = call.params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            return markup
        return None

    def _require_chat(self, call: Call) -> int | str:
        if call.chat_id is None:
            raise ApiError(400, "Bad Request: chat_id is empty")
        return call.chat_id

    def _send(self, call: Call, raw_key: str, **content: Any) -> dict[str, Any]:
        chat_id = self._require_chat(call)
        replied = self._reply_to(call)
        msg = self._new_message(
            chat_id,
            self.bot_user,
            reply_to_message=replied,
            reply_markup=self._inline_markup(call),
            **content,
        )
        self._raw_content[(chat_id, msg["message_id"])] = (
            call.params.get(raw_key),
            call.params.get("parse_mode"),
        )
        return msg

    def _visible(self, call: Call, key: str) -> str | None:
        value = call.params.get(key)
        if value is None:
            return None
        pm = call.params.get("parse_mode")
        return spec.visible_text(str(value), pm if isinstance(pm, str) else None)

    def _m_sendMessage(self, call: Call) -> dict[str, Any]:
        return self._send(call, "text", text=self._visible(call, "text"))

    def _upload(self, call: Call, key: str, kind: str) -> tuple[str, str, bytes | None, str | None]:
        part = call.files.get(key)
        if part is not None:
            file_id, unique = self._new_file_ids(kind)
            self.add_file(file_id, part.data, file_path=f"{kind}s/{file_id}")
            self.files[file_id].file_unique_id = unique
            return file_id, unique, part.data, part.filename
        ref = str(call.params.get(key))
        stored = self.files.get(ref)
        if stored is not None:
            return stored.file_id, stored.file_unique_id, stored.data, None
        if ref.startswith(("http://", "https://")):
            file_id, unique = self._new_file_ids(kind)
            return file_id, unique, None, ref.rsplit("/", 1)[-1] or None
        raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    def _m_sendPhoto(self, call: Call) -> dict[str, Any]:
        file_id, unique, data, _ = self._upload(call, "photo", "photo")
        size = len(data) if data is not None else 54321
        photo = [
            {"file_id": f"{file_id}-s", "file_unique_id": f"{unique}s", "width": 90,
             "height": 60, "file_size": max(1, size // 20)},
            {"file_id": file_id, "file_unique_id": unique, "width": 1280, "height": 853,
             "file_size": size},
        ]  # fmt: skip
        return self._send(call, "caption", photo=photo, caption=self._visible(call, "caption"))

    def _m_sendDocument(self, call: Call) -> dict[str, Any]:
        file_id, unique, data, filename = self._upload(call, "document", "document")
        stored = self.files.get(str(call.params.get("document")))
        name = filename or "document"
        document: dict[str, Any] = {
            "file_id": file_id,
            "file_unique_id": unique,
            "file_name": name,
            "mime_type": mimetypes.guess_type(name)[0] or "application/octet-stream",
        }
        if data is not None:
            document["file_size"] = stored.file_size if stored else len(data)
        return self._send(
            call, "caption", document=document, caption=self._visible(call, "caption")
        )

    def _m_sendChatAction(self, call: Call) -> bool:
        self._require_chat(call)
        return True

    def _editable(self, call: Call) -> tuple[tuple[int | str, int], dict[str, Any]] | None:
        if call.params.get("inline_message_id"):
            return None
        chat_id = self._require_chat(call)
        mid = call.params.get("message_id")
        if mid is None:
            raise ApiError(400, "Bad Request: message identifier is not specified")
        key = (chat_id, int(mid))
        msg = self.messages.get(key)
        if msg is None:
            if self.strict_edits:
                raise ApiError(400, "Bad Request: message to edit not found")
            msg = {"message_id": int(mid), "from": dict(self.bot_user),
                   "chat": dict(self._chat(chat_id)), "date": int(time.time())}  # fmt: skip
            self.messages[key] = msg
        if msg.get("from", {}).get("id") != self.bot_id:
            raise ApiError(400, "Bad Request: message can't be edited")
        return key, msg

    def _edit(self, call: Call, field_name: str | None) -> dict[str, Any] | bool:
        found = self._editable(call)
        if found is None:
            return True
        key, msg = found
        new_markup = self._inline_markup(call)
        old_raw = self._raw_content.get(key, (msg.get(field_name or ""), None))
        new_raw = (
            (call.params.get(field_name), call.params.get("parse_mode")) if field_name else old_raw
        )
        if new_raw == old_raw and new_markup == msg.get("reply_markup"):
            raise ApiError(400, NOT_MODIFIED)
        if field_name:
            if field_name == "text" and "text" not in msg:
                raise ApiError(400, "Bad Request: there is no text in the message to edit")
            if field_name == "caption" and "text" in msg:
                raise ApiError(400, "Bad Request: there is no caption in the message to edit")
            visible = self._visible(call, field_name)
            if visible is None:
                msg.pop(field_name, None)
            else:
                msg[field_name] = visible
            self._raw_content[key] = new_raw
        if new_markup is None:
            msg.pop("reply_markup", None)
        else:
            msg["reply_markup"] = new_markup
        msg["edit_date"] = int(time.time())
        return msg

    def _m_editMessageText(self, call: Call) -> dict[str, Any] | bool:
        return self._edit(call, "text")

    def _m_editMessageCaption(self, call: Call) -> dict[str, Any] | bool:
        return self._edit(call, "caption")

    def _m_editMessageReplyMarkup(self, call: Call) -> dict[str, Any] | bool:
        return self._edit(call, None)

    def _m_deleteMessage(self, call: Call) -> bool:
        chat_id = self._require_chat(call)
        key = (chat_id, int(call.params["message_id"]))
        if self.messages.pop(key, None) is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        self._raw_content.pop(key, None)
        return True

    def _m_answerCallbackQuery(self, call: Call) -> bool:
        query = self.callbacks.get(str(call.params["callback_query_id"]))
        if query is None or query["answered"]:
            raise ApiError(400, QUERY_TOO_OLD)
        query["answered"] = True
        query["answer"] = call.params
        return True

    # ---- chats -------------------------------------------------------------------------

    def _m_getChat(self, call: Call) -> dict[str, Any]:
        chat = self._chat(self._require_chat(call))
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _m_getChatMember(self, call: Call) -> dict[str, Any]:
        chat_id = self._require_chat(call)
        user_id = int(call.params["user_id"])
        member = self.members.get((chat_id, user_id))
        if member is not None:
            return member
        user = self.bot_user if user_id == self.bot_id else self._user(user_id, None)
        if self._chat(chat_id)["type"] == "private":
            status = "member"
        else:
            status = self.default_member_status
        return self._member(status, user)

    def _m_getChatAdministrators(self, call: Call) -> list[dict[str, Any]]:
        chat_id = self._require_chat(call)
        return [
            m
            for (cid, _), m in self.members.items()
            if cid == chat_id and m["status"] in ("creator", "administrator")
        ]

    def _m_getChatMemberCount(self, call: Call) -> int:
        chat_id = self._require_chat(call)
        if chat_id in self.member_counts:
            return self.member_counts[chat_id]
        known = sum(
            1 for (cid, _), m in self.members.items()
            if cid == chat_id and m["status"] not in ("left", "kicked")
        )  # fmt: skip
        return max(2, known)

    # ---- files -------------------------------------------------------------------------

    def _m_getFile(self, call: Call) -> dict[str, Any]:
        stored = self.files.get(str(call.params["file_id"]))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if stored.file_size > MAX_DOWNLOAD:
            raise ApiError(400, "Bad Request: file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
            "file_path": stored.file_path,
        }

    # ---- commands ----------------------------------------------------------------------

    @staticmethod
    def _commands_key(call: Call) -> tuple[str, str]:
        scope = call.params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(call.params.get("language_code") or "")

    def _m_setMyCommands(self, call: Call) -> bool:
        self.commands[self._commands_key(call)] = list(call.params["commands"])
        return True

    def _m_deleteMyCommands(self, call: Call) -> bool:
        self.commands.pop(self._commands_key(call), None)
        return True

    def _m_getMyCommands(self, call: Call) -> list[dict[str, Any]]:
        return self.commands.get(self._commands_key(call), [])

    def get_commands(
        self, language_code: str = "", scope: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Commands stored by setMyCommands for (scope, language_code)."""
        key = json.dumps(dict(scope or {"type": "default"}), sort_keys=True)
        return self.commands.get((key, language_code), [])


__all__ = [
    "DEFAULT_TOKEN",
    "ApiError",
    "Call",
    "FakeTelegram",
    "Reply",
    "StoredFile",
    "UnsupportedMethod",
    "UploadedFile",
    "error_payload",
]
