"""The KPI commands: /reach /engagement (/er) /conversion /growth /clicks (/ctr) /bounce
/visitors /timeonpage /hashtags /formats /cac /mentions /roi /audience /report /kpi.

All of them only read, so anyone in a chat may use them. Each takes an optional
period and an optional account in either order (`/roi 30d vk:brand`); the
default is the last 30 days including today in the workspace's time zone, all
accounts together. Sums come from SQL (`storage.metrics.period_data`); the
formulas are `kpi.kpis`; the words are `handlers.kpi_texts`.

The eleven single-KPI commands share one handler, `cmd_single_kpi`: they differ
only in the formula they pick.

`/audience` shows the latest snapshot, so a period argument is accepted but does
not narrow it (a breakdown is a state, not a flow).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message
from aiogram.utils.i18n import gettext as _

from bot.services.insights import goal_statuses
from bot.services.rendering import ChartRenderer
from bot.texts import bold, italic
from handlers import kpi_texts as t
from handlers.insights_texts import goal_lines
from handlers.replies import CAPTION_LIMIT, TEXT_LIMIT, current_language, split_text
from handlers.report_pdf import cmd_report_pdf
from handlers.selection import read_period_account
from kpi.charts import BarChartSpec, BarGroup, render_bar_chart
from kpi.kpis import (
    KPI_FUNCTIONS,
    KPI_KEYS,
    AudienceRow,
    GroupRow,
    audience,
    compare,
    formats,
    hashtags,
)
from kpi.models import Period, PeriodData
from kpi.registry import COMMANDS, KPIS, PERIOD_KPIS
from kpi.registry import resolve_kpi as resolve_kpi_name
from storage import Storage
from storage.goals import Goal
from storage.records import Account, Workspace

log = logging.getLogger(__name__)

# Command → KPI key of the single-KPI commands (`kpi.registry`).
SINGLE_KPI_COMMANDS: Mapping[str, str] = COMMANDS
# /report's order: the SPEC's list of 12 (hashtags are a line of their own).
REPORT_KPIS: tuple[str, ...] = PERIOD_KPIS
TOP_ROWS = 5
AUDIENCE_BARS = 8  # buckets per dimension on the chart; the rest become "other"
# Module-level so a test can shrink it and watch /report split.
REPORT_LIMIT = TEXT_LIMIT


@dataclass(frozen=True, slots=True)
class Selection:
    """What a KPI command was asked about."""

    period: Period
    account: Account | None
    lang: str

    @property
    def account_id(self) -> int | None:
        return self.account.id if self.account else None

    @property
    def account_name(self) -> str | None:
        return self.account.name if self.account else None


def today_in(workspace: Workspace, clock: Callable[[], datetime]) -> datetime:
    return clock().astimezone(ZoneInfo(workspace.timezone))


async def read_selection(
    message: Message,
    command: CommandObject,
    storage: Storage,
    workspace: Workspace,
    clock: Callable[[], datetime],
) -> Selection | None:
    """Period and account from the command's arguments; on a bad one replies and returns None."""
    lang = current_language()
    today = today_in(workspace, clock).date()
    asked = await read_period_account(
        command.args or "", command.command.lower(), storage, workspace, today
    )
    if asked.error is not None:
        await message.reply(asked.error)
        return None
    return Selection(asked.period, asked.account, lang)


async def load_periods(
    storage: Storage, workspace: Workspace, sel: Selection, *, with_posts: bool = False
) -> tuple[PeriodData, PeriodData]:
    """Sums for the period and for the previous period of equal length (one connection)."""
    return await storage.metrics.period_pair(
        workspace.id,
        sel.period,
        account_id=sel.account_id,
        margin=workspace.margin,
        with_posts=with_posts,
    )


