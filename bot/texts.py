"""Texts shared by handlers and the wiring: the command list (menu and /help)."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram.utils.i18n import lazy_gettext as __
from babel.support import LazyProxy


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
    CommandInfo("export", __("Download the data as CSV"), "data"),
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
