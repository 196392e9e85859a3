"""Value parsers shared by file imports and the `/log` command.

Pure functions: no I/O, no clock. Every parser raises `ValueError` with a
message that names the value and says what is accepted, so a handler can pass
the message on to the user.

Decisions:
* `parse_number` returns a percentage as written (`"45%"` → 45.0); whether a
  number is a percentage is the caller's business (the metric says so).
* A single comma followed by exactly three digits (`"1,234"`) is a thousands
  separator unless the caller says the decimal mark is a comma: counts are far
  more common in SMM exports than three-decimal fractions. `"0,125"` and
  `"12,5"` are decimals. Files decide per column with `DecimalGuesser`.
* GA's `"<00:00:01"` ("under a second") is 0.5 s, the middle of [0, 1).
* Ambiguous numeric dates (`03/04/2024`) read day first unless the column shows
  otherwise (`infer_date_format`): the bot's users are Russian first.
* A month without a day (`2024-05`, `май 2024`) is the month's last day: rows
  that cover a span count on its last day (SPEC, "Metrics").
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from enum import StrEnum

MAX_ABS = 1e15

_SPACES = str.maketrans(
    "",
    "",
    " \u00a0\u202f\u2009\u2007\u2008\u200a\u205f\u3000'\u2019\u02bc`´",
)
_MINUSES = "-\u2212\u2012\u2013\u2014\ufe63\uff0d"
_CURRENCY_RE = re.compile(
    r"(?:us\$|₽|\$|€|£|¥|₸|₴|рублей|рубля|рубль|руб\.?|р\.|rub|rur|usd|eur|р$)",
    re.IGNORECASE,
)
_SCALE_RE = re.compile(r"(тыс\.?|млн\.?|млрд\.?|k|к|m|м|mln|bn)$", re.IGNORECASE)
_SCALES = {
    "тыс": 1e3,
    "k": 1e3,
    "к": 1e3,
    "млн": 1e6,
    "m": 1e6,
    "м": 1e6,
    "mln": 1e6,
    "млрд": 1e9,
    "bn": 1e9,
}
_PLAIN_RE = re.compile(r"\d+(?:\.\d+)?|\.\d+")
_SCI_RE = re.compile(r"\d+(?:[.,]\d+)?[eE][+-]?\d{1,3}")  # spreadsheets write 1.2E+05
_GROUPED_RE = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")  # 1,234,567.89
_GROUPED_EU_RE = re.compile(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?")  # 1.234.567,89
_DEC_COMMA_RE = re.compile(r"\d*,\d+")  # 12,5 / ,5


def _bad_number(text: str, why: str = "") -> ValueError:
    shown = text if len(text) <= 40 else text[:37] + "…"
    tail = f" ({why})" if why else ""
    return ValueError(
        f"not a number: {shown!r}{tail}; expected e.g. 12000, 12 000, 1,234.5, 12,5 or 45%"
    )


def parse_number(text: str, *, decimal: str | None = None) -> float:
    """A finite float from a human- or spreadsheet-written number.

    `decimal` is the column's decimal mark ("," or "."), when known; it settles
    `"1,234"` and `"1.234"`.
    """
    if not isinstance(text, str):  # defensive: spreadsheets hand us anything
        raise _bad_number(str(text))
    s = text.strip()
    if not s:
        raise _bad_number(text, "empty")
    # Fast path: most spreadsheet cells are plain digits.
    if _PLAIN_RE.fullmatch(s) and (decimal != "," or "." not in s):
        value = float(s)
        if value > MAX_ABS:
            raise _bad_number(text, "too large")
        return value
    s = s.translate(_SPACES)
    negative = False
    if s[:1] in _MINUSES:
        negative, s = True, s[1:]
    elif s[:1] == "+":
        s = s[1:]
    if s.startswith("(") and s.endswith(")"):  # accounting negatives: (1 234)
        negative, s = True, s[1:-1]
    s = _CURRENCY_RE.sub("", s)
    if s[:1] in _MINUSES and not negative:  # "$-12" / "₽−5"
        negative, s = True, s[1:]
    if s.endswith("%"):
        s = s[:-1]
    scale = 1.0
    m = _SCALE_RE.search(s)
    if m and m.start() > 0 and s[m.start() - 1].isdigit():
        scale = _SCALES[m.group(1).rstrip(".").lower()]
        s = s[: m.start()]
    value = _parse_digits(s, decimal, text) * scale
    if not math.isfinite(value) or abs(value) > MAX_ABS:
        raise _bad_number(text, "too large")
    return -value if negative else value


def _parse_digits(s: str, decimal: str | None, original: str) -> float:
    if not any(c.isdigit() for c in s):
        raise _bad_number(original)
    if _SCI_RE.fullmatch(s):
        return float(s.replace(",", "."))
    if _PLAIN_RE.fullmatch(s):
        if decimal == "," and s.count(".") == 1 and re.fullmatch(r"\d{1,3}\.\d{3}", s):
            return float(s.replace(".", ""))
        return float(s)
    if "," in s and "." in s:
        if s.rfind(",") > s.rfind("."):
            if _GROUPED_EU_RE.fullmatch(s):
                return float(s.replace(".", "").replace(",", "."))
        elif _GROUPED_RE.fullmatch(s):
            return float(s.replace(",", ""))
        raise _bad_number(original)
    if "," in s:
        if s.count(",") == 1 and _DEC_COMMA_RE.fullmatch(s):
            whole, frac = s.split(",")
            thousands = (
                decimal != ","
                and len(frac) == 3
                and 1 <= len(whole) <= 3
                and not whole.startswith("0")
            )
            return float(whole + frac) if thousands else float(f"{whole or '0'}.{frac}")
        if _GROUPED_RE.fullmatch(s):
            return float(s.replace(",", ""))
        raise _bad_number(original)
    if s.count(".") > 1 and _GROUPED_EU_RE.fullmatch(s):
        return float(s.replace(".", ""))
    raise _bad_number(original)


class DecimalGuesser:
    """Decides a column's decimal mark from the values that show it."""

    __slots__ = ("comma", "dot")

    def __init__(self) -> None:
        self.comma = 0
        self.dot = 0

    def feed(self, text: str) -> None:
        s = text.strip().translate(_SPACES)
        has_c, has_d = "," in s, "." in s
        if has_c and has_d:
            if s.rfind(",") > s.rfind("."):
                self.comma += 1
            else:
                self.dot += 1
        elif has_c:
            if re.search(r"(?:^|[^\d])\d*,(?:\d{1,2}|\d{4,})(?:\D|$)|(?:^|\D)0,\d", s):
                self.comma += 1
            elif s.count(",") > 1:
                self.dot += 1
        elif has_d:
            if re.search(r"\.(?:\d{1,2}|\d{4,})(?:\D|$)|(?:^|\D)0\.\d", s):
                self.dot += 1
            elif s.count(".") > 1:
                self.comma += 1

    def result(self) -> str | None:
        if self.comma > self.dot:
            return ","
        if self.dot > self.comma:
            return "."
        return None


