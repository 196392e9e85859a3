"""The words of goals, forecasts, "why" and content insights (`handlers.goals`,
`handlers.insights`, and the goal and "why" lines of `/report` and the digest).

Only arranging and translating: every figure arrives computed (`kpi.goals`,
`kpi.forecast`, `kpi.why`, `kpi.content`).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import date, timedelta

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from babel.support import LazyProxy

from bot.services.insights import DigestInsights, GoalStatus
from handlers.kpi_texts import format_day, format_period, kpi_name, metric_name, value_text
from kpi.content import ContentInsights, GroupInsight
from kpi.forecast import Forecast, NotEnoughHistory
from kpi.goals import GoalProgress, GoalSpec, progress_bar
from kpi.numbers import MINUS, format_change, format_number, format_percent
from kpi.why import CannotSplit, Why, rounded_parts

_OP_SIGNS = {"<": "<", "<=": "≤", ">": ">", ">=": "≥"}

_PERIOD_KINDS: Mapping[str, LazyProxy] = {
    "week": __("this week"),
    "month": __("this month"),
    "quarter": __("this quarter"),
    "year": __("this year"),
}

_MODELS: Mapping[str, LazyProxy] = {
    "naive": __("naive (the last value carried on)"),
    "seasonal_naive": __("seasonal naive (the same weekday a week before)"),
    "drift": __("drift (the line from the first to the last value)"),
    "damped": __("damped trend (Holt)"),
    "holt_winters": __("Holt-Winters with a weekday season"),
}

_WEEKDAYS: Mapping[int, LazyProxy] = {
    0: __("Monday"),
    1: __("Tuesday"),
    2: __("Wednesday"),
    3: __("Thursday"),
    4: __("Friday"),
    5: __("Saturday"),
    6: __("Sunday"),
}


def model_name(model: str) -> str:
    return str(_MODELS[model])


def _signed(delta: float, unit: str, lang: str) -> str:
    """`+1 234`, `−0,8 п.п.`, `+12,50`: a change in the KPI's unit, with its sign."""
    sign = "+" if delta > 0 else (MINUS if delta < 0 else "")
    body = format_number(abs(delta), lang)
    if unit == "percent":
        return _("{value} pp").format(value=sign + body)
    if unit == "duration":
        return _("{value} s").format(value=sign + body)
    return sign + body


# --------------------------------------------------------------------------- goals


def goal_target(spec: GoalSpec, unit: str, lang: str) -> str:
    """`Reach ≥ 300 000`."""
    return f"{kpi_name(spec.kpi)} {_OP_SIGNS[spec.op]} {value_text(spec.target, unit, lang)}"


def goal_period_text(spec: GoalSpec, progress: GoalProgress, lang: str) -> str:
    if spec.period_kind in _PERIOD_KINDS:
        kind = str(_PERIOD_KINDS[spec.period_kind])
        return f"{kind} ({format_period(progress.period, lang)})"
    return format_period(progress.period, lang)


def goal_status_line(spec: GoalSpec, p: GoalProgress, unit: str, lang: str) -> str:
    """The progress and pace sentence under a goal's title."""
    end = format_day(p.period.end, lang)
    if p.status == "no_data":
        return _("No data in this period yet.")
    if p.value is None:
        return _("Missed: no data in the period.")
    value = value_text(p.value, unit, lang)
    if p.kind == "counter":
        share = format_percent(p.share or 0.0, lang)
        bar = f"{progress_bar(p.share or 0.0)} {share} · " + _("{value} so far").format(value=value)
        if p.status == "met":
            return bar + " · " + _("goal met ✅")
        if p.status == "missed":
            return bar + " · " + _("goal missed ❌")
        projected = format_percent(p.projected_share or 0.0, lang)
        pace = _("at this pace {share} of the goal by {day}").format(share=projected, day=end)
        mark = "🟢" if p.on_pace else ("🔴" if p.at_risk else "🟡")
        return f"{bar}\n{pace} {mark}"
    if p.status == "met":
        return _("{value}: goal met ✅").format(value=value)
    if p.status == "missed":
        return _("{value}: goal missed ❌").format(value=value)
    if p.status == "on_track":
        return _("{value} so far: on track 🟢").format(value=value)
    mark = "🔴" if p.at_risk else "🟡"
    return _("{value} so far: off track {mark}").format(value=value, mark=mark)


