"""`/report pdf [period] [account]`: the client-ready report as a PDF document.

Everything in it comes from the surfaces the chat already has, so the PDF never says
something the chat would not: the KPI table is `/report`'s figures (`period_pair` and
`KPI_FUNCTIONS`, the same lines' values and changes), the charts are `/chart`'s
(`handlers.charts.kpi_chart`), the dashboard is the digest's tiles for the 12 weeks to the
period's end, goals are `goal_statuses`, "what changed and why" is `kpi.why` through
`why_for`, content is `kpi.content.insights`. The words are the chat's (gettext, the
workspace's language); the brand is the agency's (`/brand` in the agency's chat) for a
linked client, else the chat's own. `kpi.pdfreport` draws the pages (matplotlib PDF, A4).

From an agency's chat, `/client <name> report pdf` runs this handler with the client's
workspace (handlers/agency.py).
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram.filters import CommandObject
from aiogram.types import BufferedInputFile, Message
from aiogram.utils.i18n import gettext as _

from bot.services.agency import rollup_kpis
from bot.services.insights import goal_statuses, why_for
from bot.services.rendering import ChartRenderer
from handlers import kpi_texts as t
from handlers.charts import kpi_chart, short_change
from handlers.insights_texts import content_answer, goal_status_line, goal_target, why_sentence
from handlers.replies import current_language
from handlers.selection import read_period_account
from kpi.charts import (
    DashboardSpec,
    DashboardTile,
    render_dashboard,
    render_line_chart,
)
from kpi.content import from_records, insights
from kpi.digest import SPARK_WEEKS, dashboard_tiles, report_week, trend, week_buckets
from kpi.kpis import KPI_FUNCTIONS, Change, KpiResult, compare
from kpi.models import Period
from kpi.pdfreport import Cell, Heading, ReportSpec, Section, Table, render_report_pdf
from kpi.registry import PERIOD_KPIS, unit_of
from kpi.why import Why
from storage import Storage
from storage.records import Account, Workspace

log = logging.getLogger(__name__)

_TAG = re.compile(r"<[^>]+>")
_BOLD_LINE = re.compile(r"^\s*<b>([^<]*)</b>:?\s*$")


def plain(text: str) -> str:
    """HTML of a chat message as plain text for the PDF."""
    return html.unescape(_TAG.sub("", text))


def _paragraphs(text: str) -> list[str | Heading]:
    """A chat answer's lines after its title, a bold line alone as a sub-heading."""
    out: list[str | Heading] = []
    for line in text.split("\n")[1:]:
        if not line.strip():
            continue
        heading = _BOLD_LINE.match(line)
        out.append(Heading(plain(heading[1])) if heading else plain(line))
    return out


async def _dashboard(storage: Storage, workspace: Workspace, period: Period, title: str,
                     account_id: int | None, lang: str, brand: str,
                     colour: str | None) -> DashboardSpec | None:  # fmt: skip
    """The digest's tiles for the 12 weeks up to the week the period ends in."""
    # The last complete week up to the period's end (a week cut short would read as a drop).
    weeks = week_buckets(report_week(period.end + timedelta(days=1)), SPARK_WEEKS)
    data = await storage.metrics.aggregate(
        workspace.id, weeks, account_id=account_id, margin=workspace.margin
    )
    tiles = dashboard_tiles(data)
    if not tiles:
        return None
    shown = []
    for tile in tiles[:14]:
        value = (
            t.value_text(tile.value, tile.unit, lang) if tile.value is not None else _("no data")
        )
        shown.append(
            DashboardTile(
                name=t.kpi_name(tile.kpi),
                value_text=value,
                change_text=short_change(tile.change, tile.unit, lang),
                better=tile.change.better,
                trend=trend(tile.change),
                spark=tile.spark,
            )
        )
    subtitle = _("12 weeks to {day}, the week against the one before").format(
        day=t.format_day(weeks[-1].end, lang)
    )
    return DashboardSpec(
        title=title, subtitle=subtitle, tiles=tuple(shown), brand=brand, brand_colour=colour
    )


