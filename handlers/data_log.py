"""/log [date] [account] metric=value …: typed numbers for one account and day.

The reply repeats exactly what was stored (day, account, each metric with its
display name and value) so a typo is seen at once, and says when a value
replaced an earlier one (re-logging a day is idempotent: the new value wins,
/undo brings the old one back).

Ready-made ratios (`bounce_rate=45%`, `avg_time_on_page=1:30`) are stored as
counters (bounces = rate × sessions) so that period KPIs stay ratios of sums.
The denominator comes from the same command, else from what is already stored
for that account and day; without either nothing is stored and the reply says
which number is needed.

Helpers shared by the other data-in handlers (/add, uploads, /undo, /export)
live here too: the workspace's local day, day and metric formatting.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import ForceReply, Message
from aiogram.utils.i18n import gettext as _

from bot.services.events import DataChanged
from bot.texts import code, metric_display_name
from handlers.kpi_texts import format_day as format_day
from handlers.kpi_texts import format_period
from handlers.permissions import AdminOnly
from handlers.replies import (
    answer_long,
    currency_mismatch_text,
    current_currency,
    current_language,
)
from kpi import logcmd as L
from kpi.datepolicy import EARLIEST_DAY, latest_data_day
from kpi.logcmd import LogError, convert_ratios, parse_log_args
from kpi.metrics import METRICS, RATIO_INPUTS, TYPED_COUNTERS, Unit
from kpi.models import Period
from kpi.numbers import (
    currencies_in,
    format_duration,
    format_money,
    format_number,
    format_percent,
)
from kpi.parsing import parse_day
from storage import Storage
from storage.records import Workspace

log = logging.getLogger(__name__)

# What /log's usage lists, in this order (the rest are accepted too).
LOG_EXAMPLE_METRICS = (*TYPED_COUNTERS, "mentions", "followers", "new_followers", "unfollows")


# ---------------------------------------------------------------- shared helpers


def local_today(workspace: Workspace, clock: Callable[[], datetime]) -> date:
    """Today in the workspace's time zone."""
    return clock().astimezone(ZoneInfo(workspace.timezone)).date()


async def read_typed_day(
    message: Message, workspace: Workspace, clock: Callable[[], datetime]
) -> date | None:
    """The past or present day a user typed in answer to a question, or None after
    replying what was wrong (and asking again)."""
    text = (message.text or "").strip()
    today = local_today(workspace, clock)
    lang = current_language()
    try:
        day = parse_day(text)
    except ValueError:
        await message.reply(
            _("“{value}” is not a date. Type it like 31.05.2024 or 2024-05-31.").format(
                value=html.escape(text[:64])
            ),
            reply_markup=ForceReply(selective=True),
        )
        return None
    if day > latest_data_day(today):
        await message.reply(
            _("{day} is in the future. Type a past date, like {example}.").format(
                day=format_day(day, lang), example=format_day(today, lang)
            ),
            reply_markup=ForceReply(selective=True),
        )
        return None
    if day < EARLIEST_DAY:
        await message.reply(
            _("{day} is before 2000-01-01: numbers are kept from 2000 on. Type another date.")
            .format(day=format_day(day, lang)),
            reply_markup=ForceReply(selective=True),
        )  # fmt: skip
        return None
    return day


def format_days(first: date, last: date, lang: str) -> str:
    """`1–31 мая 2024`, `May 1–31, 2024`: the one date format of every message."""
    return format_period(Period(first, last), lang)


def metric_label(name: str, lang: str) -> str:
    """The metric's display name, capitalised for the start of a line."""
    if name == "bounce_rate":
        text = _("bounce rate")
    elif name == "avg_time_on_page":
        text = _("average time on page")
    elif name == "avg_session_duration":
        text = _("average visit duration")
    else:
        text = metric_display_name(name)
    return text[:1].upper() + text[1:]


def format_metric(name: str, value: float, lang: str) -> str:
    """A stored value as the user reads it: money with two decimals, seconds as h:mm:ss."""
    metric = METRICS.get(name)
    if metric is not None and metric.unit is Unit.MONEY:
        return format_money(value, lang, current_currency())
    if metric is not None and metric.unit is Unit.SECONDS:
        return format_duration(value)
    return format_number(value, lang)


