"""/alert, /alerts, the alert buttons and the words of an alert; the runner that
evaluates rules after data changes and on a schedule is bot/services/alerts.py.

The rule grammar, the weekly evaluation and the state machine live in
`kpi.alerts` (pure); this module reads the data, sends the messages and keeps
the state in storage. Alerts are sent through the shared `PacedSender`, loudly
(`disable_notification=False`): an alert is meant to be noticed.
"""

from __future__ import annotations

import html
import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Literal, Self
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
)
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.texts import bold
from handlers import kpi_texts
from handlers.filters import ButtonInt, born, with_born
from handlers.kpi_texts import format_period
from handlers.permissions import AdminOnly
from handlers.replies import (
    currency_mismatch_text,
    current_currency,
    current_language,
)
from kpi.alerts import (
    ALERT_KPIS,
    BASELINE_WEEKS,
    MAX_RULES,
    UNITS,
    VOLUME,
    Evaluation,
    RuleError,
    RuleSpec,
    Status,
    expression,
    higher_is_better,
    is_bad,
    measure,
    parse_rule,
    relative_change,
)
from kpi.charts import LineChartSpec
from kpi.models import Period
from kpi.numbers import currencies_in, format_change, format_moment, format_number, format_value
from storage import Storage
from storage.alerts import AlertRule
from storage.records import Workspace

if TYPE_CHECKING:  # the runner imports this module's words
    from bot.services.alerts import AlertRunner

log = logging.getLogger(__name__)

ChartFormat = Literal["percent", "money", "count", "duration"]
_CHART_FORMATS: dict[str, ChartFormat] = {
    "percent": "percent",
    "money": "money",
    "count": "count",
    "duration": "duration",
}
SNOOZE_DAY = timedelta(days=1)
SNOOZE_WEEK = timedelta(days=7)


ADMIN_ACTIONS = frozenset({"d", "w", "m", "t", "x"})


class AlertButton(CallbackData, prefix="al"):
    """`a`: d = snooze a day, w = a week, m = mute, r = week report, t = switch, x = delete.
    `r`: the rule id; `w`: the week's Monday as an ordinal (report only); `b`: when the
    rule was made."""

    a: str
    r: ButtonInt
    w: ButtonInt = 0
    b: ButtonInt = 0  # the rule's creation time (handlers.filters.born): ids are reused

    @classmethod
    def unpack(cls, value: str) -> Self:
        return super().unpack(with_born(value, cls.__separator__, len(cls.model_fields)))


# --------------------------------------------------------------------------- words


def kpi_name(kpi: str) -> str:
    """A rule's KPI (`ALERT_KPIS`: the registry's period KPIs and CTR) by its short name."""
    if kpi not in ALERT_KPIS:
        raise KeyError(kpi)
    return kpi_texts.kpi_name(kpi, short=True)


def _minimum_text(kpi: str, minimum: float | None, lang: str) -> str:
    if minimum is None or minimum <= 0:
        return _("no minimum volume")
    n = format_number(minimum, lang)
    what = VOLUME[kpi][0]
    k = int(minimum)  # the plural form follows the whole number
    texts: dict[str, Callable[[], str]] = {
        "sessions": lambda: ngettext(
            "at least {n} session a week", "at least {n} sessions a week", k
        ),
        "new_customers": lambda: ngettext(
            "at least {n} new customer a week", "at least {n} new customers a week", k
        ),
        "link_clicks": lambda: ngettext(
            "at least {n} link click a week", "at least {n} link clicks a week", k
        ),
        "reach": lambda: _("reach of at least {n} a week"),
        "impressions": lambda: ngettext(
            "at least {n} impression a week", "at least {n} impressions a week", k
        ),
        "cost": lambda: _("cost of at least {n} a week"),
        "visitors": lambda: ngettext(
            "at least {n} visitor a week", "at least {n} visitors a week", k
        ),
        "pageviews": lambda: ngettext(
            "at least {n} page view a week", "at least {n} page views a week", k
        ),
        "followers": lambda: ngettext("at least {n} follower", "at least {n} followers", k),
        "mentions": lambda: ngettext(
            "at least {n} mention a week", "at least {n} mentions a week", k
        ),
    }
    return texts[what]().format(n=n)