Triple = tuple[KpiResult, KpiResult, Change]  # a KPI now, before, and the change


def _kpi_rows(pairs: Sequence[Triple], lang: str) -> list[tuple[Cell, ...]]:
    rows: list[tuple[Cell, ...]] = []
    for result, previous, change in pairs:
        if result.value is None:
            continue
        before = (
            t.value_text(previous.value, previous.unit, lang) if previous.value is not None else "—"
        )
        rows.append(
            (
                Cell(t.kpi_name(result.kpi)),
                Cell(t.value_text(result.value, result.unit, lang)),
                Cell(before),
                Cell(plain(t.compact_change(change, result.unit, lang)) or "—", change.better),
            )
        )
    return rows


async def build_report(
    storage: Storage,
    renderer: ChartRenderer,
    workspace: Workspace,
    period: Period,
    account: Account | None,
    today: date,
    lang: str,
) -> ReportSpec:
    """Everything the PDF shows, in the workspace's words (call inside its locale)."""
    account_id = account.id if account else None
    account_name = account.name if account else None
    agency = await storage.agency.agency_of(workspace.id)
    brand = await storage.agency.brand(agency.id if agency else workspace.id)
    own_brand = await storage.agency.brand(workspace.id) if agency else brand
    client = workspace.title or _("Your SMM KPIs")
    maker = brand.name or (agency.title if agency else None)

    current, previous = await storage.metrics.period_pair(
        workspace.id, period, account_id=account_id, margin=workspace.margin, with_posts=True
    )
    triples = []
    for key in PERIOD_KPIS:
        formula = KPI_FUNCTIONS[key]
        now, before = formula(current), formula(previous)
        triples.append((now, before, compare(now, before)))
    with_value = [r for r, _b, _c in triples if r.value is not None]
    key_kpis = [
        k for k in rollup_kpis(own_brand.rollup_kpis or brand.rollup_kpis)
        if any(r.kpi == k for r in with_value)
    ] or [r.kpi for r in with_value[:4]]  # fmt: skip

    sections: list[Section] = []
    coverage = t.coverage_text(current.days_with_data, period.days, capital=True)
    compared = _("Compared with {period}.").format(period=t.format_period(period.previous(), lang))
    headline = [f"{coverage}. {compared}"]
    statuses = [
        s for s in await goal_statuses(storage, workspace, today)
        if s.goal.account_id == account_id
    ]  # fmt: skip
    sections.append(
        Section(
            _("Key figures"),
            tuple(headline),
            table=Table(
                (_("KPI"), _("Value"), _("Previous period"), _("Change")),
                tuple(_kpi_rows(triples, lang)),
            ),
        )
    )
    if statuses:
        goal_lines = []
        for s in statuses:
            target = goal_target(s.goal.spec, s.unit, lang)
            line = plain(goal_status_line(s.goal.spec, s.progress, s.unit, lang))
            goal_lines.append(f"{plain(target)}: {line}")
        sections.append(Section(_("Goals"), tuple(goal_lines), new_page=False))

    dashboard = await _dashboard(
        storage, workspace, period, client, account_id, lang, maker or "", brand.colour
    )
    if dashboard is not None:
        png = await renderer.render(render_dashboard, dashboard)
        sections.append(Section(_("Dashboard"), images=(png,)))

    charts = []
    for key in key_kpis:
        chart = await kpi_chart(storage, workspace, key, period, account_id, account_name or "",
                                lang)  # fmt: skip
        if chart is not None:
            charts.append(await renderer.render(render_line_chart, chart.spec))
    if charts:
        sections.append(Section(_("Key KPIs by day or week"), images=tuple(charts)))

    whys = []
    for key in key_kpis:
        why = await why_for(storage, workspace, key, period, account)
        if isinstance(why, Why):
            whys.append(plain(why_sentence(why, unit_of(key), lang)))
    if whys:
        sections.append(Section(_("What changed and why"), tuple(whys)))

    if current.posts:
        posts, left_out, basis = from_records(current.posts)
        found = await asyncio.to_thread(insights, posts, left_out=left_out, basis=basis)
        text = content_answer(found, t.format_period(period, lang), account_name, lang)
        sections.append(Section(_("What content worked"), tuple(_paragraphs(text))))

    # "Formula: Reach = Σ reach = 53 979": each starts with its KPI's name.
    formulas = [plain(t.formula_line(r, lang)) for r in with_value]
    sections.append(Section(_("Appendix: formulas with this period's sums"), tuple(formulas)))
    sections.append(Section(_("Data notes"), tuple(_data_notes(current, triples, lang))))

    cover = [
        _("Accounts: {accounts}").format(accounts=t.account_label(account_name)),
        coverage,
        compared,
        _("Made on {day}").format(day=t.format_day(today, lang)),
    ]
    prepared = _("Prepared by {agency}").format(agency=maker) if maker else None
    return ReportSpec(
        title=_("KPI report"),
        client=client,
        period=t.format_period(period, lang),
        prepared_by=prepared,
        cover_lines=tuple(plain(c) for c in cover),
        logo_png=brand.logo_png,
        colour=brand.colour,
        footer=f"{client} · {t.format_period(period, lang)}",
        sections=tuple(sections),
    )


