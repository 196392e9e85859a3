"""`/log [date] [account] metric=value …`: the typed way to record numbers.

Numbers may contain spaces (`охват=12 000`), so the arguments are split on
`=` signs, not on spaces: the text between two `=` is "value of the previous
pair, name of the next", and the split point is the one where the tail is a
known metric name. Ready-made ratios (`bounce_rate=45%`) are kept apart in
`LogRequest.ratios`; `convert_ratios` turns them into counters once their
denominator is known (from the same command or, the caller's choice, from
storage).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from kpi.accounts import KNOWN_PLATFORMS, normalize_account
from kpi.datepolicy import EARLIEST_DAY, latest_data_day
from kpi.metrics import METRICS, RATIO_INPUTS, lookup_metric
from kpi.parsing import parse_day, parse_duration, parse_number

# Error codes, for the handler's translations.
EMPTY = "empty"  # no arguments at all
NO_VALUES = "no_values"  # a date/account but no metric=value pair
UNKNOWN_METRIC = "unknown_metric"
UNKNOWN_TOKEN = "unknown_token"  # a word that is neither date, account nor metric
BAD_VALUE = "bad_value"
EMPTY_VALUE = "empty_value"
NEGATIVE = "negative"
OUT_OF_RANGE = "out_of_range"  # a percentage above 100
DUPLICATE = "duplicate"
BAD_DATE = "bad_date"
FUTURE_DATE = "future_date"
TOO_EARLY = "too_early"  # before kpi/datepolicy.py's EARLIEST_DAY
TWO_DATES = "two_dates"
TWO_ACCOUNTS = "two_accounts"

_RELATIVE_DAYS = {
    "today": 0,
    "сегодня": 0,
    "yesterday": 1,
    "вчера": 1,
    "позавчера": 2,
}


class LogError(ValueError):
    """A `/log` argument that cannot be used; `token` is the offending text."""

    def __init__(self, code: str, token: str, detail: str = "") -> None:
        self.code = code
        self.token = token
        self.detail = detail
        super().__init__(f"{code}: {token!r}" + (f" ({detail})" if detail else ""))


@dataclass(frozen=True, slots=True)
class LogRequest:
    day: date
    account: str | None  # None: the workspace's default account
    values: dict[str, float] = field(default_factory=dict)  # metric → value
    ratios: dict[str, float] = field(default_factory=dict)  # ratio input → value as typed


def parse_log_args(args: str, today: date) -> LogRequest:
    """Parse the text after `/log`. `today` is the workspace's local date."""
    text = args.strip()
    if not text:
        raise LogError(EMPTY, "")
    pieces = text.split("=")
    if len(pieces) == 1:
        _prefix(text.split(), today)
        raise LogError(NO_VALUES, text, "expected metric=value")
    name, head_words = _take_name_suffix(pieces[0].split(), pieces[0])
    values: dict[str, float] = {}
    ratios: dict[str, float] = {}
    for i in range(1, len(pieces)):
        if i == len(pieces) - 1:
            raw, tail = _split_trailing(pieces[i], name)
            head_words += tail
            next_name = None
        else:
            raw, next_name = _split_value_name(pieces[i])
        metric = lookup_metric(name)
        if metric is None:  # _take_name_suffix/_split_value_name checked it
            raise LogError(UNKNOWN_METRIC, name)
        target = ratios if metric in RATIO_INPUTS else values
        if metric in target:
            raise LogError(DUPLICATE, name)
        target[metric] = _value(metric, raw, name)
        if next_name is not None:
            name = next_name
    day, account = _prefix(head_words, today)
    return LogRequest(day=day, account=account, values=values, ratios=ratios)


def _take_name_suffix(words: list[str], piece: str) -> tuple[str, list[str]]:
    """The metric name that ends the text before the first `=`, and what precedes it."""
    for k in range(len(words)):
        candidate = " ".join(words[k:])
        if lookup_metric(candidate) is not None:
            return candidate, words[:k]
    raise LogError(UNKNOWN_METRIC, words[-1] if words else piece.strip())


