"""The words of the KPI answers: names, formulas, notes, hints, dates, changes.

Everything here turns `kpi` results into translated, HTML-safe text; no I/O.
Strings go through gettext (`_`, counts with `ngettext`); numbers and dates come
from `kpi.numbers` (Babel), so no language is named in this module.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import date

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.i18n import ngettext
from babel.support import LazyProxy

from bot.texts import metric_display_name
from handlers.replies import current_currency
from kpi import arithmetic, numbers
from kpi.kpis import (
    INTERACTION_PARTS,
    MISSING,
    UNPAIRED,
    ZERO_DENOMINATOR,
    Change,
    Flag,
    GroupRow,
    KpiResult,
    LeftOut,
)
from kpi.models import Period
from kpi.numbers import (
    MINUS,
    format_change,
    format_duration,
    format_money,
    format_number,
    format_percent,
    format_value,
)
from kpi.numbers import (
    format_day as format_day,
)
from kpi.registry import KPIS, PAIRS


def format_period(period: Period, lang: str) -> str:
    """A period as every message writes it (`kpi.numbers.format_period`)."""
    return numbers.format_period(period.start, period.end, lang)


def coverage_text(n: int, total: int, *, capital: bool = False) -> str:
    """`data for 7 of 31 days` / `данные за 7 из 31 дня`: the plural follows the total."""
    if capital:
        text = ngettext("Data for {n} of {total} day", "Data for {n} of {total} days", total)
    else:
        text = ngettext("data for {n} of {total} day", "data for {n} of {total} days", total)
    return text.format(n=n, total=total)


# --- names ----------------------------------------------------------------------


_KPI_NAMES: Mapping[str, LazyProxy] = {
    "reach": __("Reach"),
    "engagement": __("Engagement (ERR)"),
    "conversion": __("Conversion rate"),
    "growth": __("Audience growth"),
    "clicks": __("Link clicks"),
    "bounce": __("Bounce rate"),
    "visitors": __("New visitors"),
    "time_on_page": __("Time on page"),
    "hashtags": __("Hashtags"),
    "formats": __("Post formats"),
    "cac": __("CAC"),
    "mentions": __("Brand mentions"),
    "roi": __("ROI"),
    "audience": __("Audience"),
    "unfollows": __("Unfollows"),
}


# Where a line is short (alerts name the KPI in every rule and message).
_KPI_SHORT_NAMES: Mapping[str, LazyProxy] = {
    "engagement": __("ERR"),
    "ctr": __("CTR"),
    "visitors": __("New visitors' share"),
}


def kpi_name(key: str, *, short: bool = False) -> str:
    if short and key in _KPI_SHORT_NAMES:
        return str(_KPI_SHORT_NAMES[key])
    return str(_KPI_NAMES[key])


_PSEUDO_METRICS: Mapping[str, LazyProxy] = {
    "followers_start": __("followers at start"),
    "followers_end": __("followers at end"),
    "margin": __("margin"),
    "cost": __("cost"),
    "interactions": __("interactions"),
}


def metric_name(name: str, lang: str) -> str:
    """A metric as users type it in `/log`; the formula's pseudo-inputs too."""
    if name in _PSEUDO_METRICS:
        return str(_PSEUDO_METRICS[name])
    return metric_display_name(name)


def account_label(account: str | None) -> str:
    return html.escape(account) if account else _("all accounts")


def header(title: str, period: Period, account: str | None, lang: str) -> str:
    return f"<b>{title}</b> · {format_period(period, lang)} · {account_label(account)}"


# --- formulas ------------------------------------------------------------------------


