"""The alert runner: evaluates a workspace's rules after data changes and on a
schedule, and delivers what they say (handlers/alerts.py has /alert, /alerts and
the buttons; the words of an alert are there too)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.types import BufferedInputFile, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n

from bot.i18n import use_currency
from bot.services.delivery import Delivery, Outcome, PacedSender
from bot.services.rendering import ChartRenderer
from handlers.alerts import (
    alert_keyboard,
    alert_text,
    chart_spec,
    plain_text,
    recovery_text,
    spec_of,
)
from handlers.replies import CAPTION_LIMIT
from kpi.alerts import (
    Action,
    Evaluation,
    RuleSpec,
    Status,
    decide,
    evaluate,
    evaluation_window,
    measure,
    recent_weeks,
    touches,
)
from kpi.charts import render_line_chart
from kpi.models import Period, PeriodData
from storage import Storage
from storage.alerts import AlertRule
from storage.records import Workspace

log = logging.getLogger(__name__)


class AlertRunner:
    """Evaluates a workspace's rules and delivers what they say.

    Used after every import, /log and /undo (`on_data_changed`, subscribed to
    `DataChanged`), after `/alert` adds a rule, and by the scheduled job
    (`run_all`). Running it twice in a row sends nothing new: the state machine
    in storage only lets each transition happen once.
    """

    def __init__(
        self,
        storage: Storage,
        renderer: ChartRenderer,
        sender: PacedSender,
        clock: Callable[[], datetime],
        i18n: I18n,
    ) -> None:
        self.storage = storage
        self.renderer = renderer
        self.sender = sender
        self.clock = clock
        self.i18n = i18n

    def today(self, workspace: Workspace) -> date:
        return self.clock().astimezone(ZoneInfo(workspace.timezone)).date()

    @contextmanager
    def _locale(self, workspace: Workspace) -> Iterator[str]:
        # Inside an update the i18n middleware already chose the user's language;
        # in the scheduled job it is the default one.
        lang = workspace.own_language or self.i18n.current_locale
        with self.i18n.context(), self.i18n.use_locale(lang), use_currency(workspace.currency):
            yield lang

    async def on_data_changed(
        self, bot: Bot, workspace: Workspace, first: date, last: date
    ) -> None:
        """Re-evaluate after a data change, unless it missed every week the rules read."""
        if not touches(evaluation_window(self.today(workspace)), first, last):
            return
        await self.evaluate_workspace(bot, workspace)

    async def run_all(self, bot: Bot) -> int:
        """The scheduled check of every active workspace with a rule on; returns messages sent.
        One failing workspace never stops the run."""
        sent = 0
        for workspace_id in await self.storage.alerts.workspaces_to_check():
            try:
                workspace = await self.storage.workspaces.get(workspace_id)
                if workspace is not None and workspace.active:
                    sent += await self.evaluate_workspace(bot, workspace)
            except Exception:
                log.exception("alert check failed for workspace %s", workspace_id)
        return sent

    async def _weeks(
        self, workspace: Workspace, weeks: Sequence[Period], account_id: int | None
    ) -> list[PeriodData]:
        # The one aggregation every KPI answer uses: a week's value here is the
        # value /report gives for that week.
        return await self.storage.metrics.aggregate(
            workspace.id, weeks, account_id=account_id, margin=workspace.margin
        )

    async def statuses(self, workspace: Workspace, rules: Sequence[AlertRule]) -> dict[int, Status]:
        """How each rule reads the latest complete week right now (for /alerts)."""
        weeks = recent_weeks(self.today(workspace))
        data: dict[int | None, list[PeriodData]] = {}
        out: dict[int, Status] = {}
        for rule in rules:
            key = rule.account_id
            if key not in data:
                data[key] = await self._weeks(workspace, weeks, key)
            out[rule.id] = evaluate(spec_of(rule), [measure(rule.kpi, d) for d in data[key]]).status
        return out

    async def evaluate_workspace(
        self, bot: Bot, workspace: Workspace, *, rule_ids: Collection[int] | None = None
    ) -> int:
        """Evaluate the workspace's rules that are on; returns the messages sent."""
        rules = [
            r
            for r in await self.storage.alerts.list_rules(workspace.id)
            if r.enabled and (rule_ids is None or r.id in rule_ids)
        ]
        if not rules:
            return 0
        now = self.clock()
        weeks = recent_weeks(self.today(workspace))
        data: dict[int | None, list[PeriodData]] = {}
        sent = 0
        for rule in rules:
            key = rule.account_id
            if key not in data:
                data[key] = await self._weeks(workspace, weeks, key)
            spec = spec_of(rule)
            ev = evaluate(spec, [measure(rule.kpi, d) for d in data[key]])
            action = decide(
                rule.state, ev, enabled=rule.enabled, snoozed_until=rule.snoozed_until, now=now
            )
            if action is Action.NONE:
                continue
            period = (ev.week.start, ev.week.end)
            if action is Action.FIRE:
                event_id = await self.storage.alerts.fire(
                    workspace.id, rule.id, now=now, value=ev.value, baseline=ev.baseline,
                    period=period,
                )  # fmt: skip
            else:
                event_id = await self.storage.alerts.recover(
                    workspace.id, rule.id, now=now, value=ev.value, baseline=ev.baseline,
                    period=period,
                )  # fmt: skip
            if event_id is None or action is Action.RECOVER_SILENTLY:
                continue  # another run made this transition, or the rule is snoozed
            if action is Action.FIRE and await self.storage.alerts.fired_for_week(
                workspace.id, rule.id, period, besides=event_id
            ):
                # Imports moved this week's figures back and forth across the limit:
                # the team already heard about this breach once.
                log.info("alert rule %s: week %s already reported", rule.id, period)
                continue
            log.info("alert rule %s of workspace %s: %s", rule.id, workspace.id, action.value)
            if action is Action.FIRE:
                delivery = await self._send_alert(bot, workspace, rule, ev)
            else:
                lasted = now - rule.state_since if rule.state_since else None
                delivery = await self._send_recovery(bot, workspace, spec, ev, lasted)
            if delivery.outcome is Outcome.SENT:
                sent += 1
                continue
            # Not delivered: undo the transition so a later run tries again.
            await self.storage.alerts.revert(
                workspace.id, rule.id, event_id, rule.state, rule.state_since
            )
            if delivery.outcome is Outcome.BLOCKED:
                await self.storage.workspaces.set_active(workspace.chat_id, False)
                log.info("workspace %s is inactive: the chat blocked the bot", workspace.id)
                break
            log.warning(
                "alert for rule %s not delivered: %s %s", rule.id, delivery.outcome, delivery.error
            )
        return sent

    async def _send_alert(
        self, bot: Bot, workspace: Workspace, rule: AlertRule, ev: Evaluation
    ) -> Delivery:
        spec = spec_of(rule)
        with self._locale(workspace) as lang:
            text = alert_text(spec, ev, lang)
            keyboard = alert_keyboard(rule, ev.week)
            chart = chart_spec(spec, ev, lang)
        try:
            png: bytes | None = await self.renderer.render(render_line_chart, chart)
        except Exception:
            log.exception("alert chart for rule %s failed; sending text only", rule.id)
            png = None
        return await self._deliver(bot, workspace, text, keyboard, png)

    async def _send_recovery(
        self,
        bot: Bot,
        workspace: Workspace,
        spec: RuleSpec,
        ev: Evaluation,
        lasted: timedelta | None,
    ) -> Delivery:
        with self._locale(workspace) as lang:
            text = recovery_text(spec, ev, lasted, lang)
        return await self._deliver(bot, workspace, text, None, None)

    async def _deliver(
        self,
        bot: Bot,
        workspace: Workspace,
        text: str,
        keyboard: InlineKeyboardMarkup | None,
        png: bytes | None,
    ) -> Delivery:
        """Photo with the text as caption when it fits, else photo then text; plain text
        when Telegram rejects the HTML."""
        chat_id, group = workspace.chat_id, workspace.is_group

        async def send(html_mode: bool) -> Delivery:
            body = text if html_mode else plain_text(text)
            mode = "HTML" if html_mode else None
            if png is not None:
                photo = BufferedInputFile(png, filename="alert.png")
                if len(plain_text(text)) <= CAPTION_LIMIT:
                    return await self.sender.send(
                        chat_id, group,
                        lambda: bot.send_photo(
                            chat_id, photo, caption=body, parse_mode=mode,
                            reply_markup=keyboard, disable_notification=False,
                        ),
                    )  # fmt: skip
                first = await self.sender.send(
                    chat_id, group,
                    lambda: bot.send_photo(chat_id, photo, disable_notification=False),
                )  # fmt: skip
                if first.outcome is not Outcome.SENT:
                    return first
            return await self.sender.send(
                chat_id, group,
                lambda: bot.send_message(
                    chat_id, body, parse_mode=mode, reply_markup=keyboard,
                    disable_notification=False,
                ),
            )  # fmt: skip

        delivery = await send(True)
        if delivery.outcome is Outcome.FAILED and "can't parse entities" in (delivery.error or ""):
            log.warning(
                "Telegram rejected the alert's HTML (%s); sending plain text", delivery.error
            )
            delivery = await send(False)
        return delivery