def goal_block(spec: GoalSpec, p: GoalProgress, unit: str, lang: str) -> str:
    title = f"🎯 <b>{html.escape(goal_target(spec, unit, lang))}</b>"
    where = goal_period_text(spec, p, lang)
    if spec.account:
        where += f" · {html.escape(spec.account)}"
    return f"{title} · {where}\n{goal_status_line(spec, p, unit, lang)}"


def goal_short(spec: GoalSpec, p: GoalProgress, unit: str, lang: str) -> str:
    """One line for the digest caption and /report: `🎯 Reach ≥ 300 000: 85 % by Nov 30 🔴`."""
    head = goal_target(spec, unit, lang)
    if spec.account:
        head += f" ({spec.account})"
    head = html.escape(head)
    end = format_day(p.period.end, lang)
    if p.status == "no_data" or p.value is None:
        return f"🎯 {head}: " + _("no data yet")
    if p.status in ("met", "missed"):
        return f"🎯 {head}: " + (_("met ✅") if p.status == "met" else _("missed ❌"))
    if p.kind == "counter":
        projected = format_percent(p.projected_share or 0.0, lang)
        mark = "🟢" if p.on_pace else ("🔴" if p.at_risk else "🟡")
        return (
            f"🎯 {head}: "
            + _("at this pace {share} by {day}").format(share=projected, day=end)
            + f" {mark}"
        )
    value = value_text(p.value, unit, lang)
    if p.status == "on_track":
        return f"🎯 {head}: " + _("{value}, on track").format(value=value) + " 🟢"
    mark = "🔴" if p.at_risk else "🟡"
    return f"🎯 {head}: " + _("{value}, off track").format(value=value) + f" {mark}"


def goal_usage() -> str:
    return _(
        "Set a goal: <code>/goal &lt;kpi&gt; [&lt; or &gt;] &lt;target&gt; [period] "
        "[account]</code>\n"
        "Examples: <code>/goal reach 300000 month</code>, "
        "<code>/goal cac &lt; 500 quarter vk:ads</code>, <code>/goal er &gt;= 4% month</code>.\n"
        "Periods: week, month, quarter, year (the current one, every time), or one month, "
        "quarter or year such as 2026-12 or 2026-Q1. Default: month."
    )


def goal_error(code: str, token: str, kpis: str) -> str:
    shown = html.escape(token[:64])
    reasons = {
        "kpi": _("I don't know the KPI “{token}”. KPIs: {kpis}."),
        "not_a_goal": _(
            "Hashtags are compared post by post; a goal needs one figure. KPIs: {kpis}."
        ),
        "target": _("“{token}” is not a number: the target is a number such as 300000 or 4%."),
        "negative": _("“{token}”: this KPI can't be below zero."),
        "period": _("“{token}” is not a period for a goal."),
        "rolling": _(
            "“{token}”: a goal is for a calendar period (week, month, quarter, year or "
            "2026-12), not a rolling span, which moves every day."
        ),
        "extra": _("“{token}”: give one period and one account at most."),
    }
    if code not in reasons:
        return goal_usage()
    return reasons[code].format(token=shown, kpis=kpis) + "\n" + goal_usage()


def goals_empty() -> str:
    return _("No goals yet.") + "\n" + goal_usage()


def goals_title(count: int) -> str:
    return _("<b>Goals</b> ({count})").format(count=count)


def goal_saved() -> str:
    return _("Goal saved.")


def goal_deleted(target: str) -> str:
    return _("Goal deleted: {goal}.").format(goal=html.escape(target))


def goal_gone() -> str:
    return _("This goal no longer exists.")


def too_many_goals(limit: int) -> str:
    return _("A chat can have at most {limit} goals: delete one in /goals first.").format(
        limit=limit
    )


def delete_button(spec: GoalSpec, unit: str, lang: str) -> str:
    return "🗑 " + goal_target(spec, unit, lang)[:48]


def alert_button(on: bool) -> str:
    return "🔔 " + _("at-risk alert: on") if on else "🔕 " + _("at-risk alert: off")


def alert_switched(target: str, on: bool) -> str:
    if on:
        return _("{goal}: I'll warn when it is at risk.").format(goal=target)
    return _("{goal}: no at-risk alert.").format(goal=target)


def goal_at_risk(spec: GoalSpec, p: GoalProgress, unit: str, lang: str) -> str:
    days = round(p.share_left * p.period.days)
    return "\n".join(
        (
            "⚠️ " + _("Goal at risk") + "\n" + goal_block(spec, p, unit, lang),
            _("Days left: {days}. All goals: /goals").format(days=days),
        )
    )


