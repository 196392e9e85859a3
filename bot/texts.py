"""Texts shared by handlers and the wiring: the command list (menu and /help) and the
metrics' display names."""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass

from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.i18n import ngettext
from babel.support import LazyProxy

from kpi.numbers import format_number


@dataclass(frozen=True, slots=True)
class CommandInfo:
    command: str
    description: LazyProxy
    group: str  # "kpi", "data", "setup"
    in_menu: bool = True


COMMANDS: tuple[CommandInfo, ...] = (
    CommandInfo("report", __("All KPIs the data allows"), "kpi"),
    CommandInfo("reach", __("Reach, impressions, frequency"), "kpi"),
    CommandInfo("engagement", __("Engagement rate (ERR, ER)"), "kpi"),
    CommandInfo("conversion", __("Conversion rate"), "kpi"),
    CommandInfo("growth", __("Audience growth"), "kpi"),
    CommandInfo("clicks", __("Link clicks and CTR"), "kpi"),
    CommandInfo("bounce", __("Bounce rate"), "kpi"),
    CommandInfo("visitors", __("New vs returning visitors"), "kpi"),
    CommandInfo("timeonpage", __("Average time on page"), "kpi"),
    CommandInfo("hashtags", __("Hashtag performance"), "kpi"),
    CommandInfo("formats", __("Post format performance"), "kpi"),
    CommandInfo("cac", __("Customer acquisition cost"), "kpi"),
    CommandInfo("mentions", __("Brand mentions"), "kpi"),
    CommandInfo("roi", __("Return on investment"), "kpi"),
    CommandInfo("audience", __("Audience by age, gender, city"), "kpi"),
    CommandInfo("chart", __("Chart of a KPI"), "kpi"),
    CommandInfo("kpi", __("What each KPI means"), "kpi"),
    CommandInfo("goals", __("Goals: progress and pace"), "kpi"),
    CommandInfo("goal", __("Set a goal: /goal reach 300000 month"), "kpi", in_menu=False),
    CommandInfo("forecast", __("Forecast of a KPI by week"), "kpi"),
    CommandInfo("why", __("What changed a KPI and why"), "kpi"),
    CommandInfo("content", __("What content worked"), "kpi"),
    CommandInfo("clients", __("Agency: all clients' KPIs, what needs attention first"), "kpi"),
    CommandInfo(
        "client", __("Agency: one client's KPIs: /client acme report"), "kpi", in_menu=False
    ),
    CommandInfo("log", __("Type in numbers: /log reach=12000"), "data"),
    CommandInfo("add", __("Add numbers step by step"), "data"),
    CommandInfo("undo", __("Remove the last import"), "data"),
    CommandInfo("mappings", __("Remembered file readings"), "data", in_menu=False),
    CommandInfo("cancel", __("Stop /add or a pending file import"), "data", in_menu=False),
    CommandInfo("export", __("Download the data: Excel or CSV"), "data"),
    CommandInfo("channels", __("Connected Telegram channels"), "data"),
    CommandInfo("campaigns", __("Campaign links: joins, leaves, CAC"), "data"),
    CommandInfo("campaign", __("Campaign link: /campaign new spring 5000"), "data", in_menu=False),
    CommandInfo("account", __("Accounts: add, list, rename, delete"), "setup"),
    CommandInfo("digest", __("Weekly digest schedule"), "setup"),
    CommandInfo("alerts", __("Alert rules"), "setup"),
    CommandInfo("alert", __("Add an alert rule"), "setup", in_menu=False),
    CommandInfo("settings", __("Language, time zone, margin"), "setup"),
    CommandInfo("agency", __("Link this chat to an agency: /agency CODE"), "setup", in_menu=False),
    CommandInfo("brand", __("Brand of PDF reports: /brand name Acme"), "setup", in_menu=False),
    CommandInfo("lang", __("Language: /lang ru or /lang en"), "setup", in_menu=False),
    CommandInfo("timezone", __("Time zone: /timezone Europe/Moscow"), "setup", in_menu=False),
    CommandInfo("margin", __("Profit margin for ROI: /margin 35%"), "setup", in_menu=False),
    CommandInfo("currency", __("Currency of money values: /currency USD"), "setup", in_menu=False),
    CommandInfo("delete_all", __("Delete all data of this chat"), "setup", in_menu=False),
    CommandInfo("help", __("Commands"), "setup"),
    CommandInfo("start", __("Start"), "setup", in_menu=False),
)

# Metric display names: the name a message, a file header or a hint shows.
# The Russian catalogue holds the Russian names (kpi.metrics keeps both only as
# spellings accepted on input).
METRIC_NAMES: Mapping[str, LazyProxy] = {
    "reach": __("reach"),
    "impressions": __("impressions"),
    "likes": __("likes"),
    "views": __("views"),
    "reactions": __("reactions"),
    "comments": __("comments"),
    "shares": __("shares"),
    "saves": __("saves"),
    "interactions": __("interactions"),
    "posts": __("posts"),
    "link_clicks": __("link clicks"),
    "sessions": __("sessions"),
    "bounces": __("bounces"),
    "pageviews": __("pageviews"),
    "time_on_page_s": __("total time on page"),
    "visitors": __("visitors"),
    "new_visitors": __("new visitors"),
    "returning_visitors": __("returning visitors"),
    "conversions": __("conversions"),
    "new_customers": __("new customers"),
    "revenue": __("revenue"),
    "ad_spend": __("ad spend"),
    "content_cost": __("content cost"),
    "mentions": __("mentions"),
    "mentions_positive": __("positive mentions"),
    "mentions_negative": __("negative mentions"),
    "new_followers": __("new followers"),
    "unfollows": __("unfollows"),
    "net_followers": __("net followers"),
    "followers": __("followers"),
}


def metric_display_name(name: str) -> str:
    """A metric's name in the current language; an unknown name as it is, `_` as spaces."""
    if name in METRIC_NAMES:
        return str(METRIC_NAMES[name])
    return name.replace("_", " ")


# Markup around text: the one place a tag meets a value, always escaped (a name from
# an uploaded file may hold `<` or `&`). Whole sentences keep their tags in the catalogue.


def bold(text: str) -> str:
    return f"<b>{html.escape(text)}</b>"


def italic(text: str) -> str:
    return f"<i>{html.escape(text)}</i>"


def code(text: str) -> str:
    return f"<code>{html.escape(text)}</code>"


# Counts with their noun, in the plural form the language wants for `n` (`1 день`,
# `2 дня`, `5 дней`); the number itself in the language's format (`12 345`).


def account_days(n: int, lang: str) -> str:
    """`1 account-day row`, `5 строк (аккаунт за день)`: stored rows of one account's day."""
    return ngettext("{n} account-day row", "{n} account-day rows", n).format(
        n=format_number(n, lang)
    )


def posts_count(n: int, lang: str) -> str:
    return ngettext("{n} post", "{n} posts", n).format(n=format_number(n, lang))


def audience_rows(n: int, lang: str) -> str:
    return ngettext("{n} audience row", "{n} audience rows", n).format(n=format_number(n, lang))


def accounts_count(n: int, lang: str) -> str:
    return ngettext("{n} account", "{n} accounts", n).format(n=format_number(n, lang))