_FORMULA_WORDS: Mapping[str, LazyProxy] = {
    "reach": __("Reach = Σ reach"),
    "err_reach": __("ERR = Σ interactions / Σ reach × 100"),
    "err_impressions": __("ERR = Σ interactions / Σ impressions × 100"),
    "er_followers": __("ER by followers = Σ interactions / Σ posts / average followers × 100"),
    "err_views": __("ERR by views = Σ views / Σ posts / average followers × 100"),
    "conversion_clicks": __("CR = Σ conversions / Σ link clicks × 100"),
    "conversion_sessions": __("CR = Σ conversions / Σ sessions × 100"),
    "growth": __("Growth = (followers at end − followers at start) / followers at start × 100"),
    "growth_flows": __("Growth = (Σ new followers − Σ unfollows) / followers at start × 100"),
    "clicks": __("Clicks = Σ link clicks"),
    "bounce": __("Bounce rate = Σ bounces / Σ sessions × 100"),
    "visitors": __("New share = Σ new visitors / (Σ new visitors + Σ returning visitors) × 100"),
    "time_on_page": __("Time on page = Σ time on page, s / Σ pageviews"),
    "cac": __("CAC = (Σ ad spend + Σ content cost) / Σ new customers"),
    "mentions": __("Mentions = Σ mentions"),
    "unfollows": __("Unfollows = Σ unfollows"),
    "roi": __("ROI = (Σ revenue × margin − cost) / cost × 100, cost = Σ ad spend + Σ content cost"),
}


def formula_words(formula: str) -> str:
    """The formula in words, translated (`ERR = Σ взаимодействий / Σ охвата × 100`)."""
    return str(_FORMULA_WORDS[formula])


def formula_numbers(result: KpiResult, lang: str) -> str | None:
    """The formula with the period's sums put in (`kpi.arithmetic`)."""
    return arithmetic.formula_numbers(result, lang)


def formula_line(result: KpiResult, lang: str) -> str:
    """`Formula: ERR = Σ interactions / Σ reach × 100 = 375 / 56 789 × 100 = 0.66%`;
    a number is never printed twice (`Reach = Σ reach = 211 000`)."""
    text = formula_words(result.formula)
    numbers = arithmetic.expression(result, lang, current_currency())
    if numbers is not None:
        text += f" = {numbers}"
    return _("Formula: {formula}").format(formula=text)


# --- values and changes ------------------------------------------------------------


def value_text(value: float, unit: str, lang: str) -> str:
    return format_value(value, unit, lang, current_currency())


def _absolute(delta: float, unit: str, lang: str) -> str:
    sign = "+" if delta > 0 else (MINUS if delta < 0 else "")
    magnitude = abs(delta)
    if unit == "percent":
        return points_text(sign + format_number(magnitude, lang))
    if unit == "money":
        return sign + format_money(magnitude, lang, current_currency())
    if unit == "duration":
        return sign + format_duration(magnitude)
    return sign + format_number(magnitude, lang)


def points_text(number: str) -> str:
    """A difference of two percentages in percentage points: `+2,1 п.п.`, `+2.1 pp`."""
    return _("{value} pp").format(value=number)


def change_text(change: Change, unit: str, lang: str) -> str | None:
    """`↑ +6 789 (+13,6 %) 🟢`, `↓ −2,1 п.п. 🔴`, `→ no change`; None without both values.

    Percent KPIs change in percentage points only: a relative change of a
    percentage ("+25 % of 1.2 %") is easy to misread.
    """
    if change.absolute is None:
        return None
    if change.absolute == 0:
        return "→ " + _("no change")
    if change.negligible:
        return "≈ " + _("no change")
    arrow = "↑" if change.absolute > 0 else "↓"
    text = f"{arrow} {_absolute(change.absolute, unit, lang)}"
    if unit != "percent" and change.relative is not None:
        text += f" ({format_change(change.relative, lang)})"
    if change.better is not None:
        text += " 🟢" if change.better else " 🔴"
    return text