def _value(kpi: str, value: float, lang: str) -> str:
    return format_value(value, UNITS[kpi], lang, current_currency())


def describe(spec: RuleSpec, lang: str) -> str:
    """`Bounce rate +20% vs the median of 4 weeks`, `ROI < 100%`, with the account."""
    name = kpi_name(spec.kpi)
    if spec.kind == "spike":
        change = format_change(spec.value if spec.op == "+" else -spec.value, lang)
        text = _("{kpi} {change} vs the median of 4 weeks").format(kpi=name, change=change)
    else:
        text = html.escape(f"{name} {spec.op} {_value(spec.kpi, spec.value, lang)}")
    scope = html.escape(spec.account) if spec.account else _("all accounts")
    return f"{text} · {scope}"


def week_text(period: Period, lang: str) -> str:
    """`16–22 ноя 2026`, `Nov 16–22, 2026`: the one date format (handlers/kpi_texts.py)."""
    return format_period(period, lang)


def duration_text(delta: timedelta) -> str:
    minutes = max(1, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("{days} d {hours} h").format(days=days, hours=hours)
    if hours:
        return _("{hours} h {minutes} min").format(hours=hours, minutes=minutes)
    return _("{minutes} min").format(minutes=minutes)


def same_rule(a: RuleSpec, b: RuleSpec) -> bool:
    """Rules that watch the same thing the same way (a default minimum volume is the
    KPI's default, however it was written; account names are case-blind)."""
    return (
        (a.kpi, a.kind, a.op, a.effective_min_volume)
        == (b.kpi, b.kind, b.op, b.effective_min_volume)
        and math.isclose(a.value, b.value)
        and (a.account or "").casefold() == (b.account or "").casefold()
    )


def spec_of(rule: AlertRule) -> RuleSpec:
    return RuleSpec(rule.kpi, rule.kind, rule.op, rule.value, rule.min_volume, rule.account)


def _local(moment: datetime, workspace: Workspace) -> str:
    """`26 ноя 2026 12:00`, `Nov 26, 2026 12:00` in the workspace's time zone."""
    local = moment.astimezone(ZoneInfo(workspace.timezone))
    return format_moment(local, current_language())


def plain_text(text: str) -> str:
    """What an HTML message shows, for the plain-text fallback and the caption limit.
    Our tags never carry user text (that is escaped), so dropping them is safe."""
    return html.unescape(re.sub(r"</?[a-z]+[^>]*>", "", text))


def examples() -> str:
    return _(
        "Examples:\n"
        "<code>/alert bounce &gt; 60%</code> — bounce rate above 60 %\n"
        "<code>/alert roi &lt; 100%</code> — ROI below 100 %\n"
        "<code>/alert cac &gt; 1500</code> — CAC above 1 500\n"
        "<code>/alert cac +25%</code> — CAC 25 % above the median of the 4 weeks before\n"
        "<code>/alert reach -30% vk:brand</code> — reach of one account 30 % below it\n"
        "<code>/alert bounce +20% min=500</code> — only weeks with 500+ sessions count\n"
        "KPIs: reach, er, conversion, growth, clicks, ctr, bounce, visitors, time, cac, "
        "mentions, roi (Russian names work too)."
    )


def rule_error_text(exc: RuleError) -> str:
    token = html.escape(exc.token[:40])
    texts = {
        "empty": _("Tell me which KPI to watch and when to alert."),
        "unknown_kpi": _("I don't know the KPI “{token}”."),
        "not_alertable": _("“{token}” is not a single number, so it can't have an alert."),
        "no_condition": _(
            "After the KPI write a condition: “&gt; 60%”, “&lt; 100%” (a threshold) "
            "or “+25%”, “-30%” (a change against the usual level)."
        ),
        "bad_number": _("“{token}” is not a number."),
        "percent_unit": _(
            "“{token}”: this KPI is not a percentage; give the threshold as a plain number."
        ),
        "currency_unit": _(
            "“{token}”: this KPI is not money; give the threshold without a currency."
        ),
        "bad_spike": _("“{token}”: a change must be from 1 % to 1000 % (a fall: up to 100 %)."),
        "bad_account": _("“{token}” is not an account name. Use platform:handle, e.g. vk:brand."),
        "bad_min": _("“{token}”: the minimum volume must be a number, e.g. min=500."),
        "extra": _("I don't understand “{token}”."),
    }
    return texts.get(exc.code, texts["extra"]).format(token=token) + "\n\n" + examples()


# --------------------------------------------------------------------------- messages


def alert_text(spec: RuleSpec, ev: Evaluation, lang: str) -> str:
    """The alert: what broke, value, baseline or threshold, change, week, account,
    the arithmetic in one line, and the rule."""
    assert ev.value is not None
    name = kpi_name(spec.kpi)
    icon = "🔴" if is_bad(spec, ev) else "🟢"
    value = _value(spec.kpi, ev.value, lang)
    if spec.kind == "spike":
        assert ev.change is not None
        change = format_change(abs(ev.change), lang).lstrip("+")
        headline = (
            _("{kpi}: {change} above the usual level")
            if ev.change >= 0
            else _("{kpi}: {change} below the usual level")
        ).format(kpi=name, change=change)
    else:
        limit = _value(spec.kpi, spec.value, lang)
        headline = (
            _("{kpi}: {value}, above the {limit} threshold")
            if spec.op == ">"
            else _("{kpi}: {value}, below the {limit} threshold")
        ).format(kpi=name, value=value, limit=limit)
    scope = html.escape(spec.account) if spec.account else _("all accounts")
    lines = [
        f"{icon} {bold(headline)}",
        _("Week {week} · {scope}").format(week=week_text(ev.week, lang), scope=scope),
    ]
    if ev.result is not None:
        math_line = f"{name} = {expression(spec.kpi, ev.result, lang, current_currency())}"
    else:
        math_line = f"{name} = {value}"
    if spec.kind == "threshold":
        math_line += "; " + _("threshold {limit}").format(limit=_value(spec.kpi, spec.value, lang))
    if ev.baseline is not None:
        part = ngettext(
            "median of the {n} week before: {baseline}",
            "median of the {n} weeks before: {baseline}",
            BASELINE_WEEKS,
        ).format(n=BASELINE_WEEKS, baseline=_value(spec.kpi, ev.baseline, lang))
        if ev.change is not None:
            part += f" → {format_change(ev.change, lang)}"
        math_line += "; " + part
    lines.append(html.escape(math_line))
    lines.append(
        _("Rule: {rule}; {minimum}.").format(
            rule=describe(spec, lang),
            minimum=_minimum_text(spec.kpi, spec.effective_min_volume, lang),
        )
    )
    return "\n".join(lines)


def recovery_text(spec: RuleSpec, ev: Evaluation, lasted: timedelta | None, lang: str) -> str:
    assert ev.value is not None
    name = kpi_name(spec.kpi)
    lines = [
        _("✅ <b>{kpi} is back to normal</b>: {value} for the week {week}.").format(
            kpi=name, value=_value(spec.kpi, ev.value, lang), week=week_text(ev.week, lang)
        )
    ]
    if ev.baseline is not None:
        lines.append(
            ngettext(
                "Median of the {n} week before: {baseline}.",
                "Median of the {n} weeks before: {baseline}.",
                BASELINE_WEEKS,
            ).format(n=BASELINE_WEEKS, baseline=_value(spec.kpi, ev.baseline, lang))
        )
    tail = _("Rule: {rule}.").format(rule=describe(spec, lang))
    if lasted is not None:
        tail += " " + _("The alert lasted {duration}.").format(duration=duration_text(lasted))
    lines.append(tail)
    return "\n".join(lines)


def alert_keyboard(rule: AlertRule, week: Period) -> InlineKeyboardMarkup:
    def button(text: str, action: str, w: int = 0) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            text=text,
            callback_data=AlertButton(a=action, r=rule.id, w=w, b=born(rule.created_at)).pack(),
        )

    return InlineKeyboardMarkup(
        inline_keyboard=[
            [button(_("🔕 Snooze 1 day"), "d"), button(_("🔕 Snooze 1 week"), "w")],
            [
                button(_("🔇 Mute rule"), "m"),
                button(_("📊 Week report"), "r", week.start.toordinal()),
            ],
        ]
    )


