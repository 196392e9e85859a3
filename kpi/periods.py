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
* Two-word spellings (`last week`, `прошлая неделя`) and ranges with spaces
  around the separator are joined before the arguments are split.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

from kpi.datepolicy import EARLIEST_DAY, latest_typed_day
from kpi.models import Period, period_kind

MAX_DAYS = 3660
EARLIEST = EARLIEST_DAY  # one date policy for data and questions: kpi/datepolicy.py

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


def parse_period(text: str, today: date) -> Period:
    """The period named by one argument (`30d`, `2024-Q2`, `01.05.2024-31.05.2024` …).

    Raises `PeriodError` with a code (see there). Case does not matter.
    """
    folded = _fold(text)
    if not folded:
        raise PeriodError("unknown", text)
    if folded in _NAMED:
        start, end = _named(_NAMED[folded], today)
    elif m := _RELATIVE.fullmatch(folded):
        start, end = _relative(int(m[1]), m[2], today, text)
    else:
        try:
            shape = _shape(folded)
        except PeriodError as exc:
            raise PeriodError(exc.code, text) from None
        if shape is None:
            raise PeriodError("unknown", text)
        start, end = shape
        latest = latest_typed_day(today)
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
    return with_kind(folded, Period(start, end))


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


def looks_like_period(token: str) -> bool:
    """True when `token` is meant as a period rather than an account.

    Accounts are `platform:handle` or a bare word such as `site`; they never
    start with a digit. So a digit-led token without `:` counts as a period even
    when it is malformed (`30days`, `2024-13`): the user then hears which period
    forms are accepted instead of "no such account".
    """
    folded = _fold(token)
    if not folded or ":" in folded:
        return False
    if folded in _NAMED or folded[0].isdigit():
        return True
    return ".." in folded


_TWO_WORDS = re.compile(r"\b(last|прошл(?:ая|ый|ое))\s+(\w+)", re.IGNORECASE)
_SPACED_SEPARATOR = re.compile(r"(\d)\s*(\.\.|…|[–—])\s*(\d)|(\d)\s+-\s+(\d)")


def _join_spaced(args: str) -> str:
    args = _TWO_WORDS.sub(r"\1-\2", args)

    def join(m: re.Match[str]) -> str:
        if m[1] is not None:
            return f"{m[1]}{m[2]}{m[3]}"
        return f"{m[4]}-{m[5]}"

    return _SPACED_SEPARATOR.sub(join, args)


def split_period_account(args: str, today: date) -> tuple[Period, str | None]:
    """Period and account from command arguments given in either order.

    `"30d vk:brand"`, `"vk:brand 30d"`, `"vk:brand"`, `""` (default period).
    The account comes back as typed (the caller resolves it). Raises
    `PeriodError` for a bad period (`unknown`, `zero`, …), two periods
    (`two_periods`) or two account-like words (`extra_args`).
    """
    period: Period | None = None
    account: str | None = None
    for token in _join_spaced(args).split():
        if looks_like_period(token):
            if period is not None:
                raise PeriodError("two_periods", token)
            period = parse_period(token, today)
        else:
            if account is not None:
                raise PeriodError("extra_args", token)
            account = token
    return period or default_period(today), account
