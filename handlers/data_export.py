"""/export [xlsx|csv] [period] [account]: the workspace's data as a file people open.

Format decisions:
* XLSX by default: one sheet per kind of data (daily metrics, posts, audience; a sheet
  only when the period has such data, the daily one always), headers in the
  workspace's language, real number and date cells, so Excel, LibreOffice and Google
  Sheets sort, sum and chart them without a text-to-columns step. Money columns say
  the workspace's currency in their header (`Выручка, ₽`).
* `/export csv`: the same tables as the workbook's sheets, one CSV file per kind of data
  (daily metrics, then posts and audience when there are any), each sent as its own
  document: a Russian Excel user opens each with a double click straight from the chat,
  where a zip would first need unpacking (and Telegram's phone apps do not open one).
  UTF-8 with a BOM (Excel then reads Cyrillic names right). Where the language writes
  a decimal comma (Russian): `;` between cells, decimal commas and `31.05.2024` dates —
  what that Excel splits on a double click; English: `,`, decimal points, ISO dates.
  Headers in the workspace language; the bot's own upload reads the daily file back.
* Text that starts with `=`, `+`, `-`, `@`, a tab or a carriage return cannot run as a
  formula: in CSV it gets a leading apostrophe; in XLSX it is written as a string cell
  (never a formula), unchanged (an account name can come from an uploaded file).
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from babel.dates import format_date
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from bot.texts import account_days, accounts_count, metric_display_name
from handlers.data_log import format_days
from handlers.kpi import read_selection
from handlers.replies import CAPTION_LIMIT, current_currency
from kpi.metrics import METRIC_NAMES, METRICS, Unit
from kpi.models import Period, PostRecord
from kpi.numbers import currency_sign, decimal_sign, locale_of
from storage import Storage
from storage.metrics import AudienceRow
from storage.records import Workspace

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMATS = {"xlsx": "xlsx", "excel": "xlsx", "csv": "csv"}
POST_COUNTERS = ("reach", "impressions", "likes", "comments", "shares", "saves", "link_clicks")
DayRow = tuple[str, date, dict[str, float]]


def neutralise(cell: str) -> str:
    """A text cell a spreadsheet will not evaluate (OWASP "CSV injection")."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


@dataclass(frozen=True, slots=True)
class Layout:
    """How numbers, dates and headers are written for one language."""

    lang: str
    currency: str
    # CLDR pattern of the date cells, chosen by the translator (`dd.MM.yyyy` in Russian).
    date_pattern: str = "yyyy-MM-dd"

    @property
    def delimiter(self) -> str:
        """`;` where the decimal sign is a comma (what that locale's Excel splits on),
        else `,`."""
        return ";" if decimal_sign(self.lang) == "," else ","

    def metric_header(self, name: str) -> str:
        text = metric_display_name(name)
        text = text[:1].upper() + text[1:]
        if name in METRICS and METRICS[name].unit is Unit.MONEY:
            return f"{text}, {currency_sign(self.currency, self.lang)}"
        return text

    def csv_number(self, value: float) -> str:
        text = str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.15g}"
        if "e" in text:
            text = f"{value:.12f}".rstrip("0").rstrip(".")
        return text.replace(".", decimal_sign(self.lang))

    def csv_date(self, day: date) -> str:
        return format_date(day, self.date_pattern, locale=locale_of(self.lang))

    @property
    def date_format(self) -> str:
        """The same pattern as an Excel number format (`DD.MM.YYYY`)."""
        return self.date_pattern.upper()


def _columns(rows: Sequence[DayRow]) -> list[str]:
    present = {name for _, _, values in rows for name in values}
    return [name for name in METRIC_NAMES if name in present]


Cell = str | date | float | int | None


@dataclass(frozen=True, slots=True)
class Table:
    """One kind of data as the workbook's sheet and the CSV file both show it."""

    kind: str  # "daily", "posts", "audience": the CSV file name's tail
    title: str
    headers: list[str]
    rows: list[list[Cell]]


