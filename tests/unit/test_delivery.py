"""The outbox (bot/services/delivery.py) on a fake clock: pacing under Telegram's limits,
order per chat, coalescing, 429 pauses, and what digests and alerts are told."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

import pytest
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import EditMessageText, GetChat, SendMessage
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.logs import RedactFilter
from bot.services.delivery import (
    Outbox,
    Outcome,
    PacedSender,
    SendBudget,
    before_sending,
)

METHOD = SendMessage(chat_id=1, text="x")
GROUP = -100_500


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


class FakeApi:
    """make_request for the outbox: records (time, method) and answers like Telegram."""

    def __init__(self, t: FakeTime) -> None:
        self.t = t
        self.requests: list[tuple[float, Any]] = []
        self.fail: list[Exception] = []
        self.next_id = 1

    async def __call__(self, bot: Any, method: Any) -> Any:
        self.requests.append((self.t.now, method))
        if self.fail:
            raise self.fail.pop(0)
        self.next_id += 1
        return SimpleNamespace(message_id=self.next_id)  # what aiogram's chain returns


def outbox_on(t: FakeTime, **kw: Any) -> Outbox:
    return Outbox(SendBudget(clock=t.clock), sleep=t.sleep, **kw)


async def answer(outbox: Outbox, api: FakeApi, chat_id: int, text: str, **kw: Any) -> Any:
    return await outbox(api, None, SendMessage(chat_id=chat_id, text=text, **kw))  # type: ignore[arg-type]


async def command(outbox: Outbox, api: FakeApi, chat_id: int, text: str) -> Any:
    """One update: takes its place, then answers after a moment of work."""
    with outbox.answering(chat_id):
        await asyncio.sleep(0)
        return await answer(outbox, api, chat_id, text)


# --------------------------------------------------------------------------- budget


def test_global_rate_spaces_sends_evenly() -> None:
    t = FakeTime()
    budget = SendBudget(per_second=25.0, clock=t.clock)
    slots = [budget.reserve(chat_id=i) for i in range(1, 6)]
    assert slots == pytest.approx([100.0, 100.04, 100.08, 100.12, 100.16])


def test_one_chat_waits_its_gap() -> None:
    t = FakeTime()
    budget = SendBudget(per_second=1000.0, chat_gap=1.0, clock=t.clock)
    assert budget.reserve(7) == pytest.approx(100.0)
    assert budget.reserve(7) == pytest.approx(101.0)
    assert budget.reserve(8) == pytest.approx(100.001)


def test_group_gets_at_most_20_per_window() -> None:
    t = FakeTime()
    budget = SendBudget(per_second=1000.0, chat_gap=0.0, group_per_minute=20, clock=t.clock)
    slots = [budget.reserve(-5) for _ in range(21)]
    assert slots[19] < 101.0
    assert slots[20] == pytest.approx(slots[0] + 61.0)
    # A private chat (positive id) has no group window.
    assert SendBudget(per_second=1000.0, chat_gap=0.0, clock=t.clock).reserve(5) == 100.0


def test_a_429_pauses_only_that_chat() -> None:
    t = FakeTime()
    budget = SendBudget(per_second=1000.0, chat_gap=0.0, clock=t.clock)
    budget.pause_chat(7, 5.0)
    assert budget.reserve(7) == pytest.approx(105.0)
    assert budget.reserve(8) == pytest.approx(100.0, abs=0.01)


# --------------------------------------------------------------------------- outbox


async def test_forty_answers_in_a_group_arrive_in_order_within_the_group_limit() -> None:
    t = FakeTime()
    api = FakeApi(t)
    outbox = outbox_on(t)
    texts = [f"answer {i}" for i in range(40)]
    results = await asyncio.gather(*(command(outbox, api, GROUP, x) for x in texts))
    assert all(r.message_id for r in results)
    times = [at for at, _m in api.requests]
    # Never more than 20 requests in any 60 s, never two within a second.
    for i, at in enumerate(times):
        assert sum(1 for other in times if at <= other < at + 60) <= 20
        if i:
            assert at - times[i - 1] >= 1.0
    delivered = [part for _at, m in api.requests for part in m.text.split("\n\n")]
    assert delivered == texts  # every answer, once, in the order of the commands
    assert len(api.requests) < 40 and outbox.coalesced >= 1
    assert t.now - 100.0 < 62  # the last answers waited for the next window, not longer


async def test_answers_keep_the_order_of_the_commands() -> None:
    t = FakeTime()
    api = FakeApi(t)
    outbox = Outbox(SendBudget.unlimited(clock=t.clock), sleep=t.sleep)
    first_may_answer = asyncio.Event()

    async def slow() -> None:
        with outbox.answering(42):
            await first_may_answer.wait()
            await answer(outbox, api, 42, "first")

    async def fast() -> None:
        with outbox.answering(42):
            await answer(outbox, api, 42, "second")

    slow_task = asyncio.create_task(slow())
    await asyncio.sleep(0)
    fast_task = asyncio.create_task(fast())
    for _ in range(5):
        await asyncio.sleep(0)
    assert api.requests == []  # the second answer waits for the first command's
    first_may_answer.set()
    await asyncio.gather(slow_task, fast_task)
    assert [m.text for _at, m in api.requests] in (["first", "second"], ["first\n\nsecond"])


async def test_answers_with_buttons_are_never_combined() -> None:
    t = FakeTime()
    api = FakeApi(t)
    outbox = outbox_on(t)
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="ok", callback_data="x")]]
    )

    async def with_buttons(text: str) -> None:
        with outbox.answering(GROUP):
            await asyncio.sleep(0)
            await answer(outbox, api, GROUP, text, reply_markup=keyboard)

    await asyncio.gather(*(with_buttons(str(i)) for i in range(3)))
    assert [m.text for _at, m in api.requests] == ["0", "1", "2"]


async def test_a_429_pauses_the_chat_for_retry_after_and_the_answer_still_goes() -> None:
    t = FakeTime()
    api = FakeApi(t)
    outbox = outbox_on(t)
    api.fail.append(TelegramRetryAfter(METHOD, "Too Many Requests", retry_after=7))
    result = await answer(outbox, api, 5, "hello")
    assert result.message_id
    (t1, _m1), (t2, m2) = api.requests
    assert t2 - t1 >= 7.0 and m2.text == "hello"


async def test_server_errors_back_off_then_reach_the_caller() -> None:
    t = FakeTime()
    api = FakeApi(t)
    outbox = outbox_on(t, max_retries=2, backoff=0.5)
    api.fail.extend(TelegramServerError(METHOD, "Internal Server Error") for _ in range(3))
    with pytest.raises(TelegramServerError):
        await answer(outbox, api, 5, "hello")
    assert len(api.requests) == 3
    assert [s for s in t.sleeps if s in (0.5, 1.0)] == [0.5, 1.0]


async def test_a_refused_combined_message_is_sent_answer_by_answer() -> None:
    t = FakeTime()
    api = FakeApi(t)
    outbox = outbox_on(t)
    await answer(outbox, api, 5, "warm-up")  # the next ones must wait: they combine
    api.fail.append(TelegramBadRequest(METHOD, "Bad Request: can't parse entities"))
    results = await asyncio.gather(
        *(command(outbox, api, 5, x) for x in ("a", "b")), return_exceptions=True
    )
    assert all(not isinstance(r, Exception) for r in results)
    assert [m.text for _at, m in api.requests] == ["warm-up", "a\n\nb", "a", "b"]


async def test_an_edit_inside_a_combined_message_rewrites_only_its_part() -> None:
    t = FakeTime()
    api = FakeApi(t)
    outbox = outbox_on(t)
    await answer(outbox, api, 5, "warm-up")
    progress_ready = asyncio.Event()

    async def importer() -> None:
        with outbox.answering(5):
            await asyncio.sleep(0)
            sent = await answer(outbox, api, 5, "Importing…")
            progress_ready.set()
            await outbox(
                api,
                None,  # type: ignore[arg-type]
                EditMessageText(chat_id=5, message_id=sent.message_id, text="Done"),
            )

    await asyncio.gather(importer(), command(outbox, api, 5, "reach 100"))
    assert [m.text for _at, m in api.requests] == [
        "warm-up",
        "Importing…\n\nreach 100",
        "Done\n\nreach 100",
    ]


async def test_requests_that_send_nothing_skip_the_queue() -> None:
    t = FakeTime()
    api = FakeApi(t)
    outbox = outbox_on(t)
    with outbox.answering(5):
        await outbox(api, None, GetChat(chat_id=5))  # type: ignore[arg-type]
    assert len(api.requests) == 1 and t.sleeps == []


async def test_before_sending_runs_after_the_wait_and_can_stop_the_request() -> None:
    t = FakeTime()
    api = FakeApi(t)
    outbox = outbox_on(t)
    await answer(outbox, api, 5, "first")
    seen: list[float] = []

    async def claim() -> None:
        seen.append(t.now)

    with before_sending(claim):
        await answer(outbox, api, 5, "digest")
    assert seen == [api.requests[-1][0]] and seen[0] >= 101.0

    async def refuse() -> None:
        raise LookupError("claimed elsewhere")

    with pytest.raises(LookupError), before_sending(refuse):
        await answer(outbox, api, 5, "never")
    assert [m.text for _at, m in api.requests] == ["first", "digest"]


async def test_a_cancelled_caller_never_sends_what_was_still_waiting() -> None:
    t = FakeTime()
    api = FakeApi(t)
    outbox = outbox_on(t)
    await answer(outbox, api, 5, "first")  # the next one must wait its gap
    claims: list[str] = []

    async def claim() -> None:
        claims.append("claimed")

    async def digest() -> None:
        with before_sending(claim):
            await answer(outbox, api, 5, "digest")

    task = asyncio.create_task(digest())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await answer(outbox, api, 5, "later")
    assert [m.text for _at, m in api.requests] == ["first", "later"]
    assert claims == []


# --------------------------------------------------------------------------- outcomes


async def test_blocked_chat_is_reported_not_retried() -> None:
    calls = 0

    async def call() -> None:
        nonlocal calls
        calls += 1
        raise TelegramForbiddenError(METHOD, "Forbidden: bot was blocked by the user")

    result = await PacedSender().send(1, False, call)
    assert (result.outcome, calls) == (Outcome.BLOCKED, 1)


async def test_migrated_group_reports_new_chat() -> None:
    async def call() -> None:
        raise TelegramMigrateToChat(METHOD, "migrated", migrate_to_chat_id=-1009)

    result = await PacedSender().send(-9, True, call)
    assert (result.outcome, result.new_chat_id) == (Outcome.MIGRATED, -1009)


async def test_what_the_outbox_gave_up_on_is_a_failure() -> None:
    async def call() -> None:
        raise TelegramServerError(METHOD, "Internal Server Error")

    result = await PacedSender().send(1, False, call)
    assert result.outcome is Outcome.FAILED


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
