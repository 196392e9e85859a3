"""/goal, /goals (with delete buttons) and /forecast.

A goal's progress is the KPI of the goal's period so far, computed by the same KPI
functions as every answer (`storage.metrics.period_data` → `kpi.kpis`), then judged by
`kpi.goals.progress`. Setting and deleting goals is for chat administrators; anyone may
look. A forecast is the KPI by complete ISO week (the same weekly figures as the digest's
sparklines, `storage.metrics.aggregate` over the weeks) fed to `kpi.forecast`.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Callable
from datetime import date, datetime
from typing import Self
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.i18n import use_currency
from bot.services.delivery import Outcome, PacedSender
from bot.services.insights import goal_progress, unit_of
from bot.texts import code
from handlers import insights_texts as t
from handlers.filters import ButtonInt, born, with_born
from handlers.permissions import AdminOnly
from handlers.replies import current_language, split_text
from kpi.accounts import looks_like_account, normalize_account
from kpi.forecast import Forecast
from kpi.goals import MAX_GOALS, GoalError, parse_goal
from kpi.kpis import KPI_FUNCTIONS, KPI_KEYS, resolve_kpi
from kpi.projections import first_forecast_day, history_buckets, series_forecast
from storage import Storage
from storage.records import Workspace

log = logging.getLogger(__name__)

GOAL_KPIS: tuple[str, ...] = tuple(k for k in KPI_KEYS if k in KPI_FUNCTIONS)
DEFAULT_FORECAST_WEEKS = 4
MAX_FORECAST_WEEKS = 12


class GoalButton(CallbackData, prefix="goal"):
    """`a`: x = delete, a = switch the "at risk" alert; `g`: the goal id.
    "goal:x:123" is far within 64 bytes."""

    a: str
    g: ButtonInt
    b: ButtonInt = 0  # the goal's creation time (handlers.filters.born): ids are reused

    @classmethod
    def unpack(cls, value: str) -> Self:
        return super().unpack(with_born(value, cls.__separator__, len(cls.model_fields)))


def kpi_list() -> str:
    return ", ".join(code(k) for k in GOAL_KPIS)


def local_today(workspace: Workspace, clock: Callable[[], datetime]) -> date:
    return clock().astimezone(ZoneInfo(workspace.timezone)).date()


async def goals_view(
    storage: Storage, workspace: Workspace, today: date, lang: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    goals = await storage.goals.list_goals(workspace.id)
    if not goals:
        return t.goals_empty(), None
    blocks = [t.goals_title(len(goals))]
    buttons = []
    for goal in goals:
        unit = unit_of(goal.spec.kpi)
        p = await goal_progress(storage, workspace, goal, today)
        blocks.append(t.goal_block(goal.spec, p, unit, lang))
        buttons.append(
            [
                InlineKeyboardButton(
                    text=t.alert_button(goal.alert),
                    callback_data=GoalButton(a="a", g=goal.id, b=born(goal.created_at)).pack(),
                ),
                InlineKeyboardButton(
                    text=t.delete_button(goal.spec, unit, lang),
                    callback_data=GoalButton(a="x", g=goal.id, b=born(goal.created_at)).pack(),
                ),
            ]
        )
    return "\n\n".join(blocks), InlineKeyboardMarkup(inline_keyboard=buttons)


async def cmd_goal(
    message: Message,
    command: CommandObject,
    storage: Storage,
    workspace: Workspace,
    clock: Callable[[], datetime],
) -> None:
    lang = current_language()
    today = local_today(workspace, clock)
    try:
        spec = parse_goal(command.args or "", today)
    except GoalError as exc:
        if exc.code == "usage":
            await message.reply(t.goal_usage())
        else:
            await message.reply(t.goal_error(exc.code, exc.token, kpi_list()))
        return
    account_id = None
    if spec.account is not None:
        account = await storage.workspaces.find_account(workspace.id, spec.account)
        if account is None:
            await message.reply(t.unknown_account(spec.account))
            return
        account_id = account.id
    existing = await storage.goals.list_goals(workspace.id)
    replaces = any(
        g.spec.kpi == spec.kpi
        and g.spec.period_kind == spec.period_kind
        and g.account_id == account_id
        and (g.spec.start, g.spec.end) == (spec.start, spec.end)
        for g in existing
    )
    if len(existing) >= MAX_GOALS and not replaces:
        await message.reply(t.too_many_goals(MAX_GOALS))
        return
    goal = await storage.goals.add_goal(workspace.id, spec, account_id, clock())
    p = await goal_progress(storage, workspace, goal, today)
    text = t.goal_saved() + "\n" + t.goal_block(goal.spec, p, unit_of(spec.kpi), lang)
    await message.answer(text)


async def cmd_goals(
    message: Message,
    storage: Storage,
    workspace: Workspace,
    clock: Callable[[], datetime],
) -> None:
    text, keyboard = await goals_view(
        storage, workspace, local_today(workspace, clock), current_language()
    )
    parts = split_text(text)
    for i, part in enumerate(parts):
        # The buttons go with the last part, under the goals they delete.
        await message.answer(part, reply_markup=keyboard if i == len(parts) - 1 else None)


async def on_goal_button(
    query: CallbackQuery,
    callback_data: GoalButton,
    storage: Storage,
    bot: Bot,
    workspace: Workspace | None,
    clock: Callable[[], datetime],
) -> None:
    # Looked up in the workspace of the chat where the button was pressed: a forged id
    # of another chat's goal finds nothing here.
    goal = (
        await storage.goals.get_goal(workspace.id, callback_data.g)
        if workspace is not None and query.message is not None
        else None
    )
    if (
        goal is None
        or workspace is None
        or query.message is None
        or callback_data.b not in (0, born(goal.created_at))  # a deleted goal's reused id
    ):
        await query.answer(t.goal_gone(), show_alert=True)
        return
    if callback_data.a not in ("x", "a"):
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    lang = current_language()
    target = t.goal_target(goal.spec, unit_of(goal.spec.kpi), lang)
    if callback_data.a == "a":
        await storage.goals.set_alert(workspace.id, goal.id, not goal.alert)
        await query.answer(t.alert_switched(target, not goal.alert))
    else:
        await storage.goals.delete_goal(workspace.id, goal.id)
        await query.answer(t.goal_deleted(target))
    text, keyboard = await goals_view(storage, workspace, local_today(workspace, clock), lang)
    await bot.edit_message_text(
        split_text(text)[0],
        chat_id=workspace.chat_id,
        message_id=query.message.message_id,
        reply_markup=keyboard,
    )


# --------------------------------------------------------------------------- goal alerts


class GoalAlerts:
    """The "goal at risk" alert: off by default, switched per goal with 🔔 in /goals.

    A goal is at risk when it is off pace (counters) or off track (ratios) with at most a
    third of its period left (`kpi.goals.progress`). Checked after every data change and
    hourly; the alert fires once (ok → firing, a compare-and-set in storage, so two runs
    at once send one message) and goes back to ok quietly when the goal is no longer at
    risk, so it can warn again the next period.
    """

    def __init__(
        self, storage: Storage, sender: PacedSender, clock: Callable[[], datetime], i18n: I18n
    ) -> None:
        self.storage = storage
        self.sender = sender
        self.clock = clock
        self.i18n = i18n

    async def on_data_changed(
        self, bot: Bot, workspace: Workspace, first: date, last: date
    ) -> None:
        await self.check(bot, workspace)

    async def run_all(self, bot: Bot) -> int:
        """Every workspace with a goal alert on; one failing workspace never stops the run."""
        sent = 0
        for workspace_id in await self.storage.goals.workspaces_with_goal_alerts():
            try:
                workspace = await self.storage.workspaces.get(workspace_id)
                if workspace is not None and workspace.active:
                    sent += await self.check(bot, workspace)
            except Exception:
                log.exception("goal alert check failed for workspace %s", workspace_id)
        return sent

    async def check(self, bot: Bot, workspace: Workspace) -> int:
        """Fire or clear the workspace's goal alerts; returns the messages sent."""
        today = local_today(workspace, self.clock)
        sent = 0
        for goal in await self.storage.goals.list_goals(workspace.id):
            if not goal.alert:
                continue
            p = await goal_progress(self.storage, workspace, goal, today)
            if not p.at_risk:
                if goal.alert_state == "firing":
                    await self.storage.goals.move_alert(workspace.id, goal.id, "firing", "ok")
                continue
            if goal.alert_state != "ok" or not await self.storage.goals.move_alert(
                workspace.id, goal.id, "ok", "firing"
            ):
                continue
            lang = workspace.own_language or self.i18n.current_locale
            with self.i18n.context(), self.i18n.use_locale(lang), use_currency(workspace.currency):
                text = t.goal_at_risk(goal.spec, p, unit_of(goal.spec.kpi), lang)
            delivery = await self.sender.send(
                workspace.chat_id,
                workspace.chat_type != "private",
                lambda text=text: bot.send_message(workspace.chat_id, text),  # type: ignore[misc]
            )
            if delivery.outcome is Outcome.SENT:
                sent += 1
                continue
            # Not delivered: back to ok, so a later run tries again.
            await self.storage.goals.move_alert(workspace.id, goal.id, "firing", "ok")
            if delivery.outcome is Outcome.BLOCKED:
                await self.storage.workspaces.set_active(workspace.chat_id, False)
                break
        return sent