def previous_line(
    current: KpiResult, previous: KpiResult, change: Change, period: Period, lang: str
) -> str:
    """The previous period's value, its coverage and the change; without a change when
    it has data on under half as many days as the current period, saying why."""
    when = format_period(period, lang)
    coverage = coverage_text(previous.days_with_data, period.days)
    if previous.value is None:
        return _("Previous period ({period}): no value").format(period=when)
    text = _("Previous period ({period}): {value}").format(
        period=when, value=value_text(previous.value, previous.unit, lang)
    )
    text += f" ({coverage})"
    if change.basis_changed:
        return (
            text
            + "\n⚠️ "
            + _(
                "No change shown: the previous period was computed by another formula "
                "({formula}), so the two figures are not comparable."
            ).format(formula=formula_words(previous.formula))
        )
    if change.thin:
        return (
            text
            + "\n⚠️ "
            + ngettext(
                "No change shown: the previous period has data on {n} day, under half of "
                "the {m} days of this one.",
                "No change shown: the previous period has data on {n} days, under half of "
                "the {m} days of this one.",
                previous.days_with_data,
            ).format(n=previous.days_with_data, m=current.days_with_data)
        )
    change_str = change_text(change, previous.unit, lang)
    return f"{text} · {change_str}" if change_str else text


def completeness_line(result: KpiResult, lang: str) -> str:
    line = coverage_text(result.days_with_data, result.days, capital=True)
    return line if result.days_with_data >= result.days else f"⚠️ {line}"


# --- extras and notes ----------------------------------------------------------------


_NOTES: Mapping[str, LazyProxy] = {
    "reach_sum_overstates": __(
        "A sum of daily reach counts a person once for every day they saw a post, "
        "so it overstates unique reach."
    ),
    "by_impressions": __(
        "No reach in this period: ERR is by impressions, which gives a lower figure than by reach."
    ),
    "by_followers": __(
        "No reach or impressions in this period: engagement is ER by followers, "
        "interactions per post over the average number of followers."
    ),
    "sessions_denominator": __("No link clicks in this period: conversion is per session."),
    "from_follower_flows": __(
        "No follower count at the end of the period: the net is new followers − unfollows."
    ),
    "interactions_total": __(
        "Interactions are the platform's total: likes, comments, shares and saves "
        "are not given separately."
    ),
    "partial_cost": __("Only one kind of cost is known; the other counts as 0."),
}


def note_text(code: str) -> str:
    return str(_NOTES[code]) if code in _NOTES else code


def extras_lines(result: KpiResult, lang: str) -> list[str]:
    """Secondary figures of a KPI, one line each, only those that have a value."""
    x = result.extras
    lines: list[str] = []

    def add(key: str, text: str) -> None:
        if x.get(key) is not None:
            lines.append(text)

    def num(key: str) -> str:
        return format_number(x.get(key) or 0.0, lang)

    def pct(key: str) -> str:
        return format_percent(x.get(key) or 0.0, lang)

    def money(key: str) -> str:
        return format_money(x.get(key) or 0.0, lang, current_currency())

    if result.kpi == "reach":
        add("impressions", _("Impressions: {value}").format(value=num("impressions")))
        add(
            "frequency",
            _("Frequency: {value} (impressions / reach)").format(value=num("frequency")),
        )
    elif result.kpi == "engagement":
        add("interactions", _("Interactions: {value}").format(value=num("interactions")))
        if result.formula != "er_followers":  # else it is the value itself
            add(
                "er_followers",
                _("ER by followers: {value} per post").format(value=pct("er_followers")),
            )
        add(
            "err_impressions", _("ERR by impressions: {value}").format(value=pct("err_impressions"))
        )
        add(
            "err_views",
            _("ERR by views: {value} (Σ views / Σ posts / average followers × 100)").format(
                value=pct("err_views")
            ),
        )
    elif result.kpi == "growth":
        lines.extend(_growth_lines(result, lang))
    elif result.kpi == "clicks":
        add("ctr", _("CTR: {value} (link clicks / impressions × 100)").format(value=pct("ctr")))
    elif result.kpi == "visitors":
        add(
            "returning_share",
            _("Returning visitors: {value}").format(value=pct("returning_share")),
        )
    elif result.kpi == "cac":
        add("cost", _("Cost: {value}").format(value=money("cost")))
    elif result.kpi == "mentions":
        add("positive_share", _("Positive: {value}").format(value=pct("positive_share")))
        add("negative_share", _("Negative: {value}").format(value=pct("negative_share")))
    elif result.kpi == "roi":
        add("cost", _("Cost: {value}").format(value=money("cost")))
        add("profit", _("Profit: {value}").format(value=money("profit")))
    return lines


