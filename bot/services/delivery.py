"""One outgoing budget for everything the bot sends: replies, digests and alerts.

Telegram allows about 30 messages a second overall, one a second in a chat and 20 a
minute in a group. Every sending request (``send*``, ``edit*``, copies and forwards)
passes through :class:`Outbox`, a request middleware on the bot's session, so a reply
and a digest to the same chat draw on the same budget and there is one retry layer.

Per chat the outbox keeps a queue in the order the updates arrived: an update opens a
*ticket* in its chat's queue before any handler runs (:class:`ReplyOrderMiddleware`),
and whatever the handler sends to that chat goes out in that place, so answers keep the
order of the commands even when a later command is answered first. A message sent
outside an update (a digest, a scheduled alert) takes the place at the end of the queue.

When a chat is over its budget, plain text answers waiting in its queue are sent as one
message holding several answers (``coalesce``): nothing is dropped, and a group that
types 40 commands in a minute gets 40 answers within the 20-a-minute limit. An edit of
one answer inside such a message rewrites just that part. A 429 pauses that chat's
queue for ``retry_after`` and the same request goes again; 5xx and dropped connections
are retried with a short backoff. A 5xx is ambiguous (the message may have been
delivered), and the Bot API has no idempotency key, so a retry can very rarely show a
message twice: we prefer that to losing an answer.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar, cast

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import EditMessageText, SendMessage, TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import Chat, MessageEntity, TelegramObject

log = logging.getLogger(__name__)

T = TypeVar("T")

TEXT_LIMIT = 4096
SEPARATOR = "\n\n"
_NOT_COUNTED = frozenset({"sendChatAction"})
_COUNTED_PREFIXES = ("send", "edit", "copyMessage", "forwardMessage")


def counts_against_limits(api_method: str) -> bool:
    """Requests Telegram's flood limits count: what puts a message in a chat."""
    return api_method.startswith(_COUNTED_PREFIXES) and api_method not in _NOT_COUNTED


def is_group_chat(chat_id: int | str) -> bool:
    # Private chats have positive ids; groups, supergroups and channels negative ones
    # (or an @username, which only channels and public supergroups have).
    return not isinstance(chat_id, int) or chat_id < 0


# --------------------------------------------------------------------------- budget


