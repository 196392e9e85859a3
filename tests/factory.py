"""Real aiogram `Update` objects for dispatcher-level tests: incrementing ids,
fixed aware dates."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from aiogram.types import (
    CallbackQuery,
    Chat,
    ChatMemberAdministrator,
    ChatMemberLeft,
    ChatMemberMember,
    ChatMemberUpdated,
    Document,
    Message,
    MessageEntity,
    Update,
    User,
)

FIXED_DATE = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
BOT_USER = User(id=42, is_bot=True, first_name="KPI bot", username="kpi_test_bot")


class UpdateFactory:
    def __init__(self) -> None:
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)

    @staticmethod
    def user(user_id: int = 1001, lang: str | None = "ru", name: str = "Anna") -> User:
        return User(id=user_id, is_bot=False, first_name=name, language_code=lang)

    @staticmethod
    def chat(chat_id: int = 1001, chat_type: str = "private", title: str | None = None) -> Chat:
        if chat_type != "private" and title is None:
            title = "SMM team"
        return Chat(id=chat_id, type=chat_type, title=title)

    def message(
        self,
        text: str,
        *,
        chat_id: int = 1001,
        chat_type: str = "private",
        user_id: int | None = None,
        lang: str | None = "ru",
        **extra: Any,
    ) -> Update:
        user_id = user_id if user_id is not None else (chat_id if chat_type == "private" else 1001)
        entities = None
        if text.startswith("/"):
            length = len(text.split()[0]) if text.split() else len(text)
            entities = [MessageEntity(type="bot_command", offset=0, length=length)]
        msg = Message(
            message_id=next(self._message_ids),
            date=FIXED_DATE,
            chat=self.chat(chat_id, chat_type),
            from_user=self.user(user_id, lang),
            text=text,
            entities=entities,
            **extra,
        )
        return Update(update_id=next(self._update_ids), message=msg)

    def document(
        self,
        file_id: str,
        file_name: str,
        *,
        file_size: int = 100,
        caption: str | None = None,
        chat_id: int = 1001,
        chat_type: str = "private",
        user_id: int | None = None,
        lang: str | None = "ru",
        mime_type: str | None = None,
    ) -> Update:
        user_id = user_id if user_id is not None else (chat_id if chat_type == "private" else 1001)
        msg = Message(
            message_id=next(self._message_ids),
            date=FIXED_DATE,
            chat=self.chat(chat_id, chat_type),
            from_user=self.user(user_id, lang),
            document=Document(
                file_id=file_id,
                file_unique_id=f"u{file_id}",
                file_name=file_name,
                file_size=file_size,
                mime_type=mime_type,
            ),
            caption=caption,
        )
        return Update(update_id=next(self._update_ids), message=msg)

    def service(self, *, chat_id: int, chat_type: str = "group", **fields: Any) -> Update:
        msg = Message(
            message_id=next(self._message_ids),
            date=FIXED_DATE,
            chat=self.chat(chat_id, chat_type),
            from_user=self.user(1001),
            **fields,
        )
        return Update(update_id=next(self._update_ids), message=msg)

    def callback(
        self,
        data: str,
        *,
        chat_id: int = 1001,
        chat_type: str = "private",
        user_id: int | None = None,
        message_id: int = 1,
        lang: str | None = "ru",
        message_text: str = "…",
    ) -> Update:
        user_id = user_id if user_id is not None else (chat_id if chat_type == "private" else 1001)
        msg = Message(
            message_id=message_id,
            date=FIXED_DATE,
            chat=self.chat(chat_id, chat_type),
            from_user=BOT_USER,
            text=message_text,
        )
        query = CallbackQuery(
            id=str(next(self._update_ids) + 10_000),
            from_user=self.user(user_id, lang),
            chat_instance=f"ci{chat_id}",
            message=msg,
            data=data,
        )
        return Update(update_id=next(self._update_ids), callback_query=query)

    def bot_membership(
        self,
        *,
        chat_id: int,
        chat_type: str = "group",
        joined: bool = True,
        user_id: int = 1001,
        lang: str | None = "ru",
    ) -> Update:
        left = ChatMemberLeft(user=BOT_USER)
        member = ChatMemberMember(user=BOT_USER)
        event = ChatMemberUpdated(
            chat=self.chat(chat_id, chat_type),
            from_user=self.user(user_id, lang),
            date=FIXED_DATE,
            old_chat_member=left if joined else member,
            new_chat_member=member if joined else left,
        )
        return Update(update_id=next(self._update_ids), my_chat_member=event)


def admin_member(user_id: int) -> ChatMemberAdministrator:
    return ChatMemberAdministrator(
        user=User(id=user_id, is_bot=False, first_name="Admin"),
        can_be_edited=False,
        is_anonymous=False,
        can_manage_chat=True,
        can_delete_messages=True,
        can_manage_video_chats=True,
        can_restrict_members=True,
        can_promote_members=False,
        can_change_info=True,
        can_invite_users=True,
        can_post_stories=False,
        can_edit_stories=False,
        can_delete_stories=False,
    )