def _signed(x: float, lang: str) -> str:
    return ("+" if x > 0 else "") + format_number(x, lang)


def _growth_lines(result: KpiResult, lang: str) -> list[str]:
    """Net new followers, and from new − unfollows when those are known too: two
    sources of one figure, both shown and labelled (they rarely agree)."""
    x = result.extras
    net, flows = x.get("net"), x.get("net_flows")
    lines = []
    if net is not None and result.formula == "growth":
        lines.append(
            _("Net new followers: {value} (from follower counts)").format(value=_signed(net, lang))
        )
    elif net is not None:
        lines.append(_("Net new followers: {value}").format(value=_signed(net, lang)))
    if flows is not None:
        lines.append(
            _("From new − unfollows: {new} new, {lost} lost, net {net}").format(
                new=format_number(x.get("new_followers") or 0.0, lang),
                lost=format_number(x.get("unfollows") or 0.0, lang),
                net=_signed(flows, lang),
            )
        )
    return lines


# --- left out and sanity flags ---------------------------------------------------------


def _side_name(label: str, lang: str) -> str:
    return metric_name(label, lang)


def left_out_text(item: LeftOut, lang: str) -> str:
    """`site:lp — 31 days of sessions without bounces`, `tg:channel — no followers since
    10 Sep 2026`."""
    name = html.escape(item.account)
    if item.reason == "unpaired":
        return ngettext(
            "{account} — {n} day of {have} without {lacking}",
            "{account} — {n} days of {have} without {lacking}",
            item.days,
        ).format(
            account=name,
            n=item.days,
            have=html.escape(_side_name(item.have, lang)),
            lacking=html.escape(_side_name(item.lacking, lang)),
        )
    day = format_day(item.day, lang) if item.day is not None else "?"
    if item.reason == "stale":
        return _("{account} — no follower count in the period (the last is from {day})").format(
            account=name, day=day
        )
    if item.reason == "started":
        return _("{account} — follower counts start inside the period ({day})").format(
            account=name, day=day
        )
    return _("{account} — one follower count only ({day})").format(account=name, day=day)


def left_out_line(items: Sequence[LeftOut], lang: str) -> str | None:
    """One line: what the figure could not use and why; None when nothing was left out."""
    if not items:
        return None
    return "ℹ️ " + _("left out: {items}").format(
        items="; ".join(left_out_text(i, lang) for i in items)
    )


def left_out_block(results: Sequence[KpiResult], lang: str) -> list[str]:
    """What a whole answer's figures could not use, once: an `ℹ️ left out:` line, then
    one bullet per account and reason (two KPIs leaving out the same data name it once),
    by account; empty when nothing was left out."""
    items = sorted(
        dict.fromkeys(i for r in results for i in r.left_out),
        key=lambda i: (i.account, i.reason, i.have, i.lacking),
    )
    if not items:
        return []
    return ["ℹ️ " + _("left out:"), *("• " + left_out_text(i, lang) for i in items)]


def flag_text(flag: Flag, lang: str) -> str:
    where = html.escape(flag.account) if flag.account else _("all accounts")
    if flag.code == "frequency_below_1":
        return _(
            "{where}: impressions are fewer than reach (frequency below 1) — "
            "check the impressions column."
        ).format(where=where)
    if flag.code == "followers_jump":
        day = format_day(flag.day, lang) if flag.day is not None else "?"
        return _(
            "{where}: followers moved by more than half in one day ({day}) — "
            "check the follower counts."
        ).format(where=where, day=day)
    return _(
        "{where}: {input} exceed their denominator (a rate above 100 %) — check {input}."
    ).format(where=where, input=html.escape(metric_name(flag.input, lang)))