async def load_periods_and_goals(
    storage: Storage, workspace: Workspace, sel: Selection, *, with_posts: bool = False
) -> tuple[PeriodData, PeriodData, list[Goal]]:
    """`load_periods` and the workspace's goals, in one trip to the reader."""
    return await storage.metrics.period_pair_with(
        workspace.id,
        sel.period,
        storage.goals.goals_unit(workspace.id),
        account_id=sel.account_id,
        margin=workspace.margin,
        with_posts=with_posts,
    )


async def cmd_single_kpi(
    message: Message,
    command: CommandObject,
    storage: Storage,
    workspace: Workspace,
    clock: Callable[[], datetime],
) -> None:
    key = SINGLE_KPI_COMMANDS[command.command.lower()]
    sel = await read_selection(message, command, storage, workspace, clock)
    if sel is None:
        return
    current, previous, goals = await load_periods_and_goals(storage, workspace, sel)
    formula = KPI_FUNCTIONS[key]
    result, before = formula(current), formula(previous)
    text = t.kpi_answer(
        result, before, compare(result, before), sel.period, sel.account_name, sel.lang
    )
    text += await _goal_lines(storage, workspace, clock, sel, key, goals)
    for part in split_text(text):
        await message.answer(part)


async def cmd_report(
    message: Message,
    command: CommandObject,
    storage: Storage,
    workspace: Workspace,
    clock: Callable[[], datetime],
) -> None:
    sel = await read_selection(message, command, storage, workspace, clock)
    if sel is None:
        return
    current, previous, goals = await load_periods_and_goals(
        storage, workspace, sel, with_posts=True
    )
    if current.days_with_data == 0 and not current.posts:
        span = await storage.metrics.data_span(workspace.id, sel.account_id)
        text = t.no_data_answer(sel.period, sel.account_name, span.last_day, sel.lang)
        await message.answer(text)
        return
    pairs = []
    for key in REPORT_KPIS:
        formula = KPI_FUNCTIONS[key]
        result = formula(current)
        pairs.append((result, compare(result, formula(previous))))
    rows = [r for r in hashtags(current.posts) if r.err is not None]
    best_worst = (rows[0], rows[-1]) if len(rows) >= 2 else None
    text = t.report_answer(
        pairs,
        best_worst,
        bool(current.posts),
        sel.period,
        sel.account_name,
        current.days_with_data,
        sel.lang,
        counters={k: current.sums[k] for k in t.REPORT_COUNTERS if k in current.sums},
    )
    if lines := await _goal_lines(storage, workspace, clock, sel, None, goals):
        # Goal status first, under the title line.
        title, _sep, rest = text.partition("\n")
        text = f"{title}{lines}\n{rest}"
    for part in split_text(text, REPORT_LIMIT):
        await message.answer(part)


async def _goal_lines(
    storage: Storage,
    workspace: Workspace,
    clock: Callable[[], datetime],
    sel: Selection,
    kpi: str | None,
    goals: Sequence[Goal],
) -> str:
    """The goals of this KPI (or all, for /report) and of the asked-for account, one line
    each with a leading newline; "" without any. `goals`: the workspace's goals."""
    if not goals:
        return ""
    today = today_in(workspace, clock).date()
    statuses = [
        s
        for s in await goal_statuses(storage, workspace, today, goals)
        if (kpi is None or s.goal.spec.kpi == kpi) and s.goal.account_id == sel.account_id
    ]
    return "".join("\n" + line for line in goal_lines(statuses, sel.lang))


def _ranked_lines(rows: list[GroupRow], lang: str, *, hashtag: bool) -> list[str]:
    if len(rows) <= 2 * TOP_ROWS:
        lines = [_("<b>All, best first:</b>")]
        lines += [t.group_line(i, r, lang, hashtag=hashtag) for i, r in enumerate(rows, 1)]
        return lines
    lines = [_("<b>Best:</b>")]
    lines += [t.group_line(i, r, lang, hashtag=hashtag) for i, r in enumerate(rows[:TOP_ROWS], 1)]
    lines.append(_("<b>Worst:</b>"))
    first = len(rows) - TOP_ROWS + 1
    lines += [
        t.group_line(i, r, lang, hashtag=hashtag) for i, r in enumerate(rows[-TOP_ROWS:], first)
    ]
    return lines


