"""XLSX: the sheet that holds a table, a question when several do, formulas without values."""

from __future__ import annotations

import io
from datetime import date
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from kpi.importing import ImportFailure, parse_table

UTC = ZoneInfo("UTC")


def _book(*sheets: tuple[str, list[list[object]]]) -> bytes:
    wb = openpyxl.Workbook()
    first = True
    for title, rows in sheets:
        ws = wb.active if first else wb.create_sheet(title)
        assert ws is not None
        ws.title = title
        first = False
        for row in rows:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_the_data_on_the_second_sheet_is_found() -> None:
    data = _book(
        ("Readme", [["Exported from the cabinet on 2024-05-03"]]),
        ("Stats", [["Date", "Reach"], ["2024-05-01", 10], ["2024-05-02", 12]]),
    )
    parsed = parse_table(data, "report.xlsx", tz=UTC)
    assert parsed.sheet == "Stats"
    assert parsed.values == {
        (None, date(2024, 5, 1)): {"reach": 10},
        (None, date(2024, 5, 2)): {"reach": 12},
    }


def test_several_table_sheets_are_a_question_then_the_chosen_one_is_read() -> None:
    data = _book(
        ("VK", [["Date", "Reach"], ["2024-05-01", 10]]),
        ("Notes", [["just a note"]]),
        ("IG", [["Date", "Likes"], ["2024-05-01", 3]]),
    )
    parsed = parse_table(data, "report.xlsx", tz=UTC)
    assert parsed.sheet_choices == ((0, "VK"), (2, "IG"))
    assert parsed.values == {} and parsed.rows_read == 0
    chosen = parse_table(data, "report.xlsx", tz=UTC, sheet=2)
    assert chosen.sheet == "IG"
    assert chosen.values == {(None, date(2024, 5, 1)): {"likes": 3}}


def test_a_formula_without_its_value_is_named() -> None:
    # openpyxl writes formulas without cached results, as scripts and some exporters do.
    data = _book(("Data", [["Date", "Reach"], ["2024-05-01", 10], ["2024-05-02", "=B2*2"]]))
    with pytest.raises(ImportFailure) as exc:
        parse_table(data, "report.xlsx", tz=UTC)
    assert (exc.value.code, exc.value.row, exc.value.column, exc.value.value) == (
        "formulas", 3, "Reach", "=B2*2",
    )  # fmt: skip


def test_formulas_in_a_total_row_or_an_ignored_column_do_not_matter() -> None:
    data = _book(
        (
            "Data",
            [
                ["Date", "Reach", "Notes"],
                ["2024-05-01", 10, "=A2"],
                ["2024-05-02", 12, "=A3"],
                ["Итого", "=SUM(B2:B3)", ""],
            ],
        )
    )
    parsed = parse_table(data, "report.xlsx", tz=UTC)
    assert sum(v["reach"] for v in parsed.values.values()) == 22
    assert parsed.rows_skipped == {"total": 1}


def test_every_formula_column_is_named_at_once() -> None:
    data = _book(
        (
            "Data",
            [
                ["Date", "Reach", "Likes"],
                ["2024-05-01", 10, 1],
                ["2024-05-02", "=B2*2", 2],
                ["2024-05-03", 12, "=C3+1"],
            ],
        )
    )
    with pytest.raises(ImportFailure) as exc:
        parse_table(data, "report.xlsx", tz=UTC)
    e = exc.value
    assert (e.code, e.columns, e.rows, e.value) == ("formulas", ("Reach", "Likes"), (3, 4), "=B2*2")
