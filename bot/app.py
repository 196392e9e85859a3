"""Wiring: the Bot, the Dispatcher and their dependencies. Tests build the
dispatcher with the same function as production."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.types import BotCommand, BotCommandScopeDefault
from aiogram.utils.i18n import I18n

from bot.config import Settings
from bot.i18n import LANGUAGES, WorkspaceI18nMiddleware, create_i18n
from bot.scheduler import JobSpec
from bot.texts import COMMANDS
from handlers import create_routers
from handlers.delivery import PacedSender
from handlers.events import DataChanged
from handlers.middleware import WorkspaceMiddleware
from handlers.permissions import AdminCache
from handlers.rendering import ChartRenderer
from storage import Storage

log = logging.getLogger(__name__)


def create_bot(settings: Settings, session: BaseSession | None = None) -> Bot:
    if session is None:
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.bot_api_url))
    return Bot(
        token=settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


def utc_now() -> datetime:
    return datetime.now(UTC)


def create_dispatcher(
    storage: Storage,
    settings: Settings,
    i18n: I18n | None = None,
    *,
    renderer: ChartRenderer | None = None,
    sender: PacedSender | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> Dispatcher:
    """The dispatcher with every router and dependency; tests call it too.

    `renderer` defaults to a thread pool (tests, small set-ups); `python -m bot`
    passes a process pool. `clock` returns the current aware UTC time.
    """
    i18n = i18n or create_i18n(settings.default_language)
    dp = Dispatcher()
    # Dependencies by name: handlers receive these as typed parameters.
    dp["storage"] = storage
    dp["settings"] = settings
    dp["admins"] = AdminCache(ttl=settings.admin_cache_seconds)
    dp["default_timezone"] = settings.default_timezone
    dp["i18n"] = i18n
    dp["renderer"] = renderer or ChartRenderer.threads()
    dp["sender"] = sender or PacedSender()
    dp["clock"] = clock
    dp["data_changed"] = DataChanged()
    dp.update.outer_middleware(WorkspaceMiddleware(storage, settings.default_timezone))
    WorkspaceI18nMiddleware(i18n).setup(dp)
    dp.include_routers(*create_routers())
    return dp


async def register_commands(bot: Bot, i18n: I18n, default_language: str) -> None:
    """The command menu in Russian and English; the default scope gets DEFAULT_LANGUAGE."""
    for lang in (*LANGUAGES, None):
        locale = lang or default_language
        with i18n.context(), i18n.use_locale(locale):
            commands = [
                BotCommand(command=c.command, description=str(c.description)[:256])
                for c in COMMANDS
                if c.in_menu
            ]
        await bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=lang)


def create_jobs(bot: Bot, dp: Dispatcher) -> list[JobSpec]:
    """The periodic jobs; each body is a plain async function tested on its own."""
    jobs: list[JobSpec] = []
    return jobs
