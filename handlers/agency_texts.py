"""The words of agency mode: linking, the roll-up, /client and /brand.

KPI lines are `handlers.kpi_texts.report_line`, the very line `/report` prints, so a
client's figure reads the same in the roll-up and in the client's own chat.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.i18n import chosen_currency, use_currency
from handlers import kpi_texts as t
from kpi.models import Period
from kpi.rollup import STALE_DAYS, RollupRow
from storage.agency import Brand, Client

# --- linking --------------------------------------------------------------------------


def link_code_text(code: str, hours: int) -> str:
    shown = f"{code[:5]}-{code[5:]}"
    return "\n".join(
        (
            _("<b>A link code for a client's chat</b>: <code>{code}</code>").format(code=shown),
            _(
                "An administrator of the client's chat sends there: <code>/agency {code}</code>"
            ).format(code=shown),
            _(
                "The code works once, for {hours} hours. The client's chat will see its own "
                "numbers only; this chat will see the client's KPIs."
            ).format(hours=hours),
        )
    )


def linked_text(agency_title: str, name: str) -> str:
    return "\n".join(
        (
            _("✅ This chat is now a client of «{agency}».").format(
                agency=html.escape(agency_title)
            ),
            _(
                "The agency's chat sees this chat's KPIs (as “{name}”); it can't change "
                "anything here, and no other client sees them. To stop: /agency leave"
            ).format(name=html.escape(name)),
        )
    )


def agency_notice_linked(client_title: str, name: str) -> str:
    return _("✅ New client linked: <b>{name}</b> ({title}). See them all: /clients").format(
        name=html.escape(name), title=html.escape(client_title)
    )


def redeem_refusal(outcome: str) -> str:
    texts = {
        "unknown": _(
            "This code is not valid. Ask the agency for a new one: /clients link in its chat."
        ),
        "used": _("This code has already been used. Ask the agency for a new one."),
        "expired": _("This code has expired (codes work for 24 hours). Ask for a new one."),
        "self": _("This code is for a client's chat, not for the agency's own chat."),
        "already": _("This chat is already a client of this agency."),
        "taken": _(
            "This chat is already a client of another agency. Leave it first: /agency leave"
        ),
        "is_agency": _("This chat has clients of its own, so it can't be a client."),
        "is_client": _("The chat that issued this code is itself a client: it can't have clients."),
    }
    return texts.get(outcome, texts["unknown"])


def agency_usage() -> str:
    return _(
        "To link this chat to an agency: <code>/agency CODE</code> with the code from "
        "/clients link in the agency's chat. To stop: /agency leave"
    )


def agency_status(agency_title: str | None) -> str:
    if agency_title is None:
        return _("This chat is not a client of any agency.") + "\n" + agency_usage()
    return _(
        "This chat is a client of «{agency}»: its chat sees this chat's KPIs. "
        "To stop: /agency leave"
    ).format(agency=html.escape(agency_title))


def left_text(agency_title: str) -> str:
    return _("Done: «{agency}» no longer sees this chat.").format(agency=html.escape(agency_title))


def not_a_client() -> str:
    return _("This chat is not a client of any agency: nothing to leave.")


def agency_notice_left(name: str) -> str:
    return _("Client <b>{name}</b> has left: its KPIs are no longer shown here.").format(
        name=html.escape(name)
    )


def unlinked_text(name: str) -> str:
    return _("Done: <b>{name}</b> is no longer a client of this chat.").format(
        name=html.escape(name)
    )


def client_notice_unlinked(agency_title: str) -> str:
    return _("«{agency}» has unlinked this chat: it no longer sees its KPIs.").format(
        agency=html.escape(agency_title)
    )


def unknown_client(name: str, clients: Sequence[Client]) -> str:
    names = ", ".join(f"<code>{html.escape(c.name)}</code>" for c in clients)
    line = _("There is no client “{name}” in this chat.").format(name=html.escape(name[:64]))
    if not clients:
        return line + "\n" + no_clients()
    return line + "\n" + _("Clients: {names}.").format(names=names)


def no_clients() -> str:
    return _(
        "This chat has no clients yet. To link one: /clients link, then the client's "
        "administrator sends the code in the client's chat."
    )


def clients_usage() -> str:
    return "\n".join(
        (
            _("<code>/clients [period]</code> — the clients' KPIs, what needs attention first"),
            _("<code>/clients link</code> — a one-time code to link a client's chat"),
            _("<code>/clients unlink name</code> — stop seeing a client"),
            _("<code>/clients kpis reach er roi</code> — the KPIs the roll-up shows"),
            _("<code>/client name report</code> — any KPI command for one client"),
        )
    )


def client_usage(clients: Sequence[Client]) -> str:
    text = _(
        "Ask about one client: <code>/client name command</code>, e.g. "
        "<code>/client {name} report 30d</code> or <code>/client {name} report pdf</code>."
    ).format(name=html.escape(clients[0].name if clients else "acme"))
    if clients:
        names = ", ".join(f"<code>{html.escape(c.name)}</code>" for c in clients)
        text += "\n" + _("Clients: {names}.").format(names=names)
    return text


def client_command_refused(command: str, allowed: Sequence[str]) -> str:
    return _(
        "From here a client's KPIs can only be read: /{command} is not one of {commands}."
    ).format(command=html.escape(command[:32]), commands=", ".join(f"/{c}" for c in allowed))


def client_header(name: str, title: str | None) -> str:
    label = f"<b>{html.escape(name)}</b>"
    if title:
        label += f" ({html.escape(title)})"
    return _("📁 Client {client}:").format(client=label)


# --- the roll-up ---------------------------------------------------------------------


def kpis_text(kpis: Sequence[str], *, changed: bool) -> str:
    names = ", ".join(t.kpi_name(k) for k in kpis)
    if changed:
        return _("Done: the roll-up shows {kpis}.").format(kpis=names)
    return _("The roll-up shows {kpis}. Change: <code>/clients kpis reach er roi</code>").format(
        kpis=names
    )


def kpis_refused(word: str, known: str, limit: int) -> str:
    return _("“{word}” is not a KPI of the roll-up (at most {limit} of: {known}).").format(
        word=html.escape(word[:32]), limit=limit, known=known
    )


def _freshness(row: RollupRow, lang: str) -> str:
    days = row.days_since_data
    if days is None:
        return "⚠️ " + _("no data yet")
    if days == 0:
        text = _("last data today")
    elif days == 1:
        text = _("last data yesterday")
    else:
        text = ngettext("last data {n} day ago", "last data {n} days ago", days).format(n=days)
    return f"⚠️ {text}" if row.stale else text


def rollup_client(index: int, row: RollupRow, lang: str) -> list[str]:
    f = row.figures
    mark = "🔴" if f.firing or f.goals_at_risk else ("🟡" if row.needs_attention else "🟢")
    head = f"{index}. {mark} <b>{html.escape(f.name)}</b>"
    if f.title and f.title.lower() != f.name:
        head += f" · {html.escape(f.title)}"
    head += f" · {_freshness(row, lang)}"
    lines = [head]
    # Money in the client's own currency, as its own /report shows it.
    with use_currency(f.currency or chosen_currency()):
        for result, change in f.kpis:
            if result.value is None:
                lines.append(f"• {t.kpi_name(result.kpi)} — {t.missing_reason(result, lang)}")
            else:
                lines.append(t.report_line(result, change, lang))
    if f.firing:
        names = ", ".join(t.kpi_name(k) if k in t.KPI_COMMANDS else k for k in f.firing)
        lines.append("🔔 " + _("alert firing: {kpis}").format(kpis=names))
    if f.goals:
        if f.goals_at_risk:
            goal = _("goals at risk: {n} of {total}").format(n=f.goals_at_risk, total=f.goals)
        elif f.goals_off_track:
            goal = _("goals off track: {n} of {total}").format(n=f.goals_off_track, total=f.goals)
        else:
            goal = _("goals on track: {total}").format(total=f.goals)
        lines.append("🎯 " + goal)
    return lines


def rollup_text(
    rows: Sequence[RollupRow],
    first_index: int,
    total: int,
    page: int,
    pages: int,
    period: Period,
    lang: str,
) -> str:
    attention = sum(1 for r in rows if r.needs_attention)
    head = _("<b>Clients</b> · {period} · {count} in all").format(
        period=t.format_period(period, lang), count=total
    )
    if pages > 1:
        head += " · " + _("page {page} of {pages}").format(page=page + 1, pages=pages)
    lines = [head]
    lines.append(
        _("What needs attention first (alerts, goals at risk, no data for {days}+ days).").format(
            days=STALE_DAYS
        )
        + " "
        + _("Compared with {period}.").format(period=t.format_period(period.previous(), lang))
    )
    if attention == 0 and page == 0:
        lines.append("✅ " + _("Nothing needs attention."))
    for offset, row in enumerate(rows):
        lines.append("")
        lines.extend(rollup_client(first_index + offset, row, lang))
    lines.append("")
    lines.append(_("One client in detail: <code>/client name report</code>"))
    return "\n".join(lines)


def digest_section(rows: Sequence[RollupRow], lang: str, limit: int) -> list[str]:
    """The agency digest's roll-up: the clients that need attention first, one line each."""
    if not rows:
        return []
    lines = [_("<b>Clients</b>, what needs attention first:")]
    for row in rows[:limit]:
        f = row.figures
        parts = [f"<b>{html.escape(f.name)}</b>"]
        if f.firing:
            names = ", ".join(t.kpi_name(k) if k in t.KPI_COMMANDS else k for k in f.firing)
            parts.append("🔔 " + _("alert firing: {kpis}").format(kpis=names))
        if f.goals_at_risk:
            parts.append(
                "🎯 " + _("goals at risk: {n} of {total}").format(n=f.goals_at_risk, total=f.goals)
            )
        if row.stale:
            parts.append(_freshness(row, lang))
        if not row.needs_attention:
            parts.append("✅")
        lines.append("• " + " · ".join(parts))
    if len(rows) > limit:
        lines.append(_("…and {count} more: /clients").format(count=len(rows) - limit))
    return lines


