"""In-process recording aiogram session for fast dispatcher-level tests.

    session = RecordingSession()
    bot = Bot(DEFAULT_TOKEN, session=session)
    update = session.message(42, "/start")             # same builders as FakeBotAPI
    await dp.feed_update(bot, Update.model_validate(update, context={"bot": bot}))
    assert session.sent("sendMessage", chat_id=42)[0].visible_text == "..."

Every request is built exactly like ``AiohttpSession`` builds its form (``prepare_value``,
empty values dropped, files as parts), validated against the Bot API spec (AssertionError on
violations) and answered by :class:`~tests.fakeapi.core.FakeTelegram` with realistic
results. Methods without a handler raise AssertionError (configure them with
``set_result``). Telegram errors (blocked chat, injected 429, ...) surface as aiogram
exceptions via ``BaseSession.check_response``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, Callable
from typing import TYPE_CHECKING, Any, cast

from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import PRODUCTION, TelegramAPIServer
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import InputFile

from .core import Call, FakeTelegram, UploadedFile

if TYPE_CHECKING:
    from aiogram.client.bot import Bot


class RecordingSession(BaseSession):
    def __init__(
        self,
        fake: FakeTelegram | None = None,
        *,
        api: TelegramAPIServer = PRODUCTION,
        raise_on_violation: bool = True,
        **fake_kwargs: Any,
    ) -> None:
        super().__init__(api=api)
        self.fake = fake if fake is not None else FakeTelegram(**fake_kwargs)
        self.raise_on_violation = raise_on_violation
        self.closed = False

    # ---- delegation (builders, configuration, inspection) ----------------------------

    @property
    def calls(self) -> list[Call]:
        return self.fake.calls

    @property
    def violations(self) -> list[str]:
        return self.fake.violations

    def sent(
        self,
        method: str | None = None,
        chat_id: int | str | None = None,
        *,
        include_failed: bool = False,
    ) -> list[Call]:
        return self.fake.sent(method, chat_id, include_failed=include_failed)

    def set_chat_member(
        self, chat_id: int | str, user_id: int, status: str, **fields: Any
    ) -> dict[str, Any]:
        return self.fake.set_chat_member(chat_id, user_id, status, **fields)

    async def wait_for(
        self,
        predicate_or_method: str | Callable[[Call], bool] | None = None,
        chat_id: int | str | None = None,
        count: int = 1,
        timeout: float = 10,  # noqa: ASYNC109
    ) -> list[Call]:
        return await self.fake.wait_for(predicate_or_method, chat_id, count, timeout)

    def __getattr__(self, name: str) -> Any:
        # message(), document(), callback(), my_chat_member(), migrate(), add_file(),
        # fail_next(), block_chat(), rate_limit(), set_result(), ... of FakeTelegram
        if name.startswith("__") or name == "fake":
            raise AttributeError(name)
        return getattr(self.fake, name)

    # ---- BaseSession --------------------------------------------------------------------

    async def close(self) -> None:
        self.closed = True

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - BaseSession signature
    ) -> TelegramType:
        files: dict[str, InputFile] = {}
        params: dict[str, Any] = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=files)
            if not prepared:
                continue
            params[key] = prepared
        uploads: dict[str, UploadedFile] = {}
        for key, input_file in files.items():
            chunks = [chunk async for chunk in input_file.read(bot)]
            uploads[key] = UploadedFile(
                name=key, filename=input_file.filename or key, content_type=None,
                data=b"".join(chunks),
            )  # fmt: skip
        api_method = method.__api_method__
        reply = await self.fake.handle(api_method, params, uploads)
        if reply.problems and self.raise_on_violation:
            raise AssertionError(
                f"invalid Bot API call {api_method}:\n  " + "\n  ".join(reply.problems)
            )
        if reply.drop:
            raise TelegramNetworkError(
                method=method, message="ServerDisconnectedError: connection dropped by fake"
            )
        response = self.check_response(
            bot=bot,
            method=method,
            status_code=reply.status,
            content=json.dumps(reply.payload),
        )
        return cast(TelegramType, response.result)

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109 - BaseSession signature
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        _, sep, rest = url.partition("/file/bot")
        file_path = rest.partition("/")[2] if sep else url
        data = self.fake.read_file(file_path)
        if data is None:
            if raise_for_status:
                raise AssertionError(f"download of unknown file {file_path!r} ({url})")
            data = b""
        for start in range(0, len(data), chunk_size):
            yield data[start : start + chunk_size]
            await asyncio.sleep(0)


__all__ = ["RecordingSession"]
