"""/export [period] [account]: the workspace's daily metrics as a CSV document.

Format decisions:
* One row per account and day, one column per metric that has any value in
  the period (canonical metric names as headers: the bot's own importer, pandas
  and BI tools read them back without a mapping), empty cells for missing values.
* Comma-separated, UTF-8 with a BOM. The BOM makes Excel (Windows and Mac) open
  Cyrillic account names correctly; the comma is RFC 4180's delimiter, which
  Google Sheets, LibreOffice, Numbers, pandas and our own upload read without a
  dialog. Numbers are written with a decimal point, so a comma delimiter is
  never ambiguous. (A Russian-locale Excel splits a double-clicked CSV on `;`;
  its Data → From Text/CSV import reads this file as is.)
* Text cells that start with `=`, `+`, `-`, `@`, a tab or a carriage return
  get a leading apostrophe, so a spreadsheet shows them as text instead of
  running them as a formula (an account name can come from an uploaded file's
  account column). Numbers are written by us from floats and are left alone.
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Callable
from datetime import datetime

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message
from aiogram.utils.i18n import gettext as _

from handlers.data_log import format_days
from handlers.kpi import read_selection
from handlers.replies import CAPTION_LIMIT
from kpi.metrics import METRIC_NAMES
from kpi.models import Period
from kpi.numbers import format_number
from storage import Storage
from storage.records import Workspace

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """A text cell a spreadsheet will not evaluate (OWASP "CSV injection")."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def _number(value: float) -> str:
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def build_csv(rows: list[tuple[str, object, dict[str, float]]]) -> bytes:
    """CSV bytes (UTF-8 with BOM): account, day, then the metrics present, in catalogue order."""
    present = {name for _, _, values in rows for name in values}
    columns = [name for name in METRIC_NAMES if name in present]
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["account", "day", *columns])
    for account, day, values in rows:
        writer.writerow(
            [
                neutralise(account),
                str(day),
                *(_number(values[c]) if c in values else "" for c in columns),
            ]
        )
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


async def cmd_export(
    message: Message,
    command: CommandObject,
    storage: Storage,
    workspace: Workspace,
    clock: Callable[[], datetime],
) -> None:
    sel = await read_selection(message, command, storage, workspace, clock)
    if sel is None:
        return
    rows = await storage.metrics.export_rows(workspace.id, sel.period, sel.account_id)
    lang = sel.lang
    days = format_days(sel.period.start, sel.period.end, lang)
    who = html.escape(sel.account_name) if sel.account_name else _("all accounts")
    if not rows:
        await message.reply(
            _("No data for {days} ({who}). Send a file or use /log, then /export again.").format(
                days=days, who=who
            )
        )
        return
    data = build_csv([(a, d, v) for a, d, v in rows])
    metrics = {m for _, _, v in rows for m in v}
    accounts = {a for a, _, _ in rows}
    caption = _(
        "Data for {days} ({who}): {rows} rows (account × day), {metrics} metrics, "
        "{accounts} accounts. UTF-8 CSV, comma-separated."
    ).format(
        days=days,
        who=who,
        rows=format_number(len(rows), lang),
        metrics=len(metrics),
        accounts=len(accounts),
    )
    await message.answer_document(
        BufferedInputFile(data, filename=_file_name(sel.period, sel.account_name)),
        caption=caption[:CAPTION_LIMIT],
    )


def _file_name(period: Period, account: str | None) -> str:
    # Account names from uploaded files may hold any character: keep the file name plain.
    tail = "_" + re.sub(r"[^a-z0-9_.-]+", "-", account.lower()).strip("-.") if account else ""
    return f"kpi_{period.start.isoformat()}_{period.end.isoformat()}{tail}.csv"


def create_router() -> Router:
    router = Router(name="data_export")
    router.message.register(cmd_export, Command("export", ignore_case=True))
    return router