def chart_spec(spec: RuleSpec, ev: Evaluation, lang: str) -> LineChartSpec:
    scope = spec.account or _("all accounts")
    return LineChartSpec(
        points=tuple((m.period.start, m.value) for m in ev.history),
        title=_("{kpi} by week").format(kpi=kpi_name(spec.kpi)),
        current_label=scope,
        baseline=ev.baseline,
        baseline_label=_("median of 4 weeks") if ev.baseline is not None else "",
        threshold=spec.value if spec.kind == "threshold" else None,
        threshold_label=_("threshold") if spec.kind == "threshold" else "",
        higher_is_better=higher_is_better(spec.kpi),
        value_format=_CHART_FORMATS[UNITS[spec.kpi]],
        currency=current_currency(),
        granularity="week",
        lang=lang,
        small=True,
    )


# --------------------------------------------------------------------------- /alert, /alerts


async def cmd_alert(
    message: Message,
    command: CommandObject,
    storage: Storage,
    bot: Bot,
    workspace: Workspace,
    alerts: AlertRunner,
    clock: Callable[[], datetime],
) -> None:
    args = (command.args or "").strip()
    lang = current_language()
    if not args:
        await message.reply(
            _("Add an alert rule: /alert &lt;KPI&gt; &lt;condition&gt; [account]")
            + "\n\n"
            + examples()
        )
        return
    try:
        spec = parse_rule(args)
    except RuleError as exc:
        await message.reply(rule_error_text(exc))
        return
    other = currencies_in(args) - {current_currency()}
    if other:
        await message.reply(currency_mismatch_text(other, lang))
        return
    account_id: int | None = None
    if spec.account is not None:
        account = await storage.workspaces.find_account(workspace.id, spec.account)
        if account is None:
            await message.reply(
                _("There is no account {name} in this chat. See /account list.").format(
                    name=html.escape(spec.account)
                )
            )
            return
        account_id = account.id
    rules = await storage.alerts.list_rules(workspace.id)
    twin = next((n for n, r in enumerate(rules, 1) if same_rule(spec_of(r), spec)), None)
    if twin is not None:
        await message.reply(
            _("The same rule is already there: {n}. {rule}. See /alerts.").format(
                n=twin, rule=describe(spec_of(rules[twin - 1]), lang)
            )
        )
        return
    if len(rules) >= MAX_RULES:
        await message.reply(
            _("A chat can have up to {n} rules. Delete one in /alerts first.").format(n=MAX_RULES)
        )
        return
    rule = await storage.alerts.add_rule(
        workspace.id, kpi=spec.kpi, kind=spec.kind, op=spec.op, value=spec.value,
        min_volume=spec.min_volume, account_id=account_id, now=clock(),
    )  # fmt: skip
    await message.answer(
        "\n".join(
            (
                _("Rule added: {rule}; {minimum}.").format(
                    rule=describe(spec, lang),
                    minimum=_minimum_text(spec.kpi, spec.effective_min_volume, lang),
                ),
                _(
                    "I check the latest complete week (Monday–Sunday) after every import "
                    "and every hour, and write here once when the rule breaks and once "
                    "when it is back to normal. All rules: /alerts"
                ),
            )
        )
    )
    await alerts.evaluate_workspace(bot, workspace, rule_ids={rule.id})


