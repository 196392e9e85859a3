"""What changed and why: a KPI's change split into per-account contributions that add up
to the total change, and for a ratio into its numerator's and denominator's effects.

Pure. The caller passes the KPI's `PeriodData` for the current and the previous period,
for all accounts together and for each account alone; the figures come from the same KPI
functions as every other answer (`kpi.kpis`).

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

from kpi.kpis import INTERACTION_PARTS, KPI_FUNCTIONS, KpiResult
from kpi.models import PeriodData

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


def _input(result: KpiResult, name: str) -> float:
    return dict(result.inputs).get(name, 0.0)


def ratio_parts(kpi: str, data: PeriodData, shape: KpiResult) -> tuple[Parts, float] | None:
    """N, D and the scale s of a ratio KPI for `data`, taking the formula's shape (which
    interaction parts, which denominator) from `shape`, the total's result, so that every
    account is read the same way and their parts add up to the total's."""
    sums = data.sums
    names = [n for n, _ in shape.inputs]
    if kpi == "engagement":
        parts = [n for n in names if n in (*INTERACTION_PARTS, "interactions")]
        basis = next(n for n in names if n in _DENOMINATORS)
        return Parts(sum(sums.get(n, 0.0) for n in parts), sums.get(basis, 0.0)), 100.0
    if kpi == "conversion":
        basis = next(n for n in names if n in _DENOMINATORS)
        return Parts(sums.get("conversions", 0.0), sums.get(basis, 0.0)), 100.0
    if kpi == "bounce":
        return Parts(sums.get("bounces", 0.0), sums.get("sessions", 0.0)), 100.0
    if kpi == "visitors":
        new, back = sums.get("new_visitors", 0.0), sums.get("returning_visitors", 0.0)
        return Parts(new, new + back), 100.0
    if kpi == "time_on_page":
        return Parts(sums.get("time_on_page_s", 0.0), sums.get("pageviews", 0.0)), 1.0
    cost = sums.get("ad_spend", 0.0) + sums.get("content_cost", 0.0)
    if kpi == "cac":
        return Parts(cost, sums.get("new_customers", 0.0)), 1.0
    if kpi == "roi":
        return Parts(sums.get("revenue", 0.0) * data.margin - cost, cost), 100.0
    if kpi == "growth":
        start, end = data.followers_start, data.followers_end
        if start is not None and end is not None:
            return Parts(end - start, start), 100.0
        if shape.formula == "growth_flows" and start is not None:
            net = sums.get("new_followers", 0.0) - sums.get("unfollows", 0.0)
            return Parts(net, start), 100.0
        return Parts(0.0, 0.0), 100.0
    return None


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


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def explain(
    kpi: str,
    total: tuple[PeriodData, PeriodData],
    accounts: Sequence[tuple[str, PeriodData, PeriodData]],
) -> Why | CannotSplit:
    """Decompose the change of `kpi` from `total[1]` (previous) to `total[0]` (current).

    `accounts`: (name, current, previous) for every account of the selection; their sums
    must add up to the total's (storage reads them from the same rows).
    """
    func = KPI_FUNCTIONS.get(kpi)
    if func is None:
        return CannotSplit(kpi, "unknown_kpi")
    now, before = func(total[0]), func(total[1])
    if now.value is None or before.value is None:
        return CannotSplit(kpi, "no_value")
    change = now.value - before.value
    if kpi in COUNTERS:
        return _counter(kpi, now.value, before.value, accounts)
    shape = now
    parts_now = ratio_parts(kpi, total[0], shape)
    parts_before = ratio_parts(kpi, total[1], before)
    if parts_now is None or parts_before is None:
        return CannotSplit(kpi, "unknown_kpi")
    (p1, scale), (p0, _) = parts_now, parts_before
    if p0.denominator * p1.denominator == 0:  # also catches an underflow
        return CannotSplit(kpi, "zero")
    if not (
        _close(scale * p1.numerator / p1.denominator, now.value)
        and _close(scale * p0.numerator / p0.denominator, before.value)
    ):
        return CannotSplit(kpi, "not_additive")
    # Exact arithmetic on the accounts' own parts (floats convert to fractions exactly):
    # the contributions then add up to s · (N₁/D₁ − N₀/D₀) with no rounding at all, and
    # each is rounded once, at the end.
    names, parts = [], []
    for name, cur, prev in accounts:
        a1 = ratio_parts(kpi, cur, shape)
        a0 = ratio_parts(kpi, prev, before)
        assert a1 is not None and a0 is not None
        parts.append(
            (
                Fraction(a0[0].numerator),
                Fraction(a1[0].numerator),
                Fraction(a0[0].denominator),
                Fraction(a1[0].denominator),
            )
        )
        names.append((name, _missing(func(cur), func(prev))))
    n0, n1, d0, d1 = (sum((p[i] for p in parts), Fraction(0)) for i in range(4))
    if (
        not all(
            _close(float(x), y)
            for x, y in (
                (n0, p0.numerator),
                (n1, p1.numerator),
                (d0, p0.denominator),
                (d1, p1.denominator),
            )
        )
        or d0 * d1 == 0
    ):
        return CannotSplit(kpi, "not_additive")
    s = Fraction(scale)
    k_num = s * (1 / d0 + 1 / d1) / 2
    k_den = s * (n0 + n1) / (d0 * d1) / 2
    rows = [
        Contribution(
            name,
            float((b1 - b0) * k_num - (e1 - e0) * k_den),
            float(b1 - b0),
            float(e1 - e0),
            missing,
        )
        for (name, missing), (b0, b1, e0, e1) in zip(names, parts, strict=True)
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
    kpi: str, now: float, before: float, accounts: Sequence[tuple[str, PeriodData, PeriodData]]
) -> Why | CannotSplit:
    func = KPI_FUNCTIONS[kpi]
    rows = []
    total = 0.0
    for name, cur, prev in accounts:
        r1, r0 = func(cur), func(prev)
        v1, v0 = r1.value or 0.0, r0.value or 0.0
        total += v1 - v0
        rows.append(Contribution(name, v1 - v0, v1 - v0, 0.0, _missing(r1, r0)))
    if not _close(total, now - before):
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


__all__ = ["CannotSplit", "Contribution", "Why", "explain", "ratio_parts", "rounded_parts"]