def flag_lines(flags: Sequence[Flag], lang: str) -> list[str]:
    return [f"⚠️ {flag_text(f, lang)}" for f in flags]


# --- what is missing and how to add it ----------------------------------------------

# How to type a metric in /log when the plain name is not the natural way.
_LOG_FORMS: Mapping[str, LazyProxy] = {
    "bounces": __("bounce rate=…%"),
    "time_on_page_s": __("avg time on page=m:ss"),
}


def _missing_metrics(result: KpiResult) -> list[str]:
    names: list[str] = []
    for name in result.missing:
        expanded = list(INTERACTION_PARTS) if name == "interactions" else [name]
        names.extend(n for n in expanded if n not in names)
    return names


def log_hint(metrics: Sequence[str], lang: str) -> str:
    """`/log охват=… лайки=…` for the given metrics."""
    forms = []
    for name in metrics:
        special = _LOG_FORMS.get(name)
        if special is not None:
            forms.append(str(special))
        else:
            forms.append(f"{metric_name(name, lang)}=…")
    return "/log " + " ".join(forms)


def denominator_name(result: KpiResult, lang: str) -> str:
    by_formula = {
        "err_reach": ("reach",),
        "err_impressions": ("impressions",),
        "er_followers": ("posts", "followers"),
        "err_views": ("posts", "followers"),
        "conversion_clicks": ("link_clicks",),
        "conversion_sessions": ("sessions",),
        "growth": ("followers_start",),
        "growth_flows": ("followers_start",),
        "bounce": ("sessions",),
        "visitors": ("new_visitors", "returning_visitors"),
        "time_on_page": ("pageviews",),
        "cac": ("new_customers",),
        "roi": ("ad_spend", "content_cost"),
    }
    names = by_formula.get(result.formula, ())
    return " + ".join(metric_name(n, lang) for n in names) or "?"


def missing_lines(result: KpiResult, lang: str) -> list[str]:
    """Why there is no value and how to fix it (empty when there is a value)."""
    if result.value is not None:
        return []
    if result.reason == UNPAIRED:
        pair = PAIRS[KPIS[result.kpi].pairs[0]]
        return [
            _("Can't compute: {a} and {b} are never given for the same account and day.").format(
                a=html.escape(metric_name(pair.numerator_label, lang)),
                b=html.escape(metric_name(pair.denominator_label, lang)),
            )
        ]
    if result.reason == ZERO_DENOMINATOR:
        return [
            _(
                "Can't compute: {denominator} is 0 in this period, and there is no dividing by 0."
            ).format(denominator=html.escape(denominator_name(result, lang)))
        ]
    metrics = _missing_metrics(result)
    names = ", ".join(metric_name(n, lang) for n in metrics)
    if result.kpi in ("cac", "roi") and {"ad_spend", "content_cost"} <= set(metrics):
        names = names.replace(
            f"{metric_name('ad_spend', lang)}, {metric_name('content_cost', lang)}",
            _("{a} or {b}").format(
                a=metric_name("ad_spend", lang), b=metric_name("content_cost", lang)
            ),
        )
    return [
        _("Can't compute: no data on {metrics} in this period.").format(metrics=html.escape(names)),
        _("Add them: <code>{example}</code> or send a CSV/XLSX file with these columns.").format(
            example=html.escape(log_hint(metrics, lang))
        ),
    ]


# --- hashtags and formats -------------------------------------------------------------


def group_line(rank: int, row: GroupRow, lang: str, *, hashtag: bool) -> str:
    label = html.escape(("#" + row.key) if hashtag else row.key)
    parts = [_("posts: {n}").format(n=row.posts)]
    if row.avg_reach is not None:
        parts.append(_("avg reach {value}").format(value=format_number(row.avg_reach, lang)))
    if row.err is not None:
        parts.append(f"ERR {format_percent(row.err, lang)}")
    elif row.avg_interactions is not None:  # no reach (a Telegram channel): per post
        parts.append(
            _("avg interactions {value}").format(value=format_number(row.avg_interactions, lang))
        )
    if row.lift is not None:
        parts.append(_("{lift} vs all posts").format(lift=format_change(row.lift, lang)))
    return f"{rank}. <b>{label}</b> — " + " · ".join(parts)


