"""Alert rules: the `/alert` grammar, weekly evaluation and the state machine.

Pure: no I/O, no clock (the caller passes `today` and `now`), no aiogram.

Grammar (`/alert <kpi> <condition> [account] [min=N]`, words in any order after
the condition):

* threshold: `bounce > 60%`, `roi < 100%`, `cac > 1500`, `time < 1:30`,
  `roi < -10%`; `%` is optional for percent KPIs and refused for the others
  (a CAC is money, not a share);
* spike against the KPI's own baseline: `cac +25%`, `reach -30%` (`%` optional;
  `−`/`–` read as minus);
* an account: `vk:brand` (else all accounts together);
* a minimum volume: `min=500` / `мин=500` (else `DEFAULT_MIN_VOLUME`).

The KPI is any period KPI of `kpi.kpis` by key or alias (Russian too), plus
`ctr` (link clicks / impressions), which in `kpi.kpis` is an extra of `clicks`:
an alert on "CTR < 1 %" must watch the rate, not the click count.

Evaluation (`evaluate`): the week is the latest complete ISO week in the
workspace's time zone; the baseline is the median of the 4 weeks before it,
counting only weeks with a value and enough volume, and at least
`MIN_BASELINE_WEEKS` of them. Change = (value − baseline) / |baseline| × 100.

* spike `+p`: fires when the change is ≥ +p %; `-p`: when it is ≤ −p %.
  The direction is the user's: `reach +50%` on a higher-is-better KPI is a
  rise worth knowing about, and the message says it is a good one.
* threshold `> T` fires when the value is above T; `< T` when it is below T.

Minimum volume: a week whose denominator is under the rule's minimum is never
judged (a bounce rate over 12 sessions says nothing), and does not count in a
baseline. For count KPIs (reach, clicks, mentions) the volume is the larger of
the value and its baseline, so a collapse to zero is still caught.

Hysteresis: a rule fires when the value crosses its limit (the threshold, or
baseline × (1 ± p)); it recovers only when the value is back on the good side
of the limit by `HYSTERESIS` (5 %) of the limit. In the band between, a firing
rule stays firing and an ok rule stays ok, so a value wobbling around 60 %
fires once and does not flap.

State machine (`decide`), per rule: `ok` → `firing` (one alert message, one
event) → `ok` (one short recovery message). A week without data, with too
little volume or without a baseline keeps the state as it is. A disabled
(muted) rule never fires. A snoozed rule does not fire until the snooze ends
(then it fires if the breach is still there); a firing rule that recovers while
snoozed goes back to ok silently.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from kpi.accounts import normalize_account
from kpi.kpis import FORMULAS, KPI_FUNCTIONS, LOWER_IS_BETTER, KpiResult, clicks, resolve_kpi
from kpi.metrics import COUNTERS
from kpi.models import Period, PeriodData
from kpi.numbers import format_number, format_value
from kpi.parsing import parse_number

BASELINE_WEEKS = 4
MIN_BASELINE_WEEKS = 2
CHART_WEEKS = 12
HYSTERESIS = 0.05
MAX_RULES = 20

# Every period KPI except hashtags (not a single figure), plus CTR.
ALERT_KPIS: tuple[str, ...] = (*KPI_FUNCTIONS, "ctr")

UNITS: Mapping[str, str] = MappingProxyType(
    {
        "reach": "count",
        "engagement": "percent",
        "conversion": "percent",
        "growth": "percent",
        "clicks": "count",
        "ctr": "percent",
        "bounce": "percent",
        "visitors": "percent",
        "time_on_page": "duration",
        "cac": "money",
        "mentions": "count",
        "roi": "percent",
    }
)

# (what is counted, default minimum per week). None: no default minimum.
VOLUME: Mapping[str, tuple[str, float | None]] = MappingProxyType(
    {
        "bounce": ("sessions", 100.0),
        "cac": ("new_customers", 3.0),
        "conversion": ("link_clicks", 100.0),  # or sessions, when the KPI falls back to them
        "engagement": ("reach", 1000.0),  # or impressions, likewise
        "ctr": ("impressions", 1000.0),
        "roi": ("cost", 1000.0),
        "visitors": ("visitors", 100.0),
        "time_on_page": ("pageviews", 100.0),
        "growth": ("followers", 100.0),
        "reach": ("reach", None),
        "clicks": ("link_clicks", None),
        "mentions": ("mentions", None),
    }
)
COUNT_KPIS = frozenset({"reach", "clicks", "mentions"})


def higher_is_better(kpi: str) -> bool:
    return kpi not in LOWER_IS_BETTER


def resolve_alert_kpi(word: str) -> str | None:
    """The alert KPI key for a typed name (`ctr` is its own KPI here), else None."""
    folded = word.strip().lstrip("/").lower().replace("ё", "е")
    if folded in ("ctr", "цтр"):
        return "ctr"
    return resolve_kpi(folded)


# --------------------------------------------------------------------------- grammar


class RuleError(ValueError):
    """A `/alert` argument that cannot be used; `code` is translated by the caller.

    Codes: `empty`, `unknown_kpi`, `not_alertable` (hashtags), `no_condition`,
    `bad_number`, `percent_unit` (`%` on a money/count/duration threshold),
    `bad_spike` (0 % or out of range), `bad_account`, `bad_min`, `extra`.
    `token` is the offending word.
    """

    def __init__(self, code: str, token: str = "") -> None:
        super().__init__(f"{code}: {token!r}" if token else code)
        self.code = code
        self.token = token


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """What a rule watches. `kind` is `threshold` (`op` `>`/`<`) or `spike` (`+`/`-`,
    `value` in % > 0). `min_volume` None means the KPI's default."""

    kpi: str
    kind: str
    op: str
    value: float
    min_volume: float | None = None
    account: str | None = None

    @property
    def effective_min_volume(self) -> float | None:
        return self.min_volume if self.min_volume is not None else VOLUME[self.kpi][1]

    @property
    def unit(self) -> str:
        return UNITS[self.kpi]


