"""Which day each row counts on: date columns decided from all their values.

* A day comes from the date column, else the span's end, else a month column
  (the month's last day within the twelve months that end on the caption's
  day), else the caption, else the `# End date:`/period line above the header;
  with none of them `needs_day` is set and the values are left empty so the
  bot can ask and parse again with the day in the caption.
* A column of dates under any name (`tweet_created`) is the date column.
* The day/month order of numeric dates is decided per column from all its
  values, per style (`06.01.2024` beside `01/07/2024`); what cannot be decided
  is refused naming the rows. `Month D` without a year (TikTok) is placed so
  the latest row falls on or before the upload day, across New Year.
* Timestamps with an offset fall on their day in the workspace's time zone.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from kpi.importing import errors as E
from kpi.importing.cells import MISSING, TOTAL_RE, cell_text, month_of
from kpi.importing.columns import Column, Role
from kpi.importing.errors import ImportFailure
from kpi.importing.meaning import split_words
from kpi.importing.reader import Cell, FormulaCell
from kpi.metrics import normalize_name
from kpi.parsing import (
    DateFormat,
    DateGuesser,
    MonthEnd,
    date_style,
    parse_day,
    parse_month_day,
)

if TYPE_CHECKING:
    from kpi.importing.core import ImportContext

PLACEHOLDER_DAY = date(2000, 1, 1)
_OFFSET_RE = re.compile(r"\s([+-]\d{2}:?\d{2}|Z|UTC|GMT)$")
_WEAK_DATE_HEADERS = frozenset(
    normalize_name(h)
    for h in (
        "time",
        "period",
        "период",
        "from",
        "to",
        "starts",
        "ends",
        "created",
        "registered",
        "posted",
        "published",
        "mon",
        "month",
        "месяц",
    )
)
_DATE_WORDS = frozenset(
    ("created", "date", "time", "timestamp", "datetime", "published", "posted", "дата", "время")
)
_PREAMBLE_END_RE = re.compile(r"(?:end date|дата окончания|по)\s*[:=]?\s*(\S+)", re.IGNORECASE)
_PREAMBLE_DATE_RE = re.compile(
    r"\b(?:\d{4}-\d{2}-\d{2}|\d{1,2}[./]\d{1,2}[./]\d{4}|\d{8}"
    r"|[A-Z][a-z]{2,8}\.? \d{1,2}, \d{4}|\d{1,2} [A-Z][a-z]{2,8} \d{4})\b"
)
_PREAMBLE_START_RE = re.compile(r"(?:start date|дата начала)\s*[:=]?\s*(\d{8}|\S+)", re.IGNORECASE)
# `Nth day` (GA4's snapshot): a zero-padded day index counted from the start date.
_DAY_INDEX_HEADERS = frozenset(("nth day", "n th day", "day index", "номер дня"))


class DayReader:
    """The day logic of one import; `ctx` is the import it serves."""

    def __init__(self, ctx: ImportContext) -> None:
        self.ctx = ctx
        self.date_fmt: DateFormat | None = None
        self.date_orders: dict[str, DateFormat] = {}  # per numeric date style, when mixed
        self.date_guesser: DateGuesser | None = None  # undecided after the sample
        self.date_cache: dict[str, date] = {}
        self.date_index: int | None = None  # the one date column, for the fast path
        self.fixed_day: date | None = None
        self.month_days: dict[int, date] = {}
        self.day_steps = [0, 0]  # rows later / earlier than the previous row
        self.prev_day: date | None = None
        self.yearless: set[int] = set()  # date columns of `Month D` without a year
        self.year_walk: tuple[int, int] | None = None  # (year now, +1/−1 per wrap)
        self.prev_md: tuple[int, int] | None = None
        self.day_index: dict[int, date] = {}  # `Nth day` columns → their start date

    def find_timestamps(self) -> None:
        """A column of dates under any name (`tweet_created`) is the date column."""
        if any(c.role in (Role.DATE, Role.PERIOD_START, Role.PERIOD_END) for c in self.ctx.columns):
            return
        start = self._preamble_start()
        for c in self.ctx.columns:
            if start is not None and normalize_name(c.header) in _DAY_INDEX_HEADERS:
                c.role, c.why = Role.DATE, "days counted from the start date"
                self.day_index[c.index] = start
                return
        for c in self.ctx.columns:
            if c.role is not Role.IGNORED or not c.header:
                continue
            words = set(split_words(c.header))
            if not words & _DATE_WORDS:
                continue
            texts = [
                cell_text(self.ctx.cell(cells, c.index))
                for _, cells in self.ctx.stream.sample[:200]
            ]
            texts = [t for t in texts if t]
            guesser = DateGuesser()
            if texts and sum(1 for t in texts if guesser.feed(t)) * 10 >= len(texts) * 9:
                c.role, c.why = Role.DATE, "dates in the values"
                return

    def verify_columns(self) -> None:
        """Demote date-role columns whose values are not dates; learn the format."""
        for c in self.ctx.columns:
            if (
                c.role
                not in (
                    Role.DATE,
                    Role.PERIOD_START,
                    Role.PERIOD_END,
                    Role.CUSTOMER_SINCE,
                    Role.MONTH,
                )
                or c.index in self.day_index
            ):
                continue
            values = [self.ctx.cell(cells, c.index) for _, cells in self.ctx.stream.sample]
            typed = sum(1 for v in values if isinstance(v, datetime | date))
            texts = [
                cell_text(v) for v in values if not isinstance(v, datetime | date) and cell_text(v)
            ]
            if c.role is Role.MONTH:
                months = sum(1 for v in values if month_of(v) is not None)
                guesser = DateGuesser()
                full = sum(1 for t in texts if guesser.feed(t))
                if full + typed > months:
                    c.role = Role.DATE
                elif months * 2 < max(1, len(texts) + typed):
                    c.role, c.reason = Role.IGNORED, "not_a_date"
                continue
            guesser = DateGuesser()
            ok = sum(1 for t in texts if not TOTAL_RE.match(t) and guesser.feed(t))
            candidates = sum(1 for t in texts if not TOTAL_RE.match(t)) + typed
            yearless = sum(1 for t in texts if parse_month_day(t) is not None)
            if c.role is Role.DATE and texts and yearless * 10 >= len(texts) * 9 and not ok:
                # `February 28` (TikTok Studio): the year comes from the upload day.
                self.yearless.add(c.index)
                c.why = "days without a year"
                continue
            if candidates == 0 or (ok + typed) * 2 < candidates:
                if normalize_name(c.header) in _WEAK_DATE_HEADERS:
                    c.role, c.reason = Role.IGNORED, "not_a_date"
                    continue
                # A column called "Date" without dates is a broken file, not a detail.
                for n, cells in self.ctx.stream.sample:
                    t = cell_text(self.ctx.cell(cells, c.index))
                    if t and not TOTAL_RE.match(t) and not DateGuesser().feed(t):
                        raise ImportFailure(E.BAD_DATE, n, c.header, t, "not a date")

    def plan(self) -> None:
        date_col = self.ctx.first(Role.DATE) or self.ctx.first(Role.CUSTOMER_SINCE)
        if date_col is not None and date_col.index in self.yearless:
            self._plan_yearless(date_col)
        elif date_col is not None:
            guesser = DateGuesser()
            for n, cells in self.ctx.stream.sample:
                v = self.ctx.cell(cells, date_col.index)
                if isinstance(v, str):
                    guesser.feed(v, n)
            undecided = (
                guesser.dmy == guesser.mdy == 0 and guesser.counts.get(DateFormat.DMY)
            ) or (guesser.undecided() is not None)
            if undecided and not self.ctx.stream.exhausted:
                self.date_guesser = guesser
            else:
                self._settle_orders(guesser, date_col)
            self.date_fmt = guesser.result()
        needs_fixed = self.ctx.layout.day_from_caption and (
            date_col is None
            and self.ctx.first(Role.PERIOD_END) is None
            and self.ctx.first(Role.PERIOD_START) is None
        )
        month_col = self.ctx.first(Role.MONTH)
        if needs_fixed or month_col is not None:
            self.fixed_day = self.ctx.cap_day or self._preamble_day()
            if self.fixed_day is None:
                self.ctx.result.needs_day = True
                self.fixed_day = PLACEHOLDER_DAY

    def _preamble_day(self) -> date | None:
        text = "\n".join(self.ctx.stream.preamble)
        if not text:
            return None
        for m in _PREAMBLE_END_RE.finditer(text):
            try:
                return parse_day(m.group(1).strip(" ,;"))
            except ValueError:
                continue
        days = []
        # Clarity writes `02/01/2025 12:00 AM - 08/04/2025 11:59 PM`: a clock with AM/PM is US.
        fmt = DateFormat.MDY if re.search(r"\d\s*[AP]M\b", text) else None
        for m in _PREAMBLE_DATE_RE.finditer(text):
            try:
                days.append(parse_day(m.group(0), fmt))
            except ValueError:
                continue
        return max(days) if days else None

    def _preamble_start(self) -> date | None:
        for m in _PREAMBLE_START_RE.finditer("\n".join(self.ctx.stream.preamble)):
            try:
                return parse_day(m.group(1).strip(" ,;"))
            except ValueError:
                continue
        return None

    def decide_order(self, guesser: DateGuesser) -> None:
        date_col = self.ctx.first(Role.DATE) or self.ctx.first(Role.CUSTOMER_SINCE)
        if date_col is None:
            return
        # A second read of the source instead of holding the rows: memory stays flat.
        last_sampled = (
            self.ctx.stream.sample[-1][0] if self.ctx.stream.sample else self.ctx.header_row
        )
        for n, cells in self.ctx.open_records():
            if n <= last_sampled:
                continue
            v = self.ctx.cell(cells, date_col.index)
            if isinstance(v, str):
                guesser.feed(v, n)
        self.date_fmt = guesser.result()
        self._settle_orders(guesser, date_col)

    def _settle_orders(self, guesser: DateGuesser, col: Column) -> None:
        """Each date style's day/month order, from all values; refuse what can't be told."""
        undecided = guesser.undecided()
        if undecided is not None:
            why, rows = undecided
            detail = (
                "the column writes the same style both day first and month first"
                if why == "contradicts"
                else "these dates can be read day first or month first"
            )
            raise ImportFailure(
                E.MIXED_DATES, rows[0] if rows else None, col.header, None, detail,
                rows=tuple(rows),
            )  # fmt: skip
        self.date_orders = guesser.orders()

    def day(self, n: int, cells: list[Cell], *, fallback: bool) -> date | None:
        """The row's day, None to skip the row (a total row, an empty date)."""
        i = self.date_index
        if i is not None and i < len(cells):
            cached = self.date_cache.get(cells[i])  # type: ignore[arg-type]
            if cached is not None:
                if cached != self.prev_day:
                    self._note_day(cached)
                return cached
        for role in (Role.PERIOD_END, Role.PERIOD_START, Role.DATE, Role.CUSTOMER_SINCE):
            col = self.ctx.first(role)
            if col is None:
                continue
            v = self.ctx.cell(cells, col.index)
            day, why = self._date_value(n, col, v)
            if day is not None:
                return self._note_day(day)
            if role is Role.PERIOD_END and self.ctx.first(Role.PERIOD_START) is not None:
                continue
            if fallback and self.fixed_day is not None and why == "no_date":
                return self.fixed_day
            self.ctx.skip(why)
            return None
        month_col = self.ctx.first(Role.MONTH)
        if month_col is not None:
            month = month_of(self.ctx.cell(cells, month_col.index))
            if month is None:
                raw = cell_text(self.ctx.cell(cells, month_col.index))
                if not raw:
                    self.ctx.skip("no_date")
                    return None
                raise ImportFailure(E.BAD_DATE, n, month_col.header, raw, "not a month")
            day = self.month_days.get(month)
            if day is None:
                ref = self.fixed_day or PLACEHOLDER_DAY
                year = ref.year if month <= ref.month else ref.year - 1
                last = date(year, month, 28) + timedelta(days=4)
                day = self.month_days[month] = min(last - timedelta(days=last.day), ref)
            return self._note_day(day)
        return self.fixed_day

    def _note_day(self, day: date) -> date:
        prev = self.prev_day
        if prev is not None and prev != day:
            self.day_steps[0 if day > prev else 1] += 1
        self.prev_day = day
        return day

    def _plan_yearless(self, col: Column) -> None:
        """Years for a `Month D` column: the latest row falls on or before the upload day.

        One pass over the file (nothing kept but counters) finds the direction of
        the rows and how often they cross New Year; each crossing is a year.
        """
        ref = self.ctx.cap_day or self.ctx.today
        if ref is None:
            self.ctx.result.needs_day = True
            ref = PLACEHOLDER_DAY
        first = last = prev = None
        forward = backward = 0
        for n, cells in self.ctx.open_records():
            if n <= self.ctx.header_row:
                continue
            md = parse_month_day(cell_text(self.ctx.cell(cells, col.index)))
            if md is None:
                continue
            if first is None:
                first = md
            if prev is not None and md != prev:
                forward += md > prev
                backward += md < prev
            prev = last = md
        if first is None or last is None:
            return
        ascending = forward >= backward
        latest = last if ascending else first
        year = ref.year if latest <= (ref.month, ref.day) else ref.year - 1
        wraps = backward if ascending else forward
        self.year_walk = (year - wraps, 1) if ascending else (year, -1)

    def _yearless_day(self, n: int, col: Column, text: str) -> date:
        md = parse_month_day(text)
        if md is None or self.year_walk is None:
            raise ImportFailure(E.BAD_DATE, n, col.header, text, "not a day of a month")
        year, step = self.year_walk
        prev = self.prev_md
        if prev is not None and ((step > 0 and md < prev) or (step < 0 and md > prev)):
            year += step
            self.year_walk = (year, step)
        self.prev_md = md
        try:
            return date(year, md[0], md[1])
        except ValueError:
            raise ImportFailure(E.BAD_DATE, n, col.header, text, "no such day") from None

    def _date_value(self, n: int, col: Column, v: Cell) -> tuple[date | None, str]:
        """The day in a date cell, or None and why (no_date, total, not_a_date)."""
        if v.__class__ is FormulaCell:
            raise ImportFailure(E.FORMULAS, n, col.header, str(v), "a formula without its value")
        if col.index in self.day_index:
            raw = cell_text(v)
            if not raw:
                return None, "no_date"
            if not raw.isdigit():
                raise ImportFailure(E.BAD_DATE, n, col.header, raw, "not a day number")
            return self.day_index[col.index] + timedelta(days=int(raw)), ""
        if col.index in self.yearless and isinstance(v, str) and v.strip():
            return self._yearless_day(n, col, v.strip()), ""
        if isinstance(v, datetime):
            return v.date(), ""
        if isinstance(v, date):
            return v, ""
        text = cell_text(v)
        if not text or text.lower() in MISSING:
            return None, "no_date"
        day = self.date_cache.get(text)
        if day is not None:
            return day, ""
        fmt = self.date_fmt
        if self.date_orders:
            fmt = self.date_orders.get(date_style(text) or "", fmt)
        try:
            day = parse_day(text, fmt, self.ctx.tz)
        except ValueError as e:
            if TOTAL_RE.match(text):
                return None, "total"
            if not any(ch.isdigit() for ch in text):
                return None, "not_a_date"
            raise ImportFailure(E.BAD_DATE, n, col.header, text, str(e)) from None
        if isinstance(day, MonthEnd):
            today = self.ctx.today
            if (
                today is not None
                and day > today
                and (day.year, day.month)
                == (
                    today.year,
                    today.month,
                )
            ):
                # The month is still running: its row would count on a day to come.
                return None, "month_not_over"
            day = date(day.year, day.month, day.day)
        offsets = self.ctx.result.time_offsets
        if len(offsets) < 3 and ":" in text:
            m = _OFFSET_RE.search(text)
            if m and m.group(1) not in offsets:
                offsets.append(m.group(1))
        if len(self.date_cache) > 50_000:
            self.date_cache.clear()
        self.date_cache[text] = day
        if isinstance(v, str):
            self.date_cache[v] = day
        return day, ""