def unknown_account(typed: str) -> str:
    return _("There is no account {name}. See /account list.").format(name=html.escape(typed[:64]))


# --------------------------------------------------------------------------- forecasts


def _week_label(monday: date, lang: str) -> str:
    from kpi.models import Period

    return format_period(Period(monday, monday + timedelta(days=6)), lang)


def forecast_answer(
    kpi: str,
    account: str | None,
    result: Forecast,
    first_monday: date,
    unit: str,
    lang: str,
) -> str:
    """The forecast by week, the model, its backtest error and naive's for comparison."""
    title = f"📈 <b>{html.escape(kpi_name(kpi))}</b> · " + (
        html.escape(account) if account else _("all accounts")
    )
    lines = [title, _("Forecast by week, with an 80 % band from the backtest errors:")]
    for k, (v, lo, hi) in enumerate(zip(result.values, result.lower, result.upper, strict=True)):
        label = _week_label(first_monday + timedelta(days=7 * k), lang)
        lines.append(
            f"• {label}: <b>{value_text(v, unit, lang)}</b> "
            f"({value_text(lo, unit, lang)} – {value_text(hi, unit, lang)})"
        )
    mae = value_text(result.mae, unit, lang)
    naive = value_text(result.naive_mae, unit, lang)
    lines.append(
        _(
            "Model: {model}, chosen by a rolling backtest over {weeks} weeks "
            "({tests} test forecasts)."
        ).format(model=model_name(result.model), weeks=result.history, tests=result.errors)
    )
    error = _("Mean absolute error in the backtest: {mae}").format(mae=mae)
    if result.smape is not None:
        error += f" (sMAPE {format_percent(result.smape, lang)})"
    if result.model != "naive":
        error += "; " + _("naive forecast: {naive}").format(naive=naive)
    lines.append(error + ".")
    lines.append(_("A forecast carries the past on; it does not know about campaigns you plan."))
    return "\n".join(lines)


def forecast_not_enough(kpi: str, short: NotEnoughHistory) -> str:
    return _(
        "{kpi}: a forecast needs at least {need} weeks of history without gaps; there are "
        "{have}. Add {more} more weeks of data (a file or /log) and ask again."
    ).format(kpi=kpi_name(kpi), need=short.need, have=short.have, more=short.more)


def forecast_usage(kpis: str) -> str:
    return _(
        "Which KPI? <code>/forecast reach 4 vk:brand</code>: a KPI, then how many weeks "
        "ahead (1–12, default 4) and an account if you like.\nKPIs: {kpis}."
    ).format(kpis=kpis)


def forecast_bad_weeks(token: str) -> str:
    return _("“{token}”: give the number of weeks ahead, from 1 to 12.").format(
        token=html.escape(token[:64])
    )


# --------------------------------------------------------------------------- why


def _name(metric: str | None, lang: str) -> str:
    if metric is None:
        return ""
    if metric == "interactions":
        return _("interactions")
    if metric == "profit":
        return _("profit")
    if metric == "visitors":
        return _("visitors")
    if metric == "net_followers":
        return _("net new followers")
    return metric_name(metric, lang)


def _sentence(text: str) -> str:
    """A full stop, unless the text already ends with one ("−0,8 п.п.")."""
    return text if text.endswith(".") else text + "."


def _relative(pair: tuple[float, float], lang: str) -> str:
    """`+30 %`, or "unchanged" where the shown change would read 0 (`followers at start
    0 %` reads as if followers were gone)."""
    before, now = pair
    if before == 0:
        return _signed(now - before, "count", lang) if now != before else _("unchanged")
    text = format_change((now / before - 1) * 100, lang)
    return text if any(c in "123456789" for c in text) else _("unchanged")


