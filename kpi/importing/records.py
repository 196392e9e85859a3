"""Records → the header row, the lines above it, a sample, then the data rows.

The header is the first row (within the first 40) that looks like column
names: at least two filled cells, mostly not numbers, ideally one the bot
knows. Lines above it (titles, GA4's `#` comments) are kept as the preamble,
where a period's end day may be written. Rows then stream: `sample` holds the
first rows the columns are judged by, `rows()` yields the sample and then the
rest of the file without keeping it.
"""

from __future__ import annotations

from collections.abc import Iterator

from kpi.importing import errors as E
from kpi.importing.cells import cell_text, is_blank, is_number
from kpi.importing.columns import Role, classify
from kpi.importing.errors import ImportFailure
from kpi.importing.reader import Cell

HEADER_SEARCH = 40
MAX_COLUMNS = 5000


class RecordStream:
    def __init__(self, records: Iterator[tuple[int, list[Cell]]]) -> None:
        self.records = records
        self.preamble: list[str] = []
        self.pending: list[tuple[int, list[Cell]]] = []
        self.sample: list[tuple[int, list[Cell]]] = []
        self.exhausted = False
        self.prev_blank = False

    def fill_sample(self, size: int) -> None:
        """The rows below the header up to `size`, for judging the columns."""
        self.sample.extend(self.pending)
        self.pending = []
        while len(self.sample) < size and not self.exhausted:
            record = self.next_record()
            if record is None:
                break
            self.sample.append(record)

    def next_record(self) -> tuple[int, list[Cell]] | None:
        """The next data record: blank rows skipped, stops at a new `#` section."""
        for n, cells in self.records:
            c0 = cells[0] if cells else None
            head = c0[:1] if c0.__class__ is str else ""
            if head and head != "#" and not head.isspace() and len(cells) <= MAX_COLUMNS:
                # The usual row: a first cell that is neither blank nor a `#` comment.
                self.prev_blank = False
                return n, cells
            if is_blank(cells):
                self.prev_blank = True
                continue
            first = cell_text(cells[0]) if cells else ""
            if first.startswith("#") and self.prev_blank:
                # GA4 puts several tables in one file, each after `#` lines: keep the first.
                self.exhausted = True
                return None
            self.prev_blank = False
            if len(cells) > MAX_COLUMNS:
                raise ImportFailure(
                    E.TOO_MANY_CELLS, row=n, detail=f"more than {MAX_COLUMNS} columns"
                )
            return n, cells
        self.exhausted = True
        return None

    def rows(self) -> Iterator[tuple[int, list[Cell]]]:
        yield from self.sample
        self.sample = []
        while not self.exhausted:
            rec = self.next_record()
            if rec is None:
                break
            yield rec

    def find_header(self) -> tuple[int, list[Cell]]:
        seen: list[tuple[int, list[Cell]]] = []
        saw_any = blank_before = False
        for n, cells in self.records:
            if is_blank(cells):
                blank_before = True
                continue
            saw_any = True
            first = cell_text(cells[0]) if cells else ""
            if first.startswith("#"):
                if seen and blank_before:
                    self.exhausted = True  # the next GA4 section: keep the first table only
                    break
                self.preamble.append(" ".join(cell_text(c) for c in cells if c is not None))
                continue
            blank_before = False
            seen.append((n, cells))
            if len(seen) >= HEADER_SEARCH:
                break
        if not saw_any:
            raise ImportFailure(E.EMPTY, detail="the file has no rows")
        chosen: int | None = None
        fallback: int | None = None
        for i, (_, cells) in enumerate(seen):
            texts = [cell_text(c) for c in cells]
            filled = [t for t in texts if t]
            if len(filled) < 2:
                continue
            numeric = sum(1 for t in filled if is_number(t))
            if numeric * 2 > len(filled):
                continue
            if fallback is None:
                fallback = i
            known = sum(1 for t in filled if classify(t, web=False)[0] is not Role.IGNORED)
            if known:
                chosen = i
                break
        idx = chosen if chosen is not None else fallback
        if idx is None:
            raise ImportFailure(E.NOT_A_TABLE, detail="no header row with column names found")
        for _, cells in seen[:idx]:
            self.preamble.append(" ".join(cell_text(c) for c in cells if c is not None))
        self.pending = seen[idx + 1 :]
        return seen[idx]
