"""Wiring: the Bot, the Dispatcher and their dependencies. Tests build the
dispatcher with the same function as production."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.types import BotCommand, BotCommandScopeDefault, LinkPreviewOptions
from aiogram.utils.i18n import I18n
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.config import Settings
from bot.i18n import LANGUAGES, WorkspaceI18nMiddleware
from bot.scheduler import JobSpec
from bot.services.channels import record_channel_followers
from bot.services.delivery import Outbox, PacedSender, ReplyOrderMiddleware, SendBudget
from bot.services.digest import run_digest_tick
from bot.services.factory import Services, create_services, utc_now
from bot.services.rendering import ChartRenderer
from bot.texts import COMMANDS
from handlers import create_routers
from handlers.middleware import WorkspaceMiddleware
from handlers.permissions import AdminCache
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


def create_dispatcher(
    storage: Storage,
    settings: Settings,
    i18n: I18n | None = None,
    *,
    renderer: ChartRenderer | None = None,
    sender: PacedSender | None = None,
    clock: Callable[[], datetime] = utc_now,
    services: Services | None = None,
    fsm_storage: BaseStorage | None = None,
    events_isolation: BaseEventIsolation | None = None,
) -> Dispatcher:
    """The dispatcher with every router and dependency; tests call it too.

    The services are built here (`create_services`) unless passed in; `fsm_storage`
    and `events_isolation` default to aiogram's in-memory ones (bot/cluster.py gives
    the Redis ones when REDIS_URL is set).
    """
    if services is None:
        services = create_services(
            storage, settings, i18n, renderer=renderer, sender=sender, clock=clock
        )
    dp = Dispatcher(storage=fsm_storage, events_isolation=events_isolation)
    dp["services"] = services
    # Dependencies by name: handlers receive these as typed parameters.
    dp["storage"] = services.storage
    dp["settings"] = services.settings
    dp["admins"] = AdminCache(ttl=settings.admin_cache_seconds)
    dp["default_timezone"] = settings.default_timezone
    dp["i18n"] = services.i18n
    dp["renderer"] = services.renderer
    dp["sender"] = services.sender
    dp["clock"] = services.clock
    dp["data_changed"] = services.data_changed
    dp["alerts"] = services.alerts
    dp["goal_alerts"] = services.goal_alerts
    dp["digest_cache"] = services.digest_cache
    # First of ours, before anything awaits: an update's place in its chat's
    # outgoing queue is the order it arrived in.
    dp.update.outer_middleware(ReplyOrderMiddleware())
    dp.update.outer_middleware(WorkspaceMiddleware(storage, settings.default_timezone))
    WorkspaceI18nMiddleware(services.i18n).setup(dp)
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
# Two instances: a tick during a long run starts and returns at once
# (`run_digest_tick`), instead of APScheduler warning "maximum number of running
# instances reached" every minute of the run.
DIGEST_JOB_OPTIONS: dict[str, Any] = {
    "coalesce": True,
    "misfire_grace_time": 30,
    "max_instances": 2,
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


def create_jobs(bot: Bot, services: Services, *, cluster: bool = False) -> list[JobSpec]:
    """The periodic jobs; each body is a plain async function tested on its own.

    `cluster`: the digest job runs in every process over leased batches (`everywhere`);
    the others run in the scheduler leader only (bot/leader.py)."""
    jobs: list[JobSpec] = []
    settings = services.settings
    # Alerts: hourly, so a new week is judged soon after it starts in every time
    # zone and a snooze ends on time; ALERTS_CHECK_SECONDS overrides (tests).
    alert_seconds = settings.alerts_check_seconds
    alert_trigger = (
        IntervalTrigger(seconds=alert_seconds) if alert_seconds > 0 else CronTrigger(minute=7)
    )
    jobs.append(JobSpec("alerts", partial(services.alerts.run_all, bot), alert_trigger))
    jobs.append(JobSpec("goal_alerts", partial(services.goal_alerts.run_all, bot), alert_trigger))
    lease = timedelta(seconds=settings.digest_lease_seconds) if cluster else None
    # Every minute: the database says which digests are due (bot/scheduler.py).
    # DIGEST_TICK_SECONDS overrides (fault tests kill the bot in the middle of a run).
    jobs.append(
        JobSpec(
            "digest",
            partial(run_digest_tick, services.digest_job(bot, lease=lease)),
            digest_trigger(settings.digest_tick_seconds),
            options=DIGEST_JOB_OPTIONS,
            everywhere=cluster,
        )
    )
    # Daily: member counts of linked Telegram channels as `followers`
    # (bot/services/channels.py); 20:50 UTC is 23:50 in Moscow, the default time zone,
    # so the count is the day's last.
    jobs.append(
        JobSpec(
            "channel_followers",
            partial(
                record_channel_followers,
                bot,
                services.storage,
                services.clock,
                services.data_changed,
            ),
            CronTrigger(hour=20, minute=50, timezone="UTC"),
        )
    )
    return jobs
