"""Paced, retrying delivery of bot-initiated messages (digests and alerts).

Telegram allows about 30 messages per second overall, one per second in a
chat and 20 per minute in a group. The sender reserves a slot under all three
limits before each call, so a run of thousands of digests goes at the ceiling
without provoking 429s; when a 429 comes anyway it waits `retry_after` and
tries again, 5xx and network errors are retried with backoff, and a chat that
blocked or removed the bot is reported as such, never retried.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
)

log = logging.getLogger(__name__)

T = TypeVar("T")


class Outcome(StrEnum):
    SENT = "sent"
    BLOCKED = "blocked"  # 403, or the chat is gone: mark the workspace inactive
    MIGRATED = "migrated"  # the group became a supergroup: retry at new_chat_id
    FAILED = "failed"  # gave up after retries, or a request Telegram rejects


@dataclass(frozen=True, slots=True)
class Delivery:
    outcome: Outcome
    result: object = None
    error: str | None = None
    new_chat_id: int | None = None
    attempts: int = 1


class RateLimiter:
    """Reserves send times under a global rate, a per-chat gap and a per-group window.

    Global capacity is a calendar of slots `interval` apart; a send takes the first
    free slot at or after the moment its chat may send. A chat that must wait (its
    second message, a full group window) therefore never holds up other chats.
    """

    def __init__(
        self,
        per_second: float = 29.0,
        chat_gap: float = 1.05,
        group_per_minute: int = 20,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._interval = 1.0 / per_second
        self._chat_gap = chat_gap
        self._group_limit = group_per_minute
        self._clock = clock
        self._epoch = clock()
        self._taken: set[int] = set()
        self._next_chat: dict[int, float] = {}
        self._group_sends: dict[int, deque[float]] = {}
        self._paused_until = 0.0

    def reserve(self, chat_id: int, is_group: bool) -> float:
        """The moment (clock time) this chat may send next; the slot is taken."""
        now = self._clock()
        ready = max(now, self._next_chat.get(chat_id, 0.0), self._paused_until)
        window = self._group_sends.setdefault(chat_id, deque()) if is_group else None
        if window is not None:
            while window and window[0] <= ready - 60.0:
                window.popleft()
            if len(window) >= self._group_limit:
                ready = max(ready, window[-self._group_limit] + 60.0)
        slot = math.ceil((ready - self._epoch) / self._interval - 1e-9)
        while slot in self._taken:
            slot += 1
        self._taken.add(slot)
        at = self._epoch + slot * self._interval
        if window is not None:
            window.append(at)
        self._next_chat[chat_id] = at + self._chat_gap
        self._prune(now)
        return at

    def _prune(self, now: float) -> None:
        if len(self._taken) > 10_000:
            current = (now - self._epoch) / self._interval - 1
            self._taken = {s for s in self._taken if s >= current}
        if len(self._next_chat) > 100_000:
            self._next_chat = {k: v for k, v in self._next_chat.items() if v > now}
            self._group_sends = {
                k: v for k, v in self._group_sends.items() if v and v[-1] > now - 60
            }

    def pause_all(self, seconds: float) -> None:
        """A flood-wait that may be global: nobody sends for `seconds`."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)


class PacedSender:
    def __init__(
        self,
        limiter: RateLimiter | None = None,
        *,
        max_attempts: int = 5,
        backoff: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limiter = limiter or RateLimiter(clock=clock)
        self._max_attempts = max_attempts
        self._backoff = backoff
        self._clock = clock
        self._sleep = sleep

    async def send(
        self, chat_id: int, is_group: bool, call: Callable[[], Awaitable[T]]
    ) -> Delivery:
        """Run `call` (one Bot API request to `chat_id`) within the limits, with retries."""
        attempt = 0
        while True:
            attempt += 1
            at = self.limiter.reserve(chat_id, is_group)
            delay = at - self._clock()
            if delay > 0:
                await self._sleep(delay)
            try:
                return Delivery(Outcome.SENT, await call(), attempts=attempt)
            except TelegramRetryAfter as exc:
                log.warning("429 for chat %s: waiting %ss", chat_id, exc.retry_after)
                self.limiter.pause_all(float(exc.retry_after))
                if attempt >= self._max_attempts:
                    return Delivery(Outcome.FAILED, error="429", attempts=attempt)
            except TelegramMigrateToChat as exc:
                return Delivery(
                    Outcome.MIGRATED, new_chat_id=exc.migrate_to_chat_id, attempts=attempt
                )
            except TelegramForbiddenError as exc:
                log.info("chat %s blocked or removed the bot: %s", chat_id, exc.message)
                return Delivery(Outcome.BLOCKED, error=exc.message, attempts=attempt)
            except TelegramNotFound as exc:
                return Delivery(Outcome.BLOCKED, error=exc.message, attempts=attempt)
            except TelegramBadRequest as exc:
                if "chat not found" in exc.message.lower():
                    return Delivery(Outcome.BLOCKED, error=exc.message, attempts=attempt)
                return Delivery(Outcome.FAILED, error=exc.message, attempts=attempt)
            except (TelegramServerError, TelegramNetworkError) as exc:
                if attempt >= self._max_attempts:
                    log.error("giving up on chat %s after %s attempts: %s", chat_id, attempt, exc)
                    return Delivery(Outcome.FAILED, error=str(exc), attempts=attempt)
                await self._sleep(self._backoff * 2 ** (attempt - 1))