def audience_dimension(name: str) -> str:
    """A dimension's name as plain text (the chart draws it; a message escapes it)."""
    names = {"age": _("Age"), "gender": _("Gender"), "city": _("City"), "country": _("Country")}
    return names.get(name, name)


def audience_bucket(bucket: str) -> str:
    genders: Mapping[str, str] = {
        "female": _("women"),
        "f": _("women"),
        "women": _("women"),
        "male": _("men"),
        "m": _("men"),
        "men": _("men"),
    }
    return genders.get(bucket.strip().lower(), bucket)


# --- /kpi: what each KPI means -----------------------------------------------------

KPI_COMMANDS = {k: ", ".join(f"/{c}" for c in d.commands) for k, d in KPIS.items()}


_EXPLANATIONS: Mapping[str, LazyProxy] = {
    "reach": __(
        "How many people saw your posts: the sum of daily reach over the period. "
        "Impressions count every view; frequency = impressions / reach shows how often "
        "one person saw you."
    ),
    "engagement": __(
        "How actively people react to what they see: likes, comments, shares and saves "
        "per 100 people reached. ER by followers divides interactions per post by the "
        "average follower count."
    ),
    "conversion": __(
        "Which share of the people who clicked a link did what you wanted: bought, signed "
        "up, left a request. Without link clicks the bot divides by site sessions and says so."
    ),
    "growth": __(
        "How fast the audience grows: the change in followers over the period against the "
        "count at its start. Without follower counts the net is new followers − unfollows."
    ),
    "clicks": __(
        "How many times people clicked links in posts and ads. CTR is clicks per 100 "
        "impressions: how well a post makes people act."
    ),
    "bounce": __(
        "Which share of site visits ended on the first page. Lower is better: a rise means "
        "the page does not match what the post promised."
    ),
    "visitors": __(
        "Which share of the site's visitors came for the first time and which came back. "
        "Social media brings new people; returning ones show loyalty."
    ),
    "time_on_page": __(
        "How long people stay on a page: total time over pageviews, shown as m:ss. "
        "Longer usually means the content holds attention."
    ),
    "hashtags": __(
        "Which hashtags and post formats work: for each, the posts, average reach, ERR and "
        "the lift against the ERR of all posts. Hashtags used in fewer than 2 posts are left "
        "out. Needs a file with one row per post."
    ),
    "cac": __(
        "How much one new customer costs: ad spend plus content cost over new customers. "
        "Lower is better."
    ),
    "mentions": __(
        "How often people talk about the brand, and the shares of positive and negative "
        "mentions when they are known."
    ),
    "roi": __(
        "What the marketing money returns: profit (revenue × margin) minus cost, over cost. "
        "0 % means it paid for itself. The margin is 100 % unless set with /margin."
    ),
}


def explanation(key: str) -> str:
    return str(_EXPLANATIONS[key])


def hashtag_formula() -> str:
    return _(
        "ERR of a hashtag = Σ interactions / Σ reach of its posts × 100; "
        "lift = (its ERR / ERR of all posts − 1) × 100"
    )


# --- whole answers --------------------------------------------------------------------


