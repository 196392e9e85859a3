"""Start-up and shutdown of the bot process (used by `python -m bot`)."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError, TelegramUnauthorizedError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from pydantic import ValidationError

from bot import responses
from bot.app import (
    allowed_updates,
    create_bot,
    create_dispatcher,
    create_jobs,
    register_commands,
)
from bot.config import Settings
from bot.i18n import create_i18n
from bot.leader import Leadership
from bot.logs import setup_logging
from bot.notices import deliver_notices
from bot.polling import InstanceLock, PollingGuard, Stopper
from bot.scheduler import JobSpec, create_scheduler
from bot.services.delivery import Outbox, SendBudget
from bot.services.rendering import ChartRenderer
from bot.webhook import WebhookServer, set_webhook
from storage import DatabaseUnavailable, Storage
from storage.leadership import AdvisoryLock, is_postgres, lock_key

if TYPE_CHECKING:
    from bot.cluster import Cluster

log = logging.getLogger("bot")

# Telegram keeps undelivered updates for 24 hours; a week of update ids is plenty.
UPDATE_MEMORY = timedelta(days=7)


class StartupError(Exception):
    """A reason not to start, shown to the operator as one line."""


def load_settings() -> Settings:
    try:
        return Settings()  # BOT_TOKEN comes from the environment
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]).upper() or "settings"
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "missing":
                msg = "is required (set it in the environment or .env; see .env.example)"
            problems.append(f"{field} {msg}")
        raise StartupError("; ".join(problems)) from None


class PollingStopped(Exception):
    """Polling stopped because another process polls or holds the lock (one line)."""


async def prepare_database(storage: Storage, settings: Settings) -> None:
    """Start-up repairs: zones the pinned tzdata lacks go back to the default (the
    chat is told once), and old update ids are forgotten."""
    now = datetime.now(UTC)
    await storage.runtime.repair_timezones(settings.default_timezone, now)
    await storage.runtime.forget_updates_before(now - UPDATE_MEMORY)


def _check_cluster_settings(settings: Settings) -> None:
    if settings.redis_url and not is_postgres(settings.database_url):
        raise StartupError(
            "REDIS_URL (cluster mode) needs a PostgreSQL DATABASE_URL shared by the "
            "processes (postgresql+asyncpg://...); SQLite serves one process"
        )


async def _connect_cluster(settings: Settings, bot_id: int, storage: Storage) -> Cluster:
    from bot.cluster import Cluster

    cluster = Cluster(settings.redis_url, bot_id, storage.workspaces)
    try:
        await cluster.start()
    except Exception as exc:
        await cluster.close()
        raise StartupError(f"cannot reach Redis at REDIS_URL: {type(exc).__name__}") from None
    return cluster


async def run(settings: Settings, stopper: Stopper | None = None) -> None:
    stopper = stopper or Stopper()
    _check_cluster_settings(settings)
    try:
        storage = await Storage.open(settings.database_url)
    except DatabaseUnavailable as exc:
        raise StartupError(str(exc)) from None
    outbox = Outbox(SendBudget() if settings.send_pacing else SendBudget.unlimited())
    bot = create_bot(settings, outbox=outbox)
    renderer = ChartRenderer.processes()
    locked: InstanceLock | None = None
    cluster: Cluster | None = None
    try:
        i18n = create_i18n(settings.default_language)
        try:
            me = await bot.get_me()
        except TelegramUnauthorizedError:
            raise StartupError("BOT_TOKEN was rejected by the Bot API (401 Unauthorized)") from None
        except (TimeoutError, TelegramAPIError, OSError) as exc:
            raise StartupError(
                f"cannot reach the Bot API at {settings.bot_api_url}: {type(exc).__name__}"
            ) from None
        if settings.redis_url:
            cluster = await _connect_cluster(settings, me.id, storage)
            if settings.send_pacing:
                outbox.shared = cluster.send_budget
        dp = create_dispatcher(
            storage,
            settings,
            i18n,
            renderer=renderer,
            fsm_storage=cluster.fsm_storage if cluster else None,
            events_isolation=cluster.events_isolation if cluster else None,
        )
        # Several webhook processes share one database (cluster mode); otherwise one
        # process per token and database.
        if not (cluster is not None and settings.bot_mode == "webhook"):
            lock = InstanceLock(
                storage,
                me.id,
                heartbeat=settings.instance_heartbeat_seconds,
                stale_after=settings.instance_stale_seconds,
            )
            refusal = await lock.acquire()
            if refusal is not None:
                raise StartupError(refusal)
            locked = lock
            lock.keep_alive(stopper, update_memory=UPDATE_MEMORY)
        log.info("starting as @%s (id %s), %s mode", me.username, me.id, settings.bot_mode)
        await prepare_database(storage, settings)
        clustered = cluster is not None and settings.bot_mode == "webhook"
        dp.startup.register(responses.keep_later)  # aiogram's Response models, kept (#16)
        jobs = create_jobs(bot, dp["services"], cluster=clustered)
        if settings.bot_mode == "webhook":
            await serve_webhook(bot, dp, settings, me.id, jobs, stopper)
        else:
            await poll(bot, dp, settings, create_scheduler(jobs), stopper)
    finally:
        if locked is not None:
            await locked.release()
        if cluster is not None:
            await cluster.close()
        renderer.close()
        await bot.session.close()
        await storage.close()
        log.info("stopped")
    if stopper.reason is not None:
        raise PollingStopped(stopper.reason)


async def start_up_once(bot: Bot, dp: Dispatcher, settings: Settings) -> None:
    """What one process does for the bot when it starts (the leader, in a cluster)."""
    await register_commands(bot, dp["i18n"], settings.default_language)
    await deliver_notices(bot, dp["storage"], dp["i18n"])


async def poll(
    bot: Bot, dp: Dispatcher, settings: Settings, scheduler: AsyncIOScheduler, stopper: Stopper
) -> None:
    await start_up_once(bot, dp, settings)
    bot.session.middleware(PollingGuard(stopper))

    # Async callbacks: aiogram runs plain functions in a worker thread, where
    # AsyncIOScheduler can't find the event loop.
    async def start_scheduler() -> None:
        scheduler.start()

    async def stop_scheduler() -> None:
        scheduler.shutdown(wait=False)

    async def polling_started() -> None:
        stopper.bind(dp.stop_polling)  # from here a stop is the dispatcher's stop

    dp.startup.register(polling_started)
    dp.startup.register(start_scheduler)
    dp.shutdown.register(stop_scheduler)
    await dp.start_polling(
        bot, handle_signals=False, close_bot_session=False, allowed_updates=allowed_updates(dp)
    )


async def serve_webhook(
    bot: Bot,
    dp: Dispatcher,
    settings: Settings,
    bot_id: int,
    jobs: list[JobSpec],
    stopper: Stopper,
) -> None:
    """Webhook mode (bot/webhook.py): serve until stopped. The scheduler's jobs run
    while this process is the leader (bot/leader.py), which also sets the webhook;
    jobs whose work is leased per workspace (`everywhere`) run in every process."""
    scheduler = create_scheduler([j for j in jobs if not j.everywhere])
    workers = create_scheduler([j for j in jobs if j.everywhere])
    stop = asyncio.Event()

    async def request_stop() -> None:
        stop.set()

    stopper.bind(request_stop)
    updates = allowed_updates(dp)

    async def on_gain() -> None:
        await set_webhook(bot, settings, updates)
        await start_up_once(bot, dp, settings)
        scheduler.resume()

    async def on_lose() -> None:
        scheduler.pause()

    lock = (
        AdvisoryLock(settings.database_url, lock_key(bot_id))
        if is_postgres(settings.database_url)
        else None
    )
    leadership = Leadership(
        lock, on_gain=on_gain, on_lose=on_lose, check_seconds=settings.leader_check_seconds
    )
    server = WebhookServer(settings, dp, bot)
    data = {"dispatcher": dp, "bots": [bot], **dp.workflow_data}
    await dp.emit_startup(bot=bot, **data)
    scheduler.start(paused=True)
    workers.start()
    try:
        await server.start()
        leadership.start()
        await stop.wait()
    finally:
        await leadership.stop()
        scheduler.shutdown(wait=False)
        workers.shutdown(wait=False)
        await server.stop()
        await dp.emit_shutdown(bot=bot, **data)


def main() -> int:
    try:
        settings = load_settings()
    except StartupError as exc:
        print(f"Cannot start: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level, settings.bot_token.get_secret_value())

    async def _main() -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        stopper = Stopper()

        def on_signal() -> None:
            # While polling: stop it the dispatcher's way (the poll in flight is
            # cancelled before the session closes: no "Failed to fetch updates"
            # ERROR on a normal stop). Before that (start-up): cancel.
            if not stopper.stop_polling():
                task.cancel()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, on_signal)
        await run(settings, stopper)

    try:
        asyncio.run(_main())
    except StartupError as exc:
        print(f"Cannot start: {exc}", file=sys.stderr)
        return 2
    except PollingStopped as exc:
        print(f"Stopped: {exc}", file=sys.stderr)
        return 3
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass
    except Exception:
        log.exception("the bot stopped on an unexpected error")
        return 1
    return 0
