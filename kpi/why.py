"""What changed and why: a KPI's change split into per-account contributions that add up
to the total change, and for a ratio into its numerator's and denominator's effects.

Pure. The caller passes the `PeriodData` of the current and the previous period from the
one aggregation; the split follows its per-account figures (`PeriodData.accounts`: each
account's paired sums and follower edges), read by the same KPI functions as every other
answer (`kpi.kpis`), so the parts add up to the figure the KPI command shows.

Counters (reach, link clicks, mentions): the total is Σ over accounts, so an account's
contribution is its own change, v₁ − v₀ (an account without data in a period counts 0
there, and is named as such).

Ratios R = s · N / D (ERR = interactions / reach × 100, CAC = cost / new customers, ROI =
(revenue × margin − cost) / cost × 100, growth = net / followers at start × 100 …), with N
and D sums over accounts. The change is split by the two-factor Shapley value, which is
exact and symmetric:

    effect of N = s · ΔN · ½ (1/D₀ + 1/D₁)
    effect of D = −s · ΔD · ½ (N₀ + N₁) / (D₀ D₁)
    effect of N + effect of D = s · (N₁/D₁ − N₀/D₀) = ΔR

Both effects are linear in ΔN and ΔD, so each splits over the accounts by their own ΔNₐ
and ΔDₐ: contributionₐ = s · (ΔNₐ · ½ (1/D₀ + 1/D₁) − ΔDₐ · ½ (N₀ + N₁) / (D₀ D₁)), and the
contributions add up to ΔR. The split is computed in exact rational arithmetic on the
accounts' own parts (a float is a fraction exactly) and each figure rounded to a float
once at the end, so no large intermediate terms cancel in floating point: the rounded
contributions add up to ΔR to within a few ulps of themselves.

Before anything is said, N/D of the summed parts is checked against the KPI function's
own value in both periods; where they differ (a KPI whose total is not a plain ratio of
account sums) the answer is "cannot split", not a guess.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from kpi.kpis import KPI_FUNCTIONS, PAIRS_OF, KpiResult, followers, pair_total
from kpi.models import AccountData, PeriodData
from kpi.registry import INTERACTIONS, PAIRS, PERIOD_KPIS

COUNTERS = frozenset({"reach", "clicks", "mentions"})
_DENOMINATORS = ("reach", "impressions", "link_clicks", "sessions")


@dataclass(frozen=True, slots=True)
class Parts:
    """N and D of a ratio KPI (or the value of a counter in `numerator`, D = 1)."""

    numerator: float
    denominator: float


@dataclass(frozen=True, slots=True)
class Contribution:
    account: str
    change: float  # in the KPI's unit; these add up to `Why.change`
    numerator_change: float  # ΔNₐ (for counters: the account's own change)
    denominator_change: float  # ΔDₐ (0 for counters)
    missing_in: str | None = None  # "current", "previous" or "both": no value there


@dataclass(frozen=True, slots=True)
class Why:
    kpi: str
    kind: str  # "counter" or "ratio"
    current: float
    previous: float
    change: float
    contributions: tuple[Contribution, ...]  # largest |change| first
    numerator_effect: float | None  # ratios only; with denominator_effect adds up to change
    denominator_effect: float | None
    numerator: tuple[float, float] | None  # (N₀, N₁) for ratios
    denominator: tuple[float, float] | None  # (D₀, D₁)
    numerator_name: str | None
    denominator_name: str | None


@dataclass(frozen=True, slots=True)
class CannotSplit:
    """Why no split is given: `no_value` (the KPI has no value in one of the periods),
    `not_additive` (the KPI's total is not a ratio of account sums), `zero` (a zero
    denominator), `unknown_kpi`."""

    kpi: str
    reason: str


SCALES: Mapping[str, float] = {
    "engagement": 100.0,
    "conversion": 100.0,
    "bounce": 100.0,
    "visitors": 100.0,
    "time_on_page": 1.0,
    "cac": 1.0,
    "roi": 100.0,
    "growth": 100.0,
}


def one_account(data: PeriodData, account: AccountData) -> PeriodData:
    """The period's figures of one account of `data`, for the same KPI functions."""
    return PeriodData(
        period=data.period, sums=account.sums, margin=data.margin, accounts=(account,)
    )