_OPS = "<>+-−–"
_CONDITION = re.compile(
    r"\s*(?P<op>[<>]|[+\-−–])\s*(?P<sign>[-−–])?\s*"
    r"(?P<num>\d+:\d{2}|\d[\d\s\u00a0.,]*(?:тыс\.?|k|к)?)\s*(?P<pct>%)?"
    r"(?:\s+(?P<rest>.*))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_MIN = re.compile(r"(?:min|мин)[=:]?(?P<num>.+)", re.IGNORECASE)


def _number(text: str) -> float:
    text = text.strip()
    if m := re.fullmatch(r"(\d+):(\d{2})", text):
        return float(int(m[1]) * 60 + int(m[2]))
    try:
        return parse_number(text)
    except ValueError:
        raise RuleError("bad_number", text) from None


def _split_kpi(text: str) -> tuple[str, str, re.Match[str]]:
    """(kpi key, kpi word, condition match): tries each operator position in turn,
    so `time-on-page +25%` is not read as `time` and `-on-page …`."""
    first_word = text.split(maxsplit=1)[0]
    candidates = [i for i, ch in enumerate(text) if ch in _OPS and i > 0]
    unknown: str | None = None
    for i in candidates:
        word = text[:i].strip()
        if not word or len(word.split()) != 1:
            break
        key = resolve_alert_kpi(word)
        if key is None:
            unknown = unknown or word
            continue
        match = _CONDITION.match(text, i)
        if match is not None:
            return key, word, match
    key = resolve_alert_kpi(first_word)
    if key is None:
        raise RuleError("unknown_kpi", unknown if unknown and not candidates else first_word)
    raise RuleError("no_condition", first_word)


def parse_rule(text: str) -> RuleSpec:
    """A rule from `/alert` arguments; raises `RuleError` (see there)."""
    text = " ".join(text.split())
    if not text:
        raise RuleError("empty")
    first = text.split(maxsplit=1)[0]
    first_key = resolve_alert_kpi(re.split(f"[{_OPS}]", first, maxsplit=1)[0] or first)
    if first_key == "hashtags" or resolve_alert_kpi(first) == "hashtags":
        raise RuleError("not_alertable", first)
    kpi, _word, m = _split_kpi(text)
    if kpi not in ALERT_KPIS:
        raise RuleError("not_alertable", first)
    op = {"−": "-", "–": "-"}.get(m["op"], m["op"])
    value = _number(m["num"])
    unit = UNITS[kpi]
    if op in "<>":
        kind = "threshold"
        if m["sign"]:
            value = -value
        if m["pct"] and unit != "percent":
            raise RuleError("percent_unit", f"{m['num'].strip()}%")
    else:
        kind = "spike"
        if m["sign"] or value <= 0 or value > 1000 or (op == "-" and value > 100):
            raise RuleError("bad_spike", f"{op}{m['num'].strip()}%")
    account: str | None = None
    min_volume: float | None = None
    for word in (m["rest"] or "").split():
        if mm := _MIN.fullmatch(word):
            try:
                min_volume = parse_number(mm["num"])
            except ValueError:
                raise RuleError("bad_min", word) from None
            if min_volume < 0:
                raise RuleError("bad_min", word)
            continue
        name = normalize_account(word)
        if name is None:
            raise RuleError("bad_account" if ":" in word else "extra", word)
        if account is not None:
            raise RuleError("extra", word)
        account = name
    return RuleSpec(kpi, kind, op, value, min_volume, account)


# --------------------------------------------------------------------------- weeks


def latest_complete_week(today: date) -> Period:
    """The last full ISO week (Monday–Sunday) before the one `today` is in."""
    monday = today - timedelta(days=today.weekday())
    return Period(monday - timedelta(days=7), monday - timedelta(days=1))


def recent_weeks(today: date, count: int = CHART_WEEKS) -> list[Period]:
    """The `count` latest complete ISO weeks, oldest first."""
    last = latest_complete_week(today)
    return [
        Period(last.start - timedelta(days=7 * k), last.end - timedelta(days=7 * k))
        for k in range(count - 1, -1, -1)
    ]


def evaluation_window(today: date) -> Period:
    """The days an evaluation reads: the latest complete week and its baseline weeks."""
    last = latest_complete_week(today)
    return Period(last.start - timedelta(days=7 * BASELINE_WEEKS), last.end)


def touches(window: Period, first: date, last: date) -> bool:
    """True when the changed days first..last overlap `window`."""
    return first <= window.end and last >= window.start


def week_data(
    days: Iterable[tuple[date, Mapping[str, float]]], period: Period, margin: float = 1.0
) -> PeriodData:
    """PeriodData for `period` from per-day totals (as `MetricsRepo.daily_totals` gives).

    Counter sums and completeness are exact. Followers (for audience growth) are
    taken from the days inside the period only; the caller uses the repository's
    `period_data` for growth, which also looks before the period.
    """
    sums: dict[str, float] = {}
    metric_days: dict[str, int] = {}
    followers: list[float] = []
    seen = 0
    for day, values in days:
        if day not in period:
            continue
        seen += 1
        for name, value in values.items():
            if name in COUNTERS:
                sums[name] = sums.get(name, 0.0) + value
                metric_days[name] = metric_days.get(name, 0) + 1
        if "followers" in values:
            followers.append(values["followers"])
    if followers:
        metric_days["followers"] = len(followers)
    return PeriodData(
        period=period,
        sums=sums,
        days_with_data=seen,
        metric_days=metric_days,
        followers_start=followers[0] if followers else None,
        followers_end=followers[-1] if followers else None,
        followers_avg=sum(followers) / len(followers) if followers else None,
        margin=margin,
    )


# --------------------------------------------------------------------------- measuring


@dataclass(frozen=True, slots=True)
class Measure:
    """One week of one KPI: its value and the volume behind it."""

    period: Period
    value: float | None
    volume: float | None
    result: KpiResult | None = None


def measure(kpi: str, data: PeriodData) -> Measure:
    """The KPI's value and volume (see `VOLUME`) for one period."""
    volume: float | None
    if kpi == "ctr":
        result = clicks(data)
        ctr = result.extras.get("ctr")
        return Measure(
            data.period, ctr if result.ok else None, data.sums.get("impressions"), result
        )
    result = KPI_FUNCTIONS[kpi](data)
    inputs = dict(result.inputs)
    if kpi == "conversion":
        volume = result.inputs[1][1] if len(result.inputs) > 1 else None
    elif kpi == "engagement":
        basis = next((n for n in ("reach", "impressions") if n in inputs), None)
        volume = inputs[basis] if basis else None
    elif kpi == "roi":
        volume = result.extras.get("cost")
    elif kpi == "visitors":
        new, returning = inputs.get("new_visitors"), inputs.get("returning_visitors")
        volume = None if new is None or returning is None else new + returning
    elif kpi == "growth":
        volume = inputs.get("followers_start")
    elif kpi in COUNT_KPIS:
        volume = result.value
    else:
        volume = inputs.get(VOLUME[kpi][0])
    return Measure(data.period, result.value, volume, result)


# --------------------------------------------------------------------------- evaluation


class Status(StrEnum):
    BREACH = "breach"  # over the limit: fire (if ok)
    BAND = "band"  # back inside the limit, but not by the hysteresis margin yet
    CLEAR = "clear"  # inside the limit by the margin: recover (if firing)
    NO_DATA = "no_data"
    LOW_VOLUME = "low_volume"
    NO_BASELINE = "no_baseline"


@dataclass(frozen=True, slots=True)
class Evaluation:
    rule: RuleSpec
    week: Period
    status: Status
    value: float | None
    baseline: float | None  # median of the weeks before; None when too few
    change: float | None  # % against the baseline
    limit: float | None  # the value at which the rule fires
    recover_limit: float | None  # the value it must come back past to recover
    volume: float | None
    result: KpiResult | None
    history: tuple[Measure, ...]  # oldest first, the evaluated week last

    @property
    def breached(self) -> bool:
        return self.status is Status.BREACH


def _enough(volume: float | None, minimum: float | None) -> bool:
    if minimum is None:
        return True
    return volume is not None and volume >= minimum


def relative_change(value: float, baseline: float) -> float | None:
    if baseline == 0:
        return None
    change = (value - baseline) / abs(baseline) * 100
    return change if math.isfinite(change) else None


def evaluate(rule: RuleSpec, history: Sequence[Measure]) -> Evaluation:
    """Judge the last week of `history` (oldest first) against the rule."""
    if not history:
        raise ValueError("nothing to evaluate")
    latest = history[-1]
    minimum = rule.effective_min_volume
    before = history[-1 - BASELINE_WEEKS : -1]
    usable = [m.value for m in before if m.value is not None and _enough(m.volume, minimum)]
    baseline = statistics.median(usable) if len(usable) >= MIN_BASELINE_WEEKS else None
    value = latest.value
    change = (
        relative_change(value, baseline) if value is not None and baseline is not None else None
    )
    volume = latest.volume
    if rule.kpi in COUNT_KPIS and value is not None:
        volume = max(value, baseline) if baseline is not None else value

    def result(
        status: Status, limit: float | None = None, recover: float | None = None
    ) -> Evaluation:
        return Evaluation(
            rule, latest.period, status, value, baseline, change, limit, recover, volume,
            latest.result, tuple(history),
        )  # fmt: skip

    if value is None:
        return result(Status.NO_DATA)
    if not _enough(volume, minimum):
        return result(Status.LOW_VOLUME)
    if rule.kind == "spike":
        if baseline is None or baseline == 0:
            return result(Status.NO_BASELINE)
        step = abs(baseline) * rule.value / 100
        limit = baseline + step if rule.op == "+" else baseline - step
    else:
        limit = rule.value
    margin = abs(limit) * HYSTERESIS
    rising = rule.op in ("+", ">")
    recover = limit - margin if rising else limit + margin
    if rule.kind == "spike":
        # `+25%` fires at exactly +25 % (a tiny tolerance absorbs float error).
        tolerance = abs(limit) * 1e-9
        breach = value >= limit - tolerance if rising else value <= limit + tolerance
    else:
        breach = value > limit if rising else value < limit
    if breach:
        return result(Status.BREACH, limit, recover)
    clear = value <= recover if rising else value >= recover
    return result(Status.CLEAR if clear else Status.BAND, limit, recover)


class Action(StrEnum):
    NONE = "none"
    FIRE = "fire"
    RECOVER = "recover"
    RECOVER_SILENTLY = "recover_silently"


def decide(
    state: str,
    evaluation: Evaluation,
    *,
    enabled: bool,
    snoozed_until: datetime | None,
    now: datetime,
) -> Action:
    """The transition for a rule in `state` ("ok"/"firing") given this evaluation."""
    if not enabled:
        return Action.NONE
    snoozed = snoozed_until is not None and now < snoozed_until
    if state == "firing":
        if evaluation.status is Status.CLEAR:
            return Action.RECOVER_SILENTLY if snoozed else Action.RECOVER
        return Action.NONE
    if evaluation.status is Status.BREACH and not snoozed:
        return Action.FIRE
    return Action.NONE


def is_bad(rule: RuleSpec, evaluation: Evaluation) -> bool:
    """Whether the move that fired the rule is bad news for this KPI
    (a CAC rise is, a reach rise is not)."""
    rising = rule.op in ("+", ">")
    return rising != higher_is_better(rule.kpi)


# --------------------------------------------------------------------------- arithmetic

_PCT_FORMULAS = {"ctr": "Σ {link_clicks} / Σ {impressions} × 100"}


def expression(kpi: str, result: KpiResult, lang: str) -> str:
    """The KPI's formula with the week's sums and the value: `600 / 1 000 × 100 = 60 %`."""
    inputs = dict(result.inputs)
    for name, value in result.extras.items():
        if value is not None and name not in inputs:
            inputs[name] = value
    if kpi == "ctr":
        template = _PCT_FORMULAS["ctr"]
        value = result.extras.get("ctr")
    else:
        template = FORMULAS[result.formula]
        value = result.value
    if "{interactions}" in template and "interactions" not in dict(result.inputs):
        parts = [n for n, _ in result.inputs if n not in ("reach", "impressions")]
        if len(parts) > 1:
            template = template.replace(
                "Σ {interactions}", "(" + " + ".join(f"{{{p}}}" for p in parts) + ")"
            )

    def number(match: re.Match[str]) -> str:
        name = match[1]
        if name not in inputs or inputs[name] is None:
            return name
        return format_number(float(inputs[name]), lang, digits=4)

    text = re.sub(r"\{(\w+)\}", number, template.replace("Σ ", ""))
    if value is None:
        return text
    return f"{text} = {format_value(value, UNITS[kpi], lang)}"


__all__ = [
    "ALERT_KPIS",
    "BASELINE_WEEKS",
    "CHART_WEEKS",
    "MAX_RULES",
    "Action",
    "Evaluation",
    "Measure",
    "RuleError",
    "RuleSpec",
    "Status",
    "decide",
    "evaluate",
    "evaluation_window",
    "expression",
    "is_bad",
    "latest_complete_week",
    "measure",
    "parse_rule",
    "recent_weeks",
    "relative_change",
    "resolve_alert_kpi",
    "touches",
    "week_data",
]