def _state_text(
    rule: AlertRule, workspace: Workspace, now: datetime, status: Status | None = None
) -> str:
    if not rule.enabled:
        return _("🔇 off")
    if rule.state == "firing":
        since = rule.state_since or now
        text = _("🔴 alert since {when}").format(when=_local(since, workspace))
    elif status is Status.NO_DATA:
        # Not "✅": a week without the KPI's inputs says nothing about it.
        text = _("⚪ no data last week")
    elif status is Status.LOW_VOLUME:
        text = _("⚪ too little data last week to judge")
    elif status is Status.NO_BASELINE:
        text = _("⚪ not enough earlier weeks to compare with yet")
    else:
        text = _("✅ ok")
    if rule.snoozed_until is not None and rule.snoozed_until > now:
        text += " · " + _("🔕 snoozed until {when}").format(
            when=_local(rule.snoozed_until, workspace)
        )
    return text


def rules_view(
    rules: Sequence[AlertRule],
    workspace: Workspace,
    now: datetime,
    lang: str,
    statuses: Mapping[int, Status] | None = None,
) -> tuple[str, InlineKeyboardMarkup | None]:
    lines = [_("<b>Alert rules</b>")]
    if not rules:
        lines.append(_("No rules yet."))
    rows: list[list[InlineKeyboardButton]] = []
    for n, rule in enumerate(rules, 1):
        spec = spec_of(rule)
        lines.append(f"{n}. {describe(spec, lang)}")
        lines.append(
            f"    {_minimum_text(spec.kpi, spec.effective_min_volume, lang)} · "
            f"{_state_text(rule, workspace, now, (statuses or {}).get(rule.id))}"
        )
        toggle = _("🔇 Off {n}") if rule.enabled else _("🔔 On {n}")
        rows.append(
            [
                InlineKeyboardButton(
                    text=toggle.format(n=n),
                    callback_data=AlertButton(a="t", r=rule.id, b=born(rule.created_at)).pack(),
                ),
                InlineKeyboardButton(
                    text=_("🗑 Delete {n}").format(n=n),
                    callback_data=AlertButton(a="x", r=rule.id, b=born(rule.created_at)).pack(),
                ),
            ]
        )
    lines.append("")
    lines.append(
        _(
            "Add: <code>/alert bounce &gt; 60%</code>, <code>/alert cac +25% vk:brand</code>. "
            "Weeks run Monday–Sunday, time zone {tz}."
        ).format(tz=html.escape(workspace.timezone))
    )
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