# ---------------------------------------------------------------- durations

_DURATION_UNITS = (
    (re.compile(r"(\d+(?:[.,]\d+)?)\s*(?:h|hr|hrs|hours?|ч|час(?:а|ов)?)\.?(?![a-zа-я])"), 3600.0),
    (
        re.compile(r"(\d+(?:[.,]\d+)?)\s*(?:m|min|mins|minutes?|мин(?:ут[аы]?)?)\.?(?![a-zа-я])"),
        60.0,
    ),
    (
        re.compile(
            r"(\d+(?:[.,]\d+)?)\s*(?:s|sec|secs|seconds?|с|сек(?:унд[аы]?)?)\.?(?![a-zа-я])"
        ),
        1.0,
    ),
)


def parse_duration(text: str) -> float:
    """Seconds from `hh:mm:ss`, `mm:ss`, `1 мин 5 с`, `1m 5s` or plain seconds.

    GA writes durations under a second as `<00:00:01`: that is 0.5 s.
    """
    s = text.strip().lower()
    if not s:
        raise ValueError("empty duration; expected hh:mm:ss, mm:ss or seconds")
    under = s.startswith("<")
    if under:
        s = s[1:].strip()
    if ":" in s:
        parts = s.split(":")
        if not 2 <= len(parts) <= 3 or not all(re.fullmatch(r"\d+(?:[.,]\d+)?", p) for p in parts):
            raise ValueError(f"not a duration: {text!r}; expected hh:mm:ss or mm:ss")
        nums = [float(p.replace(",", ".")) for p in parts]
        if any(n >= 60 for n in nums[1:]):
            raise ValueError(f"not a duration: {text!r}; minutes and seconds must be below 60")
        seconds = 0.0
        for n in nums:
            seconds = seconds * 60 + n
    else:
        seconds = _unit_duration(s, text)
    if under:
        return seconds / 2
    if seconds > MAX_ABS:
        raise ValueError(f"duration too large: {text!r}")
    return seconds