def _split_value_name(piece: str) -> tuple[str, str]:
    """`"12 000 лайки"` → (`"12 000"`, `"лайки"`): the tail must be a metric name."""
    words = piece.split()
    if not words:
        raise LogError(EMPTY_VALUE, piece)
    for k in range(1, len(words)):
        name = " ".join(words[k:])
        if lookup_metric(name) is not None:
            return " ".join(words[:k]), name
    if len(words) == 1:
        raise LogError(EMPTY_VALUE, words[0], "a value is missing before this name")
    # Blame the first word that is not part of a number.
    for k in range(len(words), 0, -1):
        try:
            parse_number(" ".join(words[:k]))
        except ValueError:
            continue
        raise LogError(UNKNOWN_METRIC, " ".join(words[k:]))
    raise LogError(BAD_VALUE, words[0])


def _split_trailing(piece: str, name: str) -> tuple[str, list[str]]:
    """The last value, and the date/account words typed after it (`охват=100 vk:brand`)."""
    words = piece.split()
    metric = lookup_metric(name)
    if len(words) <= 1 or _is_duration(metric):
        return piece.strip(), []
    for k in range(len(words), 0, -1):
        try:
            parse_number(" ".join(words[:k]))
        except ValueError:
            continue
        return " ".join(words[:k]), words[k:]
    return piece.strip(), []


def _is_duration(metric: str | None) -> bool:
    ratio = RATIO_INPUTS.get(metric or "")
    return ratio is not None and ratio.duration


def _value(metric: str, raw: str, name: str) -> float:
    if not raw:
        raise LogError(EMPTY_VALUE, name)
    try:
        value = parse_duration(raw) if _is_duration(metric) else parse_number(raw)
    except ValueError as e:
        raise LogError(BAD_VALUE, raw, str(e)) from None
    if value < 0 and not (metric in METRICS and METRICS[metric].signed):
        raise LogError(NEGATIVE, raw)
    ratio = RATIO_INPUTS.get(metric)
    if ratio is not None and ratio.percent and value > 100:
        raise LogError(OUT_OF_RANGE, raw, "a percentage cannot exceed 100")
    return value


def _prefix(words: list[str], today: date) -> tuple[date, str | None]:
    day: date | None = None
    account: str | None = None
    for w in words:
        low = w.lower()
        parsed_day = _day_token(low, today)
        if parsed_day is not None:
            if day is not None:
                raise LogError(TWO_DATES, w)
            if parsed_day > latest_data_day(today):
                raise LogError(FUTURE_DATE, w)
            if parsed_day < EARLIEST_DAY:
                raise LogError(TOO_EARLY, w)
            day = parsed_day
            continue
        acc = normalize_account(low)
        if acc is not None and (":" in acc or acc in KNOWN_PLATFORMS or acc == "main"):
            if account is not None:
                raise LogError(TWO_ACCOUNTS, w)
            account = acc
            continue
        if any(c.isdigit() for c in w) and not any(c.isalpha() for c in w):
            raise LogError(BAD_DATE, w)
        if lookup_metric(w) is not None or w in METRICS:
            raise LogError(EMPTY_VALUE, w, "expected metric=value")
        raise LogError(UNKNOWN_TOKEN, w)
    return (day or today), account


def _day_token(low: str, today: date) -> date | None:
    if low in _RELATIVE_DAYS:
        return today - timedelta(days=_RELATIVE_DAYS[low])
    if not any(c.isdigit() for c in low) or ":" in low:
        return None
    try:
        return parse_day(low)
    except ValueError:
        if sum(c.isdigit() for c in low) >= 4 and any(c in "-./" for c in low):
            raise LogError(BAD_DATE, low) from None
        return None


def convert_ratios(
    values: dict[str, float], ratios: dict[str, float]
) -> tuple[dict[str, float], dict[str, float]]:
    """Counters from ratios whose denominator is in `values`.

    Returns (values with the new counters, ratios still waiting for a
    denominator). A counter given outright wins over one derived from a ratio.
    To resolve the rest from storage, call again with the stored denominator
    merged into `values`.
    """
    out = dict(values)
    unresolved: dict[str, float] = {}
    for name, rate in ratios.items():
        spec = RATIO_INPUTS[name]
        if spec.counter in values:
            continue
        denominator = values.get(spec.denominator)
        if denominator is None:
            unresolved[name] = rate
            continue
        share = rate / 100 if spec.percent else rate
        out[spec.counter] = share * denominator
    return out, unresolved