def _data_notes(current: object, triples: Sequence[Triple], lang: str) -> list[str]:
    results = [r for r, _b, _c in triples]
    notes = [
        _("Every figure is a ratio of sums over the period, never an average of daily ratios.")
    ]
    for result in results:
        if result.value is not None and result.days_with_data < result.days:
            notes.append(plain(f"{t.kpi_name(result.kpi)}: {t.completeness_line(result, lang)}"))
    notes.extend(plain(line) for line in t.left_out_block(results, lang))
    for result in results:
        notes.extend(plain(line) for line in t.flag_lines(result.flags, lang))
    missing = [r for r in results if r.value is None]
    if missing:
        notes.append(_("Not computed (the data does not allow it):"))
        notes.extend(plain(f"• {t.kpi_name(r.kpi)} — {t.missing_reason(r, lang)}") for r in missing)
    for _result, _before, change in triples:
        if change.thin:
            notes.append(
                _(
                    "Some changes are not shown: the previous period has data on under half "
                    "as many days as this one."
                )
            )
            break
    return list(dict.fromkeys(notes))


def _filename(workspace: Workspace, period: Period) -> str:
    base = re.sub(r"[^\w-]+", "-", (workspace.title or "report").lower()).strip("-") or "report"
    return f"{base[:40]}-{period.start.isoformat()}-{period.end.isoformat()}.pdf"


async def cmd_report_pdf(
    message: Message,
    command: CommandObject,
    storage: Storage,
    workspace: Workspace,
    clock: Callable[[], datetime],
    renderer: ChartRenderer,
) -> None:
    args = (command.args or "").split(maxsplit=1)
    rest = args[1] if len(args) > 1 else ""
    today = clock().astimezone(ZoneInfo(workspace.timezone)).date()
    asked = await read_period_account(rest, "report pdf", storage, workspace, today)
    if asked.error is not None:
        await message.reply(asked.error)
        return
    lang = current_language()
    current = await storage.metrics.data_span(
        workspace.id, asked.account.id if asked.account else None
    )
    if current.last_day is None:
        await message.answer(
            _("No numbers yet, so no report. Send them with /log or a file, then try again.")
        )
        return
    spec = await build_report(
        storage, renderer, workspace, asked.period, asked.account, today, lang
    )
    try:
        pdf = await renderer.render(render_report_pdf, spec)
    except Exception:
        log.exception("PDF report failed for workspace %s", workspace.id)
        await message.answer(
            _("Sorry, the PDF could not be made this time. /report has the numbers.")
        )
        return
    caption = _("{title} · {period}: {sections}").format(
        title=html.escape(spec.client, quote=False),
        period=spec.period,
        sections=", ".join(html.escape(s.title, quote=False) for s in spec.sections),
    )
    await message.answer_document(
        BufferedInputFile(pdf, filename=_filename(workspace, asked.period)), caption=caption[:1024]
    )


__all__ = ["build_report", "cmd_report_pdf", "plain"]