def kpi_answer(
    result: KpiResult,
    previous: KpiResult,
    change: Change,
    period: Period,
    account: str | None,
    lang: str,
) -> str:
    """One KPI: value, previous period and change, secondary figures, formula with the
    sums, completeness, notes; or why there is no value and how to get one."""
    lines = [header(kpi_name(result.kpi), period, account, lang)]
    if result.value is not None:
        lines.append(f"<b>{value_text(result.value, result.unit, lang)}</b>")
    else:
        lines.extend(missing_lines(result, lang))
    lines.append(previous_line(result, previous, change, period.previous(), lang))
    lines.extend(extras_lines(result, lang))
    if result.reason != UNPAIRED:
        lines.append(formula_line(result, lang))
    if result.reason not in (MISSING, UNPAIRED):
        lines.append(completeness_line(result, lang))
    left = left_out_line(result.left_out, lang)
    if left is not None and result.reason != MISSING:
        lines.append(left)
    lines.extend(flag_lines(result.flags, lang))
    lines.extend(f"ℹ️ {note_text(code)}" for code in result.notes)
    return "\n".join(lines)


def compact_change(change: Change, unit: str, lang: str) -> str:
    """The change in a /report line: p.p. for percent KPIs, else relative (absolute
    when the previous value was 0)."""
    if change.basis_changed:
        return _("not comparable: the previous period used another formula")
    if change.thin:
        return _("too little earlier data to compare")
    if change.absolute is None:
        return _("no earlier data") if change.previous is None else ""
    if change.absolute == 0:
        return "→ " + _("no change")
    if change.negligible:
        return "≈ " + _("no change")
    arrow = "↑" if change.absolute > 0 else "↓"
    if unit == "percent" or change.relative is None:
        text = f"{arrow} {_absolute(change.absolute, unit, lang)}"
    else:
        text = f"{arrow} {format_change(change.relative, lang)}"
    if change.better is not None:
        text += " 🟢" if change.better else " 🔴"
    return text


def report_line(result: KpiResult, change: Change, lang: str) -> str:
    value = value_text(result.value or 0.0, result.unit, lang)
    detail = ""
    x = result.extras
    if result.kpi == "engagement" and "by_impressions" in result.notes:
        detail = _(" (by impressions)")
    elif result.kpi == "engagement" and "by_followers" in result.notes:
        detail = _(" (by followers)")
    elif result.kpi == "growth" and x.get("net") is not None:
        net = x["net"] or 0.0
        detail = f" ({'+' if net > 0 else ''}{format_number(net, lang)})"
    elif result.kpi == "clicks" and x.get("ctr") is not None:
        detail = f" (CTR {format_percent(x['ctr'] or 0.0, lang)})"
    elif result.kpi == "visitors":
        detail = _(" new")
    if result.kpi == "engagement" and x.get("err_views") is not None:
        detail += _(", ERR by views {value}").format(
            value=format_percent(x["err_views"] or 0.0, lang)
        )
    line = f"• {kpi_name(result.kpi)}: <b>{value}</b>{detail}"
    change_str = compact_change(change, result.unit, lang)
    return f"{line} · {change_str}" if change_str else line


def missing_reason(result: KpiResult, lang: str) -> str:
    if result.reason == UNPAIRED:
        return _("never on the same account-days")
    if result.reason == ZERO_DENOMINATOR:
        return _("{denominator} = 0").format(
            denominator=html.escape(denominator_name(result, lang))
        )
    names = ", ".join(metric_name(n, lang) for n in _missing_metrics(result))
    return _("no data: {metrics}").format(metrics=html.escape(names))


# Metrics /report shows as counters, in this order (Σ over the period).
REPORT_COUNTERS: tuple[str, ...] = ("visitors", "pageviews")
_COUNTER_FORMULAS: Mapping[str, LazyProxy] = {
    "visitors": __("Σ visitors"),
    "pageviews": __("Σ pageviews"),
}


def _counter_lines(
    counters: Mapping[str, float], period: Period, lang: str
) -> tuple[list[str], list[str]]:
    lines = [
        _("• {name}: <b>{value}</b> ({formula})").format(
            name=html.escape(metric_name(key, lang).capitalize()),
            value=format_number(counters[key], lang),
            formula=_COUNTER_FORMULAS[key],
        )
        for key in REPORT_COUNTERS
        if key in counters
    ]
    notes = []
    if "visitors" in counters and period.days > 1:
        notes.append(
            _(
                "A sum of daily unique visitors counts a person once for every day they came, "
                "so it overstates unique visitors over the period."
            )
        )
    return lines, notes


