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

The KPI is any period KPI of `kpi.registry` by key or alias (Russian too), plus
`ctr` (link clicks / impressions), which in answers is an extra of `clicks`:
an alert on "CTR < 1 %" must watch the rate, not the click count. A week's
value is the KPI engine's figure for that week (`kpi.kpis`, from storage's one
aggregation), the same a KPI command gives for it.

Evaluation (`evaluate`): the week is the latest complete ISO week in the
workspace's time zone; the baseline is the median of the 4 weeks before it,
counting only weeks with a value and enough volume, computed by the same
formula as the week itself (ERR by reach is no baseline for ERR by
impressions), and at least `MIN_BASELINE_WEEKS` of them.
Change = (value − baseline) / |baseline| × 100.

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from kpi import arithmetic
from kpi.accounts import normalize_account
from kpi.kpis import KPI_FUNCTIONS, KpiResult, ctr
from kpi.models import Period, PeriodData
from kpi.numbers import format_value
from kpi.parsing import parse_number
from kpi.registry import (
    CTR_ALERT,
    KPIS,
    LOWER_IS_BETTER,
    METRIC_ALERT_ALIASES,
    METRIC_ALERTS,
    PERIOD_KPIS,
    AlertFit,
    resolve_kpi,
    unit_of,
)

BASELINE_WEEKS = 4
MIN_BASELINE_WEEKS = 2
CHART_WEEKS = 12
HYSTERESIS = 0.05
MAX_RULES = 20

# Every period KPI except hashtags (not a single figure), plus CTR.
ALERT_KPIS: tuple[str, ...] = (*PERIOD_KPIS, "ctr", *METRIC_ALERTS)
# How a rule reads each KPI: `kpi.registry.Kpi.alert` (CTR's own fit for the rate).
FITS: Mapping[str, AlertFit] = MappingProxyType(
    {
        **{k: fit for k in PERIOD_KPIS if (fit := KPIS[k].alert) is not None},
        "ctr": CTR_ALERT,
        **METRIC_ALERTS,
    }
)
UNITS: Mapping[str, str] = MappingProxyType({k: unit_of(k) for k in ALERT_KPIS})
# (what is counted, default minimum per week). None: no default minimum.
VOLUME: Mapping[str, tuple[str, float | None]] = MappingProxyType(
    {k: (fit.volume, fit.default_min) for k, fit in FITS.items()}
)
COUNT_KPIS = frozenset(k for k, fit in FITS.items() if fit.count)


def higher_is_better(kpi: str) -> bool:
    return kpi not in LOWER_IS_BETTER and kpi not in METRIC_ALERTS


def resolve_alert_kpi(word: str) -> str | None:
    """The alert KPI key for a typed name (`ctr` is its own KPI here), else None."""
    folded = word.strip().lstrip("/").lower().replace("ё", "е")
    if folded in ("ctr", "цтр"):
        return "ctr"
    if folded in METRIC_ALERT_ALIASES:
        return METRIC_ALERT_ALIASES[folded]
    return resolve_kpi(folded)


# --------------------------------------------------------------------------- grammar


class RuleError(ValueError):
    """A `/alert` argument that cannot be used; `code` is translated by the caller.

    Codes: `empty`, `unknown_kpi`, `not_alertable` (hashtags), `no_condition`,
    `bad_number`, `percent_unit` (`%` on a money/count/duration threshold),
    `currency_unit` (a currency on a threshold that is not money),
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
    r"\s*(?P<op>[<>]|[+\-−–])\s*(?P<sign>[-−–])?\s*(?P<pre>us\$|[$€£¥₽₸₴₺])?\s*"
    r"(?P<num>\d+:\d{2}|\d[\d\s\u00a0.,]*(?:тыс\.?|k|к)?)\s*(?P<pct>%)?"
    r"(?:\s*(?P<cur>[$€£¥₽₸₴₺]|руб\.?|р\.|rub|usd|eur|kzt|тг|тенге)(?=\s|$))?"
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
        money_mark = m["pre"] or m["cur"]
        if money_mark and unit != "money":
            raise RuleError("currency_unit", money_mark)
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


# --------------------------------------------------------------------------- measuring


@dataclass(frozen=True, slots=True)
class Measure:
    """One week of one KPI: its value and the volume behind it."""

    period: Period
    value: float | None
    volume: float | None
    result: KpiResult | None = None


def measure(kpi: str, data: PeriodData) -> Measure:
    """The KPI's value and the volume behind it (see `FITS`) for one period: the
    same figure the KPI's answer gives for the period (one engine)."""
    if kpi in METRIC_ALERTS:  # a metric's Σ over the period: the value is the volume
        total = data.sums.get(kpi)
        metric = KpiResult(
            kpi, total, "count", kpi, ((kpi, total),) if total is not None else (),
            higher_is_better=False, days_with_data=data.metric_days.get(kpi, 0),
            days=data.period.days,
        )  # fmt: skip
        return Measure(data.period, total, total, metric)
    result = ctr(data) if kpi == "ctr" else KPI_FUNCTIONS[kpi](data)
    fit = FITS[kpi]
    inputs = dict(result.inputs)
    volume: float | None
    if fit.count:
        volume = result.value
    elif kpi in ("engagement", "conversion", "ctr"):
        # The denominator the formula used (reach, or impressions; clicks or sessions).
        volume = result.inputs[-1][1] if result.inputs else None
    elif fit.volume == "cost":
        volume = result.extras.get("cost")
    elif fit.volume == "visitors":
        new, returning = inputs.get("new_visitors"), inputs.get("returning_visitors")
        volume = None if new is None or returning is None else new + returning
    elif fit.volume == "followers":
        volume = inputs.get("followers_start")
    else:
        volume = inputs.get(fit.volume)
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
    # Weeks computed by another formula (ERR by impressions while the latest is by
    # reach) are figures of another kind: they make no baseline for it.
    formula = latest.result.formula if latest.result is not None else None
    usable = [
        m.value
        for m in before
        if m.value is not None
        and _enough(m.volume, minimum)
        and (m.result is None or formula is None or m.result.formula == formula)
    ]
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


def expression(kpi: str, result: KpiResult, lang: str, currency: str | None = None) -> str:
    """The KPI's formula with the week's sums and the value: `600 / 1 000 × 100 = 60 %`
    (`kpi.arithmetic`, as in the KPI answers)."""
    text = arithmetic.expression(result, lang, currency)
    if text is not None:
        return text
    if result.value is None:
        return ""
    return format_value(result.value, UNITS[kpi], lang, currency)


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
]