class SendBudget:
    """Reserves send times under a global rate, a per-chat gap and a per-group window.

    Global capacity is a calendar of slots `interval` apart; a send takes the first
    free slot at or after the moment its chat may send. A chat that must wait (its
    second message, a full group window) therefore never holds up other chats.
    The group window is a little longer than a minute: the time a request is reserved
    and the time it reaches Telegram differ by the network's jitter.
    """

    def __init__(
        self,
        per_second: float = 29.0,
        chat_gap: float = 1.05,
        group_per_minute: int = 20,
        group_window: float = 61.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._interval = 1.0 / per_second
        self._chat_gap = chat_gap
        self._group_limit = group_per_minute
        self._group_window = group_window
        self._clock = clock
        self._epoch = clock()
        self._taken: set[int] = set()
        self._next_chat: dict[int | str, float] = {}
        self._group_sends: dict[int | str, deque[float]] = {}

    @classmethod
    def unlimited(cls, clock: Callable[[], float] = time.monotonic) -> SendBudget:
        """No pacing (in-process tests against a fake that enforces nothing)."""
        return cls(per_second=1e9, chat_gap=0.0, group_per_minute=10**9, clock=clock)

    def clock(self) -> float:
        return self._clock()

    def reserve(self, chat_id: int | str) -> float:
        """The moment (clock time) this chat may send next; the slot is taken."""
        now = self._clock()
        ready = max(now, self._next_chat.get(chat_id, 0.0))
        window = self._group_sends.setdefault(chat_id, deque()) if is_group_chat(chat_id) else None
        if window is not None:
            while window and window[0] <= ready - self._group_window:
                window.popleft()
            if len(window) >= self._group_limit:
                ready = max(ready, window[-self._group_limit] + self._group_window)
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

    def busy(self, chat_id: int | str) -> bool:
        """Whether a send to this chat now would have to wait."""
        now = self._clock()
        if self._next_chat.get(chat_id, 0.0) > now:
            return True
        window = self._group_sends.get(chat_id)
        if window:
            recent = sum(1 for t in window if t > now - self._group_window)
            return recent >= self._group_limit
        return False

    def pause_chat(self, chat_id: int | str, seconds: float) -> None:
        """Telegram said 429 for this chat: it sends nothing for `seconds`."""
        until = self._clock() + seconds
        self._next_chat[chat_id] = max(self._next_chat.get(chat_id, 0.0), until)

    def _prune(self, now: float) -> None:
        if len(self._taken) > 10_000:
            current = (now - self._epoch) / self._interval - 1
            self._taken = {s for s in self._taken if s >= current}
        if len(self._next_chat) > 100_000:
            self._next_chat = {k: v for k, v in self._next_chat.items() if v > now}
            self._group_sends = {
                k: v for k, v in self._group_sends.items() if v and v[-1] > now - 61
            }


# Reserves the cluster's next send slot, `interval` after the previous one, on the
# Redis server's clock, after any 429 pause; returns how long the caller waits for it.
_RESERVE_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local start = now
local pause = redis.call('PTTL', KEYS[2])
if pause > 0 then start = now + pause / 1000 end
local slot = math.max(start, tonumber(redis.call('GET', KEYS[1]) or '0'))
redis.call('SET', KEYS[1], string.format('%.6f', slot + tonumber(ARGV[1])), 'EX', 60)
return string.format('%.6f', slot - now)
"""


STALE_SLOT_S = 0.25  # a slot missed by more than this is not used: a fresh one is taken


class RedisSendBudget:
    """The same limits shared by every process of a cluster, through Redis.

    Per chat (one a second) and per group (20 in 61 s): the `limits` library's moving
    windows on Redis. Overall (29 a second, as the local budget): a calendar of slots
    1/29 s apart kept in one Redis key, each send reserving the next free slot (one Lua
    script) and sleeping until it. A moving window loses throughput to every late
    wake-up (a slot is retaken only when the waiter runs again: 24 msg/s instead of 28
    on a busy two-core machine) and lets bursts through that Telegram's bucket refuses;
    reserved slots keep the pace whatever the scheduling. A 429 anywhere pauses every
    process for its `retry_after` (a Redis key with that expiry: no slot starts before
    it ends). Each process keeps its local :class:`SendBudget` too; this adds the waits
    the other processes cause. If Redis does not answer, a send goes on under the local
    budget (logged), never lost.
    """

    def __init__(
        self,
        redis_url: str,
        *,
        prefix: str,
        per_second: float = 29.0,
        group_per_minute: int = 20,
        group_window: int = 61,
    ) -> None:
        import redis.asyncio as aioredis
        from limits import RateLimitItemPerSecond
        from limits.aio.storage import RedisStorage
        from limits.aio.strategies import MovingWindowRateLimiter

        self._redis = aioredis.Redis.from_url(redis_url)
        self._storage = RedisStorage(
            f"async+{redis_url}",
            implementation="redispy",
            key_prefix=f"{prefix}:limits",
            # One pool, closed by close(); limits types its options as scalars.
            connection_pool=self._redis.connection_pool,  # type: ignore[arg-type]
        )
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._interval = 1.0 / per_second
        self._per_chat = RateLimitItemPerSecond(1)
        self._per_group = RateLimitItemPerSecond(group_per_minute, group_window)
        self._reserve = self._redis.register_script(_RESERVE_SLOT)
        self.slot_key = f"{prefix}:next-slot"
        self.pause_key = f"{prefix}:flood-pause"
        self.waited = 0.0  # seconds spent waiting for other processes (logs, tests)
        self._redis_errors = 0

    async def acquire(self, chat_id: int | str) -> None:
        """Wait until this process may send to `chat_id` under the cluster's limits."""
        key = str(chat_id)
        chat_limits = [(self._per_chat, key)]
        if is_group_chat(chat_id):
            chat_limits.append((self._per_group, key))
        started = time.monotonic()
        try:
            await self._wait_for_chat(chat_limits)
            await self._wait_for_slot()
            for item, ident in chat_limits:
                await self._limiter.hit(item, ident)
        except Exception as exc:  # redis.RedisError, OSError, the limits library's wrappers
            self._note_error(exc)
        finally:
            self.waited += time.monotonic() - started

    async def _wait_for_chat(self, chat_limits: list[tuple[Any, str]]) -> None:
        while True:
            blocked = [c for c in chat_limits if not await self._limiter.test(*c)]
            if not blocked:
                return
            item, ident = blocked[0]
            stats = await self._limiter.get_window_stats(item, ident)
            await asyncio.sleep(min(1.0, max(0.005, stats.reset_time - time.time())))

    async def _wait_for_slot(self) -> None:
        while True:
            delay = float(await self._reserve(keys=[self.slot_key, self.pause_key],
                                              args=[self._interval]))  # fmt: skip
            due = time.monotonic() + delay
            if delay > 0:
                await asyncio.sleep(delay)
            if await self._redis.pttl(self.pause_key) > 0:
                continue  # a 429 came meanwhile: a slot after the pause
            if time.monotonic() - due <= STALE_SLOT_S:
                return
            # This process woke up long after its slot (a busy machine): sending now
            # would bunch with the others' current sends into a burst Telegram refuses.

    async def pause_all(self, seconds: float) -> None:
        """Telegram said 429: no process sends for `seconds` (a longer pause stays)."""
        ms = max(1, int(seconds * 1000))
        try:
            if not await self._redis.set(self.pause_key, "1", px=ms, nx=True):
                await self._redis.pexpire(self.pause_key, ms, gt=True)
        except Exception as exc:
            self._note_error(exc)

    def _note_error(self, exc: BaseException) -> None:
        self._redis_errors += 1
        if self._redis_errors in (1, 10) or self._redis_errors % 1000 == 0:
            log.warning("shared send budget unavailable (%s): local budget only", exc)

    async def close(self) -> None:
        await self._redis.aclose()


# --------------------------------------------------------------------------- queue

_current_ticket: ContextVar[Ticket | None] = ContextVar("reply_ticket", default=None)
_before_send: ContextVar[Callable[[], Awaitable[None]] | None] = ContextVar(
    "before_send", default=None
)


@contextmanager
def before_sending(hook: Callable[[], Awaitable[None]]) -> Iterator[None]:
    """Run `hook` right before the next request made inside is sent (after its wait in
    the queue); if the hook raises, the request is not made and the caller gets the error.
    The digest claims its week this way, as late as possible."""
    token = _before_send.set(hook)
    try:
        yield
    finally:
        _before_send.reset(token)


@dataclass(eq=False)
class _Item:
    method: TelegramMethod[Any]
    send: Callable[[TelegramMethod[Any]], Awaitable[Any]]
    future: asyncio.Future[Any]
    ticket: Ticket | None
    # With a `before_sending` hook: the worker says "your turn" and waits for the caller
    # to run the hook in its own task (so cancelling the caller cancels the hook too).
    turn: asyncio.Future[None] | None = None
    cleared: asyncio.Future[bool] | None = None


@dataclass(eq=False)
class _Slot:
    """A place in a chat's queue: one update's answers, or one message sent outside."""

    opened_at: float  # or when it last sent: how long the queue has waited for it
    ticket: Ticket | None = None
    items: deque[_Item] = field(default_factory=deque)
    closed: bool = False
    answered: bool = False  # something it sent has gone out
    left: bool = False  # no longer in the queue (done, or given up waiting for)


@dataclass(eq=False)
class Ticket:
    """An update's place in its chat's queue, open while its handlers run."""

    chat_id: int | str
    slot: _Slot
    after: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


def after_this_update(callback: Callable[[], Awaitable[None]]) -> bool:
    """Run `callback` once the current update's handlers are done, in its place in the
    chat's queue (an alert an import set off comes after the import's reply).
    False outside an update: the caller runs it itself."""
    ticket = _current_ticket.get()
    if ticket is None or ticket.slot.closed:
        return False
    ticket.after.append(callback)
    return True


@dataclass(eq=False)
class _ChatQueue:
    chat_id: int | str
    slots: deque[_Slot] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    worker: asyncio.Task[None] | None = None


@dataclass
class _Merged:
    """A message that holds several answers: who wrote which part."""

    parts: list[tuple[Ticket | None, str, list[MessageEntity] | None]]


class Outbox(BaseRequestMiddleware):
    """The bot's outgoing queue per chat, under one :class:`SendBudget`."""

    def __init__(
        self,
        budget: SendBudget | None = None,
        *,
        shared: RedisSendBudget | None = None,
        coalesce: bool = True,
        hold: float = 15.0,
        max_retries: int = 3,
        max_flood_waits: int = 8,
        backoff: float = 0.5,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.budget = budget or SendBudget()
        self.shared = shared  # cluster mode: the limits of every process (Redis)
        self._coalesce = coalesce
        # How long a queue waits for a running handler's answer before letting the
        # answers behind it go first (a slow import must not mute a chat).
        self._hold = hold
        self._max_retries = max_retries
        self._max_flood_waits = max_flood_waits
        self._backoff = backoff
        self._sleep = sleep
        self._shutdown_wait = 10.0
        self._queues: dict[int | str, _ChatQueue] = {}
        self._merged: OrderedDict[tuple[int | str, int], _Merged] = OrderedDict()
        self.coalesced = 0  # messages that carried more than one answer (for logs/tests)

    # ---- tickets ---------------------------------------------------------------------

    def open_ticket(self, chat_id: int | str) -> Ticket:
        queue = self._queue(chat_id)
        slot = _Slot(opened_at=self.budget.clock())
        ticket = Ticket(chat_id, slot)
        slot.ticket = ticket
        queue.slots.append(slot)
        return ticket

    @contextmanager
    def answering(self, chat_id: int | str) -> Iterator[Ticket]:
        """Inside: what is sent to `chat_id` takes this place in its queue."""
        ticket = self.open_ticket(chat_id)
        token = _current_ticket.set(ticket)
        try:
            yield ticket
        finally:
            _current_ticket.reset(token)
            self.close_ticket(ticket)

    def close_ticket(self, ticket: Ticket) -> None:
        ticket.slot.closed = True
        queue = self._queues.get(ticket.chat_id)
        if queue is None:
            return
        queue.wake.set()
        self._ensure_worker(queue)

    # ---- the middleware --------------------------------------------------------------

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        api_method = method.__api_method__
        if api_method == "getUpdates":
            # Polling has its own back-off loop in aiogram; don't stack another on it.
            return await make_request(bot, method)
        chat_id = getattr(method, "chat_id", None)
        if not counts_against_limits(api_method) or not isinstance(chat_id, int | str):
            return await self._with_retries(make_request, bot, method)
        method = self._redirect_edit(method, chat_id)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()

        async def send(m: TelegramMethod[Any]) -> Any:
            return await make_request(bot, m)

        ticket = _current_ticket.get()
        queue = self._queue(chat_id)
        hook = _before_send.get()
        _before_send.set(None)  # one request only
        item = _Item(method, send, future, ticket)
        if hook is not None:
            item.turn, item.cleared = loop.create_future(), loop.create_future()
        if ticket is not None and ticket.chat_id == chat_id and not ticket.slot.left:
            ticket.slot.items.append(item)
        else:
            slot = _Slot(opened_at=self.budget.clock(), closed=True)
            slot.items.append(item)
            queue.slots.append(slot)
        queue.wake.set()
        self._ensure_worker(queue)
        if hook is not None:
            await self._run_hook(queue, item, hook)
        try:
            return cast(Response[TelegramType], await asyncio.shield(future))
        except asyncio.CancelledError:
            # The caller is cancelled (shutdown). A request still waiting in the queue
            # is never made; one already taken is being made (a digest's claim may be
            # written): the caller waits for its outcome, briefly, to record it, and
            # further cancellations meanwhile do not cut that short.
            for slot in queue.slots:
                if item in slot.items:
                    slot.items.remove(item)
                    future.cancel()
                    raise
            return cast(Response[TelegramType], await self._outcome_despite_cancel(future))

    async def _run_hook(
        self, queue: _ChatQueue, item: _Item, hook: Callable[[], Awaitable[None]]
    ) -> None:
        assert item.turn is not None and item.cleared is not None
        try:
            await item.turn
            await hook()
        except BaseException:
            # Cancelled while waiting or in the hook, or the hook refused: no request.
            for slot in queue.slots:
                if item in slot.items:
                    slot.items.remove(item)
                    break
            item.future.cancel()
            if not item.cleared.done():
                item.cleared.set_result(False)
            raise
        item.cleared.set_result(True)

    async def _outcome_despite_cancel(self, future: asyncio.Future[Any]) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._shutdown_wait
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise asyncio.CancelledError
            try:
                return await asyncio.wait_for(asyncio.shield(future), left)
            except TimeoutError:
                raise asyncio.CancelledError from None
            except asyncio.CancelledError:
                continue

    async def _with_retries(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        """Requests outside the chat queues (getFile, getChatMember, answerCallbackQuery)."""
        attempt = 0
        while True:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                wait = float(exc.retry_after)
                if attempt >= self._max_retries or wait > 60:
                    raise
            except (TelegramServerError, TelegramNetworkError):
                if attempt >= self._max_retries:
                    raise
                wait = self._backoff * 2**attempt
            log.warning("%s failed, retrying in %ss", method.__api_method__, wait)
            attempt += 1
            await self._sleep(wait)

    # ---- per-chat worker -------------------------------------------------------------

    def _queue(self, chat_id: int | str) -> _ChatQueue:
        queue = self._queues.get(chat_id)
        if queue is None:
            queue = self._queues[chat_id] = _ChatQueue(chat_id)
        return queue

    def _ensure_worker(self, queue: _ChatQueue) -> None:
        if queue.worker is None or queue.worker.done():
            queue.worker = asyncio.get_running_loop().create_task(self._run(queue))

    async def _run(self, queue: _ChatQueue) -> None:
        try:
            while True:
                while queue.slots and queue.slots[0].closed and not queue.slots[0].items:
                    queue.slots.popleft().left = True
                if not queue.slots:
                    return
                head = queue.slots[0]
                if not head.items:
                    await self._wait_for_head(queue, head)
                    continue
                await self._wait_turn(queue.chat_id)
                if queue.slots[0] is not head or not head.items:
                    continue  # its caller gave up while we waited
                await self._send(queue, self._take_batch(queue))
        except Exception:  # a bug here must not leave callers waiting forever
            log.exception("outgoing queue of chat %s failed", queue.chat_id)
            for slot in queue.slots:
                for item in slot.items:
                    if not item.future.done():
                        item.future.set_exception(RuntimeError("outgoing queue failed"))
                slot.items.clear()
        finally:
            queue.worker = None
            if not queue.slots and self._queues.get(queue.chat_id) is queue:
                del self._queues[queue.chat_id]

    async def _wait_for_head(self, queue: _ChatQueue, head: _Slot) -> None:
        """The oldest update is still being answered: wait for it, within `hold`."""
        queue.wake.clear()
        behind = any(slot.items for slot in queue.slots)
        waited = self.budget.clock() - head.opened_at
        if behind and waited >= self._hold:
            log.info("chat %s: an answer takes over %ss; sending the next", queue.chat_id, waited)
            queue.slots.popleft().left = True
            return
        timeout = max(0.01, self._hold - waited) if behind else None
        with suppress(TimeoutError):
            await asyncio.wait_for(queue.wake.wait(), timeout)

    def _take_batch(self, queue: _ChatQueue) -> list[_Item]:
        """The next request, and the plain text answers behind it that can share its
        message, in order. Never past an update that has not answered yet: its answer
        comes first. (A command answered in two messages may see another command's
        answer between them when they were combined: a cost of keeping within limits.)"""
        head = queue.slots[0]
        first = head.items.popleft()
        head.answered = True
        head.opened_at = self.budget.clock()
        batch = [first]
        if not self._coalesce or not _mergeable(first.method):
            return batch
        length = len(_text(first.method))
        for slot in queue.slots:
            while slot.items:
                nxt = slot.items[0]
                if not _mergeable(nxt.method) or not _compatible(first.method, nxt.method):
                    return batch
                extra = len(SEPARATOR) + len(_text(nxt.method))
                if length + extra > TEXT_LIMIT:
                    return batch
                length += extra
                batch.append(slot.items.popleft())
                slot.answered = True
                slot.opened_at = self.budget.clock()
            if not slot.closed and not slot.answered:
                return batch
        return batch

    async def _send(self, queue: _ChatQueue, batch: list[_Item]) -> None:
        ready = []
        granted = time.monotonic()
        hooked = False
        for item in batch:
            if item.future.done():  # its caller was cancelled meanwhile
                continue
            if item.turn is not None and item.cleared is not None:
                if not item.turn.done():
                    item.turn.set_result(None)
                hooked = True
                if not await item.cleared:
                    continue
            ready.append(item)
        if not ready:
            return
        if hooked and self.shared is not None and time.monotonic() - granted > STALE_SLOT_S:
            # The hook (a digest's claim in the database) took long: its cluster slot
            # has passed, and sending now would bunch into a burst; take a fresh one.
            await self.shared.acquire(queue.chat_id)
        batch = ready
        method = batch[0].method if len(batch) == 1 else _merge([i.method for i in batch])
        flood_waits = failures = 0
        while True:
            try:
                response = await batch[0].send(method)
            except TelegramRetryAfter as exc:
                flood_waits += 1
                if flood_waits > self._max_flood_waits:
                    _fail(batch, exc)
                    return
                log.warning(
                    "%s to chat %s: 429, pausing the chat for %ss",
                    method.__api_method__, queue.chat_id, exc.retry_after,
                )  # fmt: skip
                self.budget.pause_chat(queue.chat_id, float(exc.retry_after))
                if self.shared is not None:
                    await self.shared.pause_all(float(exc.retry_after))
            except (TelegramServerError, TelegramNetworkError) as exc:
                failures += 1
                if failures > self._max_retries:
                    _fail(batch, exc)
                    return
                wait = self._backoff * 2 ** (failures - 1)
                log.warning(
                    "%s to chat %s: %s, retrying in %ss",
                    method.__api_method__, queue.chat_id, type(exc).__name__, wait,
                )  # fmt: skip
                await self._sleep(wait)
            except TelegramBadRequest as exc:
                if len(batch) == 1:
                    _fail(batch, exc)
                    return
                # One answer Telegram refuses must not take the others with it.
                log.warning("a combined message was refused (%s); sending one by one", exc)
                for item in batch:
                    await self._wait_turn(queue.chat_id)
                    await self._send(queue, [item])
                return
            except Exception as exc:
                _fail(batch, exc)
                return
            else:
                if len(batch) > 1:
                    self.coalesced += 1
                    self._remember_merge(queue.chat_id, response, batch)
                for item in batch:
                    if not item.future.done():
                        item.future.set_result(response)
                return
            await self._wait_turn(queue.chat_id)

    async def _wait_turn(self, chat_id: int | str) -> None:
        """This process's slot for the chat, then (cluster mode) the cluster's."""
        at = self.budget.reserve(chat_id)
        delay = at - self.budget.clock()
        if delay > 0:
            await self._sleep(delay)
        if self.shared is not None:
            await self.shared.acquire(chat_id)

    # ---- edits of combined messages --------------------------------------------------

    def _remember_merge(self, chat_id: int | str, result: object, batch: list[_Item]) -> None:
        message_id = getattr(result, "message_id", None)
        if not isinstance(message_id, int):
            return
        parts = [(i.ticket, _text(i.method), _entities(i.method)) for i in batch]
        self._merged[(chat_id, message_id)] = _Merged(parts)
        while len(self._merged) > 1000:
            self._merged.popitem(last=False)

    def _redirect_edit(
        self, method: TelegramMethod[TelegramType], chat_id: int | str
    ) -> TelegramMethod[TelegramType]:
        """An edit of one answer inside a combined message rewrites only that part."""
        edit: Any = method
        if not isinstance(edit, EditMessageText) or edit.message_id is None:
            return method
        merged = self._merged.get((chat_id, edit.message_id))
        ticket = _current_ticket.get()
        if merged is None or ticket is None:
            return method
        for index, (owner, _old, _ents) in enumerate(merged.parts):
            if owner is ticket:
                merged.parts[index] = (owner, edit.text or "", edit.entities)
                text, entities = _join([(t, e) for _o, t, e in merged.parts])
                update: dict[str, Any] = {"text": text}
                if entities is not None:
                    update["entities"] = entities
                return cast(TelegramMethod[TelegramType], edit.model_copy(update=update))
        return method


def _fail(batch: list[_Item], exc: BaseException) -> None:
    for item in batch:
        if not item.future.done():
            item.future.set_exception(exc)


def _text(method: TelegramMethod[Any]) -> str:
    return str(getattr(method, "text", "") or "")


def _entities(method: TelegramMethod[Any]) -> list[MessageEntity] | None:
    ents = getattr(method, "entities", None)
    return list(ents) if ents else None


_MERGE_FREE = {"text", "entities", "reply_parameters", "reply_to_message_id"}


def _mergeable(method: TelegramMethod[Any]) -> bool:
    # Messages with buttons stay alone: their callbacks edit them by message id.
    return isinstance(method, SendMessage) and method.reply_markup is None


def _compatible(a: TelegramMethod[Any], b: TelegramMethod[Any]) -> bool:
    if bool(_entities(a)) != bool(_entities(b)):
        return False
    return bool(a.model_dump(exclude=_MERGE_FREE) == b.model_dump(exclude=_MERGE_FREE))


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _join(
    parts: list[tuple[str, list[MessageEntity] | None]],
) -> tuple[str, list[MessageEntity] | None]:
    texts: list[str] = []
    entities: list[MessageEntity] = []
    any_entities = False
    offset = 0
    for text, ents in parts:
        if texts:
            texts.append(SEPARATOR)
            offset += _utf16_len(SEPARATOR)
        for ent in ents or ():
            any_entities = True
            entities.append(ent.model_copy(update={"offset": ent.offset + offset}))
        texts.append(text)
        offset += _utf16_len(text)
    return "".join(texts), (entities if any_entities else None)


def _merge(methods: list[TelegramMethod[Any]]) -> SendMessage:
    first = methods[0]
    assert isinstance(first, SendMessage)
    text, entities = _join([(_text(m), _entities(m)) for m in methods])
    return first.model_copy(update={"text": text, "entities": entities})


def outbox_of(bot: Bot) -> Outbox | None:
    return next((m for m in bot.session.middleware if isinstance(m, Outbox)), None)


class ReplyOrderMiddleware(BaseMiddleware):
    """Takes the update's place in its chat's outgoing queue before any handler runs.

    Registered as the first of our outer middlewares, before anything that awaits, so
    places are taken in the order updates arrive."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        chat: Chat | None = data.get("event_chat")
        bot: Bot | None = data.get("bot")
        outbox = outbox_of(bot) if bot is not None else None
        if chat is None or outbox is None:
            return await handler(event, data)
        with outbox.answering(chat.id) as ticket:
            try:
                return await handler(event, data)
            finally:
                for callback in ticket.after:
                    try:
                        await callback()
                    except Exception:
                        log.exception("follow-up of an update in chat %s failed", chat.id)


# --------------------------------------------------------------------------- outcomes


class Outcome(StrEnum):
    SENT = "sent"
    BLOCKED = "blocked"  # 403, or the chat is gone: mark the workspace inactive
    MIGRATED = "migrated"  # the group became a supergroup: retry at new_chat_id
    FAILED = "failed"  # the outbox gave up after its retries, or Telegram refused it


@dataclass(frozen=True, slots=True)
class Delivery:
    outcome: Outcome
    result: object = None
    error: str | None = None
    new_chat_id: int | None = None


class PacedSender:
    """Bot-initiated sends (digests, alerts): the outbox paces and retries them; this
    turns what finally happened into an :class:`Outcome` the job acts on."""

    async def send(
        self, chat_id: int, is_group: bool, call: Callable[[], Awaitable[T]]
    ) -> Delivery:
        """Run `call` (one Bot API request to `chat_id`); `is_group` is for the log."""
        try:
            return Delivery(Outcome.SENT, await call())
        except TelegramRetryAfter as exc:
            log.warning("chat %s (group: %s) still flood-waited: %s", chat_id, is_group, exc)
            return Delivery(Outcome.FAILED, error="429")
        except TelegramMigrateToChat as exc:
            return Delivery(Outcome.MIGRATED, new_chat_id=exc.migrate_to_chat_id)
        except TelegramForbiddenError as exc:
            log.info("chat %s blocked or removed the bot: %s", chat_id, exc.message)
            return Delivery(Outcome.BLOCKED, error=exc.message)
        except TelegramNotFound as exc:
            return Delivery(Outcome.BLOCKED, error=exc.message)
        except TelegramBadRequest as exc:
            if "chat not found" in exc.message.lower():
                return Delivery(Outcome.BLOCKED, error=exc.message)
            return Delivery(Outcome.FAILED, error=exc.message)
        except (TelegramServerError, TelegramNetworkError) as exc:
            log.error("giving up on chat %s: %s", chat_id, exc)
            return Delivery(Outcome.FAILED, error=str(exc))