def report_answer(
    pairs: Sequence[tuple[KpiResult, Change]],
    best_worst: tuple[GroupRow, GroupRow] | None,
    has_posts: bool,
    period: Period,
    account: str | None,
    days_with_data: int,
    lang: str,
    counters: Mapping[str, float] | None = None,
) -> str:
    """Every KPI the data allows, one or two lines each, then what cannot be computed.

    `counters`: the period's sums of metrics shown as plain counters (site visitors
    and pageviews, `REPORT_COUNTERS`), each with its formula."""
    lines = [header(_("Report"), period, account, lang)]
    completeness = coverage_text(days_with_data, period.days, capital=True)
    lines.append(
        _("{completeness} · compared with {period}").format(
            completeness=completeness, period=format_period(period.previous(), lang)
        )
    )
    lines.append("")
    missing: list[KpiResult] = []
    for result, change in pairs:
        if result.value is None:
            missing.append(result)
            if result.kpi == "engagement" and result.extras.get("err_views") is not None:
                views = format_percent(result.extras["err_views"] or 0.0, lang)
                lines.append(_("• ERR by views: <b>{value}</b>").format(value=views))
        else:
            lines.append(report_line(result, change, lang))
        # Hashtags sit at their place in the SPEC's list of 12.
        if result.kpi == "time_on_page" and best_worst is not None:
            best, worst = best_worst
            lines.append(
                "• "
                + _(
                    "Hashtags: best {best} (ERR {best_err}), worst {worst} (ERR {worst_err})"
                ).format(
                    best=html.escape("#" + best.key),
                    best_err=format_percent(best.err or 0.0, lang),
                    worst=html.escape("#" + worst.key),
                    worst_err=format_percent(worst.err or 0.0, lang),
                )
                + " — /hashtags"
            )
    counter_lines, counter_notes = _counter_lines(counters or {}, period, lang)
    lines.extend(counter_lines)
    notes = left_out_block([r for r, _c in pairs if r.value is not None], lang)
    notes.extend(counter_notes)
    for result, _change in pairs:
        if result.value is not None:
            notes.extend(flag_lines(result.flags, lang))
    if notes:
        lines.append("")
        lines.extend(dict.fromkeys(notes))
    if missing or best_worst is None:
        lines.append("")
        lines.append(_("<b>Can't compute:</b>"))
        for result in missing:
            lines.append(f"• {kpi_name(result.kpi)} — {missing_reason(result, lang)}")
        if best_worst is None:
            reason = (
                _("no hashtag is used in 2 or more posts")
                if has_posts
                else _("no posts: send a file with one row per post")
            )
            lines.append(f"• {kpi_name('hashtags')} — {reason}")
        wanted: list[str] = []
        for result in missing:
            for name in _missing_metrics(result):
                if name not in wanted:
                    wanted.append(name)
        if wanted:
            lines.append(
                _("Add data: <code>{example}</code> or send a CSV/XLSX file.").format(
                    example=html.escape(log_hint(wanted[:8], lang))
                )
            )
    lines.append(_("What each KPI means: /kpi"))
    return "\n".join(lines)


def no_data_answer(period: Period, account: str | None, last_day: date | None, lang: str) -> str:
    lines = [
        header(_("Report"), period, account, lang),
        _("No numbers for this period yet."),
    ]
    if last_day is not None and last_day not in period:
        lines.append(
            _("The latest data is for {day}: try /report {year}.").format(
                day=format_day(last_day, lang), year=last_day.year
            )
        )
    lines.append(
        _(
            "Add numbers: <code>/log reach=12000 likes=340</code>, step by step with /add, "
            "or send a CSV/XLSX export as a file. What each KPI means: /kpi"
        )
    )
    return "\n".join(lines)
