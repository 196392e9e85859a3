"""Start-up and shutdown of the bot process (used by `python -m bot`)."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

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
from bot.scheduler import create_scheduler
from handlers.rendering import ChartRenderer
from storage import DatabaseUnavailable, Storage

log = logging.getLogger("bot")


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


async def run(settings: Settings) -> None:
    try:
        storage = await Storage.open(settings.database_url)
    except DatabaseUnavailable as exc:
        raise StartupError(str(exc)) from None
    bot = create_bot(settings)
    renderer = ChartRenderer.processes()
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
        log.info("starting as @%s (id %s)", me.username, me.id)
        await register_commands(bot, i18n, settings.default_language)
        scheduler = create_scheduler(create_jobs(bot, dp))

        # Async callbacks: aiogram runs plain functions in a worker thread, where
        # AsyncIOScheduler can't find the event loop.
        async def start_scheduler() -> None:
            scheduler.start()

        async def stop_scheduler() -> None:
            scheduler.shutdown(wait=False)

        dp.startup.register(start_scheduler)
        dp.shutdown.register(stop_scheduler)
        await dp.start_polling(
            bot, handle_signals=False, close_bot_session=False, allowed_updates=allowed_updates(dp)
        )
    finally:
        renderer.close()
        await bot.session.close()
        await storage.close()
        log.info("stopped")


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
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        await run(settings)

    try:
        asyncio.run(_main())
    except StartupError as exc:
        print(f"Cannot start: {exc}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass
    except Exception:
        log.exception("the bot stopped on an unexpected error")
        return 1
    return 0
