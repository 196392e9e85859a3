"""The project's own compact table of the Bot API the bot uses.

Written here from the Bot API documentation as facts (method and parameter names,
types, required flags, length and range limits); no third-party file was copied.
The fake Bot API always validates against this table; when the full machine-readable
description is beside the checkout (``../shared/data/telegram-bot-api``) it checks
against that too, and ``tests/unit/test_botapi_table.py`` keeps the two in agreement.

A parameter the bot starts sending must be added here, or the fake rejects it (as an
unknown parameter) in every run, with or without the full description.

Types are spelled as in the documentation: ``Integer``, ``String``, ``Boolean``,
``Float``, ``InputFile``, ``Array of X`` and object type names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

VERSION = "project table (Bot API 7.0+ parameters)"


@dataclass(frozen=True)
class P:
    """One parameter or field."""

    types: tuple[str, ...]
    required: bool = False
    length: tuple[int, int] | None = None  # inclusive range
    unit: str = "characters"  # or "bytes"
    after_entities: bool = False  # measured on the visible text of parse_mode HTML
    value: tuple[int, int] | None = None  # integer range
    items: tuple[int | None, int] | None = None  # array length range
    const: str | None = None  # the one allowed string (type tags of scopes)


INT = ("Integer",)
STR = ("String",)
BOOL = ("Boolean",)
CHAT_ID = ("Integer", "String")  # a numeric id or "@channelusername"
ANY_MARKUP = ("InlineKeyboardMarkup", "ReplyKeyboardMarkup", "ReplyKeyboardRemove", "ForceReply")
INLINE_MARKUP = ("InlineKeyboardMarkup",)
FILE = ("InputFile", "String")  # an upload, a file_id or a URL

# Shared by the sending methods.
_SEND_COMMON: dict[str, P] = {
    "chat_id": P(CHAT_ID, required=True),
    "disable_notification": P(BOOL),
    "protect_content": P(BOOL),
    "reply_parameters": P(("ReplyParameters",)),
    "reply_markup": P(ANY_MARKUP),
}

_CAPTION = P(STR, length=(0, 1024), after_entities=True)

METHODS: dict[str, dict[str, P]] = {
    # ---- start-up and polling
    "getMe": {},
    "logOut": {},
    "close": {},
    "getWebhookInfo": {},
    "deleteWebhook": {"drop_pending_updates": P(BOOL)},
    "setWebhook": {
        "url": P(STR, required=True),
        "certificate": P(("InputFile",)),
        "ip_address": P(STR),
        "max_connections": P(INT, value=(1, 100)),
        "allowed_updates": P(("Array of String",)),
        "drop_pending_updates": P(BOOL),
        "secret_token": P(STR, length=(1, 256)),
    },
    "getUpdates": {
        "offset": P(INT),
        "limit": P(INT, value=(1, 100)),
        "timeout": P(INT),
        "allowed_updates": P(("Array of String",)),
    },
    "setMyCommands": {
        "commands": P(("Array of BotCommand",), required=True, items=(None, 100)),
        "scope": P(("BotCommandScope",)),
        "language_code": P(STR),
    },
    "deleteMyCommands": {"scope": P(("BotCommandScope",)), "language_code": P(STR)},
    "getMyCommands": {"scope": P(("BotCommandScope",)), "language_code": P(STR)},
    # ---- sending
    "sendMessage": {
        **_SEND_COMMON,
        "text": P(STR, required=True, length=(1, 4096), after_entities=True),
        "parse_mode": P(STR),
        "link_preview_options": P(("LinkPreviewOptions",)),
    },
    "sendPhoto": {
        **_SEND_COMMON,
        "photo": P(FILE, required=True),
        "caption": _CAPTION,
        "parse_mode": P(STR),
    },
    "sendDocument": {
        **_SEND_COMMON,
        "document": P(FILE, required=True),
        "caption": _CAPTION,
        "parse_mode": P(STR),
    },
    "sendChatAction": {"chat_id": P(CHAT_ID, required=True), "action": P(STR, required=True)},
    # ---- editing and callbacks
    "editMessageText": {
        "chat_id": P(CHAT_ID),
        "message_id": P(INT),
        "inline_message_id": P(STR),
        # optional since rich messages (Bot API 10.x): text or rich_message; the bot sends text
        "text": P(STR, length=(1, 4096), after_entities=True),
        "parse_mode": P(STR),
        "link_preview_options": P(("LinkPreviewOptions",)),
        "reply_markup": P(INLINE_MARKUP),
    },
    "editMessageCaption": {
        "chat_id": P(CHAT_ID),
        "message_id": P(INT),
        "inline_message_id": P(STR),
        "caption": _CAPTION,
        "parse_mode": P(STR),
        "reply_markup": P(INLINE_MARKUP),
    },
    "editMessageReplyMarkup": {
        "chat_id": P(CHAT_ID),
        "message_id": P(INT),
        "inline_message_id": P(STR),
        "reply_markup": P(INLINE_MARKUP),
    },
    "deleteMessage": {"chat_id": P(CHAT_ID, required=True), "message_id": P(INT, required=True)},
    "answerCallbackQuery": {
        "callback_query_id": P(STR, required=True),
        "text": P(STR, length=(0, 200)),
        "show_alert": P(BOOL),
        "url": P(STR),
        "cache_time": P(INT),
    },
    # ---- chats, members, files
    "getChat": {"chat_id": P(CHAT_ID, required=True)},
    "getChatMember": {"chat_id": P(CHAT_ID, required=True), "user_id": P(INT, required=True)},
    "getChatAdministrators": {"chat_id": P(CHAT_ID, required=True)},
    "getChatMemberCount": {"chat_id": P(CHAT_ID, required=True)},
    # ---- invite links (campaign links of a channel, handlers/campaigns.py)
    "createChatInviteLink": {
        "chat_id": P(CHAT_ID, required=True),
        "name": P(STR, length=(0, 32)),
        "expire_date": P(INT),
        "member_limit": P(INT, value=(1, 99999)),
        "creates_join_request": P(BOOL),
    },
    "revokeChatInviteLink": {
        "chat_id": P(CHAT_ID, required=True),
        "invite_link": P(STR, required=True),
    },
    "getFile": {"file_id": P(STR, required=True)},
}

# Object types the bot sends (inside parameters).
TYPES: dict[str, dict[str, P]] = {
    "LinkPreviewOptions": {
        "is_disabled": P(BOOL),
        "url": P(STR),
        "prefer_small_media": P(BOOL),
        "prefer_large_media": P(BOOL),
        "show_above_text": P(BOOL),
    },
    "ReplyParameters": {
        "message_id": P(INT, required=True),
        "chat_id": P(CHAT_ID),
        "allow_sending_without_reply": P(BOOL),
        "quote": P(STR, length=(0, 1024), after_entities=True),
        "quote_parse_mode": P(STR),
        "quote_position": P(INT),
    },
    "InlineKeyboardMarkup": {
        "inline_keyboard": P(("Array of Array of InlineKeyboardButton",), required=True),
    },
    "InlineKeyboardButton": {
        "text": P(STR, required=True),
        "url": P(STR),
        "callback_data": P(STR, length=(1, 64), unit="bytes"),
    },
    "ForceReply": {
        "force_reply": P(BOOL, required=True),
        "input_field_placeholder": P(STR, length=(1, 64)),
        "selective": P(BOOL),
    },
    "ReplyKeyboardRemove": {
        "remove_keyboard": P(BOOL, required=True),
        "selective": P(BOOL),
    },
    "BotCommand": {
        "command": P(STR, required=True, length=(1, 32)),
        "description": P(STR, required=True, length=(1, 256)),
    },
    "BotCommandScopeDefault": {"type": P(STR, required=True, const="default")},
    "BotCommandScopeAllPrivateChats": {"type": P(STR, required=True, const="all_private_chats")},
    "BotCommandScopeAllGroupChats": {"type": P(STR, required=True, const="all_group_chats")},
    "BotCommandScopeAllChatAdministrators": {
        "type": P(STR, required=True, const="all_chat_administrators")
    },
    "BotCommandScopeChat": {
        "type": P(STR, required=True, const="chat"),
        "chat_id": P(CHAT_ID, required=True),
    },
}

# Abstract types: one of these concrete types.
UNIONS: dict[str, tuple[str, ...]] = {
    "BotCommandScope": (
        "BotCommandScopeDefault",
        "BotCommandScopeAllPrivateChats",
        "BotCommandScopeAllGroupChats",
        "BotCommandScopeAllChatAdministrators",
        "BotCommandScopeChat",
    ),
}

# Removed from the Bot API documentation in 7.0 (December 2023) -> their replacement.
# Telegram still accepts them as a courtesy; the fake does not, so the bot keeps to
# today's parameters.
REMOVED_PARAMS: dict[str, str] = {
    "disable_web_page_preview": "link_preview_options",
    "reply_to_message_id": "reply_parameters",
    "allow_sending_without_reply": "reply_parameters.allow_sending_without_reply",
}


def _fields(params: dict[str, P]) -> list[dict[str, Any]]:
    return [
        {"name": name, "types": list(p.types), "required": p.required, "description": "", "p": p}
        for name, p in params.items()
    ]


def as_spec() -> dict[str, Any]:
    """The table in the layout of the full description (methods/types with fields)."""
    types: dict[str, Any] = {n: {"name": n, "fields": _fields(f)} for n, f in TYPES.items()}
    for name, subtypes in UNIONS.items():
        types[name] = {"name": name, "fields": [], "subtypes": list(subtypes)}
    return {
        "version": VERSION,
        "methods": {name: {"name": name, "fields": _fields(f)} for name, f in METHODS.items()},
        "types": types,
    }


__all__ = ["METHODS", "REMOVED_PARAMS", "TYPES", "UNIONS", "VERSION", "P", "as_spec"]
