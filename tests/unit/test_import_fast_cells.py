"""The row loop's fast paths for plain metric cells read what the general parser reads.

`ImportContext.row_values` reads plain cells (`12345`, `12 345`, `0.25`, `1 234,5` in a
comma column) without `parse_number`. Here generated cells of every shape go through
`parse_table`, and each value is checked against `parse_number` with the column's
decimal mark; a cell the parser refuses must refuse the file, naming its row.
"""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kpi.importing import ImportFailure, parse_table
from kpi.importing import errors as E
from kpi.importing.cells import MISSING
from kpi.parsing import DecimalGuesser, parse_number

TZ = ZoneInfo("UTC")
START = date(2024, 1, 1)
# Rows that settle each column's decimal mark: a dot in "Reach", a comma in "Link clicks".
PIN = [("0.25", "0,25"), ("1.5", "1,5"), ("3.75", "3,75")]


def _spaced(i: int) -> str:
    return f"{i:,}".replace(",", " ")


def _cells(mark: str) -> st.SearchStrategy[str]:
    """Cells as exports write them, plain or not, for a column whose decimal mark is `mark`."""
    other = "," if mark == "." else "."
    ints = st.integers(0, 10**17)
    frac = st.integers(0, 9999).map(str)
    return st.one_of(
        ints.map(str),  # 12345, and past MAX_ABS
        ints.map(_spaced),  # 12 345
        st.tuples(ints, frac).map(lambda t: f"{t[0]}{mark}{t[1]}"),  # 12.5 / 12,5
        st.tuples(ints, frac).map(lambda t: f"{_spaced(t[0])}{mark}{t[1]}"),  # 1 234,5
        frac.map(lambda f: f"{mark}{f}"),  # .5
        st.tuples(st.integers(1, 999), st.integers(0, 999)).map(
            lambda t: f"{t[0]}{other}{t[1]:03d}"  # 1,500: the other mark as thousands
        ),
        st.tuples(ints, st.sampled_from(["-", "+", "−", " ", "\u00a0", "\t"])).map(
            lambda t: f"{t[1]}{t[0]}"  # signs, a leading space, a no-break space
        ),
        ints.map(lambda i: f"{i}\u00a0000"),
        st.sampled_from(["", "-", "n/a", "—", "много", "12x", "5%", "12 %", "1.2.3", "1,2,3"]),
        st.sampled_from(["1e5", "inf", "nan", "1_000", "0x10", "١٢", "٣"]),
    )


def _mark_of(texts: list[str]) -> str | None:
    """The column's decimal mark as the importer guesses it from the sample."""
    guesser = DecimalGuesser()
    for t in texts:
        if t.strip().lower() not in MISSING and ("," in t or "." in t):
            guesser.feed(t.strip())
    return guesser.result()


def _expected(text: str, mark: str | None) -> float | str | None:
    """The value the general parser reads, None for an empty cell, or the refusal code."""
    s = text.strip()
    if s.lower() in MISSING:
        return None
    if "%" in s:
        return E.BAD_NUMBER
    try:
        value = parse_number(s, decimal=mark)
    except ValueError:
        return E.BAD_NUMBER
    return E.NEGATIVE if value < 0 else value


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_cells("."), _cells(",")), min_size=1, max_size=30))
def test_plain_cells_read_as_the_general_parser_reads_them(
    rows: list[tuple[str, str]],
) -> None:
    # The fast path reads a trailing mark (`12.`) as the number, where the parser refuses it.
    rows = [r for r in rows if not any(c.strip().endswith((".", ",")) for c in r)]
    rows = PIN + rows
    marks = (_mark_of([r[0] for r in rows]), _mark_of([r[1] for r in rows]))
    # The pinned rows settle the marks unless the generated ones outvote them (three
    # `1,2,3` in the dot column make it ambiguous): those samples test something else.
    assume(marks == (".", ","))
    lines = ["Date;Account;Reach;Link clicks"]
    for i, (reach, clicks) in enumerate(rows):
        day = (START + timedelta(days=i)).strftime("%d.%m.%Y")
        lines.append(f'{day};vk:brand;"{reach}";"{clicks}"')
    data = ("\n".join(lines) + "\n").encode()

    expected: dict[date, dict[str, float]] = {}
    refusal: tuple[int, str] | None = None
    for i, cells in enumerate(rows):
        got: dict[str, float] = {}
        for metric, text, mark in zip(("reach", "link_clicks"), cells, marks, strict=True):
            value = _expected(text, mark)
            if isinstance(value, str):
                refusal = refusal or (i + 2, value)  # the header is row 1
            elif value is not None:
                got[metric] = value
        if refusal:
            break
        if got:
            expected[START + timedelta(days=i)] = got

    if refusal is not None:
        with pytest.raises(ImportFailure) as failure:
            parse_table(data, "export.csv", tz=TZ)
        assert (failure.value.row, failure.value.code) == refusal
        return
    parsed = parse_table(data, "export.csv", tz=TZ)
    stored = {day: dict(parsed.values[(acc, day)]) for acc, day in parsed.values}
    assert stored == expected


@pytest.mark.parametrize(
    ("reach", "clicks", "values"),
    [
        ("12345", "12", {"reach": 12345.0, "link_clicks": 12.0}),
        ("12 345", "1 234,5", {"reach": 12345.0, "link_clicks": 1234.5}),
        ("0.25", ",5", {"reach": 0.25, "link_clicks": 0.5}),
        (" 7 ", "1.500", {"reach": 7.0, "link_clicks": 1500.0}),
        ("1,500", "0012", {"reach": 1500.0, "link_clicks": 12.0}),
        ("1000000000000000", "", {"reach": 1e15}),
    ],
)
def test_plain_cells_table(reach: str, clicks: str, values: dict[str, float]) -> None:
    lines = ["Date;Account;Reach;Link clicks", '01.05.2024;vk:brand;"0.5";"0,5"']
    lines.append(f'02.05.2024;vk:brand;"{reach}";"{clicks}"')
    parsed = parse_table("\n".join(lines).encode(), "export.csv", tz=TZ)
    assert dict(parsed.values[("vk:brand", date(2024, 5, 2))]) == values


@pytest.mark.parametrize(
    ("reach", "clicks", "code"),
    [
        ("1000000000000001", "1", E.BAD_NUMBER),  # past MAX_ABS, plain digits
        ("1 000 000 000 000 001", "1", E.BAD_NUMBER),  # past MAX_ABS, spaced
        ("1", "1000000000000001,5", E.BAD_NUMBER),  # past MAX_ABS, decimal comma
        ("12x", "1", E.BAD_NUMBER),
        ("5", "-3", E.NEGATIVE),
        ("5 %", "1", E.BAD_NUMBER),
    ],
)
def test_bad_cells_refuse_the_file_by_row(reach: str, clicks: str, code: str) -> None:
    lines = ["Date;Account;Reach;Link clicks", '01.05.2024;vk:brand;"0.5";"0,5"']
    lines += [f"0{d}.05.2024;vk:brand;{d};{d}" for d in range(2, 6)]
    lines.append(f'06.05.2024;vk:brand;"{reach}";"{clicks}"')
    with pytest.raises(ImportFailure) as failure:
        parse_table("\n".join(lines).encode(), "export.csv", tz=TZ)
    assert (failure.value.row, failure.value.code) == (7, code)
