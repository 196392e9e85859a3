"""Start-up and shutdown of the bot process (used by `python -m bot`)."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from datetime import UTC, datetime, timedelta

from aiogram.exceptions import TelegramAPIError, TelegramUnauthorizedError
from pydantic import ValidationError

from bot.app import (
    allowed_updates,
    create_bot,
    create_dispatcher,
    create_jobs,
    register_commands,
)
from bot.config import Settings
from bot.i18n import create_i18n
from bot.logs import setup_logging
from bot.notices import deliver_notices
from bot.polling import InstanceLock, PollingGuard, Stopper
from bot.scheduler import create_scheduler
from bot.services.rendering import ChartRenderer
from storage import DatabaseUnavailable, Storage

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


async def run(settings: Settings, stopper: Stopper | None = None) -> None:
    stopper = stopper or Stopper()
    try:
        storage = await Storage.open(settings.database_url)
    except DatabaseUnavailable as exc:
        raise StartupError(str(exc)) from None
    bot = create_bot(settings)
    renderer = ChartRenderer.processes()
    locked: InstanceLock | None = None
    try:
        i18n = create_i18n(settings.default_language)
        dp = create_dispatcher(storage, settings, i18n, renderer=renderer)
        try:
            me = await bot.get_me()
        except TelegramUnauthorizedError:
            raise StartupError("BOT_TOKEN was rejected by the Bot API (401 Unauthorized)") from None
        except (TimeoutError, TelegramAPIError, OSError) as exc:
            raise StartupError(
                f"cannot reach the Bot API at {settings.bot_api_url}: {type(exc).__name__}"
            ) from None
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
        log.info("starting as @%s (id %s)", me.username, me.id)
        await prepare_database(storage, settings)
        await register_commands(bot, i18n, settings.default_language)
        await deliver_notices(bot, storage, i18n)
        scheduler = create_scheduler(create_jobs(bot, dp["services"]))
        lock.keep_alive(stopper, update_memory=UPDATE_MEMORY)
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
    finally:
        if locked is not None:
            await locked.release()
        renderer.close()
        await bot.session.close()
        await storage.close()
        log.info("stopped")
    if stopper.reason is not None:
        raise PollingStopped(stopper.reason)


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