def accounts_of(data: PeriodData) -> dict[str, PeriodData]:
    """Per account name, its own `PeriodData` (a hand-built `data` is one account "")."""
    if not data.accounts:
        return {"": data}
    return {a.name: one_account(data, a) for a in data.accounts}


def _pair_parts(kpi: str, data: PeriodData, formula: str) -> Parts:
    """N and D of a ratio KPI from the pair its total used (`formula`, e.g. `err_reach`),
    summed over the same paired account-days the engine sums (`kpi.kpis.pair_total`)."""
    key = formula if formula in PAIRS else PAIRS_OF[kpi]
    sums = pair_total(data, key).sums
    if kpi == "engagement":
        basis = "reach" if key == "err_reach" else "impressions"
        return Parts(sum(sums.get(n, 0.0) for n in INTERACTIONS), sums.get(basis, 0.0))
    if kpi == "conversion":
        basis = "sessions" if key == "conversion_sessions" else "link_clicks"
        return Parts(sums.get("conversions", 0.0), sums.get(basis, 0.0))
    if kpi == "bounce":
        return Parts(sums.get("bounces", 0.0), sums.get("sessions", 0.0))
    if kpi == "visitors":
        new, back = sums.get("new_visitors", 0.0), sums.get("returning_visitors", 0.0)
        return Parts(new, new + back)
    if kpi == "time_on_page":
        return Parts(sums.get("time_on_page_s", 0.0), sums.get("pageviews", 0.0))
    cost = sums.get("ad_spend", 0.0) + sums.get("content_cost", 0.0)
    if kpi == "cac":
        return Parts(cost, sums.get("new_customers", 0.0))
    # roi
    return Parts(sums.get("revenue", 0.0) * data.margin - cost, cost)


def account_parts(kpi: str, data: PeriodData, shape: KpiResult) -> dict[str, Parts]:
    """N and D of a ratio KPI per account, read the way the total was (`shape`: the
    total's result), so that they add up to the total's."""
    if kpi == "growth":
        if shape.formula == "growth":
            # The accounts the total used, with their own start and end.
            used = {n: Parts(end - start, start) for n, start, end in followers(data).by_account}
            return {n: used.get(n, Parts(0.0, 0.0)) for n in accounts_of(data)}
        out = {}
        for name, one in accounts_of(data).items():
            fol = one.accounts[0].followers if one.accounts else None
            start = (
                (fol.before if fol.before is not None else fol.first)
                if fol is not None
                else data.followers_start
            )
            net = one.sums.get("new_followers", 0.0) - one.sums.get("unfollows", 0.0)
            out[name] = Parts(net, start or 0.0)
        return out
    return {name: _pair_parts(kpi, one, shape.formula) for name, one in accounts_of(data).items()}


_NAMES: Mapping[str, tuple[str, str]] = {
    "engagement": ("interactions", "{basis}"),
    "conversion": ("conversions", "{basis}"),
    "bounce": ("bounces", "sessions"),
    "visitors": ("new_visitors", "visitors"),
    "time_on_page": ("time_on_page_s", "pageviews"),
    "cac": ("cost", "new_customers"),
    "roi": ("profit", "cost"),
    "growth": ("net_followers", "followers_start"),
}


def _close(a: float, b: float, scale: float = 0.0) -> bool:
    """Equal but for float rounding; `scale`: the size of the numbers `a` and `b` were
    computed from (a difference of two millions carries their rounding, not its own)."""
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=max(1e-9, 1e-12 * scale))


