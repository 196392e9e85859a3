"""Bytes → rows of cells: encoding, delimiter, XLSX (with a zip-bomb guard).

Rows come out numbered as a spreadsheet numbers them (the first record of the
file is row 1), so an error can point at the row the user sees in Excel.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import warnings
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from kpi.importing import errors as E
from kpi.importing.errors import ImportFailure


class FormulaCell(str):
    """A formula cell the workbook holds no calculated value for (`=SUM(B2:B9)`).

    Excel stores a formula's last result beside it; files written by scripts or
    some exporters do not, so openpyxl reads the value as empty. The importer
    refuses such a cell where it needs the number, naming it, instead of
    reading it as blank.
    """

    __slots__ = ()


Cell = str | int | float | bool | datetime | date | time | timedelta | None
Records = Callable[[], Iterator[tuple[int, list[Cell]]]]

MAX_ROWS = 1_000_000
MAX_CELLS = 10_000_000
# A 20 MB upload may not unpack into more than this, nor at a worse ratio: real
# workbooks compress ~5-20×, bombs thousands of times.
MAX_UNZIPPED = 400 * 1024 * 1024
MAX_RATIO = 200
_SNIFF_CHARS = 64 * 1024
_ENCODING_SAMPLE = 512 * 1024

csv.field_size_limit(4 * 1024 * 1024)


@dataclass(frozen=True, slots=True)
class Source:
    kind: str  # "csv" or "xlsx"
    records: Records  # a fresh iterator each call
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None  # the worksheet read
    # Several worksheets hold a table and none was chosen: the user picks one.
    sheet_choices: tuple[tuple[int, str], ...] = ()  # (index, name)


def open_source(data: bytes, filename: str, sheet: int | None = None) -> Source:
    head = data[:8]
    name = filename.lower()
    if head.startswith(b"PK\x03\x04"):
        return _xlsx(data, sheet)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFailure(E.LEGACY_XLS, detail="old binary .xls: save it as .xlsx or CSV")
    if head.startswith((b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x1f\x8b", b"Rar!")):
        raise ImportFailure(E.NOT_A_TABLE, detail="not a table (PDF, image or archive)")
    if name.endswith((".xlsx", ".xlsm")):
        raise ImportFailure(E.BAD_XLSX, detail="the .xlsx file is not a valid workbook")
    text, encoding = decode(data)
    stripped = text.lstrip()
    if stripped[:1] in ("{", "[") and name.endswith(".json"):
        raise ImportFailure(E.NOT_A_TABLE, detail="JSON is not a table: send CSV or XLSX")
    if _looks_binary(text):
        raise ImportFailure(E.NOT_A_TABLE, detail="the file is not text: send CSV or XLSX")
    if not stripped:
        raise ImportFailure(E.EMPTY, detail="the file is empty")
    delimiter = sniff_delimiter(text)
    del text, stripped  # the rows are decoded again as they are read: one copy of the file

    def records() -> Iterator[tuple[int, list[Cell]]]:
        # Decoded a block at a time (a StringIO of the whole text would hold 4 bytes a
        # character). strict: an unterminated quote (a truncated file) is an error.
        lines = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, errors="replace", newline="")
        reader = csv.reader(lines, delimiter=delimiter, strict=True)
        n = 0
        try:
            for n, row in enumerate(reader, start=1):
                if n > MAX_ROWS:
                    raise ImportFailure(E.TOO_MANY_ROWS, detail=f"more than {MAX_ROWS} rows")
                yield n, list(row)
        except csv.Error as e:
            raise ImportFailure(E.BAD_CSV, row=n + 1, detail=str(e)) from None

    return Source("csv", records, encoding, delimiter)


def decode(data: bytes) -> tuple[str, str]:
    """Text and the encoding it was read with.

    UTF-8 (BOM or not) first; then cp1251 vs cp1252, told apart by what the
    high bytes form: Russian words are runs of letters above 0xC0 (cp1251
    Cyrillic), while Western text has single accented letters between ASCII
    ones. That beats a statistical detector on short files.
    """
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace"), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    sample = data[:_ENCODING_SAMPLE]  # the first part of a file is as telling as all of it
    cyrillic_runs = sum(len(m) for m in re.findall(rb"[\xc0-\xff\xa8\xb8]{2,}", sample))
    latin_mixed = len(re.findall(rb"[A-Za-z][\x80-\xff]|[\x80-\xff][A-Za-z]", sample))
    encoding = "cp1251" if cyrillic_runs > latin_mixed else "cp1252"
    return data.decode(encoding, errors="replace"), encoding


def _looks_binary(text: str) -> bool:
    sample = text[:4096]
    if "\x00" in sample:
        return True
    controls = sum(1 for c in sample if c < " " and c not in "\r\n\t\x0c")
    replaced = sample.count("\ufffd")
    return controls + replaced > max(8, len(sample) // 20)


def sniff_delimiter(text: str) -> str:
    """The delimiter that gives the most records with the same number (≥ 2) of fields."""
    sample = text[:_SNIFF_CHARS]
    cut = max(sample.rfind("\n"), sample.rfind("\r"))
    if len(text) > _SNIFF_CHARS and cut > 0:
        sample = sample[:cut]
    best, best_score = ",", (0, 0)
    for delimiter in (";", ",", "\t", "|"):
        counts: dict[int, int] = {}
        try:
            for row in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter):
                if row and not row[0].startswith("#"):
                    counts[len(row)] = counts.get(len(row), 0) + 1
        except csv.Error:
            continue
        for width, count in counts.items():
            if width >= 2 and (count, width) > best_score:
                best, best_score = delimiter, (count, width)
    return best


def _xlsx(data: bytes, sheet: int | None) -> Source:
    _check_zip(data)
    names, tables = _table_sheets(data)
    if sheet is not None:
        if not 0 <= sheet < len(names):
            raise ImportFailure(E.BAD_XLSX, detail=f"the workbook has no sheet {sheet + 1}")
        chosen = sheet
    elif len(tables) > 1:
        return Source("xlsx", lambda: iter(()), sheet_choices=tuple((i, names[i]) for i in tables))
    else:
        chosen = tables[0] if tables else 0

    def records() -> Iterator[tuple[int, list[Cell]]]:
        values_wb = _load(data, data_only=True)
        # The same sheet with formulas instead of results: a formula whose result
        # is missing becomes a FormulaCell, so it is named instead of read as blank.
        formulas_wb = _load(data, data_only=False)
        try:
            if not values_wb.worksheets:
                return
            rows = values_wb.worksheets[chosen].iter_rows(values_only=True)
            frows = formulas_wb.worksheets[chosen].iter_rows(values_only=True)
            cells = 0
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                n = 0
                while True:
                    try:
                        row = next(rows)
                        frow = next(frows, ())
                    except StopIteration:
                        break
                    except Exception as e:
                        raise ImportFailure(
                            E.BAD_XLSX, row=n + 1, detail=f"damaged sheet: {type(e).__name__}"
                        ) from None
                    n += 1
                    if n > MAX_ROWS:
                        raise ImportFailure(E.TOO_MANY_ROWS, detail=f"more than {MAX_ROWS} rows")
                    values: list[Cell] = list(row)
                    for i, f in enumerate(frow):
                        if f.__class__ is str and f.startswith("=") and i < len(values):
                            if values[i] is None:
                                values[i] = FormulaCell(f)
                        elif f.__class__ is str and f.startswith("=") and i >= len(values):
                            values.extend([None] * (i - len(values)) + [FormulaCell(f)])
                    while values and values[-1] is None:
                        values.pop()
                    cells += len(values)
                    if cells > MAX_CELLS:
                        raise ImportFailure(E.TOO_MANY_CELLS, detail=f"more than {MAX_CELLS} cells")
                    yield n, values
        finally:
            values_wb.close()
            formulas_wb.close()

    return Source("xlsx", records, sheet=names[chosen] if len(names) > 1 else None)


def _check_zip(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as e:
        raise ImportFailure(E.BAD_XLSX, detail=f"damaged workbook: {e}") from None
    if len(infos) > 5000:
        raise ImportFailure(E.ZIP_BOMB, detail="too many parts in the workbook")
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise ImportFailure(E.ZIP_BOMB, detail=f"{info.filename} unpacks suspiciously large")
    if total > MAX_UNZIPPED:
        raise ImportFailure(E.ZIP_BOMB, detail="the workbook unpacks to more than 400 MB")
    if not any(i.filename == "xl/workbook.xml" for i in infos):
        raise ImportFailure(E.NOT_A_TABLE, detail="a zip archive, not an .xlsx workbook")


def _load(data: bytes, *, data_only: bool) -> Any:
    import openpyxl  # imported here: only workbooks pay for it

    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and data validation it ignores.
            warnings.simplefilter("ignore")
            return openpyxl.load_workbook(
                io.BytesIO(data), read_only=True, data_only=data_only, keep_links=False
            )
    except Exception as e:  # openpyxl raises anything from KeyError to XML errors
        raise ImportFailure(E.BAD_XLSX, detail=f"damaged workbook: {type(e).__name__}") from None


_SHEET_PROBE_ROWS = 40


def _table_sheets(data: bytes) -> tuple[list[str], list[int]]:
    """Every worksheet's name, and the indexes of those that hold a table.

    A table: a row with at least two filled cells followed by another non-blank
    row, within the first rows (notes, a chart's sheet or an empty sheet are not).
    """
    wb = _load(data, data_only=True)
    try:
        names = [ws.title for ws in wb.worksheets]
        tables = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for i, ws in enumerate(wb.worksheets):
                try:
                    rows = ws.iter_rows(max_row=_SHEET_PROBE_ROWS, values_only=True)
                    filled = [sum(1 for v in row if v not in (None, "")) for row in rows]
                except Exception:
                    continue  # a damaged sheet is not a table; reading it would say why
                wide = [k for k, f in enumerate(filled) if f >= 2]
                if wide and any(f >= 1 for f in filled[wide[0] + 1 :]):
                    tables.append(i)
        return names, tables
    finally:
        wb.close()