async def cmd_alerts(
    message: Message,
    storage: Storage,
    workspace: Workspace,
    clock: Callable[[], datetime],
    alerts: AlertRunner,
) -> None:
    rules = await storage.alerts.list_rules(workspace.id)
    statuses = await alerts.statuses(workspace, rules)
    text, keyboard = rules_view(rules, workspace, clock(), current_language(), statuses)
    await message.answer(text, reply_markup=keyboard)


# --------------------------------------------------------------------------- buttons


async def _week_report(
    storage: Storage, workspace: Workspace, rule: AlertRule, week: Period, lang: str
) -> str:
    """A short read-only KPI summary of the week, against the week before."""
    scope = html.escape(rule.account) if rule.account else _("all accounts")
    lines = [_("📊 <b>Week {week}</b> · {scope}").format(week=week_text(week, lang), scope=scope)]
    current, previous = await storage.metrics.period_pair(
        workspace.id, week, account_id=rule.account_id, margin=workspace.margin
    )
    for kpi in ALERT_KPIS:
        now_m, before_m = measure(kpi, current), measure(kpi, previous)
        if now_m.value is None:
            continue
        line = f"{kpi_name(kpi)}: {_value(kpi, now_m.value, lang)}"
        change = (
            relative_change(now_m.value, before_m.value) if before_m.value is not None else None
        )
        if change is not None:
            line += " " + _("({change} vs the week before)").format(
                change=format_change(change, lang)
            )
        lines.append(html.escape(line))
    if len(lines) == 1:
        lines.append(_("No numbers for this week."))
    return "\n".join(lines)


