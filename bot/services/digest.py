"""The weekly digest: what it says, its dashboard, and the periodic job that sends it
(handlers/digest.py has /digest, its buttons and "send now").

The job (`digest_tick`, at second 0 of every minute) asks storage which
workspaces' `next_digest_at` has come (and whose week has no digest_log row),
sends those, and pre-renders the dashboards of the workspaces due soon — as far
ahead as their number and the measured render rate need — into a size-capped
disk cache (bot/services/digest_cache.py), so rendering is off the sending path.

Exactly-once, as close as Telegram allows. Sending a message and writing "sent"
cannot be one transaction, so a crash between them must either repeat the
message or lose it. We choose to lose it (at-most-once), and make the window in
which that can happen as small as possible:

* the (workspace, week) row is *claimed* (an INSERT guarded by the unique key)
  right before the first HTTP request, after the rate limiter has let it through,
  not when the run starts: a digest that is queued, rendering or waiting for its
  slot when the process dies has no row, and the next tick sends it;
* a claimed row is never sent again automatically (a duplicate digest in a team
  chat is worse than a missing one, and "/digest now" recovers the rare loss);
* on cancellation (SIGTERM, shutdown) the run stops starting new digests, cancels
  those that have not claimed yet, and gives the claimed ones — their HTTP request
  is in flight — a few seconds to finish and be marked, so a graceful restart
  loses nothing and repeats nothing. Only a hard kill inside that in-flight
  request can lose a digest;
* failures that delivered nothing (429s past the retries, 5xx, network) are
  marked `failed` and retried after 30 minutes within the same week.
"""

from __future__ import annotations

