"""Retries of Bot API requests the bot makes while answering users.

A reply that meets a 429 waits `retry_after` and goes again; a 5xx or a dropped
connection is retried with a short backoff. Without this, a flood-wait on
`sendMessage` would lose the answer (and the apology would meet the same 429).
Bounded: a user waits at most about a minute, and a request that keeps failing
still reaches the error handler.

A 429 is always safe to repeat (Telegram did not perform the request). A 5xx or
a dropped connection is ambiguous: the message may have been delivered before
the failure, and the Bot API has no idempotency key, so a retry can very rarely
show a message twice. We prefer that to losing an answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType

log = logging.getLogger(__name__)


class RetryMiddleware(BaseRequestMiddleware):
    def __init__(
        self,
        *,
        max_retries: int = 3,
        max_wait: float = 60.0,
        backoff: float = 0.5,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._max_retries = max_retries
        self._max_wait = max_wait
        self._backoff = backoff
        self._sleep = sleep

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        # Polling has its own back-off loop in aiogram; don't stack another on it.
        if method.__api_method__ == "getUpdates":
            return await make_request(bot, method)
        waited = 0.0
        attempt = 0
        while True:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                wait = float(exc.retry_after)
                if attempt >= self._max_retries or waited + wait > self._max_wait:
                    raise
                log.warning("%s: 429, retrying in %ss", method.__api_method__, wait)
            except (TelegramServerError, TelegramNetworkError) as exc:
                if attempt >= self._max_retries:
                    raise
                wait = self._backoff * 2**attempt
                log.warning(
                    "%s: %s, retrying in %ss", method.__api_method__, type(exc).__name__, wait
                )
            attempt += 1
            waited += wait
            await self._sleep(wait)