def explain(kpi: str, current: PeriodData, previous: PeriodData) -> Why | CannotSplit:
    """Decompose the change of `kpi` from `previous` to `current`, both for the same
    selection, split over their accounts (`PeriodData.accounts`)."""
    func = KPI_FUNCTIONS.get(kpi)
    if func is None or kpi not in PERIOD_KPIS:
        return CannotSplit(kpi, "unknown_kpi")
    now, before = func(current), func(previous)
    if now.value is None or before.value is None:
        return CannotSplit(kpi, "no_value")
    change = now.value - before.value
    cur_acc, prev_acc = accounts_of(current), accounts_of(previous)
    names = sorted(set(cur_acc) | set(prev_acc))
    empty_cur = PeriodData(current.period, {}, margin=current.margin)
    empty_prev = PeriodData(previous.period, {}, margin=previous.margin)
    missing = {
        n: _missing(func(cur_acc.get(n, empty_cur)), func(prev_acc.get(n, empty_prev)))
        for n in names
    }
    if kpi in COUNTERS:
        return _counter(kpi, now.value, before.value, names, cur_acc, prev_acc, missing)
    scale = SCALES[kpi]
    p1 = account_parts(kpi, current, now)
    p0 = account_parts(kpi, previous, before)
    zero = Parts(0.0, 0.0)
    # Exact arithmetic on the accounts' own parts (floats convert to fractions exactly):
    # the contributions then add up to s · (N₁/D₁ − N₀/D₀) with no rounding at all, and
    # each is rounded once, at the end.
    parts = [
        (
            Fraction(p0.get(n, zero).numerator),
            Fraction(p1.get(n, zero).numerator),
            Fraction(p0.get(n, zero).denominator),
            Fraction(p1.get(n, zero).denominator),
        )
        for n in names
    ]
    n0, n1, d0, d1 = (sum((p[i] for p in parts), Fraction(0)) for i in range(4))
    if d0 * d1 == 0:
        return CannotSplit(kpi, "zero")
    s = Fraction(scale)
    if not (_close(float(s * n1 / d1), now.value) and _close(float(s * n0 / d0), before.value)):
        return CannotSplit(kpi, "not_additive")
    k_num = s * (1 / d0 + 1 / d1) / 2
    k_den = s * (n0 + n1) / (d0 * d1) / 2
    rows = [
        Contribution(
            name or "—",
            float((b1 - b0) * k_num - (e1 - e0) * k_den),
            float(b1 - b0),
            float(e1 - e0),
            missing[name],
        )
        for name, (b0, b1, e0, e1) in zip(names, parts, strict=True)
    ]
    num_name, den_name = _NAMES[kpi]
    basis = next((n for n, _ in now.inputs if n in _DENOMINATORS), "")
    return Why(
        kpi=kpi,
        kind="ratio",
        current=now.value,
        previous=before.value,
        change=change,
        contributions=_ranked(rows),
        numerator_effect=float((n1 - n0) * k_num),
        denominator_effect=float(-(d1 - d0) * k_den),
        numerator=(float(n0), float(n1)),
        denominator=(float(d0), float(d1)),
        numerator_name=num_name,
        denominator_name=den_name.format(basis=basis),
    )


def _missing(now: KpiResult, before: KpiResult) -> str | None:
    if now.value is None and before.value is None:
        return "both"
    if now.value is None:
        return "current"
    if before.value is None:
        return "previous"
    return None


def _ranked(rows: list[Contribution]) -> tuple[Contribution, ...]:
    return tuple(sorted(rows, key=lambda c: (-abs(c.change), c.account)))


def _counter(
    kpi: str,
    now: float,
    before: float,
    names: Sequence[str],
    cur: Mapping[str, PeriodData],
    prev: Mapping[str, PeriodData],
    missing: Mapping[str, str | None],
) -> Why | CannotSplit:
    func = KPI_FUNCTIONS[kpi]
    rows = []
    for name in names:
        v1 = func(cur[name]).value if name in cur else None
        v0 = func(prev[name]).value if name in prev else None
        delta = (v1 or 0.0) - (v0 or 0.0)
        rows.append(Contribution(name or "—", delta, delta, 0.0, missing[name]))
    if not _close(math.fsum(r.change for r in rows), now - before, max(abs(now), abs(before))):
        return CannotSplit(kpi, "not_additive")
    return Why(
        kpi, "counter", now, before, now - before, _ranked(rows), None, None, None, None, None, None
    )


def rounded_parts(values: Sequence[float], decimals: int) -> list[float]:
    """`values` rounded to `decimals` so that the rounded parts add up to the rounded
    total (largest remainder): a shown split always adds up on screen."""
    scale = 10**decimals
    target = round(sum(values) * scale)
    floors = [math.floor(v * scale) for v in values]
    remainders = sorted(range(len(values)), key=lambda i: -(values[i] * scale - floors[i]))
    short = target - sum(floors)
    for i in remainders[: max(0, short)]:
        floors[i] += 1
    return [f / scale for f in floors]


__all__ = ["CannotSplit", "Contribution", "Why", "account_parts", "explain", "rounded_parts"]