def _unit_duration(s: str, original: str) -> float:
    total, found, rest = 0.0, False, s
    for pattern, factor in _DURATION_UNITS:
        for m in pattern.finditer(rest):
            total += float(m.group(1).replace(",", ".")) * factor
            found = True
        rest = pattern.sub(" ", rest)
    if found:
        if rest.strip(" ,"):
            raise ValueError(f"not a duration: {original!r}; expected hh:mm:ss, mm:ss or seconds")
        return total
    try:
        value = parse_number(s)
    except ValueError:
        raise ValueError(
            f"not a duration: {original!r}; expected hh:mm:ss, mm:ss or seconds"
        ) from None
    if value < 0:
        raise ValueError(f"negative duration: {original!r}")
    return value


# ---------------------------------------------------------------- dates


class DateFormat(StrEnum):
    """How a column writes its days; only the day/month order needs a column-wide look."""

    ISO = "yyyy-mm-dd"  # also yyyy/mm/dd, yyyy.mm.dd, with times and offsets
    DMY = "dd.mm.yyyy"  # also dd/mm/yyyy, dd-mm-yyyy, dd.mm.yy
    MDY = "mm/dd/yyyy"  # m/d/yyyy, US exports
    COMPACT = "yyyymmdd"  # GA4 date dimension
    TEXT = "text"  # month names: `Mon Dec 01 19:30:03 +0000 2014`, `1 мая 2024`, `May 1, 2024`


_MONTHS: dict[str, int] = {}
for _i, _names in enumerate(
    (
        "jan january янв январь января",
        "feb february фев февраль февраля",
        "mar march мар март марта",
        "apr april апр апрель апреля",
        "may май мая",
        "jun june июн июнь июня",
        "jul july июл июль июля",
        "aug august авг август августа",
        "sep sept september сен сент сентябрь сентября",
        "oct october окт октябрь октября",
        "nov november ноя нояб ноябрь ноября",
        "dec december дек декабрь декабря",
    ),
    start=1,
):
    for _n in _names.split():
        _MONTHS[_n] = _i

_TIME = r"(?:[T\s]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2})?)?"
_ISO_RE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})" + _TIME, re.IGNORECASE)
_NUM_RE = re.compile(r"(\d{1,2})([./-])(\d{1,2})\2(\d{4}|\d{2})" + _TIME, re.IGNORECASE)
_COMPACT_RE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_YM_RE = re.compile(r"(\d{4})[-/.](\d{1,2})")
_OFFSET_RE = re.compile(r"(?:^|\s)(Z|UTC|GMT|[+-]\d{2}:?\d{2})(?=\s|$)", re.IGNORECASE)
_CLOCK_RE = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_WORD_RE = re.compile(r"[^\W\d_]+", re.UNICODE)