async def on_alert_button(
    query: CallbackQuery,
    callback_data: AlertButton,
    storage: Storage,
    bot: Bot,
    workspace: Workspace | None,
    clock: Callable[[], datetime],
    alerts: AlertRunner,
) -> None:
    # The rule is looked up in the workspace of the chat where the button was
    # pressed: a forged rule id of another chat finds nothing here.
    rule = (
        await storage.alerts.get_rule(workspace.id, callback_data.r)
        if workspace is not None and query.message is not None
        else None
    )
    if (
        rule is None
        or workspace is None
        or query.message is None
        or callback_data.b not in (0, born(rule.created_at))  # a deleted rule's reused id
    ):
        await query.answer(_("This rule is not in this chat (or it was deleted)."), show_alert=True)
        return
    action = callback_data.a
    lang = current_language()
    if action == "r":
        try:
            week = Period(
                date.fromordinal(callback_data.w),
                date.fromordinal(callback_data.w) + timedelta(days=6),
            )
        except (ValueError, OverflowError):
            await query.answer(_("This button is out of date."), show_alert=True)
            return
        await query.answer()
        await bot.send_message(
            workspace.chat_id,
            await _week_report(storage, workspace, rule, week, lang),
            reply_parameters=ReplyParameters(
                message_id=query.message.message_id, allow_sending_without_reply=True
            ),
        )
        return
    if action not in ADMIN_ACTIONS:
        await query.answer(_("This button is out of date."), show_alert=True)
        return
    now = clock()
    spec = spec_of(rule)
    if action in ("d", "w"):
        until = now + (SNOOZE_DAY if action == "d" else SNOOZE_WEEK)
        await storage.alerts.snooze(workspace.id, rule.id, until)
        when = _local(until, workspace)
        await query.answer(_("Snoozed until {when}.").format(when=when))
        await bot.send_message(
            workspace.chat_id,
            _("🔕 {rule}: quiet until {when}.").format(rule=describe(spec, lang), when=when),
        )
        return
    if action == "m":
        await storage.alerts.set_enabled(workspace.id, rule.id, False)
        await query.answer(_("Rule muted."))
        await bot.send_message(
            workspace.chat_id,
            _("🔇 {rule}: muted. Switch it back on in /alerts.").format(rule=describe(spec, lang)),
        )
        return
    if action == "t":
        await storage.alerts.set_enabled(workspace.id, rule.id, not rule.enabled)
        await query.answer(_("Rule switched off.") if rule.enabled else _("Rule switched on."))
    else:
        await storage.alerts.delete_rule(workspace.id, rule.id)
        await query.answer(_("Rule deleted."))
    rules = await storage.alerts.list_rules(workspace.id)
    text, keyboard = rules_view(
        rules, workspace, now, lang, await alerts.statuses(workspace, rules)
    )
    await bot.edit_message_text(
        text, chat_id=workspace.chat_id, message_id=query.message.message_id, reply_markup=keyboard
    )
    if action == "t" and not rule.enabled:
        await alerts.evaluate_workspace(bot, workspace, rule_ids={rule.id})


def create_router() -> Router:
    router = Router(name="alerts")
    router.message.register(cmd_alert, Command("alert", magic=F.args), AdminOnly())
    router.message.register(cmd_alert, Command("alert"))
    router.message.register(cmd_alerts, Command("alerts"))
    # Snooze, mute, switch and delete are for administrators; the week's report for anyone.
    router.callback_query.register(
        on_alert_button, AlertButton.filter((F.r > 0) & F.a.in_(ADMIN_ACTIONS)), AdminOnly()
    )
    router.callback_query.register(on_alert_button, AlertButton.filter(F.r > 0))
    return router