def metric_names_line(lang: str) -> str:
    return ", ".join(
        f"{code(name)} ({html.escape(metric_display_name(name))})" for name in LOG_EXAMPLE_METRICS
    )


# ---------------------------------------------------------------- /log


def _usage() -> str:
    lang = current_language()
    return "\n".join(
        (
            _("<b>/log</b> records numbers for one day and one account:"),
            _("<code>/log [date] [account] metric=value …</code>"),
            "",
            _("Examples:"),
            _("<code>/log reach=12000 likes=340</code> — today, the default account"),
            _("<code>/log yesterday vk:brand reach=12 000 comments=45</code>"),
            _("<code>/log 31.05.2024 site sessions=1200 bounce_rate=45%</code>"),
            _("<code>/log охват=12000 лайки=340</code> — Russian names work too"),
            "",
            _("Date: today, yesterday, 2024-05-31 or 31.05.2024. Account: vk:brand, site, …"),
            _("Metrics: {names}.").format(names=metric_names_line(lang)),
            _(
                "Ratios are converted: bounce_rate=45% becomes bounces from the sessions "
                "of that day; avg_time_on_page=1:30 becomes time on page from pageviews."
            ),
            _("avg_session_duration=2:30 (time on site per visit) becomes time from sessions."),
        )
    )


def log_error_text(exc: LogError) -> str:
    """One clear sentence naming the token, and an example of what works."""
    token = html.escape(exc.token[:64])
    messages = {
        L.NO_VALUES: _("“{token}”: no numbers to record. Write them as metric=value."),
        L.UNKNOWN_METRIC: _("“{token}” is not a metric I know."),
        L.UNKNOWN_TOKEN: _("“{token}” is neither a date, an account nor metric=value."),
        L.BAD_VALUE: _("“{token}” is not a number."),
        L.EMPTY_VALUE: _("“{token}” has no value: write it as metric=value."),
        L.NEGATIVE: _("“{token}”: the value cannot be negative."),
        L.OUT_OF_RANGE: _("“{token}”: a percentage cannot be above 100."),
        L.DUPLICATE: _("“{token}” is given twice: give each metric once."),
        L.BAD_DATE: _("“{token}” is not a date."),
        L.FUTURE_DATE: _("“{token}” is in the future: numbers can only be logged for past days."),
        L.TOO_EARLY: _("“{token}” is before 2000-01-01: numbers are kept from 2000 on."),
        L.TWO_DATES: _("“{token}”: give one date per command."),
        L.TWO_ACCOUNTS: _("“{token}”: give one account per command."),
    }
    hints = {
        L.UNKNOWN_METRIC: _("Metrics: {names}.").format(
            names=metric_names_line(current_language())
        ),
        L.BAD_VALUE: _("Numbers: 12000, 12 000, 1,234.5, 12,5 or 45%."),
        L.BAD_DATE: _("Dates: today, yesterday, 2024-05-31 or 31.05.2024."),
        L.FUTURE_DATE: _("Dates: today, yesterday, 2024-05-31 or 31.05.2024."),
        L.TOO_EARLY: _("Dates: today, yesterday, 2024-05-31 or 31.05.2024."),
        L.UNKNOWN_TOKEN: _("Accounts look like vk:brand or site; dates like 31.05.2024."),
    }
    lines = [messages.get(exc.code, _("“{token}” cannot be used.")).format(token=token)]
    if exc.code in hints:
        lines.append(hints[exc.code])
    lines.append(
        _("Example: <code>/log 31.05.2024 vk:brand reach=12000 likes=340</code> (all: /log)")
    )
    return "\n".join(lines)