# --- brand ------------------------------------------------------------------------------


def brand_text(brand: Brand) -> str:
    lines = [_("<b>Brand</b> of this chat's PDF reports and digest dashboards:")]
    lines.append(
        _("Name: {name}").format(name=html.escape(brand.name) if brand.name else _("not set"))
    )
    lines.append(_("Logo: {state}").format(state=_("set") if brand.logo_png else _("not set")))
    lines.append(_("Colour: {colour}").format(colour=brand.colour or _("default")))
    lines.append(brand_usage())
    return "\n".join(lines)


def brand_usage() -> str:
    return _(
        "<code>/brand name Acme Agency</code>; a logo: send a picture with the caption "
        "<code>/brand logo</code>; <code>/brand colour #1f6feb</code>; "
        "<code>/brand reset</code>."
    )


def brand_saved() -> str:
    return _("Done: the brand is saved. It shows on /report pdf and the digest.")


def brand_logo_hint() -> str:
    return _(
        "Send the logo as a picture (not as a file) with the caption <code>/brand logo</code>."
    )


def brand_logo_bad() -> str:
    return _("I couldn't read that picture as an image. Send a PNG or JPEG photo.")


def brand_colour_bad(word: str) -> str:
    return _("“{word}” is not a colour: write it as <code>#1f6feb</code>.").format(
        word=html.escape(word[:32])
    )


def brand_name_bad(limit: int) -> str:
    return _("A brand name is 1 to {limit} characters.").format(limit=limit)