def _offset(text: str | None) -> tzinfo | None:
    if not text:
        return None
    t = text.upper()
    if t in ("Z", "UTC", "GMT"):
        return UTC
    sign = -1 if t[0] == "-" else 1
    digits = t[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 14 or minutes > 59:
        raise ValueError(f"bad UTC offset {text!r}")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _localise(
    y: int,
    mo: int,
    d: int,
    clock: tuple[str | None, str | None, str | None],
    off: str | None,
    tz: tzinfo | None,
) -> date:
    day = date(y, mo, d)
    offset = _offset(off)
    if offset is None or tz is None or clock[0] is None:
        if clock[0] is not None:
            _check_clock(clock)
        return day
    h, mi, se = _check_clock(clock)
    moment = datetime.combine(day, time(h, mi, se), tzinfo=offset)
    return moment.astimezone(tz).date()


def _check_clock(clock: tuple[str | None, str | None, str | None]) -> tuple[int, int, int]:
    h, mi, se = int(clock[0] or 0), int(clock[1] or 0), int(clock[2] or 0)
    if h > 24 or mi > 59 or se > 60:
        raise ValueError("bad time of day")
    return min(h, 23), mi, min(se, 59)


def _year(text: str) -> int:
    y = int(text)
    if len(text) == 2:
        y += 2000 if y < 70 else 1900
    return y


class MonthEnd(date):
    """The last day of a month written without a day (`2026-12`, `Dec 2026`): a row of
    monthly figures counts on it. A date in every other respect."""

    __slots__ = ()


def _last_day(y: int, mo: int) -> date:
    return MonthEnd(y, mo, calendar.monthrange(y, mo)[1])


def _bad_date(text: str) -> ValueError:
    shown = text if len(text) <= 40 else text[:37] + "…"
    return ValueError(
        f"not a date: {shown!r}; expected 2024-05-31, 31.05.2024, 31/05/2024 or 5/31/2024"
    )


def parse_day(text: str, fmt: DateFormat | None = None, tz: tzinfo | None = None) -> date:
    """The day a date or timestamp falls on.

    A timestamp with a UTC offset is moved into `tz` first (when given);
    `fmt` settles the day/month order of numeric dates.
    """
    s = text.strip()
    if not s or len(s) > 64:
        raise _bad_date(text)
    try:
        day = _parse_day(s, fmt, tz)
    except (ValueError, OverflowError):
        raise _bad_date(text) from None
    if day is None:
        raise _bad_date(text)
    return day


def _parse_day(s: str, fmt: DateFormat | None, tz: tzinfo | None) -> date | None:
    m = _ISO_RE.fullmatch(s)
    if m:
        y, mo, d = int(m[1]), int(m[2]), int(m[3])
        return _localise(y, mo, d, (m[4], m[5], m[6]), m[7], tz)
    m = _NUM_RE.fullmatch(s)
    if m:
        a, b, y = int(m[1]), int(m[3]), _year(m[4])
        month_first = fmt is DateFormat.MDY or (fmt is None and m[2] == "/" and b > 12)
        if fmt is None and a > 12:
            month_first = False
        d, mo = (b, a) if month_first else (a, b)
        return _localise(y, mo, d, (m[5], m[6], m[7]), m[8], tz)
    m = _COMPACT_RE.fullmatch(s)
    if m:
        return date(int(m[1]), int(m[2]), int(m[3]))
    m = _YM_RE.fullmatch(s)
    if m:
        return _last_day(int(m[1]), int(m[2]))
    return _parse_text_day(s, tz)


def _parse_text_day(s: str, tz: tzinfo | None) -> date | None:
    """`Mon Dec 01 19:30:03 +0000 2014`, `Mon, 01 Dec 2014 19:30 GMT`, `1 мая 2024 г.`."""
    low = s.lower()
    month = None
    for w in _WORD_RE.findall(low):
        w = w.rstrip(".")
        if w in _MONTHS:
            if month is not None:
                return None
            month = _MONTHS[w]
        elif w not in _TEXT_NOISE:
            return None
    if month is None:
        return None
    clock_m = _CLOCK_RE.search(low)
    rest = _CLOCK_RE.sub(" ", low) if clock_m else low
    off_m = _OFFSET_RE.search(rest)
    if off_m:
        rest = rest[: off_m.start()] + " " + rest[off_m.end() :]
    numbers = re.findall(r"\d+", rest)
    years = [n for n in numbers if len(n) == 4]
    days = [n for n in numbers if len(n) <= 2]
    if len(years) != 1 or len(days) > 1 or len(years) + len(days) != len(numbers):
        return None
    y = int(years[0])
    if not days:
        return _last_day(y, month)
    clock = (clock_m[1], clock_m[2], clock_m[3]) if clock_m else (None, None, None)
    return _localise(y, month, int(days[0]), clock, off_m[1] if off_m else None, tz)


_TEXT_NOISE = frozenset(
    [
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
        "sat",
        "sun",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "пн",
        "вт",
        "ср",
        "чт",
        "пт",
        "сб",
        "вс",
        "понедельник",
        "вторник",
        "среда",
        "четверг",
        "пятница",
        "суббота",
        "воскресенье",
        "г",
        "года",
        "год",
        "utc",
        "gmt",
        "z",
        "t",
        "at",
        "of",
        "the",
    ]
)


class DateGuesser:
    """Collects evidence on a column's date format, one value at a time.

    Values above 12 settle the day/month order; a column without them is read
    the way that makes consecutive rows consecutive days, else day first,
    except unpadded `m/d/yyyy`, which is the US spreadsheet default.
    """

    __slots__ = (
        "_dmy_steps",
        "_mdy_steps",
        "_prev",
        "by_sep",
        "counts",
        "dmy",
        "mdy",
        "slash_unpadded",
        "total",
    )

    def __init__(self) -> None:
        self.counts: dict[DateFormat, int] = {}
        self.dmy = 0
        self.mdy = 0
        self.slash_unpadded = 0
        self.total = 0
        self._dmy_steps = 0
        self._mdy_steps = 0
        self._prev: tuple[int, int, int] | None = None
        # Evidence per separator: a column that mixes `06.01.2024` and `01/07/2024`
        # may write each style in its own order (see `orders`).
        self.by_sep: dict[str, _SepEvidence] = {}

    def feed(self, text: str, row: int | None = None) -> bool:
        """Record one value (of spreadsheet row `row`); False when it is not a date at all."""
        s = text.strip()
        if not s:
            return False
        m = _NUM_RE.fullmatch(s)
        if m:
            a, b, y = int(m[1]), int(m[3]), _year(m[4])
            if a > 12 and b <= 12:
                self.dmy += 1
            elif b > 12 and a <= 12:
                self.mdy += 1
            if m[2] == "/" and (len(m[1]) == 1 or len(m[3]) == 1):
                self.slash_unpadded += 1
            if self._prev is not None:
                pa, pb, py = self._prev
                self._dmy_steps += _is_step(py, pb, pa, y, b, a)
                self._mdy_steps += _is_step(py, pa, pb, y, a, b)
            self._prev = (a, b, y)
            ev = self.by_sep.get(m[2])
            if ev is None:
                ev = self.by_sep[m[2]] = _SepEvidence()
            ev.feed(a, b, y, row)
            fmt = DateFormat.DMY
        elif _ISO_RE.fullmatch(s) or _YM_RE.fullmatch(s):
            fmt = DateFormat.ISO
        elif _COMPACT_RE.fullmatch(s):
            fmt = DateFormat.COMPACT
        else:
            try:
                if _parse_text_day(s, None) is None:
                    return False
            except ValueError:
                return False
            fmt = DateFormat.TEXT
        self.counts[fmt] = self.counts.get(fmt, 0) + 1
        self.total += 1
        return True

    def result(self) -> DateFormat:
        if not self.counts:
            return DateFormat.ISO
        top = max(self.counts, key=lambda f: self.counts[f])
        if top is not DateFormat.DMY:
            return top
        if self.dmy != self.mdy:
            return DateFormat.DMY if self.dmy > self.mdy else DateFormat.MDY
        if self._dmy_steps != self._mdy_steps:
            return DateFormat.DMY if self._dmy_steps > self._mdy_steps else DateFormat.MDY
        return DateFormat.MDY if self.slash_unpadded else DateFormat.DMY

    def mixed(self) -> bool:
        """More than one way of writing dates in the column (`2024-01-05`, `06.01.2024`)."""
        styles = len(self.by_sep) + sum(
            1 for f in (DateFormat.ISO, DateFormat.COMPACT, DateFormat.TEXT) if self.counts.get(f)
        )
        return styles > 1

    def orders(self) -> dict[str, DateFormat]:
        """The day/month order of each numeric style, where the values decide it.

        A style whose own values settle nothing takes the column's overall
        order when it is the column's only style; beside other styles, dotted
        and dashed dates are day first (no export writes `mm.dd.yyyy`), and
        slashed ones stay undecided (see `undecided`).
        """
        if not self.mixed():
            return {}
        out: dict[str, DateFormat] = {}
        for sep, ev in self.by_sep.items():
            decided = ev.order()
            if decided is None and sep in ".-":
                decided = DateFormat.DMY
            if decided is not None:
                out[sep] = decided
        return out

    def undecided(self) -> tuple[str, list[int]] | None:
        """(why, rows) for values whose day/month order cannot be told, else None."""
        for ev in self.by_sep.values():
            if ev.dmy and ev.mdy:
                rows = ev.dmy_rows if len(ev.dmy_rows) <= len(ev.mdy_rows) else ev.mdy_rows
                return "contradicts", rows
        if not self.mixed():
            return None
        for sep, ev in self.by_sep.items():
            if sep == "/" and ev.order() is None:
                return "ambiguous", ev.rows
        return None


class _SepEvidence:
    """Day/month evidence of one numeric date style, with a few row numbers to name."""

    __slots__ = ("dmy", "dmy_rows", "dmy_steps", "mdy", "mdy_rows", "mdy_steps", "prev", "rows")

    def __init__(self) -> None:
        self.dmy = self.mdy = self.dmy_steps = self.mdy_steps = 0
        self.dmy_rows: list[int] = []
        self.mdy_rows: list[int] = []
        self.rows: list[int] = []
        self.prev: tuple[int, int, int] | None = None

    def feed(self, a: int, b: int, y: int, row: int | None) -> None:
        if a > 12 and b <= 12:
            self.dmy += 1
            if row is not None and len(self.dmy_rows) < 5:
                self.dmy_rows.append(row)
        elif b > 12 and a <= 12:
            self.mdy += 1
            if row is not None and len(self.mdy_rows) < 5:
                self.mdy_rows.append(row)
        if row is not None and len(self.rows) < 5:
            self.rows.append(row)
        if self.prev is not None:
            pa, pb, py = self.prev
            self.dmy_steps += _is_step(py, pb, pa, y, b, a)
            self.mdy_steps += _is_step(py, pa, pb, y, a, b)
        self.prev = (a, b, y)

    def order(self) -> DateFormat | None:
        if self.dmy != self.mdy:
            return DateFormat.DMY if self.dmy > self.mdy else DateFormat.MDY
        if self.dmy_steps != self.mdy_steps:
            return DateFormat.DMY if self.dmy_steps > self.mdy_steps else DateFormat.MDY
        return None


_MONTH_DAY_RE = re.compile(r"([^\W\d_]+)\.?\s+(\d{1,2})|(\d{1,2})\s+([^\W\d_]+)\.?", re.UNICODE)


def parse_month_day(text: str) -> tuple[int, int] | None:
    """`February 28`, `Feb 28`, `28 февраля` → (2, 28): a day without its year."""
    m = _MONTH_DAY_RE.fullmatch(text.strip().lower())
    if m is None:
        return None
    word, digits = (m[1], m[2]) if m[1] else (m[4], m[3])
    month = _MONTHS.get(word.rstrip("."))
    day = int(digits)
    if month is None or not 1 <= day <= 31:
        return None
    return month, day


def date_style(text: str) -> str | None:
    """The separator of a numeric `d.m.y`/`m/d/y` date, else None."""
    m = _NUM_RE.fullmatch(text.strip())
    return m[2] if m else None


def _is_step(y1: int, m1: int, d1: int, y2: int, m2: int, d2: int) -> int:
    try:
        return int(abs((date(y2, m2, d2) - date(y1, m1, d1)).days) == 1)
    except ValueError:
        return 0


def infer_date_format(values: Iterable[str]) -> DateFormat:
    """The format of a whole date column (see `DateGuesser`)."""
    guesser = DateGuesser()
    for v in values:
        guesser.feed(v)
    return guesser.result()
