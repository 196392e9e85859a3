"""Numbers, money and dates as the bot shows them, in the workspace's language.

Every language-dependent choice comes from Babel's locale data (CLDR): the
thousands and decimal signs, where the percent and currency signs go, month
names and date patterns, the default currency of the language's territory. A new
language needs no code here. Two house rules on top of CLDR: the narrow no-break
space U+202F becomes a plain no-break space U+00A0 (some Telegram clients and fonts
draw U+202F as a box or as nothing), and negative numbers use the real minus sign
U+2212.

Small values keep `digits` significant digits (a CTR of 0.0179 % is "0.0179",
never "0.0"); values of 1 and above get at least one decimal but only as many as
`digits` allows beyond the integer part, so large values have at most one;
trailing zeros are dropped, so integers have no decimals. A language Babel does not
know is formatted the English way.
"""

from __future__ import annotations

import functools
import math
import re
from datetime import date, datetime

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import format_date, format_skeleton
from babel.numbers import (
    format_compact_decimal,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
    get_territory_currencies,
)

MINUS = "\u2212"
NBSP = "\u00a0"
_MAX_DECIMALS = 12
FALLBACK_LOCALE = "en"


@functools.cache
def locale_of(lang: str) -> Locale:
    """Babel's locale for a language code (`ru`, `en`, `ru-RU`, `pt_BR`); English if unknown."""
    try:
        return Locale.parse(lang.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse(FALLBACK_LOCALE)


# Two days of one month (`Nov 1 – 30`); a year before the dash keeps its spaces.
_DIGIT_RANGE = re.compile(r"(?<!\d)(\d{1,2})\u2009([–—])\u2009(?=\d)")


def _house(text: str) -> str:
    """CLDR's narrow and thin spaces as the chat shows them reliably: a no-break space,
    a plain one, none between the two numbers of a range (`Nov 1–30`)."""
    text = _DIGIT_RANGE.sub(r"\1\2", text)
    return text.replace("\u202f", NBSP).replace("\u2009", " ")


@functools.cache
def _separators(lang: str) -> tuple[str, str]:
    loc = locale_of(lang)
    return _house(get_group_symbol(loc)), get_decimal_symbol(loc)


def decimal_sign(lang: str) -> str:
    """`,` in Russian, `.` in English."""
    return _separators(lang)[1]


@functools.cache
def _percent_affixes(lang: str) -> tuple[str, str]:
    pattern = locale_of(lang).percent_formats[None]
    return _house(pattern.prefix[0]), _house(pattern.suffix[0])


def _decimals(magnitude: float, digits: int) -> int:
    if magnitude == 0:
        return 0
    if magnitude >= 1:
        int_digits = len(str(int(magnitude)))
        return max(1, digits - int_digits)
    return min(_MAX_DECIMALS, digits - 1 - math.floor(math.log10(magnitude)))


def _render(magnitude: float, decimals: int, lang: str, *, strip: bool) -> str:
    thousands, point = _separators(lang)
    text = f"{magnitude:,.{decimals}f}"
    whole, _, frac = text.partition(".")
    if strip:
        frac = frac.rstrip("0")
    whole = whole.replace(",", thousands)
    return f"{whole}{point}{frac}" if frac else whole


def _is_zero(body: str) -> bool:
    return not any(ch in "123456789" for ch in body)


def _signed(x: float, body: str) -> str:
    # "-0" after rounding is shown as "0": the sign of nothing is noise.
    return MINUS + body if x < 0 and not _is_zero(body) else body


def format_number(x: float, lang: str, *, digits: int = 3) -> str:
    """`x` with the language's separators and enough significant digits (see module doc)."""
    if math.isnan(x):
        return "—"
    if math.isinf(x):
        return "∞" if x > 0 else MINUS + "∞"
    magnitude = abs(x)
    return _signed(x, _render(magnitude, _decimals(magnitude, digits), lang, strip=True))


def _with_percent(number: str, lang: str) -> str:
    prefix, suffix = _percent_affixes(lang)
    if number.startswith(MINUS) and prefix:
        return MINUS + prefix + number[1:] + suffix
    return prefix + number + suffix


def format_percent(x: float, lang: str, *, digits: int = 3) -> str:
    """`45,3 %` (ru) or `45.3%` (en): the locale's percent pattern."""
    return _with_percent(format_number(x, lang, digits=digits), lang)


# ISO 4217 codes the bot knows, with the sign people write. Babel's own symbols are
# codes for some of them (`KZT` in Russian, `RUB` in English): the narrow sign reads
# better in a chat, so these are ours; Babel decides where the sign goes and the
# separators.
CURRENCY_SIGNS: dict[str, str] = {
    "RUB": "₽",
    "USD": "$",
    "EUR": "€",
    "KZT": "₸",
    "UAH": "₴",
    "BYN": "Br",
    "GBP": "£",
    "CNY": "¥",
    "TRY": "₺",
    "UZS": "сум",
    "AMD": "֏",
    "GEL": "₾",
    "AZN": "₼",
    "KGS": "сом",
    "INR": "₹",
}
# What people type after (or before) an amount, folded to lower case, and its code.
CURRENCY_WORDS: dict[str, str] = {
    "₽": "RUB", "руб": "RUB", "руб.": "RUB", "р": "RUB", "р.": "RUB", "rub": "RUB",
    "rur": "RUB", "рубль": "RUB", "рубля": "RUB", "рублей": "RUB",
    "$": "USD", "us$": "USD", "usd": "USD", "долл": "USD", "долл.": "USD",
    "€": "EUR", "eur": "EUR", "евро": "EUR",
    "₸": "KZT", "kzt": "KZT", "тг": "KZT", "тенге": "KZT",
    "₴": "UAH", "uah": "UAH", "грн": "UAH",
    "£": "GBP", "gbp": "GBP", "¥": "CNY", "cny": "CNY", "₺": "TRY", "try": "TRY",
}  # fmt: skip


_SIGNS = "₽$€₸₴£¥₺"
_CURRENCY_MENTION = re.compile(
    rf"(?P<sign>us\$|[{_SIGNS}])"
    r"|(?<=\d)\s?(?P<word>руб(?:лей|ля|ль|\.)?|р\.|rub|rur|usd|eur|kzt|тг|тенге|грн|uah|gbp"
    r"|евро|долл\.?)(?![\w])",
    re.IGNORECASE,
)


def currencies_in(text: str) -> set[str]:
    """ISO codes of the currencies written next to amounts: `500 ₽`, `$20`, `1 000 руб.`"""
    found = set()
    for m in _CURRENCY_MENTION.finditer(text):
        code = currency_code(m["sign"] or m["word"])
        if code is not None:
            found.add(code)
    return found


def default_currency(lang: str) -> str:
    """A workspace without `/currency` counts in the currency of the language's main
    territory (CLDR's likely subtags): roubles for Russian, dollars for English."""
    # CLDR's answer depends on the day (a country may change its currency): looked up
    # once per language and day, not for every amount of every answer.
    return _default_currency(lang, date.today())


@functools.lru_cache(maxsize=64)
def _default_currency(lang: str, day: date) -> str:
    loc = locale_of(lang)
    territory = loc.territory
    if territory is None:
        likely = get_global("likely_subtags").get(loc.language, "")
        territory = Locale.parse(likely).territory if likely else None
    found = get_territory_currencies(
        territory or "US", start_date=day, tender=True, non_tender=False
    )
    return found[0] if found else "USD"


def currency_code(word: str) -> str | None:
    """`₽`, `руб.`, `$`, `eur`, `KZT` … → the ISO code; None for anything else."""
    folded = word.strip().lower()
    if folded in CURRENCY_WORDS:
        return CURRENCY_WORDS[folded]
    upper = folded.upper()
    return upper if upper in CURRENCY_SIGNS else None


def currency_sign(code: str, lang: str) -> str:
    return CURRENCY_SIGNS.get(code) or get_currency_symbol(code, locale=locale_of(lang))


def format_money(x: float, lang: str, currency: str | None = None) -> str:
    """A sum of money in the language's format: `518 ₽`, `12 345,60 ₽`, `$518`, `−$3.50`.

    Whole amounts have no decimals, others two. Without `currency` the number alone
    (`12 345,60`), for callers that show the currency elsewhere.
    """
    if not math.isfinite(x):
        return format_number(x, lang)
    whole = float(round(x, 2)).is_integer()
    body = _render(abs(x), 0 if whole else 2, lang, strip=False)
    if currency is None:
        return _signed(x, body)
    return _signed(x, with_currency(body, currency, lang))


def with_currency(body: str, currency: str, lang: str) -> str:
    """An unsigned amount with its currency sign where the locale puts it: `518 ₽`, `$518`."""
    sign = currency_sign(currency, lang)
    pattern = locale_of(lang).currency_formats["standard"].pattern
    if pattern.split(";")[0].lstrip().startswith("¤"):
        # `$518`; a sign made of letters gets a space: `Br 518`.
        return f"{sign}{NBSP if sign[-1:].isalpha() else ''}{body}"
    return f"{body}{NBSP}{sign}"


def format_fixed(x: float, decimals: int, lang: str, currency: str | None = None) -> str:
    """`x` with exactly `decimals` decimals (chart ticks), signed, with the currency."""
    body = _render(abs(x), decimals, lang, strip=False)
    return _signed(x, with_currency(body, currency, lang) if currency else body)


def with_percent(number: str, lang: str) -> str:
    """A formatted number with the locale's percent sign: `45,3 %`, `45.3%`."""
    return _with_percent(number, lang)


def format_duration(seconds: float) -> str:
    """Whole seconds as `m:ss`, or `h:mm:ss` from one hour up (`95` → `1:35`)."""
    if not math.isfinite(seconds):
        return "—"
    total = round(abs(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    body = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
    return MINUS + body if seconds < 0 and total else body


def format_change(pct: float, lang: str) -> str:
    """A relative change with its sign: `+12,5 %`, `−3.1%`, `0 %`."""
    number = format_number(pct, lang)
    sign = "+" if pct > 0 and not _is_zero(number) else ""
    return sign + _with_percent(number, lang)


def format_value(value: float, unit: str, lang: str, currency: str | None = None) -> str:
    """A KPI value by its unit (`percent`, `money`, `duration`, `count`, `ratio`)."""
    if unit == "percent":
        return format_percent(value, lang)
    if unit == "money":
        return format_money(value, lang, currency)
    if unit == "duration":
        return format_duration(value)
    return format_number(value, lang)


# --------------------------------------------------------------------------- dates

DAY_SKELETON = "yMMMd"
# CLDR writes some years with a word after them (`2026 г.`): the house writes the
# year as a bare number, so a date that ends a sentence does not end in "г..". A
# literal glued to the year (`2026年`) stays.
_YEAR_WORD = re.compile(r"(?<=y)[\s\u202f]*(?:'[^']+'|[^\W\d_a-zA-Z]+)\.?(?=$|\s|[–—-])")


def _pattern(pattern: str) -> str:
    return _YEAR_WORD.sub("", pattern)


def format_day(day: date, lang: str) -> str:
    """A day as every message, chart and file caption writes it: the locale's medium
    date (`5 нояб. 2026`, `Nov 5, 2026`)."""
    loc = locale_of(lang)
    return _house(format_date(day, _pattern(loc.datetime_skeletons[DAY_SKELETON].pattern), loc))


def format_period(start: date, end: date, lang: str) -> str:
    """Two days as one interval in the locale's way (`1–30 нояб. 2026`,
    `Nov 1 – 30, 2026`, `Dec 15, 2025 – Jan 13, 2026`); one day is just the day."""
    if start == end:
        return format_day(start, lang)
    loc = locale_of(lang)
    field = "y" if start.year != end.year else "M" if start.month != end.month else "d"
    first, second = loc.interval_formats[DAY_SKELETON][field]
    text = format_date(start, _pattern(first), loc) + format_date(end, _pattern(second), loc)
    # A range takes the en dash (CLDR's Russian data has the em dash).
    return _house(text).replace("\u2014", "–")


def format_moment(moment: datetime, lang: str) -> str:
    """A day and a time of day (already in the workspace's zone): `1 дек. 2026 09:56`,
    `Dec 1, 2026 09:56` — the 24-hour clock in every language, as the schedules are typed."""
    return f"{format_day(moment.date(), lang)} {moment:%H:%M}"


def format_short_day(day: date, lang: str) -> str:
    """A day without its year, for chart ticks: `5 нояб.`, `Nov 5`."""
    return _house(format_skeleton("MMMd", day, locale=locale_of(lang)))


def format_month(day: date, lang: str) -> str:
    """The month of `day` with its year, for chart ticks: `янв. 2026`, `Jan 2026`."""
    loc = locale_of(lang)
    return _house(format_date(day, _pattern(loc.datetime_skeletons["yMMM"].pattern), loc))


@functools.cache
def compact_affix(scale: float, lang: str) -> str | None:
    """What the locale writes after a number shortened by `scale` (1e3, 1e6, 1e9):
    ` тыс.`, ` млн`, `K`, `M` (CLDR's short compact decimal patterns); None when the
    locale does not shorten at that scale (German writes 1000 in full)."""
    text = _house(format_compact_decimal(scale, format_type="short", locale=locale_of(lang)))
    if not text.startswith("1") or text[1:2].isdigit():
        return None
    return text[1:]