import asyncio
import html
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from aiogram import Bot
from aiogram.types import (
    BufferedInputFile,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.i18n import use_currency
from bot.services.delivery import Delivery, Outcome, PacedSender, before_sending
from bot.services.digest_cache import DigestCache
from bot.services.insights import DigestInsights, digest_insights
from bot.services.rendering import ChartRenderer
from bot.texts import bold
from handlers.agency_digest import agency_rollup, with_agency_section
from handlers.charts import short_change
from handlers.insights_texts import digest_lead
from handlers.kpi_texts import compact_change, format_day, format_period, kpi_name, value_text
from handlers.replies import TEXT_LIMIT, split_text
from kpi.charts import DashboardSpec, DashboardTile, render_dashboard
from kpi.digest import (
    SPARK_WEEKS,
    TileData,
    dashboard_tiles,
    fit_caption,
    iso_week_key,
    top_changes,
    trend,
    week_buckets,
)
from kpi.models import Period
from storage import Storage
from storage.digests import DueDigest
from storage.records import Workspace

log = logging.getLogger(__name__)

T = TypeVar("T")

# 2,000 dashboards due in the same minute take ~3-5 minutes to render on two
# cores; rendering them this far ahead keeps the send run at Telegram's pace.
PRERENDER_AHEAD = timedelta(minutes=15)
# The window grows beyond that when more are due than render in it (see
# prerender_window): 1.5× the measured rendering time, up to a day ahead.
PRERENDER_MARGIN = 1.5
PRERENDER_MAX = timedelta(hours=24)
SEND_CONCURRENCY = 32
SHUTDOWN_GRACE_S = 10.0
TOP_CHANGES = 3


# --------------------------------------------------------------------------- render cache


async def render_cached(
    renderer: ChartRenderer, cache: DigestCache, spec: DashboardSpec
) -> bytes | None:
    """The dashboard PNG from the cache or freshly rendered; None if rendering fails."""
    png = cache.take(spec)
    if png is not None:
        return png
    try:
        return await renderer.render(render_dashboard, spec)
    except Exception:
        log.exception("digest dashboard rendering failed (%s tiles)", len(spec.tiles))
        return None


# --------------------------------------------------------------------------- composing


@dataclass(frozen=True, slots=True)
class DigestData:
    report: Period
    tiles: tuple[TileData, ...]
    last_day: date | None  # newest day with data up to the report's end
    insights: DigestInsights | None = None  # goals and "why", which lead the caption


@dataclass(frozen=True, slots=True)
class PreparedDigest:
    caption: str  # ≤ 1024, goes with the picture
    details: tuple[str, ...]  # text messages after the picture (lines the caption had no room for)
    text: tuple[str, ...]  # the whole digest as text messages, when there is no picture
    spec: DashboardSpec | None  # None: nothing to draw (no KPI in 12 weeks)


async def load_digest_data(storage: Storage, workspace: Workspace, report: Period) -> DigestData:
    weeks = week_buckets(report, SPARK_WEEKS)
    data = await storage.metrics.aggregate(workspace.id, weeks, margin=workspace.margin)
    tiles = tuple(dashboard_tiles(data))
    moved = [t.kpi for t in top_changes(tiles, TOP_CHANGES)]
    found = await digest_insights(storage, workspace, report, moved)
    last = await storage.metrics.last_day(workspace.id, report.end)
    return DigestData(report, tiles, last, found)


def _title(workspace: Workspace) -> str:
    return workspace.title or _("Your SMM KPIs")


def _week_label(report: Period, lang: str) -> str:
    number = iso_week_key(report.start).split("-W")[1].lstrip("0")
    return _("week {number}, {period}").format(number=number, period=format_period(report, lang))


def _tile_line(tile: TileData, lang: str) -> str:
    name = html.escape(kpi_name(tile.kpi))
    if tile.formula == "er_followers":  # a channel without reach: labelled as it is
        name = html.escape(_("Engagement (ER by followers)"))
    if tile.value is None:
        return _("{name}: no data this week").format(name=name)
    value = value_text(tile.value, tile.unit, lang)
    line = f"{name}: {bold(value)}"
    moved = compact_change(tile.change, tile.unit, lang)
    return f"{line} · {moved}" if moved else line


def compose_digest(workspace: Workspace, data: DigestData, lang: str) -> PreparedDigest:
    """The digest's texts and dashboard spec (call with the workspace's locale active)."""
    report = data.report
    title = _title(workspace)
    week = _week_label(report, lang)
    head = [
        _("<b>{title}</b> · weekly digest").format(title=html.escape(title)),
        week[:1].upper() + week[1:],
    ]
    head += digest_lead(data.insights, {t.kpi: t.unit for t in data.tiles}, lang)
    has_week = any(t.value is not None for t in data.tiles)
    if data.last_day is not None:
        head.append(_("Data as of {day}").format(day=format_day(data.last_day, lang)))
    if not has_week:
        if data.last_day is not None and data.last_day >= report.start:
            head.append(
                _(
                    "⚠️ This week's numbers are not enough for any KPI yet "
                    "(/kpi says what each one needs)."
                )
            )
        elif data.last_day is not None:
            head.append(
                _(
                    "⚠️ No numbers for this week — the newest are from {day}. "
                    "Send fresh ones with /log or a file."
                ).format(day=format_day(data.last_day, lang))
            )
        else:
            head.append(_("⚠️ No numbers for this week. Send fresh ones with /log or a file."))
    top = top_changes(data.tiles, TOP_CHANGES)
    rest = [t for t in data.tiles if t not in top]
    items = [_tile_line(t, lang) for t in (*top, *rest)]
    if top:
        head.append(_("Biggest changes first:"))

    def more(n: int) -> str:
        return _("…and {count} more below.").format(count=n)

    caption, overflow = fit_caption(head, items, more=more)
    details: tuple[str, ...] = ()
    if overflow:
        details = tuple(split_text("\n".join([_("More for {week}:").format(week=week), *overflow])))
    text = tuple(split_text("\n".join([*head, *items]), TEXT_LIMIT))

    spec = None
    if data.tiles:
        subtitle = week
        if data.last_day is not None:
            subtitle += " · " + _("data as of {day}").format(day=format_day(data.last_day, lang))
        spec = DashboardSpec(
            title=title,
            subtitle=subtitle,
            tiles=tuple(_dashboard_tile(t, lang) for t in data.tiles),
        )
    return PreparedDigest(caption, details, text, spec)


def _dashboard_tile(tile: TileData, lang: str) -> DashboardTile:
    value = value_text(tile.value, tile.unit, lang) if tile.value is not None else _("no data")
    return DashboardTile(
        name=kpi_name(tile.kpi),
        value_text=value,
        change_text=short_change(tile.change, tile.unit, lang),
        better=tile.change.better,
        trend=trend(tile.change),
        spark=tile.spark,
    )


async def prepare(
    storage: Storage, i18n: I18n, workspace: Workspace, report: Period, default_language: str
) -> PreparedDigest:
    data = await load_digest_data(storage, workspace, report)
    clients = await agency_rollup(storage, workspace, report)  # an agency's clients (#19)
    lang = workspace.own_language or default_language
    with i18n.context(), i18n.use_locale(lang), use_currency(workspace.currency):
        return with_agency_section(compose_digest(workspace, data, lang), clients, lang)


# --------------------------------------------------------------------------- sending


class AlreadyClaimed(Exception):
    """Another run has this (workspace, week); nothing was sent."""


async def send_prepared(
    bot: Bot,
    sender: PacedSender,
    chat_id: int,
    is_group: bool,
    prepared: PreparedDigest,
    png: bytes | str | None,
    *,
    silent: bool,
    before_first_request: Callable[[], Awaitable[None]] | None = None,
) -> Delivery:
    """The picture with its caption and the details, or the text-only digest.

    `before_first_request` runs once, after the outbox let the first request through
    its chat's queue and before it is made (the digest log claim).
    """
    pending = before_first_request

    def guarded(call: Callable[[], Awaitable[T]]) -> Callable[[], Awaitable[T]]:
        async def run() -> T:
            nonlocal pending
            if pending is not None:
                hook, pending = pending, None
                with before_sending(hook):
                    return await call()
            return await call()

        return run

    async def paced(call: Callable[[], Awaitable[Any]]) -> Delivery:
        return await sender.send(chat_id, is_group, guarded(call))

    if png is not None:
        # bytes: an upload; str: the file_id of an identical dashboard sent before.
        photo = BufferedInputFile(png, filename="digest.png") if isinstance(png, bytes) else png
        delivery = await paced(
            lambda: bot.send_photo(
                chat_id, photo, caption=prepared.caption, disable_notification=silent
            )
        )
        if delivery.outcome is not Outcome.FAILED or _transient(delivery):
            if delivery.outcome is Outcome.SENT:
                await _follow_up(sender, bot, chat_id, is_group, prepared.details)
            return delivery
        # Telegram refused the picture itself (a 400): the text still goes out.
        log.warning("digest photo refused in chat %s (%s); sending text", chat_id, delivery.error)
    first, *rest = prepared.text
    delivery = await paced(lambda: bot.send_message(chat_id, first, disable_notification=silent))
    if delivery.outcome is Outcome.SENT:
        await _follow_up(sender, bot, chat_id, is_group, rest)
    return delivery


def _transient(delivery: Delivery) -> bool:
    error = delivery.error or ""
    return error == "429" or not error.lower().startswith("bad request")


async def _follow_up(
    sender: PacedSender, bot: Bot, chat_id: int, is_group: bool, texts: Sequence[str]
) -> None:
    for text in texts:
        result = await sender.send(
            chat_id,
            is_group,
            lambda text=text: bot.send_message(chat_id, text, disable_notification=True),  # type: ignore[misc]
        )
        if result.outcome is not Outcome.SENT:
            log.warning("digest details to chat %s not sent: %s", chat_id, result.error)
            return


def _note_file_id(
    cache: DigestCache, spec: DashboardSpec, png: bytes | str, delivery: Delivery
) -> None:
    """Remember Telegram's copy of an uploaded dashboard; forget one it refused."""
    if isinstance(png, str):
        if delivery.outcome is Outcome.SENT and getattr(delivery.result, "photo", None):
            cache.reused += 1
        else:
            cache.forget_file_id(spec)
        return
    sizes = getattr(delivery.result, "photo", None) if delivery.outcome is Outcome.SENT else None
    if sizes:
        cache.remember_file_id(spec, sizes[-1].file_id)


def _message_id(delivery: Delivery) -> int | None:
    return getattr(delivery.result, "message_id", None)


@dataclass
class RunReport:
    sent: int = 0
    text_only: int = 0
    blocked: int = 0
    failed: int = 0
    already_claimed: int = 0
    migrated: int = 0
    errors: int = 0
    sent_workspaces: list[int] = field(default_factory=list)


@dataclass
class DigestJob:
    """What a digest run needs; built once from the dispatcher's dependencies."""

    bot: Bot
    storage: Storage
    renderer: ChartRenderer
    sender: PacedSender
    i18n: I18n
    cache: DigestCache
    clock: Callable[[], datetime]
    default_language: str = "ru"
    # Cluster mode: every process runs the tick over batches leased in the database
    # (storage/digests.py `lease_due`); None: one process reads every due digest.
    lease: timedelta | None = None
    # When the run in progress started (`run_digest_tick`), None between runs.
    running_since: datetime | None = None


@dataclass
class _Flight:
    claimed: bool = False


async def _deliver_one(job: DigestJob, item: DueDigest, flight: _Flight, report: RunReport) -> None:
    ws, week = item.workspace, item.slot.week
    storage = job.storage
    try:
        prepared = await prepare(storage, job.i18n, ws, item.slot.report, job.default_language)
        spec = prepared.spec
        png: bytes | str | None = None
        if spec is not None:
            png = job.cache.file_id(spec)
            if png is not None:
                job.cache.release(spec)  # a pre-rendered copy is not needed
            else:
                png = await render_cached(job.renderer, job.cache, spec)

        async def claim() -> None:
            if not await storage.digests.claim(ws.id, week, job.clock()):
                raise AlreadyClaimed
            flight.claimed = True

        chat_id = ws.chat_id
        delivery = await send_prepared(
            job.bot, job.sender, chat_id, ws.is_group, prepared, png,
            silent=True, before_first_request=claim,
        )  # fmt: skip
        if delivery.outcome is Outcome.MIGRATED and delivery.new_chat_id is not None:
            report.migrated += 1
            await storage.workspaces.migrate_chat(chat_id, delivery.new_chat_id)
            chat_id = delivery.new_chat_id
            delivery = await send_prepared(
                job.bot, job.sender, chat_id, True, prepared, png, silent=True
            )
        now = job.clock()
        if spec is not None and png is not None:
            _note_file_id(job.cache, spec, png, delivery)
        if delivery.outcome is Outcome.SENT:
            await storage.digests.mark_sent(ws.id, week, now, _message_id(delivery))
            report.sent += 1
            report.text_only += png is None
            report.sent_workspaces.append(ws.id)
        elif delivery.outcome in (Outcome.BLOCKED, Outcome.MIGRATED):
            await storage.workspaces.set_active(chat_id, False)
            await storage.digests.mark_skipped(ws.id, week, now)
            report.blocked += 1
        else:
            await storage.digests.mark_failed(ws.id, week, now)
            report.failed += 1
    except AlreadyClaimed:
        report.already_claimed += 1
    except Exception:
        # One workspace never stops the run.
        log.exception("digest for workspace %s (week %s) failed", ws.id, week)
        report.errors += 1
        if flight.claimed:
            await storage.digests.mark_failed(ws.id, week, job.clock())


async def _each(items: Sequence[DueDigest] | AsyncIterator[DueDigest]) -> AsyncIterator[DueDigest]:
    if isinstance(items, Sequence):
        for item in items:
            yield item
    else:
        async for item in items:
            yield item


async def run_digests(
    job: DigestJob,
    items: Sequence[DueDigest] | AsyncIterator[DueDigest],
    *,
    concurrency: int = SEND_CONCURRENCY,
) -> RunReport:
    """Send the due digests, `concurrency` at a time (the sender paces the requests);
    `items` may be an async iterator read as slots free up (cluster mode's leases)."""
    report = RunReport()
    slots = asyncio.Semaphore(concurrency)
    flights: dict[asyncio.Task[None], _Flight] = {}

    def done(task: asyncio.Task[None]) -> None:
        slots.release()
        flights.pop(task, None)

    try:
        async for item in _each(items):
            await slots.acquire()
            flight = _Flight()
            task = asyncio.create_task(_deliver_one(job, item, flight, report))
            flights[task] = flight
            task.add_done_callback(done)
        while flights:
            await asyncio.wait(list(flights))
    except asyncio.CancelledError:
        in_flight = [t for t, f in flights.items() if f.claimed]
        for task, flight in list(flights.items()):
            if not flight.claimed:
                task.cancel()
        if in_flight:
            # Their request is on the wire: let it finish and be marked.
            await asyncio.wait(in_flight, timeout=SHUTDOWN_GRACE_S)
        for task in list(flights):
            task.cancel()
        raise
    return report


def prerender_window(count_due: int, rate: float | None) -> timedelta:
    """How far ahead to pre-render `count_due` dashboards at the measured `rate`
    (dashboards/s): PRERENDER_MARGIN times their rendering time, at least
    PRERENDER_AHEAD, at most PRERENDER_MAX. `digest_tick` grows the window until
    it covers the rendering of everything due inside it."""
    if not rate or rate <= 0:
        return PRERENDER_AHEAD
    needed = timedelta(seconds=PRERENDER_MARGIN * count_due / rate)
    return max(PRERENDER_AHEAD, min(PRERENDER_MAX, needed))


async def _sized_window(job: DigestJob, now: datetime) -> timedelta:
    window = PRERENDER_AHEAD
    for _step in range(8):  # the window only grows; a few steps settle it
        wanted = prerender_window(
            await job.storage.digests.due_count(now + window), job.cache.render_rate
        )
        if wanted <= window:
            break
        window = wanted
    return window


async def prerender(job: DigestJob, items: Sequence[DueDigest]) -> int:
    """Render the dashboards of soon-due digests into the cache; returns how many.

    A (workspace, week) already rendered (or counted in for an identical
    picture) is skipped on later ticks without being prepared again.
    """
    slots = asyncio.Semaphore(max(1, os.cpu_count() or 1))
    rendered = 0
    started = time.perf_counter()
    rendering: dict[DashboardSpec, asyncio.Future[bool]] = {}

    async def one(item: DueDigest) -> None:
        nonlocal rendered
        key = (item.workspace.id, item.slot.week)
        if job.cache.reserved(key):
            return
        async with slots:
            if not job.cache.has_room():
                job.cache.horizon = None  # full: a later batch reads these again
                return
            try:
                prepared = await prepare(
                    job.storage, job.i18n, item.workspace, item.slot.report, job.default_language
                )
                spec = prepared.spec
                if spec is None:
                    job.cache.reserve(key)  # nothing to draw
                    return
                if spec in rendering:  # an identical one is being drawn right now
                    if await rendering[spec] and job.cache.want(spec):
                        job.cache.reserve(key)
                    return
                if job.cache.want(spec) or job.cache.file_id(spec) is not None:
                    job.cache.reserve(key)  # an identical picture is ready or sent
                    return
                done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
                rendering[spec] = done
                stored = False
                try:
                    png = await job.renderer.render(render_dashboard, spec)
                    stored = job.cache.put(spec, png)
                finally:
                    done.set_result(stored)
                    del rendering[spec]
            except Exception:
                log.exception("pre-rendering the digest of workspace %s failed", item.workspace.id)
                return
            if stored:
                job.cache.reserve(key)
                rendered += 1

    await asyncio.gather(*(one(i) for i in items))
    job.cache.note_render_rate(rendered, time.perf_counter() - started)
    return rendered


async def digest_tick(job: DigestJob) -> RunReport:
    """The periodic job: send what is due; pre-render what is due soon.

    Pre-rendering runs in the background (one batch at a time, held by the cache)
    so that a long batch never delays the next tick's sends. Its window is sized
    from how many are due and the measured render rate (`prerender_window`).
    """
    if job.lease is not None:
        return await leased_tick(job, job.lease)
    now = job.clock()
    job.cache.expire()
    due = await job.storage.digests.workspaces_due_for_digest(now, advance=True)
    if job.cache.warming is None or job.cache.warming.done():
        window = await _sized_window(job, now)
        # Only what a previous batch has not read yet (`horizon`), unless it ran out
        # of room; (workspace, week) pairs already rendered are skipped as well.
        after = job.cache.horizon if job.cache.horizon and job.cache.horizon > now else None
        due_ids = {d.workspace.id for d in due}
        soon = [
            d
            for d in await job.storage.digests.soon_due(now, now + window, after=after)
            if d.workspace.id not in due_ids
            and not job.cache.reserved((d.workspace.id, d.slot.week))
        ]
        job.cache.horizon = now + window
        if soon:
            job.cache.warming = asyncio.create_task(prerender(job, soon))
    report = await run_digests(job, due)
    if due:
        log.info(
            "digests: %s sent (%s text only), %s blocked, %s failed, %s errors, %s taken; "
            "cache %s hits, %s misses, %s re-sent by file_id",
            report.sent, report.text_only, report.blocked, report.failed, report.errors,
            report.already_claimed, job.cache.hits, job.cache.misses, job.cache.reused,
        )  # fmt: skip
    return report


LEASE_BATCH = 2 * SEND_CONCURRENCY


async def leased_tick(job: DigestJob, lease: timedelta) -> RunReport:
    """Cluster mode: lease a batch of due digests, send it, lease the next, until none
    is due; every process does this at once, each with its own batches. Nothing is
    pre-rendered: the dashboard is drawn where the digest was leased (a spec drawn
    once is re-sent by file_id)."""
    job.cache.expire()

    async def leased() -> AsyncIterator[DueDigest]:
        # The next batch is leased when the last one has all started, while those are
        # still being sent: no pause between batches.
        while batch := await job.storage.digests.lease_due(
            job.clock(), limit=LEASE_BATCH, lease=lease
        ):
            for item in batch:
                yield item

    total = await run_digests(job, leased())
    if total.sent or total.errors or total.failed:
        log.info(
            "digests (leased): %s sent, %s blocked, %s failed, %s errors, %s taken",
            total.sent, total.blocked, total.failed, total.errors, total.already_claimed,
        )  # fmt: skip
    return total


async def run_digest_tick(job: DigestJob) -> None:
    """APScheduler entry point (`create_jobs` passes the one `DigestJob` of the process).

    A run of thousands of digests at Telegram's pace outlasts many minute ticks; a tick
    that finds the run still going returns at once (it is expected, not a warning), and
    what has come due since goes out from the first tick after the run.
    """
    if job.running_since is not None:
        log.debug(
            "digest tick: the run started at %s is still sending; this minute's due "
            "digests wait for the next tick after it",
            job.running_since.isoformat(timespec="seconds"),
        )
        return
    job.running_since = job.clock()
    try:
        await digest_tick(job)
    finally:
        job.running_since = None