def _number(value: float | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if value.is_integer() and abs(value) < 1e15 else value


def build_tables(
    days: Sequence[DayRow],
    posts: Sequence[PostRecord],
    audience: Sequence[AudienceRow],
    layout: Layout,
) -> list[Table]:
    """The daily metrics always, then posts and audience when there are any."""
    columns = _columns(days)
    tables = [
        Table(
            "daily",
            _("Daily metrics"),
            [_("Account"), _("Date"), *map(layout.metric_header, columns)],
            [[a, d, *(_number(v.get(c)) for c in columns)] for a, d, v in days],
        )
    ]
    if posts:
        headers = [_("Account"), _("Date"), _("Post"), _("Format"), _("Hashtags"), _("Text")]
        tables.append(
            Table(
                "posts",
                _("Posts"),
                [*headers, *map(layout.metric_header, POST_COUNTERS)],
                [
                    [
                        p.account, p.day, p.post_id, p.format,
                        " ".join(f"#{t}" for t in p.hashtags), p.text,
                        *(_number(getattr(p, c)) for c in POST_COUNTERS),
                    ]
                    for p in posts
                ],
            )
        )  # fmt: skip
    if audience:
        tables.append(
            Table(
                "audience",
                _("Audience"),
                [_("Account"), _("Date"), _("Breakdown"), _("Group"), _("Value"), _("Unit")],
                [
                    [
                        a.account, a.day, _dimension(a.bucket.dimension), a.bucket.bucket,
                        _number(a.bucket.value), "%" if a.bucket.is_share else _("people"),
                    ]
                    for a in audience
                ],
            )
        )  # fmt: skip
    return tables


def _csv_cell(value: Cell, layout: Layout) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, date):
        return layout.csv_date(value)
    return layout.csv_number(float(value))