async def cmd_log(
    message: Message,
    command: CommandObject,
    storage: Storage,
    bot: Bot,
    workspace: Workspace,
    clock: Callable[[], datetime],
    data_changed: DataChanged,
) -> None:
    lang = current_language()
    args = command.args or ""
    if not args.strip():
        await answer_long(message, _usage())
        return
    other = currencies_in(args) - {current_currency()}
    if other:
        await message.reply(currency_mismatch_text(other, lang))
        return
    today = local_today(workspace, clock)
    try:
        request = parse_log_args(args, today)
    except LogError as exc:
        if exc.code == L.EMPTY:
            await answer_long(message, _usage())
        else:
            await message.reply(log_error_text(exc))
        return
    account_name = request.account
    if account_name is None:
        account_name = (await storage.workspaces.default_account(workspace.id)).name
    account = await storage.workspaces.find_account(workspace.id, account_name)
    stored: dict[str, float] = {}
    if account is not None:
        day_data = await storage.metrics.period_data(
            workspace.id, Period(request.day, request.day), account_id=account.id
        )
        stored = dict(day_data.sums)
        if day_data.followers_end is not None and day_data.metric_days.get("followers"):
            stored["followers"] = day_data.followers_end
    values, waiting = convert_ratios(request.values, request.ratios)
    derived: dict[str, str] = {}  # counter → the ratio it came from
    for ratio, rate in request.ratios.items():
        spec = RATIO_INPUTS[ratio]
        if spec.counter in request.values:
            continue
        derived[spec.counter] = ratio
        if ratio not in waiting:
            continue
        denominator = stored.get(spec.denominator)
        if denominator is None:
            await message.reply(_needs_denominator(ratio, rate, request.day, account_name, lang))
            return
        values[spec.counter] = (rate / 100 if spec.percent else rate) * denominator
    outcome = await storage.metrics.apply_import(
        workspace.id,
        source="/log",
        user_id=message.from_user.id if message.from_user else None,
        values={(account_name, request.day): values},
        summary={"kind": "log", "first_day": request.day.isoformat()},
    )
    await data_changed.emit(bot, workspace, request.day, request.day)
    lines = [
        _("Saved for {day}, {account}:").format(
            day=format_day(request.day, lang), account=html.escape(account_name)
        )
    ]
    if account_name in outcome.accounts_created:
        lines[0] += " " + _("(new account — created)")
    for name in sorted(values, key=_metric_order):
        label = html.escape(metric_label(name, lang))
        line = f"• {label}: {format_metric(name, values[name], lang)}"
        source = derived.get(name)
        if source is not None:
            line += " " + _ratio_note(source, request.ratios[source], lang)
        previous = stored.get(name)
        if previous is not None:
            if previous == values[name]:
                line += " " + _("(unchanged)")
            else:
                line += " — " + _("replaced previous value {value}").format(
                    value=format_metric(name, previous, lang)
                )
        lines.append(line)
    lines.append(_("/undo takes this back."))
    await answer_long(message, "\n".join(lines))


def _metric_order(name: str) -> int:
    names = list(METRICS)
    return names.index(name) if name in names else len(names)


def _ratio_note(ratio: str, rate: float, lang: str) -> str:
    if ratio == "bounce_rate":
        return _("(from bounce rate {rate} × sessions)").format(rate=format_percent(rate, lang))
    if ratio == "avg_session_duration":
        return _("(from average visit duration {value} × sessions)").format(
            value=format_duration(rate)
        )
    return _("(from average time on page {value} × pageviews)").format(value=format_duration(rate))


def _needs_denominator(ratio: str, rate: float, day: date, account: str, lang: str) -> str:
    spec = RATIO_INPUTS[ratio]
    shown = format_duration(rate) if spec.duration else format_percent(rate, lang)
    return "\n".join(
        (
            _(
                "To store {ratio} {value} I need the {denominator} of {account} for {day}, "
                "and there are none yet. Nothing was saved."
            ).format(
                ratio=html.escape(metric_label(ratio, lang).lower()),
                value=shown,
                denominator=html.escape(metric_display_name(spec.denominator)),
                account=html.escape(account),
                day=format_day(day, lang),
            ),
            _(
                "Give both in one command: <code>/log {name}={value} {denominator}=1200</code>"
            ).format(
                # Names in the reply's language, as /log reads them back (tested).
                name=html.escape(metric_label(ratio, lang).lower()),
                value=html.escape(shown.replace("\u00a0", "")),
                denominator=html.escape(metric_display_name(spec.denominator)),
            ),
        )
    )


def _has_text(args: str | None) -> bool:
    return bool((args or "").strip())


def create_router() -> Router:
    router = Router(name="data_log")
    router.message.register(
        cmd_log, Command("log", ignore_case=True, magic=F.args.func(_has_text)), AdminOnly()
    )
    router.message.register(cmd_log, Command("log", ignore_case=True))
    return router
