"""Why a file cannot be imported: one exception with a machine code and a place."""

from __future__ import annotations

# Codes (the bot translates them; `detail` is an English fallback).
TOO_LARGE = "too_large"  # over max_bytes
EMPTY = "empty"  # no bytes, or only blank lines
NOT_A_TABLE = "not_a_table"  # binary junk, PDF, images, JSON, no header row
LEGACY_XLS = "legacy_xls"  # an old binary .xls: ask for .xlsx or CSV
BAD_XLSX = "bad_xlsx"  # a damaged workbook
ZIP_BOMB = "zip_bomb"  # declared sizes or compression ratio out of bounds
TOO_MANY_ROWS = "too_many_rows"
TOO_MANY_CELLS = "too_many_cells"
BAD_CSV = "bad_csv"  # e.g. an unterminated quote
HEADER_ONLY = "header_only"  # a header and no data rows
NO_METRICS = "no_metrics"  # no column maps to a metric the bot knows
NO_ROWS = "no_rows"  # data rows exist but none could be used (all totals, no dates…)
BAD_NUMBER = "bad_number"  # a cell in a metric column is not a number
BAD_DURATION = "bad_duration"
NEGATIVE = "negative"  # a negative count, sum of money or duration
BAD_DATE = "bad_date"
BAD_CAPTION = "bad_caption"  # two different accounts in the caption
MIXED_DATES = "mixed_dates"  # a date column whose day/month order cannot be decided (`rows`)
FORMULAS = "formulas"  # XLSX formula cells without cached values (`columns`)
DAY_OUT_OF_RANGE = "day_out_of_range"  # before 2000-01-01 or after today (kpi/datepolicy.py)
BAD_ACCOUNT = "bad_account"  # an account name that breaks kpi/accounts.py's rule


class ImportFailure(Exception):
    """The whole file is refused; nothing of it may be stored.

    `row` is 1-based as a spreadsheet shows it (a plain CSV's header is row 1),
    `column` the header text of the offending column, `value` the cell as read.
    """

    def __init__(
        self,
        code: str,
        row: int | None = None,
        column: str | None = None,
        value: str | None = None,
        detail: str = "",
        rows: tuple[int, ...] = (),
        columns: tuple[str, ...] = (),
    ) -> None:
        self.code = code
        self.rows = rows  # several rows to name (mixed dates); `row` is the first
        self.columns = columns  # several columns to name (formulas); else `column`
        self.row = row
        self.column = column
        self.value = value if value is None or len(value) <= 80 else value[:77] + "…"
        self.detail = detail
        super().__init__(self._message())

    def _message(self) -> str:
        parts = [self.code]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column {self.column!r}")
        if self.value is not None:
            parts.append(f"value {self.value!r}")
        text = ", ".join(parts)
        return f"{text}: {self.detail}" if self.detail else text
