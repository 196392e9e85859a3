"""Numbers as the bot shows them, in Russian or English.

Russian: thousands separated by a no-break space U+00A0 (not the narrow U+202F:
some Telegram clients and fonts draw U+202F as a box or as nothing) and a
decimal comma, `12 345,6`; a percent sign after a no-break space, `45,3 %`.
English: `12,345.6`, `45.3%`. Negative numbers use the real minus sign U+2212.

Small values keep `digits` significant digits (a CTR of 0.0179 % is "0.0179",
never "0.0"); values of 1 and above get at least one decimal but only as many as
`digits` allows beyond the integer part, so large values have at most one;
trailing zeros are dropped, so integers have no decimals. Any `lang` other than
one starting with "ru" is formatted the English way.
"""

from __future__ import annotations

import math
import re

from babel import Locale
from babel.numbers import get_currency_symbol

MINUS = "\u2212"
NBSP = "\u00a0"
_MAX_DECIMALS = 12


def _is_ru(lang: str) -> bool:
    return lang.lower().startswith("ru")


def _separators(lang: str) -> tuple[str, str]:
    return (NBSP, ",") if _is_ru(lang) else (",", ".")


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
    return body.strip("0" + NBSP + ",.") == ""


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


def format_percent(x: float, lang: str, *, digits: int = 3) -> str:
    """`45,3 %` (ru) or `45.3%` (en)."""
    number = format_number(x, lang, digits=digits)
    return f"{number}{NBSP}%" if _is_ru(lang) else f"{number}%"


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
    """A workspace without `/currency` counts in roubles in Russian, dollars in English."""
    return "RUB" if _is_ru(lang) else "USD"


def currency_code(word: str) -> str | None:
    """`₽`, `руб.`, `$`, `eur`, `KZT` … → the ISO code; None for anything else."""
    folded = word.strip().lower()
    if folded in CURRENCY_WORDS:
        return CURRENCY_WORDS[folded]
    upper = folded.upper()
    return upper if upper in CURRENCY_SIGNS else None


def currency_sign(code: str, lang: str) -> str:
    return CURRENCY_SIGNS.get(code) or get_currency_symbol(code, locale=_babel_locale(lang))


def _babel_locale(lang: str) -> str:
    return "ru" if _is_ru(lang) else "en"


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
    sign = currency_sign(currency, lang)
    pattern = Locale.parse(_babel_locale(lang)).currency_formats["standard"].pattern
    if pattern.split(";")[0].lstrip().startswith("¤"):
        # `$518`; a sign made of letters gets a space: `Br 518`.
        text = f"{sign}{NBSP if sign[-1:].isalpha() else ''}{body}"
    else:
        text = f"{body}{NBSP}{sign}"
    return _signed(x, text)


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
    return sign + (f"{number}{NBSP}%" if _is_ru(lang) else f"{number}%")


def format_value(value: float, unit: str, lang: str, currency: str | None = None) -> str:
    """A KPI value by its unit (`percent`, `money`, `duration`, `count`, `ratio`)."""
    if unit == "percent":
        return format_percent(value, lang)
    if unit == "money":
        return format_money(value, lang, currency)
    if unit == "duration":
        return format_duration(value)
    return format_number(value, lang)