async def _groups_answer(
    message: Message,
    command: CommandObject,
    storage: Storage,
    workspace: Workspace,
    clock: Callable[[], datetime],
    *,
    by_hashtag: bool,
) -> None:
    sel = await read_selection(message, command, storage, workspace, clock)
    if sel is None:
        return
    lang = sel.lang
    posts = await storage.metrics.posts_in_period(workspace.id, sel.period, sel.account_id)
    title = t.kpi_name("hashtags" if by_hashtag else "formats")
    lines = [t.header(title, sel.period, sel.account_name, lang)]
    if not posts:
        lines.append(_("No posts in this period."))
        lines.append(
            _(
                "Send a CSV/XLSX file with one row per post: date, format, text or hashtags, "
                "reach, likes, comments, shares, saves."
            )
        )
        await message.answer("\n".join(lines))
        return
    rows = hashtags(posts) if by_hashtag else formats(posts)
    baseline = next((r.baseline_err for r in rows), None)
    posts_line = _("Posts: {n}").format(n=len(posts))
    if baseline is not None:
        posts_line += " · " + _("ERR of all posts: {value}").format(
            value=t.value_text(baseline, "percent", lang)
        )
    lines.append(posts_line)
    if not rows:
        lines.append(
            _("No hashtag is used in 2 or more posts.")
            if by_hashtag
            else _("No post format is used in 2 or more posts.")
        )
    else:
        lines += _ranked_lines(rows, lang, hashtag=by_hashtag)
        if rows[0].basis == "impressions":
            lines.append("ℹ️ " + _("The posts have no reach: ERR is by impressions."))
        elif rows[0].basis is None:
            lines.append(
                "ℹ️ "
                + _(
                    "The posts have no reach or impressions (the Bot API gives no views): "
                    "ranked by interactions per post; reactions count as interactions."
                )
            )
        if by_hashtag:
            lines.append("ℹ️ " + _("Hashtags used in fewer than 2 posts are left out."))
    lines.append(t.hashtag_formula())
    for part in split_text("\n".join(lines)):
        await message.answer(part)


async def cmd_hashtags(
    message: Message,
    command: CommandObject,
    storage: Storage,
    workspace: Workspace,
    clock: Callable[[], datetime],
) -> None:
    await _groups_answer(message, command, storage, workspace, clock, by_hashtag=True)


async def cmd_formats(
    message: Message,
    command: CommandObject,
    storage: Storage,
    workspace: Workspace,
    clock: Callable[[], datetime],
) -> None:
    await _groups_answer(message, command, storage, workspace, clock, by_hashtag=False)


def _audience_groups(
    breakdown: dict[str, tuple[AudienceRow, ...]],
) -> tuple[BarGroup, ...]:
    groups = []
    for dimension, rows in breakdown.items():
        shown = [r for r in rows if r.share is not None]
        bars = [(t.audience_bucket(r.bucket), r.share or 0.0) for r in shown[:AUDIENCE_BARS]]
        rest = sum(r.share or 0.0 for r in shown[AUDIENCE_BARS:])
        if rest > 0:
            bars.append((_("other"), rest))
        if bars:
            groups.append(BarGroup(t.audience_dimension(dimension), tuple(bars)))
    return tuple(groups)


def _audience_text(groups: tuple[BarGroup, ...], lang: str, *, per_group: int | None) -> str:
    lines = []
    for group in groups:
        bars = group.bars if per_group is None else group.bars[:per_group]
        items = ", ".join(
            f"{html.escape(label)} {t.value_text(share, 'percent', lang)}" for label, share in bars
        )
        lines.append(f"{bold(group.title)}: {items}")
    return "\n".join(lines)