def build_csv(table: Table, layout: Layout) -> bytes:
    """One table as CSV bytes (UTF-8 with BOM) in the language's layout."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=layout.delimiter, lineterminator="\r\n")
    writer.writerow(table.headers)
    for row in table.rows:
        writer.writerow([_csv_cell(v, layout) for v in row])
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def _text_cell(sheet: Worksheet, row: int, column: int, value: str) -> None:
    cell = sheet.cell(row=row, column=column, value=value)
    # openpyxl turns a string starting with "=" into a formula: keep it a string.
    cell.data_type = "s"


def _sheet(book: Workbook, table: Table, layout: Layout) -> None:
    sheet = book.create_sheet(title=table.title[:31])
    for column, header in enumerate(table.headers, start=1):
        _text_cell(sheet, 1, column, header)
        sheet.cell(row=1, column=column).font = Font(bold=True)
        sheet.column_dimensions[sheet.cell(row=1, column=column).column_letter].width = max(
            12, min(40, len(header) + 2)
        )
    sheet.freeze_panes = "A2"
    for r, values in enumerate(table.rows, start=2):
        for c, value in enumerate(values, start=1):
            if value is None:
                continue
            if isinstance(value, str):
                _text_cell(sheet, r, c, value)
                continue
            cell = sheet.cell(row=r, column=c, value=value)
            if isinstance(value, date):
                cell.number_format = layout.date_format
            elif isinstance(value, float) and not value.is_integer():
                cell.number_format = "#,##0.00"
            else:
                cell.number_format = "#,##0"


def build_xlsx(tables: Sequence[Table], layout: Layout) -> bytes:
    """The workbook: one sheet per table."""
    book = Workbook()
    assert book.active is not None
    book.remove(book.active)
    for table in tables:
        _sheet(book, table, layout)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _dimension(key: str) -> str:
    names = {"age": _("age"), "gender": _("gender"), "city": _("city"), "country": _("country")}
    return names.get(key, key)


def _split_format(command: CommandObject) -> tuple[str, CommandObject]:
    words = (command.args or "").split()
    kind = next((FORMATS[w.lower()] for w in words if w.lower() in FORMATS), "xlsx")
    rest = " ".join(w for w in words if w.lower() not in FORMATS)
    return kind, replace(command, args=rest or None)


async def cmd_export(
    message: Message,
    command: CommandObject,
    storage: Storage,
    workspace: Workspace,
    clock: Callable[[], datetime],
) -> None:
    kind, command = _split_format(command)
    sel = await read_selection(message, command, storage, workspace, clock)
    if sel is None:
        return
    lang = sel.lang
    rows = await storage.metrics.export_rows(workspace.id, sel.period, sel.account_id)
    posts = await storage.metrics.posts_in_period(workspace.id, sel.period, sel.account_id)
    audience = tuple(await storage.metrics.audience_rows(workspace.id, sel.period, sel.account_id))
    days = format_days(sel.period.start, sel.period.end, lang)
    who = html.escape(sel.account_name) if sel.account_name else _("all accounts")
    if not rows and not posts and not audience:
        await message.reply(
            _("No data for {days} ({who}). Send a file or use /log, then /export again.").format(
                days=days, who=who
            )
        )
        return
    # Translators: the CLDR pattern of dates in exported files (Russian: dd.MM.yyyy).
    layout = Layout(lang, current_currency(), _("yyyy-MM-dd"))
    tables = build_tables(rows, posts, audience, layout)
    n_rows, n_metrics = len(rows), len({m for _, _, v in rows for m in v})
    n_accounts = len({a for a, _, _ in rows})
    facts = _("Data for {days} ({who}): {rows}, {metrics}, {accounts}.").format(
        days=days,
        who=who,
        rows=account_days(n_rows, lang),
        metrics=ngettext("{n} metric", "{n} metrics", n_metrics).format(n=n_metrics),
        accounts=accounts_count(n_accounts, lang),
    )
    kinds = ", ".join(
        name
        for name, present in (
            (_("daily metrics"), True),
            (_("posts ({n})").format(n=len(posts)), bool(posts)),
            (_("audience ({n})").format(n=len(audience)), bool(audience)),
        )
        if present
    )
    name = _file_name(sel.period, sel.account_name, kind)
    if kind == "xlsx":
        how = _("Excel workbook: {sheets}. CSV instead: /export csv").format(sheets=kinds)
        await message.answer_document(
            BufferedInputFile(build_xlsx(tables, layout), filename=name),
            caption=f"{facts} {how}"[:CAPTION_LIMIT],
        )
        return
    how = (
        _("CSV for Excel: semicolons, decimal commas.")
        if layout.delimiter == ";"
        else _("CSV: commas, decimal points.")
    )
    if len(tables) > 1:
        how += " " + _("One file per kind of data: {kinds}.").format(kinds=kinds)
    for index, table in enumerate(tables):
        caption = (
            f"{facts} {how}"
            if index == 0
            else _("{kind}, {days}.").format(kind=table.title, days=days)
        )
        # The daily file keeps the plain name (it is the one the bot reads back).
        filename = name if table.kind == "daily" else name.replace(".csv", f"_{table.kind}.csv")
        await message.answer_document(
            BufferedInputFile(build_csv(table, layout), filename=filename),
            caption=caption[:CAPTION_LIMIT],
        )


def _file_name(period: Period, account: str | None, kind: str) -> str:
    # Account names from uploaded files may hold any character: keep the file name plain.
    tail = "_" + re.sub(r"[^a-z0-9_.-]+", "-", account.lower()).strip("-.") if account else ""
    return f"kpi_{period.start.isoformat()}_{period.end.isoformat()}{tail}.{kind}"


def create_router() -> Router:
    router = Router(name="data_export")
    router.message.register(cmd_export, Command("export", ignore_case=True))
    return router
