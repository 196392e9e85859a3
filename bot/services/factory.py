"""The services of one process, built once (`create_services`) and handed around as one
typed object: the dispatcher gets them by name (handlers take them as parameters), the
scheduled jobs get their bodies from them (bot/app.py `create_jobs`), so mypy checks
the wiring and a process can run jobs without any router."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiogram import Bot
from aiogram.utils.i18n import I18n

from bot.config import Settings
from bot.i18n import create_i18n
from bot.services.alerts import AlertRunner
from bot.services.delivery import PacedSender
from bot.services.digest import DigestJob
from bot.services.digest_cache import DigestCache, cache_directory
from bot.services.events import DataChanged
from bot.services.rendering import ChartRenderer
from handlers.goals import GoalAlerts
from storage import Storage


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Services:
    """Everything outside a single update; one instance per process."""

    storage: Storage
    settings: Settings
    i18n: I18n
    renderer: ChartRenderer
    sender: PacedSender
    clock: Callable[[], datetime]
    data_changed: DataChanged
    alerts: AlertRunner
    goal_alerts: GoalAlerts
    digest_cache: DigestCache

    def digest_job(self, bot: Bot, *, lease: timedelta | None = None) -> DigestJob:
        """What a digest run needs, from these services (`lease`: cluster mode)."""
        return DigestJob(
            bot=bot,
            storage=self.storage,
            renderer=self.renderer,
            sender=self.sender,
            i18n=self.i18n,
            cache=self.digest_cache,
            clock=self.clock,
            default_language=self.settings.default_language,
            lease=lease,
        )


def create_services(
    storage: Storage,
    settings: Settings,
    i18n: I18n | None = None,
    *,
    renderer: ChartRenderer | None = None,
    sender: PacedSender | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> Services:
    """`renderer` defaults to a thread pool (tests, small set-ups); `python -m bot` passes
    a process pool. `clock` returns the current aware UTC time."""
    i18n = i18n or create_i18n(settings.default_language)
    renderer = renderer or ChartRenderer.threads()
    sender = sender or PacedSender()
    data_changed = DataChanged()
    alerts = AlertRunner(storage, renderer, sender, clock, i18n)
    data_changed.subscribe(alerts.on_data_changed)
    goal_alerts = GoalAlerts(storage, sender, clock, i18n)
    data_changed.subscribe(goal_alerts.on_data_changed)
    return Services(
        storage=storage,
        settings=settings,
        i18n=i18n,
        renderer=renderer,
        sender=sender,
        clock=clock,
        data_changed=data_changed,
        alerts=alerts,
        goal_alerts=goal_alerts,
        # Pre-rendered dashboards as files in the data directory (bot/services/digest_cache.py).
        digest_cache=DigestCache(directory=cache_directory(settings.database_url)),
    )