# --------------------------------------------------------------------------- forecasts


async def cmd_forecast(
    message: Message,
    command: CommandObject,
    storage: Storage,
    workspace: Workspace,
    clock: Callable[[], datetime],
) -> None:
    words = (command.args or "").split()
    if not words:
        await message.reply(t.forecast_usage(kpi_list()))
        return
    kpi = resolve_kpi(words[0])
    if kpi is None or kpi not in KPI_FUNCTIONS:
        intro = _("I don't know the KPI “{value}”.").format(value=html.escape(words[0][:64]))
        await message.reply(f"{intro}\n{t.forecast_usage(kpi_list())}")
        return
    horizon = DEFAULT_FORECAST_WEEKS
    account = None
    for word in words[1:]:
        if word.isdigit() and horizon == DEFAULT_FORECAST_WEEKS:
            horizon = int(word)
            if not 1 <= horizon <= MAX_FORECAST_WEEKS:
                await message.reply(t.forecast_bad_weeks(word))
                return
        elif account is None and (looks_like_account(word) or normalize_account(word)):
            name = normalize_account(word)
            account = await storage.workspaces.find_account(workspace.id, name) if name else None
            if account is None:
                await message.reply(t.unknown_account(word))
                return
        else:
            await message.reply(t.forecast_bad_weeks(word))
            return
    lang = current_language()
    today = local_today(workspace, clock)
    buckets = history_buckets(today, "week")
    history = await storage.metrics.aggregate(
        workspace.id, buckets, account_id=account.id if account else None, margin=workspace.margin
    )
    result = await asyncio.to_thread(series_forecast, history, kpi, "week", horizon)
    if not isinstance(result, Forecast):
        await message.answer(t.forecast_not_enough(kpi, result))
        return
    first = first_forecast_day(today, "week")
    text = t.forecast_answer(
        kpi, account.name if account else None, result, first, unit_of(kpi), lang
    )
    await message.answer(text)


def create_router() -> Router:
    router = Router(name="goals")
    router.message.register(cmd_goal, Command("goal", magic=F.args), AdminOnly())
    router.message.register(cmd_goal, Command("goal"))
    router.message.register(cmd_goals, Command("goals"))
    router.message.register(cmd_forecast, Command("forecast"))
    router.callback_query.register(on_goal_button, GoalButton.filter(F.g > 0), AdminOnly())
    return router
