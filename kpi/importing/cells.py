"""One cell → a value: text, numbers with the column's decimal mark, durations.

Pure and per cell; what a column means is decided elsewhere (`columns`,
`meaning`). `CellParser` holds the per-column facts learnt from the sample
(decimal mark, TRUE/FALSE columns) so that every row is read the same way.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, time, timedelta

from kpi.importing import errors as E
from kpi.importing.columns import Column
from kpi.importing.errors import ImportFailure
from kpi.importing.reader import Cell, FormulaCell
from kpi.metrics import METRICS
from kpi.parsing import _MONTHS, MAX_ABS, parse_duration, parse_number

MISSING = frozenset(
    [
        "",
        "-",
        "—",
        "–",
        "--",
        "n/a",
        "na",
        "nan",
        "null",
        "none",
        "нет данных",
        "н/д",
        "#n/a",
        "(not set)",
        "not set",
        "∅",
        "undefined",
    ]
)
TRUE_WORDS = frozenset(["true", "yes", "да", "y", "истина", "t"])
FALSE_WORDS = frozenset(["false", "no", "нет", "n", "ложь", "f"])
TOTAL_RE = re.compile(
    r"^(?:итого|итог|всего|total|totals|grand total|sum|сумма|среднее|average|в среднем)\b",
    re.IGNORECASE,
)
ALPHA_RE = re.compile(r"[^\W\d_]")
# Engagement counters that platforms report net of removals: a day can be below zero.
NET_ENGAGEMENT = frozenset(("likes", "comments", "shares", "saves", "reactions"))


def cell_text(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, str):
        return cell.strip()
    if isinstance(cell, bool):
        return "TRUE" if cell else "FALSE"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, datetime | date | time):
        return cell.isoformat()
    return str(cell)


def is_blank(cells: list[Cell]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def fast_float(s: str) -> float | None:
    """Plain `123` / `0.25` without the general parser: most cells are like that."""
    if s.isascii() and s.replace(".", "", 1).isdigit():
        return float(s)
    return None


def is_number(text: str) -> bool:
    try:
        parse_number(text)
    except ValueError:
        return False
    return True


def number_or_zero(text: str) -> float:
    try:
        return parse_number(text)
    except ValueError:
        return 0.0


def month_of(v: Cell) -> int | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int | float):
        return int(v) if float(v).is_integer() and 1 <= v <= 12 else None
    if isinstance(v, str):
        s = v.strip().lower().rstrip(".")
        if s.isdigit():
            return int(s) if 1 <= int(s) <= 12 else None
        return _MONTHS.get(s)
    return None


def formula_failure(formulas: dict[str, tuple[int, str]]) -> ImportFailure:
    """Every column with formulas Excel has not calculated, the first cell of each named."""
    cells = sorted(formulas.items(), key=lambda kv: kv[1][0])
    first_header, (first_row, first_formula) = cells[0]
    if len(cells) == 1:
        return ImportFailure(
            E.FORMULAS, first_row, first_header, first_formula, "a formula without its value"
        )
    return ImportFailure(
        E.FORMULAS,
        first_row,
        None,
        first_formula,
        "formulas without their values",
        rows=tuple(row for _header, (row, _f) in cells),
        columns=tuple(header for header, _cell in cells),
    )


class CellParser:
    """Numbers and durations of metric cells, with what the sample taught about each column."""

    __slots__ = ("decimals", "flags", "formulas", "negative_cells")

    def __init__(self, negative_cells: dict[str, int]) -> None:
        self.decimals: dict[int, str | None] = {}  # column index → "," or "." or unknown
        self.flags: set[int] = set()  # TRUE/FALSE columns
        self.negative_cells = negative_cells  # header → cells below zero (kept)
        # header → (first row, formula) of formula cells without a value: all of them are
        # named at the end, so the user fixes the file once.
        self.formulas: dict[str, tuple[int, str]] = {}

    def number(self, n: int, col: Column, v: Cell, *, percent_ok: bool = False) -> float | None:
        if v is None:
            return None
        if v.__class__ is FormulaCell:
            self.formulas.setdefault(col.header, (n, str(v)))
            return None
        if type(v) is str:
            t = v[:-1].rstrip() if percent_ok and v.endswith("%") else v
            if self.decimals.get(col.index) == ",":
                fast = fast_float(t.replace(",", ".", 1)) if "." not in t else None
            else:
                fast = fast_float(t)
            if fast is not None:
                if fast > MAX_ABS:
                    raise ImportFailure(E.BAD_NUMBER, n, col.header, v, "too large")
                return fast
        if isinstance(v, bool):
            return 1.0 if v else 0.0
        if isinstance(v, int | float):
            value = float(v)
            if not math.isfinite(value) or abs(value) > MAX_ABS:
                raise ImportFailure(
                    E.BAD_NUMBER, n, col.header, cell_text(v), "not a finite number"
                )
        elif isinstance(v, str):
            s = v.strip()
            low = s.lower()
            if low in MISSING:
                return None
            if col.index in self.flags:
                if low in TRUE_WORDS:
                    return 1.0
                if low in FALSE_WORDS:
                    return 0.0
            if "%" in s and not percent_ok:
                raise ImportFailure(
                    E.BAD_NUMBER, n, col.header, s, "a percentage in a column of counts"
                )
            try:
                value = parse_number(s, decimal=self.decimals.get(col.index))
            except ValueError as e:
                raise ImportFailure(E.BAD_NUMBER, n, col.header, s, str(e)) from None
        elif isinstance(v, timedelta):
            value = v.total_seconds()
        elif isinstance(v, time):
            value = v.hour * 3600 + v.minute * 60 + v.second + v.microsecond / 1e6
        else:
            raise ImportFailure(E.BAD_NUMBER, n, col.header, cell_text(v), "a date, not a number")
        if value < 0 and col.metric in NET_ENGAGEMENT:
            # TikTok's daily comments and likes are net of removals (`-1`): real, kept.
            counts = self.negative_cells
            counts[col.header] = counts.get(col.header, 0) + 1
        elif value < 0 and not (col.metric in METRICS and METRICS[col.metric].signed):
            raise ImportFailure(
                E.NEGATIVE, n, col.header, cell_text(v), "negative values are not allowed"
            )
        return value

    def duration(self, n: int, col: Column, v: Cell) -> float | None:
        if isinstance(v, str) and fast_float(v) is None and (":" in v or ALPHA_RE.search(v)):
            s = v.strip()
            if s.lower() in MISSING:
                return None
            try:
                return parse_duration(s)
            except ValueError as e:
                raise ImportFailure(E.BAD_DURATION, n, col.header, s, str(e)) from None
        return self.number(n, col, v)
