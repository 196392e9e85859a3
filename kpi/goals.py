"""Goals: what `/goal` means, the period a goal covers, progress and pace. Pure.

`/goal <kpi> [op] <target> [period] [account]`: `/goal reach 300000 month`,
`/goal cac < 500 quarter vk:ads`, `/goal er >= 4% month`.

Decisions the spec leaves open:

* The operator is optional: without one the goal points the KPI's good way (at least
  the target for reach or ERR, at most for bounce rate or CAC). `<`/`<=`/`≤` and
  `>`/`>=`/`≥` are kept as typed and compared exactly.
* `week`, `month`, `quarter` and `year` (and their Russian words) are recurring: the goal
  is always about the current calendar week, month, quarter or year, so a monthly plan
  is set once. A calendar month, quarter or year (`2026-12`, `2026-Q4`, `2026`) or a date
  range is a one-off goal; rolling spans (`30d`) are refused, since a target for "the
  last 30 days" moves every day. Default: month.
* Counters (reach, link clicks, mentions: KPIs that are sums) compare the sum so far with
  the target, and the pace projects the sum so far linearly over the whole period:
  projected = sum so far / days elapsed × days in the period. Days elapsed run to the
  last day with data (data typed in two days late must not look like a slump), at
  least one. Ratios (ERR, CAC, bounce …) compare the value so far with the bound: on
  track or off track; a ratio has no "pace".
* At risk: off pace (counters) or off track (ratios) with at most a third of the period
  left, the "goal at risk" alert's condition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from kpi.accounts import looks_like_account, normalize_account
from kpi.kpis import KPI_FUNCTIONS, LOWER_IS_BETTER, resolve_kpi
from kpi.models import Period
from kpi.parsing import parse_number
from kpi.periods import PeriodError, add_months, parse_period

RECURRING: dict[str, str] = {
    "week": "week",
    "неделя": "week",
    "month": "month",
    "месяц": "month",
    "quarter": "quarter",
    "квартал": "quarter",
    "year": "year",
    "год": "year",
}
PERIOD_KINDS = ("week", "month", "quarter", "year", "fixed")
# KPIs whose value is a sum over the period: progress is a share of the target.
COUNTER_KPIS = frozenset({"reach", "clicks", "mentions"})
MAX_GOALS = 20
AT_RISK_SHARE_LEFT = 1 / 3

_OP = re.compile(r"^(<=|>=|≤|≥|<|>|=<|=>)")
_OPS = {"<=": "<=", "≤": "<=", "=<": "<=", "<": "<", ">=": ">=", "≥": ">=", "=>": ">=", ">": ">"}
_GROUP = re.compile(r"^\d{3}(?:[.,]\d+)?%?$")
_RELATIVE = re.compile(r"^\d+\s*(d|д|дн|w|н|нед|m|м|мес)$")

Status = Literal["met", "on_track", "off_track", "missed", "no_data"]


class GoalError(ValueError):
    """A `/goal` argument that can't be read; `code` says which, `token` what was typed.

    Codes: `usage` (nothing or no target), `kpi` (unknown KPI), `not_a_goal` (hashtags),
    `target` (not a number), `negative` (a target below 0 for a KPI that can't be),
    `period` (not a period; `period_code` has the period parser's reason),
    `rolling` (a rolling span), `extra` (more words than a period and an account).
    """

    def __init__(self, code: str, token: str = "", period_code: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.token = token
        self.period_code = period_code


@dataclass(frozen=True, slots=True)
class GoalSpec:
    """What `/goal` asked for. `start`/`end` only for `period_kind == "fixed"`."""

    kpi: str
    op: str  # "<", "<=", ">", ">="
    target: float
    period_kind: str
    start: date | None = None
    end: date | None = None
    account: str | None = None  # normalised account name; None = all accounts


def default_op(kpi: str) -> str:
    return "<=" if kpi in LOWER_IS_BETTER else ">="


def _split_op(words: list[str]) -> tuple[str | None, list[str]]:
    """The operator, written alone (`< 500`) or glued to the number (`<500`)."""
    if not words:
        return None, words
    m = _OP.match(words[0])
    if m is None:
        return None, words
    rest = words[0][m.end() :]
    tail = ([rest] if rest else []) + words[1:]
    return _OPS[m[1]], tail


def parse_goal(args: str, today: date) -> GoalSpec:
    """Read `/goal`'s arguments (see module doc). Raises `GoalError`."""
    words = args.split()
    if len(words) < 2:
        raise GoalError("usage")
    kpi = resolve_kpi(words[0])
    if kpi is None:
        raise GoalError("kpi", words[0])
    if kpi not in KPI_FUNCTIONS:
        raise GoalError("not_a_goal", words[0])
    op, rest = _split_op(words[1:])
    if not rest:
        raise GoalError("usage")
    # "300 000": Russian writes thousands apart; glue three-digit groups back on.
    while len(rest) > 1 and re.fullmatch(r"\d{1,3}(?: \d{3})*", rest[0]) and _GROUP.match(rest[1]):
        rest = [f"{rest[0]} {rest[1]}", *rest[2:]]
    try:
        target = parse_number(rest[0])
    except ValueError:
        raise GoalError("target", rest[0]) from None
    if target < 0 and kpi not in ("growth", "roi"):
        raise GoalError("negative", rest[0])
    kind, start, end, account = "month", None, None, None
    period_seen = False
    for word in rest[1:]:
        folded = word.strip().lower().replace("ё", "е")
        if not period_seen and folded in RECURRING:
            kind, period_seen = RECURRING[folded], True
        elif account is None and looks_like_account(word):
            account = normalize_account(word)
        elif not period_seen:
            if _RELATIVE.match(folded):
                raise GoalError("rolling", word)
            try:
                _check_period(word, today)
                # The whole span, not "so far": a goal for December is about all of it.
                full = parse_period(word, add_months(today, 12))
            except PeriodError as exc:
                if exc.code == "unknown" and normalize_account(word) is not None:
                    account = normalize_account(word)
                    continue
                raise GoalError("period", word, exc.code) from None
            except ValueError:  # the period parser lets `date(0, 1, 1)` through ("0000")
                raise GoalError("period", word, "bad_date") from None
            kind, start, end, period_seen = "fixed", full.start, full.end, True
        else:
            raise GoalError("extra", word)
    return GoalSpec(kpi, op or default_op(kpi), target, kind, start, end, account)


def _check_period(word: str, today: date) -> None:
    """The period parser's checks against the real today; a goal may be for a future
    period (next month's plan), so only `future` is let through."""
    try:
        parse_period(word, today)
    except PeriodError as exc:
        if exc.code != "future":
            raise


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def goal_period(
    kind: str, today: date, start: date | None = None, end: date | None = None
) -> Period:
    """The whole period a goal is about on `today` (the current one for recurring goals)."""
    if kind == "fixed":
        if start is None or end is None:
            raise ValueError("a fixed goal needs its start and end")
        return Period(start, end)
    if kind == "week":
        monday = today - timedelta(days=today.weekday())
        return Period(monday, monday + timedelta(days=6))
    if kind == "month":
        first = today.replace(day=1)
        return Period(first, add_months(first, 1) - timedelta(days=1))
    if kind == "quarter":
        first = _quarter_start(today)
        return Period(first, add_months(first, 3) - timedelta(days=1))
    if kind == "year":
        return Period(date(today.year, 1, 1), date(today.year, 12, 31))
    raise ValueError(f"unknown goal period {kind!r}")


def meets(value: float, op: str, target: float) -> bool:
    if op == "<":
        return value < target
    if op == "<=":
        return value <= target
    if op == ">":
        return value > target
    return value >= target


@dataclass(frozen=True, slots=True)
class GoalProgress:
    """A goal on one day.

    `period`: the whole period; `so_far`: its days up to today (None when it has not
    started). `value`: the KPI so far (None: no value). `share`: value / target × 100 for
    counters (None for ratios or a zero target). `projected`: the counter's value at the
    end at this pace, `projected_share` likewise in % of the target. `days_elapsed`: days
    from the start to the last day with data. `share_left`: the part of the period still
    ahead of today (0..1). `at_risk`: off pace or off track with at most a third left.
    """

    kind: Literal["counter", "ratio"]
    status: Status
    period: Period
    value: float | None
    share: float | None
    projected: float | None
    projected_share: float | None
    on_pace: bool | None
    days_elapsed: int
    share_left: float
    at_risk: bool


def progress(
    spec: GoalSpec, period: Period, value: float | None, today: date, last_day: date | None
) -> GoalProgress:
    """Progress of `spec` over `period` with the KPI `value` so far (see module doc).

    `last_day`: the last day with data for the KPI in the period (None: none).
    """
    counter = spec.kpi in COUNTER_KPIS
    kind: Literal["counter", "ratio"] = "counter" if counter else "ratio"
    ended = today > period.end
    days_left = max(0, (period.end - max(today, period.start - timedelta(days=1))).days)
    share_left = min(1.0, days_left / period.days)
    if value is None or last_day is None:
        status: Status = "missed" if ended else "no_data"
        return GoalProgress(
            kind, status, period, None, None, None, None, None, 0, share_left, False
        )
    last = min(max(last_day, period.start), period.end)
    elapsed = (last - period.start).days + 1
    share = projected = projected_share = None
    if counter:
        share = value / spec.target * 100 if spec.target else None
        projected = value / elapsed * period.days
        projected_share = projected / spec.target * 100 if spec.target else None
        on_pace = meets(projected, spec.op, spec.target)
        met_already = spec.op in (">", ">=") and meets(value, spec.op, spec.target)
        broken_already = spec.op in ("<", "<=") and not meets(value, spec.op, spec.target)
        if met_already:
            status = "met"
            on_pace = True
        elif ended or broken_already:
            status = "met" if meets(value, spec.op, spec.target) else "missed"
            on_pace = status == "met"
        else:
            status = "on_track" if on_pace else "off_track"
    else:
        on_pace = meets(value, spec.op, spec.target)
        if ended:
            status = "met" if on_pace else "missed"
        else:
            status = "on_track" if on_pace else "off_track"
    at_risk = status == "off_track" and share_left <= AT_RISK_SHARE_LEFT
    return GoalProgress(
        kind,
        status,
        period,
        value,
        share,
        projected,
        projected_share,
        on_pace,
        elapsed,
        share_left,
        at_risk,
    )


def progress_bar(share: float, width: int = 10) -> str:
    """`▓▓▓▓▓▓░░░░` for 60 %; capped at full, never negative."""
    filled = max(0, min(width, round(share / 100 * width)))
    return "▓" * filled + "░" * (width - filled)


__all__ = [
    "COUNTER_KPIS",
    "MAX_GOALS",
    "PERIOD_KINDS",
    "GoalError",
    "GoalProgress",
    "GoalSpec",
    "default_op",
    "goal_period",
    "meets",
    "parse_goal",
    "progress",
    "progress_bar",
]