async def cmd_audience(
    message: Message,
    command: CommandObject,
    storage: Storage,
    workspace: Workspace,
    clock: Callable[[], datetime],
    renderer: ChartRenderer,
) -> None:
    sel = await read_selection(message, command, storage, workspace, clock)
    if sel is None:
        return
    lang = sel.lang
    day, buckets = await storage.metrics.latest_audience(workspace.id, sel.account_id)
    title = t.kpi_name("audience")
    if day is None or not buckets:
        await message.answer(
            "\n".join(
                (
                    f"{bold(title)} · {t.account_label(sel.account_name)}",
                    _("No audience breakdown yet."),
                    _(
                        "Send a CSV/XLSX file with the columns dimension (age, gender, city), "
                        "bucket and share or count — e.g. an audience export from VK or "
                        "Instagram statistics."
                    ),
                )
            )
        )
        return
    groups = _audience_groups(audience(buckets))
    subtitle = _("{account} · as of {day}").format(
        account=t.account_label(sel.account_name), day=t.format_day(day, lang)
    )
    head = f"{bold(title)} · {subtitle}"
    try:
        spec = BarChartSpec(title=title, groups=groups, subtitle=html.unescape(subtitle), lang=lang)
        png = await renderer.render(render_bar_chart, spec)
    except Exception:
        log.exception("audience chart failed for workspace %s", workspace.id)
        text = head + "\n" + _audience_text(groups, lang, per_group=None)
        for part in split_text(text):
            await message.answer(part)
        return
    caption = head + "\n" + _audience_text(groups, lang, per_group=3)
    if len(caption) > CAPTION_LIMIT:
        caption = head
    await message.answer_photo(BufferedInputFile(png, filename="audience.png"), caption=caption)


def _kpi_block(key: str) -> str:
    commands = t.KPI_COMMANDS[key]
    formula = t.hashtag_formula() if key == "hashtags" else t.formula_words(KPIS[key].formula)
    return "\n".join(
        (
            f"{bold(t.kpi_name(key))} — {commands}",
            t.explanation(key),
            italic(formula),
        )
    )


async def cmd_kpi(message: Message, command: CommandObject) -> None:
    arg = (command.args or "").strip()
    if arg:
        word = arg.split()[0]
        key = resolve_kpi_name(word)
        if key is None and word.lower().lstrip("/") == "форматы":
            key = "hashtags"
        if key is None:
            names = ", ".join(KPI_KEYS)
            await message.reply(
                _("I don't know the KPI “{name}”. Known: {names}.").format(
                    name=html.escape(word[:64]), names=names
                )
            )
            return
        await message.answer(_kpi_block(key))
        return
    blocks = [_("<b>The 12 KPIs</b> — any of them: /kpi roi")]
    blocks += [_kpi_block(key) for key in KPI_KEYS]
    blocks.append(
        _(
            "Every KPI command takes a period and an account in any order: "
            "<code>/roi 30d vk:brand</code>. /report shows them all."
        )
    )
    for part in split_text("\n\n".join(blocks)):
        await message.answer(part)


def create_router() -> Router:
    router = Router(name="kpi")
    single = [c for c, k in SINGLE_KPI_COMMANDS.items() if k in KPI_FUNCTIONS]
    router.message.register(cmd_single_kpi, Command(*single, ignore_case=True))
    # `/report pdf ...`: the PDF report (handlers/report_pdf.py), before the text report.
    pdf = F.args.regexp(r"(?i)^\s*(pdf|пдф)\b")
    router.message.register(cmd_report_pdf, Command("report", ignore_case=True, magic=pdf))
    router.message.register(cmd_report, Command("report", ignore_case=True))
    router.message.register(cmd_hashtags, Command("hashtags", ignore_case=True))
    router.message.register(cmd_formats, Command("formats", ignore_case=True))
    router.message.register(cmd_audience, Command("audience", ignore_case=True))
    router.message.register(cmd_kpi, Command("kpi", ignore_case=True))
    return router