def why_answer(why: Why, unit: str, title: str, lang: str, *, top: int = 5) -> str:
    """The change, the numerator and denominator effects, and account contributions;
    shown rounded so that they add up on screen (`kpi.why.rounded_parts`)."""
    decimals = 2 if unit == "percent" or abs(why.change) < 10 else 0
    lines = [
        title,
        _("{kpi}: {before} → {now} ({change})").format(
            kpi=html.escape(kpi_name(why.kpi)),
            before=value_text(why.previous, unit, lang),
            now=value_text(why.current, unit, lang),
            change=_signed(round(why.change, decimals), unit, lang),
        ),
    ]
    if why.kind == "ratio":
        assert why.numerator is not None and why.denominator is not None
        assert why.numerator_effect is not None and why.denominator_effect is not None
        eff_n, eff_d = rounded_parts([why.numerator_effect, why.denominator_effect], decimals)
        lines.append(
            _sentence(
                _("{numerator} {rel_n} gave {eff_n}; {denominator} {rel_d} gave {eff_d}").format(
                    numerator=_name(why.numerator_name, lang),
                    rel_n=_relative(why.numerator, lang),
                    eff_n=_signed(eff_n, unit, lang),
                    denominator=_name(why.denominator_name, lang),
                    rel_d=_relative(why.denominator, lang),
                    eff_d=_signed(eff_d, unit, lang),
                )
            )
        )
    # An account without the KPI's inputs in either period adds nothing: not listed.
    rows = [c for c in why.contributions if not (c.missing_in == "both" and c.change == 0)]
    if len(rows) > 1:
        shown = rows[:top]
        rest = rows[top:]
        values = [c.change for c in shown] + ([sum(c.change for c in rest)] if rest else [])
        parts = rounded_parts(values, decimals)
        lines.append(_("By account (adds up to the change):"))
        for c, part in zip(shown, parts, strict=False):
            line = f"• {html.escape(c.account)}: {_signed(part, unit, lang)}"
            if why.kind == "ratio":
                line += (
                    " ("
                    + _("{numerator} {dn}, {denominator} {dd}").format(
                        numerator=_name(why.numerator_name, lang),
                        dn=_signed(c.numerator_change, "count", lang),
                        denominator=_name(why.denominator_name, lang),
                        dd=_signed(c.denominator_change, "count", lang),
                    )
                    + ")"
                )
            if c.missing_in == "current":
                line += " · " + _("no data this period")
            elif c.missing_in == "previous":
                line += " · " + _("no data the period before")
            lines.append(line)
        if rest:
            lines.append(
                "• "
                + _("other accounts ({count}): {change}").format(
                    count=len(rest), change=_signed(parts[-1], unit, lang)
                )
            )
    return "\n".join(lines)


def why_sentence(why: Why, unit: str, lang: str) -> str:
    """One sentence for the digest: `ERR −0,8 п.п.: reach +30 % (vk:brand −0,6 п.п.) …`."""
    decimals = 2 if unit == "percent" or abs(why.change) < 10 else 0
    head = f"{html.escape(kpi_name(why.kpi))} {_signed(round(why.change, decimals), unit, lang)}"
    parts = []
    if why.kind == "ratio" and why.numerator is not None and why.denominator is not None:
        parts.append(f"{_name(why.numerator_name, lang)} {_relative(why.numerator, lang)}")
        parts.append(f"{_name(why.denominator_name, lang)} {_relative(why.denominator, lang)}")
    if len(why.contributions) > 1:
        lead = why.contributions[0]
        share = rounded_parts([lead.change], decimals)[0]
        parts.append(
            _("most from {account} ({change})").format(
                account=html.escape(lead.account), change=_signed(share, unit, lang)
            )
        )
    return head + (": " + ", ".join(parts) if parts else "")


def why_cannot(kpi: str, cannot: CannotSplit) -> str:
    reasons = {
        "no_value": _(
            "{kpi} has no value in this period or the one before, so there is no change to "
            "explain. See /{command} for what is missing."
        ),
        "zero": _("{kpi}: a zero denominator in one of the periods; nothing to split."),
        "not_additive": _(
            "{kpi}: the accounts' figures don't add up to the total here, so I won't "
            "split the change by account."
        ),
        "unknown_kpi": _("{kpi} can't be split by account."),
    }
    command = {"engagement": "er", "time_on_page": "timeonpage"}.get(kpi, kpi)
    return reasons[cannot.reason].format(kpi=html.escape(kpi_name(kpi)), command=command)


def why_usage(kpis: str) -> str:
    return _(
        "Which KPI? <code>/why er month</code>: a KPI and a period; the change against the "
        "previous period is split by account and, for a ratio, into its two parts.\n"
        "KPIs: {kpis}."
    ).format(kpis=kpis)


# --------------------------------------------------------------------------- content


def weekday_name(index: int) -> str:
    return str(_WEEKDAYS[index])


