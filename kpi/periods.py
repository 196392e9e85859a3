"""Period parsing for KPI commands, `/chart` and `/export` (SPEC, "Periods").

Everything is relative to `today`, which the caller passes in the workspace's
time zone; nothing here reads the clock.

Decisions the spec leaves open:

* A period that contains today ends today (`month`, `2026-11` in November 2026,
  `2026`, an explicit range running past today): days after today cannot have
  data, and counting them would make every current period look incomplete and
  make "the previous period of equal length" too long.
* A period that starts after today is refused (`future`); a typed date more than
  a year after today or before 2000 is refused as a typo (`out_of_range`).
* Quarters: `2024-Q2`, `2024-q2` and the Cyrillic `2024-К2`/`2024-к2` (a Russian
  keyboard layout turns Q into Й, so `2024-Й2` is accepted too).
* Relative spans `Nd`, `Nw`, `Nm` also read Russian units: `7д`, `12н`, `3м`.
* One date (`2024-05-01`, `01.05.2024`) is a one-day period.
* `last-quarter`/`прошлый-квартал` and `last-year`/`прошлый-год` are accepted as
  well: cheap, and the natural companions of `last-month`.
* Ranges with spaces around the separator are joined before the arguments are
  split; a period may be a phrase of several words (below).
* Natural phrases (`_natural`): a month name without a year, a day without a
  year (`15 мая`, `31.05`) mean the latest one that has begun; `31.05.24` has a
  two-digit year (20xx); English `last week`/`last month` and Russian
  `прошлая неделя` are the calendar unit before, while `past week`,
  `последняя неделя`, `последний месяц` are the last 7 days / month up to today;
  `с 1 мая` (no end) runs to today; `q2` without a year is refused.
"""

from __future__ import annotations

import calendar
import contextlib
import re
from datetime import date, timedelta
from typing import NamedTuple

from kpi.models import Period, period_kind

MAX_DAYS = 3660
EARLIEST = date(2000, 1, 1)

ACCEPTED_FORMS: tuple[str, ...] = (
    "7d",
    "30d",
    "12w",
    "3m",
    "week",
    "неделя",
    "last-week",
    "прошлая-неделя",
    "month",
    "месяц",
    "last-month",
    "прошлый-месяц",
    "quarter",
    "квартал",
    "ytd",
    "год",
    "2024-05",
    "2024-Q2",
    "2024",
    "2024-05-01..2024-05-31",
    "01.05.2024-31.05.2024",
)


class PeriodError(ValueError):
    """A period argument that cannot be used.

    `code` is what the text layer translates:
    `unknown` (not a period form), `bad_date` (no such calendar day or month),
    `reversed` (ends before it starts), `zero` (`0d`), `too_long` (over
    `MAX_DAYS` days), `out_of_range` (before 2000 or over a year after today),
    `future` (starts after today), `two_periods`, `extra_args` (more than one
    account-like word). `token` is the offending argument.
    """

    def __init__(self, code: str, token: str = "") -> None:
        super().__init__(f"{code}: {token!r}" if token else code)
        self.code = code
        self.token = token


_RELATIVE = re.compile(r"(\d{1,7})(d|д|дн|w|н|нед|m|м|мес)")
_UNIT_DAYS = {"d": 1, "д": 1, "дн": 1, "w": 7, "н": 7, "нед": 7}
_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_QUARTER = re.compile(r"(\d{4})-?[qкй]([1-4])")
_YEAR = re.compile(r"(\d{4})")
_ISO_DAY = r"\d{4}-\d{1,2}-\d{1,2}"
_RU_DAY = r"\d{1,2}\.\d{1,2}\.\d{4}"
_DAY = re.compile(rf"{_ISO_DAY}|{_RU_DAY}")
# A 4-digit year always leads an ISO date, so `-` between two dates is unambiguous.
_RANGE = re.compile(rf"(?P<a>{_ISO_DAY}|{_RU_DAY})(?:\.\.|…|[-–—])(?P<b>{_ISO_DAY}|{_RU_DAY})")

