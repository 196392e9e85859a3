"""Date columns decided from all their values: mixed styles, undecidable mixes, no year."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest

from kpi.importing import ImportFailure, parse_table

UTC = ZoneInfo("UTC")


def _days(body: str, **kw: object) -> list[date]:
    parsed = parse_table(body.encode(), "dates.csv", tz=UTC, **kw)  # type: ignore[arg-type]
    return sorted(d for _a, d in parsed.values)


def test_each_style_in_a_mixed_column_keeps_its_own_order() -> None:
    # Issue #15 item 3: 06.01.2024 is 6 January beside ISO and US-style dates.
    body = "Date,Reach\n2024-01-05,1\n06.01.2024,2\n01/07/2024,3\n1/8/2024,4\n"
    assert _days(body) == [date(2024, 1, 5) + timedelta(days=i) for i in range(4)]


def test_an_undecidable_slash_date_beside_other_styles_is_refused_naming_the_row() -> None:
    body = "Date,Reach\n2024-01-05,1\n06.01.2024,2\n03/04/2024,3\n"
    with pytest.raises(ImportFailure) as exc:
        parse_table(body.encode(), "dates.csv", tz=UTC)
    assert (exc.value.code, exc.value.column, exc.value.rows) == ("mixed_dates", "Date", (4,))


def test_one_style_written_both_ways_is_refused_naming_the_minority_rows() -> None:
    body = "Date,Reach\n13/01/2024,1\n01/13/2024,2\n14/01/2024,3\n15/01/2024,4\n01/16/2024,5\n"
    with pytest.raises(ImportFailure) as exc:
        parse_table(body.encode(), "dates.csv", tz=UTC)
    assert (exc.value.code, exc.value.rows) == ("mixed_dates", (3, 6))


def test_a_single_style_column_still_decides_from_its_values() -> None:
    body = "Date,Reach\n03/04/2024,1\n03/05/2024,2\n25/04/2024,3\n"
    assert _days(body) == [date(2024, 4, 3), date(2024, 4, 25), date(2024, 5, 3)]


def test_days_without_a_year_end_on_or_before_the_upload_day_across_new_year() -> None:
    start = date(2025, 12, 29)
    lines = [
        f"{(start + timedelta(days=i)):%B} {(start + timedelta(days=i)).day},{i}" for i in range(6)
    ]
    body = "Date,Likes\n" + "\n".join(lines) + "\n"
    expected = [start + timedelta(days=i) for i in range(6)]
    assert _days(body, today=date(2026, 1, 10)) == expected
    # Newest first: the first row is the latest.
    body_desc = "Date,Likes\n" + "\n".join(reversed(lines)) + "\n"
    assert _days(body_desc, today=date(2026, 1, 10)) == expected
    # The caption's day anchors it too; without either, the bot asks for the day.
    assert _days(body, caption="2026-01-03") == expected
    parsed = parse_table(body.encode(), "dates.csv", tz=UTC)
    assert parsed.needs_day