def _group_label(kind: str, key: str) -> str:
    if kind == "hashtags":
        return "#" + html.escape(key)
    if kind == "weekdays":
        return weekday_name(int(key))
    if kind == "hours":
        return f"{int(key):02d}:00"
    if kind == "slots":
        day, hour = key.split(":")
        return f"{weekday_name(int(day))} {int(hour):02d}:00"
    return html.escape(key)


def _group_line(kind: str, g: GroupInsight, lang: str) -> str:
    err = value_text(g.err, "percent", lang)
    low, high = value_text(g.low, "percent", lang), value_text(g.high, "percent", lang)
    lift = f", {format_change(g.lift, lang)}" if g.lift is not None else ""
    posts = _("posts: {n}").format(n=g.posts)
    return f"{_group_label(kind, g.key)}: ERR {err} ({low}–{high}{lift}), {posts}"


_SECTIONS: Mapping[str, LazyProxy] = {
    "formats": __("Formats"),
    "hashtags": __("Hashtags"),
    "weekdays": __("Weekdays"),
    "hours": __("Hours"),
    "slots": __("Weekday × hour"),
}


def content_answer(ins: ContentInsights, period_text: str, account: str | None, lang: str) -> str:
    title = f"🧪 <b>{_('What content worked')}</b> · {period_text} · " + (
        html.escape(account) if account else _("all accounts")
    )
    if ins.baseline is None:
        return (
            title
            + "\n"
            + _(
                "No posts with both reach (or impressions) and interactions in this period. "
                "Upload a posts table (one row per post) or connect a channel."
            )
        )
    basis = _("by reach") if ins.basis == "reach" else _("by impressions")
    lines = [
        title,
        _(
            "Posts: {posts}, ERR {err} ({basis}). A claim needs at least {n} posts and a "
            "90 % interval that stays clear of this ERR."
        ).format(
            posts=ins.posts,
            err=value_text(ins.baseline, "percent", lang),
            basis=basis,
            n=ins.min_posts,
        ),
    ]
    for kind in ("formats", "hashtags", "weekdays", "hours", "slots"):
        groups: Sequence[GroupInsight] = getattr(ins, kind)
        if not groups:
            continue
        best, worst = ins.best(kind), ins.worst(kind)
        lines.append(f"<b>{_SECTIONS[kind]}</b>")
        if best is not None:
            lines.append("🟢 " + _("Better: {line}").format(line=_group_line(kind, best, lang)))
        if worst is not None:
            lines.append("🔴 " + _("Worse: {line}").format(line=_group_line(kind, worst, lang)))
        if best is None and worst is None:
            lines.append(
                _("No clear difference (groups with enough posts: {count}).").format(
                    count=len(groups)
                )
            )
    if not ins.hours:
        lines.append(_("Posting hours are unknown for imported posts: only weekdays are compared."))
    if ins.small_groups:
        lines.append(
            _("Groups left out for having fewer posts: {count}.").format(count=ins.small_groups)
        )
    if ins.left_out:
        lines.append(
            _("Posts not counted (no reach or no interactions): {count}.").format(
                count=ins.left_out
            )
        )
    return "\n".join(lines)


def content_line(ins: ContentInsights, lang: str) -> str | None:
    """The digest's one line: the best clear format, hashtag or weekday; None without one."""
    for kind in ("formats", "hashtags", "slots", "weekdays"):
        best = ins.best(kind)
        if best is not None:
            return "🧪 " + _("Worked best: {line}").format(line=_group_line(kind, best, lang))
    return None


# --------------------------------------------------------------------------- digest, report

DIGEST_GOALS = 3
DIGEST_WHYS = 3


def goal_lines(statuses: Sequence[GoalStatus], lang: str, limit: int = DIGEST_GOALS) -> list[str]:
    """A line per goal (at risk first, as `goal_statuses` orders them), then "n more"."""
    lines = [goal_short(s.goal.spec, s.progress, s.unit, lang) for s in statuses[:limit]]
    if len(statuses) > limit:
        lines.append(_("…and more goals in /goals ({count}).").format(count=len(statuses)))
    return lines


def digest_lead(found: DigestInsights | None, units: Mapping[str, str], lang: str) -> list[str]:
    """The caption's first lines after the title: goals, why the KPIs moved, content."""
    if found is None:
        return []
    lines = goal_lines(found.goals, lang)
    for why in found.whys[:DIGEST_WHYS]:
        lines.append("❓ " + why_sentence(why, units[why.kpi], lang))
    if found.content is not None and (line := content_line(found.content, lang)):
        lines.append(line)
    return lines
