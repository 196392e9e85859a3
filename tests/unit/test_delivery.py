from __future__ import annotations

import logging

import pytest
from aiogram.exceptions import (
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import SendMessage

from bot.logs import RedactFilter
from handlers.delivery import Outcome, PacedSender, RateLimiter

METHOD = SendMessage(chat_id=1, text="x")


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_global_rate_spaces_sends_evenly() -> None:
    t = FakeTime()
    limiter = RateLimiter(per_second=25.0, clock=t.clock)
    slots = [limiter.reserve(chat_id=i, is_group=False) for i in range(5)]
    assert slots == pytest.approx([100.0, 100.04, 100.08, 100.12, 100.16])


def test_one_chat_waits_its_gap() -> None:
    t = FakeTime()
    limiter = RateLimiter(per_second=1000.0, chat_gap=1.0, clock=t.clock)
    assert limiter.reserve(7, False) == pytest.approx(100.0)
    assert limiter.reserve(7, False) == pytest.approx(101.0)
    assert limiter.reserve(8, False) == pytest.approx(100.001)


def test_group_gets_at_most_20_per_minute() -> None:
    t = FakeTime()
    limiter = RateLimiter(per_second=1000.0, chat_gap=0.0, group_per_minute=20, clock=t.clock)
    slots = [limiter.reserve(-5, True) for _ in range(21)]
    assert slots[19] < 101.0
    assert slots[20] == pytest.approx(slots[0] + 60.0)


async def test_retry_after_waits_and_retries() -> None:
    t = FakeTime()
    sender = PacedSender(RateLimiter(clock=t.clock), clock=t.clock, sleep=t.sleep)
    attempts = 0

    async def call() -> str:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise TelegramRetryAfter(METHOD, "Too Many Requests", retry_after=3)
        return "ok"

    result = await sender.send(1, False, call)
    assert (result.outcome, result.result, result.attempts) == (Outcome.SENT, "ok", 2)
    assert sum(t.sleeps) >= 3.0


async def test_blocked_chat_is_not_retried() -> None:
    t = FakeTime()
    sender = PacedSender(RateLimiter(clock=t.clock), clock=t.clock, sleep=t.sleep)
    calls = 0

    async def call() -> None:
        nonlocal calls
        calls += 1
        raise TelegramForbiddenError(METHOD, "Forbidden: bot was blocked by the user")

    result = await sender.send(1, False, call)
    assert (result.outcome, calls) == (Outcome.BLOCKED, 1)


async def test_server_errors_back_off_then_give_up() -> None:
    t = FakeTime()
    sender = PacedSender(
        RateLimiter(clock=t.clock), max_attempts=3, backoff=0.5, clock=t.clock, sleep=t.sleep
    )

    async def call() -> None:
        raise TelegramServerError(METHOD, "Internal Server Error")

    result = await sender.send(1, False, call)
    assert (result.outcome, result.attempts) == (Outcome.FAILED, 3)
    backoffs = [s for s in t.sleeps if s in (0.5, 1.0)]
    assert backoffs == [0.5, 1.0]


async def test_migrated_group_reports_new_chat() -> None:
    t = FakeTime()
    sender = PacedSender(RateLimiter(clock=t.clock), clock=t.clock, sleep=t.sleep)

    async def call() -> None:
        raise TelegramMigrateToChat(METHOD, "migrated", migrate_to_chat_id=-1009)

    result = await sender.send(-9, True, call)
    assert (result.outcome, result.new_chat_id) == (Outcome.MIGRATED, -1009)


def test_token_is_redacted_from_messages_and_tracebacks() -> None:
    token = "123456:SECRET-token-value-abcdefghijklmnop"
    record = logging.LogRecord(
        "aiogram", logging.ERROR, __file__, 1, "GET https://x/bot%s/getMe failed", (token,), None
    )
    RedactFilter(token).filter(record)
    assert record.getMessage() == "GET https://x/bot***/getMe failed"
    try:
        raise RuntimeError(f"url /bot{token}/sendMessage")
    except RuntimeError as exc:
        rec = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "boom", None, (type(exc), exc, exc.__traceback__)
        )
    RedactFilter(token).filter(rec)
    assert rec.exc_text is not None and token not in rec.exc_text and "***" in rec.exc_text