_NAMED = {
    "week": "week",
    "неделя": "week",
    "last-week": "last-week",
    "прошлая-неделя": "last-week",
    "month": "month",
    "месяц": "month",
    "last-month": "last-month",
    "прошлый-месяц": "last-month",
    "quarter": "quarter",
    "квартал": "quarter",
    "last-quarter": "last-quarter",
    "прошлый-квартал": "last-quarter",
    "ytd": "ytd",
    "год": "ytd",
    "last-year": "last-year",
    "прошлый-год": "last-year",
}


def _fold(token: str) -> str:
    return token.strip().lower().replace("ё", "е").replace("_", "-")


def add_months(day: date, months: int) -> date:
    """`day` moved by whole months, clamped to the target month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def _month_span(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _named(kind: str, today: date) -> tuple[date, date]:
    if kind == "week":
        return today - timedelta(days=today.weekday()), today
    if kind == "last-week":
        monday = today - timedelta(days=today.weekday() + 7)
        return monday, monday + timedelta(days=6)
    if kind == "month":
        return today.replace(day=1), today
    if kind == "last-month":
        prev = add_months(today.replace(day=1), -1)
        return _month_span(prev.year, prev.month)
    if kind == "quarter":
        return _quarter_start(today), today
    if kind == "last-quarter":
        start = add_months(_quarter_start(today), -3)
        return start, _quarter_start(today) - timedelta(days=1)
    if kind == "ytd":
        return date(today.year, 1, 1), today
    # last-year
    return date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)


def _parse_day(text: str, token: str) -> date:
    try:
        if "." in text:
            d, m, y = (int(p) for p in text.split("."))
        else:
            y, m, d = (int(p) for p in text.split("-"))
        return date(y, m, d)
    except ValueError:
        raise PeriodError("bad_date", token) from None


def _relative(n: int, unit: str, today: date, token: str) -> tuple[date, date]:
    if n == 0:
        raise PeriodError("zero", token)
    if unit in _UNIT_DAYS:
        days = n * _UNIT_DAYS[unit]
        if days > MAX_DAYS:
            raise PeriodError("too_long", token)
        return today - timedelta(days=days - 1), today
    # A month is at least 28 days: this bounds `n` before any date arithmetic.
    if n * 28 > MAX_DAYS:
        raise PeriodError("too_long", token)
    return add_months(today, -n) + timedelta(days=1), today


def _shape(folded: str) -> tuple[date, date] | None:
    """Dates for the forms that do not depend on `today`, None if no form matches."""
    token = folded
    if m := _RANGE.fullmatch(folded):
        return _parse_day(m["a"], token), _parse_day(m["b"], token)
    if _DAY.fullmatch(folded):
        day = _parse_day(folded, token)
        return day, day
    if m := _MONTH.fullmatch(folded):
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise PeriodError("bad_date", token)
        return _month_span(year, month)
    if m := _QUARTER.fullmatch(folded):
        year, q = int(m[1]), int(m[2])
        start = date(year, 3 * q - 2, 1)
        return start, add_months(start, 3) - timedelta(days=1)
    if _YEAR.fullmatch(folded):
        return date(int(folded), 1, 1), date(int(folded), 12, 31)
    return None


# --- periods as people write them (SPEC, "Periods") ----------------------------
#
# Multi-word phrases in Russian and English: `вчера`, `за май 2024`, `в мае`,
# `31.05.24`, `05.2024`, `с 1 по 15 мая`, `last 7 days`, `прошлый квартал`,
# `этот год`. Each form says what kind of period it is, for the previous-period
# rule, in the words of `kpi.models.Period.kind`: a calendar unit (`week`,
# `month`, `quarter`, `year`: `май`, `прошлый квартал`, `2024 год`), `so_far:<unit>`
# (`этот месяц` = this month up to today, `этот год` = `so_far:year`) or `rolling`
# (`last 7 days`, `с 1 по 15 мая`, a single day such as `вчера`).
_ROLLING = "rolling"
# Typed days (`с 1 по 30 ноября`): compared like a typed range (`with_kind`).
_RANGE_KIND = "range"
_SO_FAR = "so_far:"

_MONTH_WORDS: dict[str, int] = {}
for _number, _forms in enumerate(
    (
        "январь января январе янв january jan",
        "февраль февраля феврале фев февр february feb",
        "март марта марте мар march mar",
        "апрель апреля апреле апр april apr",
        "май мая мае may",
        "июнь июня июне июн june jun",
        "июль июля июле июл july jul",
        "август августа августе авг august aug",
        "сентябрь сентября сентябре сен сент september sep sept",
        "октябрь октября октябре окт october oct",
        "ноябрь ноября ноябре ноя нояб november nov",
        "декабрь декабря декабре дек december dec",
    ),
    start=1,
):
    _MONTH_WORDS.update(dict.fromkeys(_forms.split(), _number))

_DAY_WORDS = {"сегодня": 0, "today": 0, "вчера": 1, "yesterday": 1, "позавчера": 2}
_UNITS: dict[str, str] = {}
for _unit, _forms in (
    ("day", "day days день дня дней сутки суток"),
    ("week", "week weeks неделя недели неделю неделе недель"),
    ("month", "month months месяц месяца месяце месяцев"),
    ("quarter", "quarter quarters квартал квартала квартале кварталов"),
    ("year", "year years год года году лет"),
):
    _UNITS.update(dict.fromkeys(_forms.split(), _unit))


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# `этот месяц`: so far; `прошлый месяц`: the calendar one before; `последние 7 дней`: rolling.
_THIS = _word_set(
    "this current эта эту этой этот этом это этого текущая текущую текущей текущий текущем текущего"
)
_PREVIOUS = _word_set(
    "previous prior прошлая прошлую прошлой прошлый прошлом прошлого прошлое "
    "предыдущая предыдущую предыдущей предыдущий предыдущем предыдущего"
)
_LAST_N = _word_set("past last последние последних последний последнюю последней последняя")
# Words around a period that change nothing: `за май`, `в мае`, `for last month`.
_FILLERS = _word_set("за в во на in for over during the of")
_FROM = _word_set("с со от from since")
_TO = _word_set("по до to till until through - – —")
_YEAR_WORDS = _word_set("г г. год года году")
_NUM = re.compile(r"\d{1,2}")
_NUM_RANGE = re.compile(r"(\d{1,2})[-–—](\d{1,2})")
_DOTTED = re.compile(r"(\d{1,2})\.(\d{1,2})(?:\.(\d{4}|\d{2}))?")
_DOTTED_MONTH = re.compile(r"(\d{1,2})\.(\d{4})")
_YEAR_TOKEN = re.compile(r"(\d{4})(?:г\.?|года?|году)?")
_Q_TOKEN = re.compile(r"[qкй]([1-4])")


class _Parsed(NamedTuple):
    start: date
    end: date
    kind: str  # `rolling`, `week`/`month`/`quarter`/`year` or `so_far:<unit>`


class _Part(NamedTuple):
    """One end of a typed day or range: day, month and year as far as they were written."""

    day: int
    month: int | None
    year: int | None


def _words(phrase: str) -> list[str]:
    """Folded words; `1-15`, `01.05.24-31.05.24` and `прошлую-неделю` come apart."""
    out: list[str] = []
    for raw in phrase.split():
        word = raw.strip(",;!?()«»\"'")
        if word.isalpha() or word.rstrip(".").isalpha():
            word = word.rstrip(".") if word.rstrip(".") in _MONTH_WORDS else word
        if m := _NUM_RANGE.fullmatch(word):
            out += [m[1], "-", m[2]]
        elif "-" in word and all(p.isalpha() for p in word.split("-")):
            out += word.split("-")
        elif (
            (parts := re.split(r"[-–—]", word))
            and len(parts) == 2
            and all(_DOTTED.fullmatch(p) for p in parts)
        ):
            out += [parts[0], "-", parts[1]]
        elif word:
            out.append(word)
    return out


def _latest_year(month: int, day: int, today: date) -> int:
    """The year of the latest `day.month` that is not after today."""
    for year in range(today.year, today.year - 9, -1):  # 29 February: up to 8 years back
        with contextlib.suppress(ValueError):
            if date(year, month, day) <= today:
                return year
    return today.year - 1


def _make_day(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise PeriodError("bad_date") from None


def _two_digit_year(text: str) -> int:
    year = int(text)
    return year + 2000 if year < 100 else year


def _read_part(words: list[str], i: int) -> tuple[_Part | date, int] | None:
    """A day at words[i:]: `15`, `15 мая`, `may 15`, `15 мая 2024`, `31.05.24`."""
    if i >= len(words):
        return None
    word = words[i]
    if m := _DOTTED.fullmatch(word):
        year = _two_digit_year(m[3]) if m[3] else None
        return _Part(int(m[1]), int(m[2]), year), i + 1
    if _DAY.fullmatch(word):
        return _parse_day(word, word), i + 1
    if _NUM.fullmatch(word):
        day, i = int(word), i + 1
        month = _MONTH_WORDS.get(words[i]) if i < len(words) else None
        if month is None:
            return _Part(day, None, None), i
        year, i = _read_year(words, i + 1)
        return _Part(day, month, year), i
    if word in _MONTH_WORDS and i + 1 < len(words) and _NUM.fullmatch(words[i + 1]):
        year, j = _read_year(words, i + 2)
        return _Part(int(words[i + 1]), _MONTH_WORDS[word], year), j
    return None


def _read_year(words: list[str], i: int) -> tuple[int | None, int]:
    if i < len(words) and (m := _YEAR_TOKEN.fullmatch(words[i])):
        i += 1
        if i < len(words) and words[i] in _YEAR_WORDS:
            i += 1
        return int(m[1]), i
    return None, i


def _days_phrase(words: list[str], today: date) -> _Parsed | None:
    """`15 мая`, `may 15 2024`, `31.05.24`, `с 1 по 15 мая`, `1-15 may`, `с 1 мая` (to today)."""
    i = 1 if words[0] in _FROM else 0
    since = i == 1
    first = _read_part(words, i)
    if first is None:
        return None
    start, i = first
    end: _Part | date | None = None
    if i < len(words) and words[i] in _TO:
        second = _read_part(words, i + 1)
        if second is None:
            return None
        end, i = second
    year, i = _read_year(words, i)
    if i != len(words):
        return None
    if end is None:
        if isinstance(start, date):
            day = start
        else:
            if start.month is None:
                return None
            y = start.year or year or _latest_year(start.month, start.day, today)
            day = _make_day(y, start.month, start.day)
        return _Parsed(day, today if since else day, _ROLLING)
    return _range_of(start, end, year, today)


def _range_of(
    start: _Part | date, end: _Part | date, year: int | None, today: date
) -> _Parsed | None:
    if isinstance(end, _Part):
        end = _Part(end.day, end.month or start.month, end.year or year)
    if isinstance(start, _Part):
        start = _Part(start.day, start.month or end.month, start.year or year)
    if start.month is None or end.month is None:
        return None  # `с 1 по 15`: which month?
    # Now both have a month; fill the missing years from the other end, then from today.
    if isinstance(start, _Part) and start.year is None:
        if isinstance(end, date) or end.year is not None:
            end_year, end_month = end.year, end.month
            assert end_year is not None and start.month is not None and end_month is not None
            # `с 20 декабря по 10 января 2025`: the start is in the year before.
            y = end_year - 1 if start.month > end_month else end_year
        else:
            assert start.month is not None
            y = _latest_year(start.month, start.day, today)
        start = _Part(start.day, start.month, y)
    first = start if isinstance(start, date) else _make_day(*_ymd(start))
    if isinstance(end, _Part) and end.year is None:
        assert end.month is not None
        y = first.year + 1 if end.month < first.month else first.year
        end = _Part(end.day, end.month, y)
    last = end if isinstance(end, date) else _make_day(*_ymd(end))
    return _Parsed(first, last, _RANGE_KIND)


def _ymd(part: _Part) -> tuple[int, int, int]:
    assert part.year is not None and part.month is not None
    return part.year, part.month, part.day


def _month_phrase(words: list[str], today: date) -> _Parsed | None:
    """`май`, `мае`, `may 2024`, `мая 2024 года`, `05.2024`, `q2 2024`, `2 квартал 2024`,
    `2024 год`."""
    if words[0] in _MONTH_WORDS:
        month = _MONTH_WORDS[words[0]]
        year, i = _read_year(words, 1)
        if i != len(words):
            return None
        start, end = _month_span(year or _latest_year(month, 1, today), month)
        return _Parsed(start, end, "month")
    if len(words) == 1 and (m := _DOTTED_MONTH.fullmatch(words[0])):
        if not 1 <= int(m[1]) <= 12:
            raise PeriodError("bad_date")
        return _Parsed(*_month_span(int(m[2]), int(m[1])), "month")
    quarter: int | None = None
    i = 0
    if m := _Q_TOKEN.fullmatch(words[0]):
        quarter, i = int(m[1]), 1
    elif (
        len(words) >= 2
        and re.fullmatch(r"[1-4](?:-?й)?", words[0])
        and _UNITS.get(words[1]) == "quarter"
    ):
        quarter, i = int(words[0][0]), 2
    if quarter is not None:
        year, i = _read_year(words, i)
        if i != len(words) or (year is None and i == 1):
            return None
        year = year or (today.year if 3 * quarter - 2 <= today.month else today.year - 1)
        start = date(year, 3 * quarter - 2, 1)
        return _Parsed(start, add_months(start, 3) - timedelta(days=1), "quarter")
    year, i = _read_year(words, 0)
    if year is not None and i == len(words):
        return _Parsed(date(year, 1, 1), date(year, 12, 31), "year")
    return None


_THIS_KIND = {"week": "week", "month": "month", "quarter": "quarter", "year": "ytd"}
_PREVIOUS_KIND = {
    "week": "last-week",
    "month": "last-month",
    "quarter": "last-quarter",
    "year": "last-year",
}
_UNIT_CODE = {"day": "d", "week": "w", "month": "m"}


def _unit_phrase(words: list[str], today: date, text: str) -> _Parsed | None:
    """`этот год`, `this month`, `прошлый квартал`, `last week`, `last 7 days`, `30 дней`,
    `последнюю неделю`, `past year`, `вчера`, `today`."""
    if len(words) == 1 and words[0] in _DAY_WORDS:
        day = today - timedelta(days=_DAY_WORDS[words[0]])
        return _Parsed(day, day, _ROLLING)
    if words == ["day", "before", "yesterday"]:
        day = today - timedelta(days=2)
        return _Parsed(day, day, _ROLLING)
    if words in (["неделю"], ["сутки"]):  # `за неделю`, `за сутки`: the last 7 days / today
        return _rolling(1, _UNITS[words[0]], today, text)
    lead, rest = (words[0], words[1:]) if words[0] in _THIS | _PREVIOUS | _LAST_N else ("", words)
    if len(rest) == 1 and rest[0] in _UNITS:
        unit = _UNITS[rest[0]]
        if lead in _THIS and unit in _THIS_KIND:
            return _Parsed(*_named(_THIS_KIND[unit], today), _SO_FAR + unit)
        # English `last week` is the calendar week before; Russian `последняя неделя` and
        # `past week` are the last 7 days.
        if (lead in _PREVIOUS or lead == "last") and unit in _PREVIOUS_KIND:
            return _Parsed(*_named(_PREVIOUS_KIND[unit], today), unit)
        if lead in _LAST_N:
            return _rolling(1, unit, today, text)
        return None
    if len(rest) == 2 and rest[0].isdigit() and rest[1] in _UNITS and lead not in _THIS:
        if lead in _PREVIOUS and lead != "last":
            return None
        return _rolling(int(rest[0]), _UNITS[rest[1]], today, text)
    return None


def _rolling(n: int, unit: str, today: date, text: str) -> _Parsed:
    if unit == "quarter":
        n, unit = 3 * n, "month"
    elif unit == "year":
        n, unit = 12 * n, "month"
    start, end = _relative(n, _UNIT_CODE[unit], today, text)
    return _Parsed(start, end, _ROLLING)


def _natural(phrase: str, today: date) -> _Parsed | None:
    """A period as people write it, or None when `phrase` is not one.

    Raises `PeriodError` (without a token) for a phrase of the right shape with an
    impossible date (`31 февраля`).
    """
    words = _words(_fold(phrase))
    while words and words[0] in _FILLERS:
        words = words[1:]
    if not words:
        return None
    # Month and year phrases first: `2024 год` is a year, not 2024 years.
    return (
        _month_phrase(words, today)
        or _unit_phrase(words, today, phrase)
        or _days_phrase(words, today)
    )


def parse_period(text: str, today: date) -> Period:
    """The period named by one argument or phrase (`30d`, `2024-Q2`, `вчера`, `за май 2024`,
    `с 1 по 15 мая`, `last 7 days` …).

    Raises `PeriodError` with a code (see there). Case does not matter.
    """
    folded = _fold(text)
    if not folded:
        raise PeriodError("unknown", text)
    natural_kind: str | None = None
    if folded in _NAMED:
        start, end = _named(_NAMED[folded], today)
    elif m := _RELATIVE.fullmatch(folded):
        start, end = _relative(int(m[1]), m[2], today, text)
    else:
        try:
            shape = _shape(folded)
            if shape is None and (natural := _natural(folded, today)) is not None:
                shape, natural_kind = (natural.start, natural.end), natural.kind
        except PeriodError as exc:
            raise PeriodError(exc.code, text) from None
        if shape is None:
            raise PeriodError("unknown", text)
        start, end = shape
        latest = add_months(today, 12)
        if start < EARLIEST or end < EARLIEST or start > latest or end > latest:
            raise PeriodError("out_of_range", text)
        if end < start:
            raise PeriodError("reversed", text)
        if start > today:
            raise PeriodError("future", text)
    end = min(end, today)
    if (end - start).days + 1 > MAX_DAYS:
        raise PeriodError("too_long", text)
    if start < EARLIEST:
        raise PeriodError("out_of_range", text)
    if natural_kind is not None:
        return _natural_kind(natural_kind, Period(start, end))
    return with_kind(folded, Period(start, end))


def _natural_kind(kind: str, period: Period) -> Period:
    """A natural phrase's period with the kind it named: `май`, `прошлый квартал` that
    unit (so far when cut at today: `ноябрь` on 18 Nov), `этот год` so far, `last 7
    days` and single days rolling, `с 1 по 15 мая` like a typed range."""
    if kind == _ROLLING:
        return period_kind(period, rolling=True)
    if kind.startswith(_SO_FAR):
        return Period(period.start, period.end, kind)
    if kind == _RANGE_KIND:
        read = period_kind(period)
        return period_kind(period, rolling=True) if read.kind.startswith(_SO_FAR) else read
    return period_kind(period, unit=kind)


# The previous period of a named form (see `kpi.models.Period.previous`).
_NAMED_KINDS = {
    "week": "so_far:week",
    "last-week": "week",
    "month": "so_far:month",
    "last-month": "month",
    "quarter": "so_far:quarter",
    "last-quarter": "quarter",
    "ytd": "so_far:year",
    "last-year": "year",
}


def with_kind(folded: str, period: Period) -> Period:
    """`period` with the kind that decides its previous period: named forms by name,
    `Nd`/`Nw`/`Nm` rolling, `2024-05`/`2024-Q2`/`2024` that unit (so far when it
    contains today), a typed range a calendar unit when it is exactly one, else
    rolling; other forms by their dates (`kpi.models.period_kind`)."""
    if folded in _NAMED:
        return Period(period.start, period.end, _NAMED_KINDS[_NAMED[folded]])
    if _RELATIVE.fullmatch(folded):
        return period_kind(period, rolling=True)
    for shape, unit in ((_MONTH, "month"), (_QUARTER, "quarter"), (_YEAR, "year")):
        if shape.fullmatch(folded):
            return period_kind(period, unit=unit)
    read = period_kind(period)
    if (_RANGE.fullmatch(folded) or _DAY.fullmatch(folded)) and read.kind.startswith("so_far"):
        # Typed days are what they say: a whole month is that month, part of one is
        # a span compared with the equal span before.
        return period_kind(period, rolling=True)
    return read


def default_period(today: date) -> Period:
    """The last 30 days including today (SPEC, "Periods")."""
    return Period(today - timedelta(days=29), today)


# Recognising a natural form does not depend on the day; any fixed day will do.
_PROBE_DAY = date(2020, 6, 15)
# The longest phrase tried as one period: `с 1 мая по 15 июня 2024 года`.
_MAX_PHRASE = 8


def looks_like_period(token: str) -> bool:
    """True when `token` is meant as a period rather than an account.

    Accounts are `platform:handle` or a bare word such as `site`; they never
    start with a digit. So a digit-led token without `:` counts as a period even
    when it is malformed (`30days`, `2024-13`): the user then hears which period
    forms are accepted instead of "no such account". Words and phrases people
    write (`вчера`, `май`, `last 7 days`) count too.
    """
    folded = _fold(token)
    if not folded or ":" in folded:
        return False
    if folded in _NAMED or folded[0].isdigit() or ".." in folded:
        return True
    try:
        return _natural(folded, _PROBE_DAY) is not None
    except PeriodError:
        return True


_SPACED_SEPARATOR = re.compile(r"(\d)\s*(\.\.|…|[–—])\s*(\d)|(\d)\s+-\s+(\d)")


def _join_spaced(args: str) -> str:
    def join(m: re.Match[str]) -> str:
        if m[1] is not None:
            return f"{m[1]}{m[2]}{m[3]}"
        return f"{m[4]}-{m[5]}"

    return _SPACED_SEPARATOR.sub(join, args)


def _phrase_at(tokens: list[str], i: int, today: date) -> tuple[Period, int] | None:
    """The longest period phrase starting at tokens[i], with the index after it."""
    for k in range(min(_MAX_PHRASE, len(tokens) - i), 1, -1):
        phrase = " ".join(tokens[i : i + k])
        try:
            natural = _natural(phrase, today)
        except PeriodError as exc:
            raise PeriodError(exc.code, phrase) from None
        if natural is not None:
            return parse_period(phrase, today), i + k
    if looks_like_period(tokens[i]):
        return parse_period(tokens[i], today), i + 1
    return None


def split_period_words(args: str, today: date) -> tuple[Period | None, list[str]]:
    """The period in command arguments (None: not given) and the other words, in order.

    A period may be several words (`за май 2024`, `last 7 days`) anywhere among
    them. Raises `PeriodError` for a bad period (`unknown`, `zero`, …) or two
    periods (`two_periods`).
    """
    tokens = _join_spaced(args).split()
    period: Period | None = None
    others: list[str] = []
    i = 0
    while i < len(tokens):
        found = _phrase_at(tokens, i, today)
        if found is None:
            others.append(tokens[i])
            i += 1
            continue
        if period is not None:
            raise PeriodError("two_periods", " ".join(tokens[i : found[1]]))
        period, i = found
    return period, others


def split_period_account(args: str, today: date) -> tuple[Period, str | None]:
    """Period and account from command arguments given in either order.

    `"30d vk:brand"`, `"vk:brand 30d"`, `"vk:brand"`, `""` (default period),
    `"вчера vk:brand"`, `"vk:brand за май 2024"`. The account comes back as typed
    (the caller resolves it). Raises `PeriodError` for a bad period (`unknown`,
    `zero`, …), two periods (`two_periods`) or two account-like words (`extra_args`).
    """
    period, others = split_period_words(args, today)
    if len(others) > 1:
        raise PeriodError("extra_args", others[1])
    return period or default_period(today), (others[0] if others else None)
