"""Wiring: the Bot, the Dispatcher and their dependencies. Tests build the
dispatcher with the same function as production."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.types import BotCommand, BotCommandScopeDefault, LinkPreviewOptions
from aiogram.utils.i18n import I18n
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.config import Settings
from bot.i18n import LANGUAGES, WorkspaceI18nMiddleware, create_i18n
from bot.scheduler import JobSpec
from bot.services.delivery import Outbox, PacedSender, ReplyOrderMiddleware, SendBudget
from bot.texts import COMMANDS
from handlers import create_routers
from handlers.alerts import AlertRunner
from handlers.channels import record_channel_followers
from handlers.digest import DigestCache, run_digest_tick
from handlers.digest_cache import cache_directory
from handlers.events import DataChanged
from handlers.goals import GoalAlerts
from handlers.middleware import WorkspaceMiddleware
from handlers.permissions import AdminCache
from handlers.rendering import ChartRenderer
from storage import Storage

log = logging.getLogger(__name__)


def create_bot(
    settings: Settings, session: BaseSession | None = None, *, outbox: Outbox | None = None
) -> Bot:
    """The bot; every request it makes goes through one `Outbox` (pacing and retries)."""
    if session is None:
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.bot_api_url))
    if outbox is None:
        outbox = Outbox(SendBudget() if settings.send_pacing else SendBudget.unlimited())
    session.middleware(outbox)
    return Bot(
        token=settings.bot_token.get_secret_value(),
        session=session,
        # link_preview (not link_preview_is_disabled): aiogram would also send the
        # disable_web_page_preview parameter, removed from the Bot API in 7.0.
        default=DefaultBotProperties(
            parse_mode=ParseMode.HTML, link_preview=LinkPreviewOptions(is_disabled=True)
        ),
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
    dp["alerts"] = AlertRunner(storage, dp["renderer"], dp["sender"], clock, i18n)
    dp["data_changed"].subscribe(dp["alerts"].on_data_changed)
    dp["goal_alerts"] = GoalAlerts(storage, dp["sender"], clock, i18n)
    dp["data_changed"].subscribe(dp["goal_alerts"].on_data_changed)
    # Pre-rendered dashboards as files in the data directory (handlers/digest_cache.py).
    dp["digest_cache"] = DigestCache(directory=cache_directory(settings.database_url))
    # First of ours, before anything awaits: an update's place in its chat's
    # outgoing queue is the order it arrived in.
    dp.update.outer_middleware(ReplyOrderMiddleware())
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


# A late minute tick (busy loop) still runs, once (coalesce); one more than half a
# minute late is dropped, the next one (at most 30 s away) reads the same due set.
DIGEST_JOB_OPTIONS: dict[str, Any] = {
    "coalesce": True,
    "misfire_grace_time": 30,
    "max_instances": 1,
}


def digest_trigger(tick_seconds: int) -> BaseTrigger:
    """On the minute (second 0, UTC) for the default 60 s, so a 10:00 slot's first digest
    leaves at 10:00:00, not up to a minute later from whenever the process started;
    another DIGEST_TICK_SECONDS (tests) is a plain interval."""
    if tick_seconds == 60:
        return CronTrigger(second=0, timezone="UTC")
    return IntervalTrigger(seconds=tick_seconds)


# Update types Telegram sends only when asked for: a channel's reactions and members.
CHANNEL_UPDATES = (
    "channel_post", "edited_channel_post", "message_reaction_count", "chat_member",
    "my_chat_member", "chat_join_request",
)  # fmt: skip


def allowed_updates(dp: Dispatcher) -> list[str]:
    """What the handlers use plus the channel updates (handlers/channels.py)."""
    return sorted(set(dp.resolve_used_update_types()) | set(CHANNEL_UPDATES))


def create_jobs(bot: Bot, dp: Dispatcher) -> list[JobSpec]:
    """The periodic jobs; each body is a plain async function tested on its own."""
    jobs: list[JobSpec] = []
    settings: Settings = dp["settings"]
    # Alerts: hourly, so a new week is judged soon after it starts in every time
    # zone and a snooze ends on time; ALERTS_CHECK_SECONDS overrides (tests).
    alert_seconds = settings.alerts_check_seconds
    alert_trigger = (
        IntervalTrigger(seconds=alert_seconds) if alert_seconds > 0 else CronTrigger(minute=7)
    )
    jobs.append(JobSpec("alerts", dp["alerts"].run_all, alert_trigger, {"bot": bot}))
    jobs.append(JobSpec("goal_alerts", dp["goal_alerts"].run_all, alert_trigger, {"bot": bot}))
    # Every minute: the database says which digests are due (bot/scheduler.py).
    # DIGEST_TICK_SECONDS overrides (fault tests kill the bot in the middle of a run).
    jobs.append(
        JobSpec(
            "digest",
            run_digest_tick,
            digest_trigger(settings.digest_tick_seconds),
            kwargs={
                "bot": bot,
                "storage": dp["storage"],
                "renderer": dp["renderer"],
                "sender": dp["sender"],
                "i18n": dp["i18n"],
                "cache": dp["digest_cache"],
                "clock": dp["clock"],
                "default_language": dp["settings"].default_language,
            },
            options=DIGEST_JOB_OPTIONS,
        )
    )
    # Daily: member counts of linked Telegram channels as `followers` (handlers/channels.py);
    # 20:50 UTC is 23:50 in Moscow, the default time zone, so the count is the day's last.
    jobs.append(
        JobSpec(
            "channel_followers",
            record_channel_followers,
            CronTrigger(hour=20, minute=50, timezone="UTC"),
            kwargs={
                "bot": bot,
                "storage": dp["storage"],
                "clock": dp["clock"],
                "data_changed": dp["data_changed"],
            },
        )
    )
    return jobs
