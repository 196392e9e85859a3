"""Puts the chat's workspace into handler data as `workspace`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Chat, TelegramObject, Update

from bot.i18n import user_language
from storage import Storage


class WorkspaceMiddleware(BaseMiddleware):
    """Reads the workspace of the update's chat; creates it on a chat's first message.

    Only the first message of a new chat writes (the insert); every later update
    is one indexed read. Membership updates (the bot removed from a chat) never
    create a workspace. A private chat's workspace takes the language of the user who
    started it (Telegram's language_code, when the bot has that language) for what it
    sends outside any update (digests, scheduled alerts); a workspace from before this
    learns it from the user's next message, once. `/lang` overrides it everywhere.
    """

    def __init__(self, storage: Storage, default_timezone: str) -> None:
        self._storage = storage
        self._tz = default_timezone

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        chat: Chat | None = data.get("event_chat")
        workspace = None
        if chat is not None:
            workspace = await self._storage.workspaces.get_by_chat(chat.id)
            creates = isinstance(event, Update) and (
                event.message is not None or event.callback_query is not None
            )
            language = (
                user_language(data.get("event_from_user")) if chat.type == "private" else None
            )
            if workspace is None and creates and not _is_migration(event):
                workspace, _ = await self._storage.workspaces.ensure(
                    chat.id, chat.type, chat.title, self._tz, user_language=language
                )
            elif (
                workspace is not None
                and language
                and workspace.user_language is None
                and isinstance(event, Update)
                and event.message is not None
            ):
                await self._storage.workspaces.set_user_language(chat.id, language)
                workspace = await self._storage.workspaces.get_by_chat(chat.id)
        data["workspace"] = workspace
        return await handler(event, data)


def _is_migration(event: TelegramObject) -> bool:
    # The service message in the new supergroup must not create an empty workspace
    # before the old group's data moves over.
    msg = event.message if isinstance(event, Update) else None
    return msg is not None and (
        msg.migrate_from_chat_id is not None or msg.migrate_to_chat_id is not None
    )
