"""The KPI formulas (SPEC, "The KPIs"): one pure function per KPI.

Every period KPI takes a `PeriodData` (sums and per-account figures over the
period, follower gauges, posts) and returns a `KpiResult` carrying the value,
the sums the formula used (so the answer can show "the formula with the actual
sums"), what is missing, what was left out and why, and sanity flags. What each
KPI needs, its unit and direction are in `kpi.registry`.

Shared policy:
* a metric absent from the data is missing (it is not 0); a zero denominator
  gives `value=None` with `reason="zero_denominator"`; missing inputs give
  `value=None` with `reason="missing"` and the metric names in `missing`. No
  NaN or infinity ever leaves this module.
* a ratio sums its numerator and denominator over the same account-days: those
  where both sides have a value (`kpi.registry.PAIRS`); the rest is left out
  and named (`KpiResult.left_out`). A period's KPI is always a ratio of sums,
  never an average of daily ratios.
* growth uses the accounts with a follower value at both ends of the period
  (`followers`); net new = Σ (end − start) over them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from kpi.models import (
    AudienceBucket,
    Flag,
    Followers,
    LeftOut,
    PairSums,
    PeriodData,
    PostRecord,
    combine_followers,
)
from kpi.registry import (
    FORMULAS,
    INTERACTION_PARTS,
    KPI_KEYS,
    KPIS,
    LOWER_IS_BETTER,
    MIN_PREVIOUS_COVERAGE,
    NEGLIGIBLE_CHANGE_PCT,
    PAIRS,
    PERIOD_KPIS,
    resolve_kpi,
)

MISSING = "missing"
ZERO_DENOMINATOR = "zero_denominator"
# Both inputs exist, but never on the same account-day: everything was left out.
UNPAIRED = "unpaired"

_EMPTY: Mapping[str, float | None] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class KpiResult:
    """One KPI over one period.

    `inputs`: (metric name, Σ) pairs the formula used, in formula order; gauges
    appear as `followers_start`/`followers_end` and the ROI margin as `margin`.
    `missing`: metrics needed but absent. `reason`: why `value` is None
    (`missing`, `zero_denominator`), else None. `notes`: codes the text layer
    explains (`by_impressions`, `sessions_denominator`, `reach_sum_overstates`,
    `from_follower_flows`, `interactions_total`, `partial_cost`).
    `extras`: secondary figures, None where they cannot be computed.
    `days_with_data`: days on which the formula's inputs have data (paired for
    ratios; the follower span for growth); `days` is the period's length.
    `left_out`, `flags`: see `LeftOut`, `Flag`.
    """

    kpi: str
    value: float | None
    unit: str
    formula: str
    inputs: tuple[tuple[str, float], ...] = ()
    missing: tuple[str, ...] = ()
    reason: str | None = None
    notes: tuple[str, ...] = ()
    extras: Mapping[str, float | None] = field(default_factory=lambda: _EMPTY)
    higher_is_better: bool = True
    days_with_data: int = 0
    days: int = 0
    left_out: tuple[LeftOut, ...] = ()
    flags: tuple[Flag, ...] = ()
    # Growth over several accounts: (account, followers at start, at end) of each used.
    followers_by_account: tuple[tuple[str, float, float], ...] = ()

    @property
    def ok(self) -> bool:
        return self.value is not None


@dataclass(frozen=True, slots=True)
class Change:
    """Current against previous period. `absolute` is in the KPI's unit (percentage
    points for percent KPIs); `relative` is in %, None when previous is 0 or None;
    `better` is None when nothing changed, the change is negligible or either side
    has no value. `negligible`: under `NEGLIGIBLE_CHANGE_PCT` relative ("≈ no
    change"). `thin`: the previous period has data on under half as many days as
    the current one, so no change is given (absolute and relative are None).
    `basis_changed`: the two periods were computed by different formulas (ERR by
    reach now, by impressions or per post by followers before): two figures of
    different kinds, so no change is given either."""

    kpi: str
    current: float | None
    previous: float | None
    absolute: float | None
    relative: float | None
    better: bool | None
    negligible: bool = False
    thin: bool = False
    basis_changed: bool = False


@dataclass(frozen=True, slots=True)
class GroupRow:
    """One hashtag or post format over the period's posts.

    `err` and `baseline_err` (ERR over all posts with the same basis) are by
    `basis` ("reach", or "impressions" when no post has reach; None when no
    post has either); `lift` = (err / baseline_err − 1) × 100.
    """

    key: str
    posts: int
    avg_reach: float | None
    avg_interactions: float | None
    err: float | None
    lift: float | None
    basis: str | None
    baseline_err: float | None


@dataclass(frozen=True, slots=True)
class AudienceRow:
    bucket: str
    value: float
    share: float | None  # % of the dimension; None when the counts add up to 0
    is_share: bool


def _ratio(numerator: float, denominator: float, scale: float = 1.0) -> float | None:
    if denominator == 0:
        return None
    value = numerator / denominator * scale
    return value if math.isfinite(value) else None


# --- pairing and gauges ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PairTotal:
    """A pair summed over the selection's accounts: `sums` per metric, `days` with
    both sides (distinct days), `account_days`, what was left out, per account."""

    key: str
    sums: Mapping[str, float]
    days: int
    account_days: int
    left_out: tuple[LeftOut, ...]
    per_account: tuple[tuple[str, PairSums], ...]

    @property
    def ok(self) -> bool:
        return self.account_days > 0


def _side(names: Iterable[str], values: Mapping[str, float]) -> bool:
    return any(n in values for n in names)


def _synthesized(data: PeriodData, key: str) -> PairSums:
    """A pair read from period sums alone (no per-account figures): both sides must
    have a value somewhere; `interactions` counts only without any of the parts."""
    pair = PAIRS[key]
    sums = data.sums
    if not (_side(pair.numerator, sums) and _side(pair.denominator, sums)):
        num, den = _side(pair.numerator, sums), _side(pair.denominator, sums)
        return PairSums(0, {}, (int(num), int(den)))
    picked = {m: sums[m] for m in pair.metrics if m in sums}
    if any(p in picked for p in INTERACTION_PARTS):
        picked.pop("interactions", None)
    days = [data.metric_days[m] for m in pair.metrics if m in data.metric_days]
    return PairSums(max(days) if days else data.days_with_data or 1, picked)


def pair_total(data: PeriodData, key: str) -> PairTotal:
    """The pair `key` over the selection (see the module doc)."""
    pair = PAIRS[key]
    if not data.accounts:
        one = _synthesized(data, key)
        days = data.pair_days.get(key, one.days) if one.days else 0
        return PairTotal(key, one.sums, days, one.days, (), (("", one),))
    sums: dict[str, float] = {}
    account_days = 0
    left: list[LeftOut] = []
    per: list[tuple[str, PairSums]] = []
    for acc in data.accounts:
        ps = acc.pairs.get(key)
        if ps is None:
            continue
        if ps.days:
            account_days += ps.days
            per.append((acc.name, ps))
            for m, v in ps.sums.items():
                sums[m] = sums.get(m, 0.0) + v
        only_num, only_den = ps.unpaired
        if only_num:
            left.append(
                LeftOut(acc.name, "unpaired", only_num, pair.numerator_label,
                        pair.denominator_label)
            )  # fmt: skip
        if only_den:
            left.append(
                LeftOut(acc.name, "unpaired", only_den, pair.denominator_label,
                        pair.numerator_label)
            )  # fmt: skip
    return PairTotal(key, sums, data.pair_days.get(key, 0), account_days, tuple(left), tuple(per))


def followers(data: PeriodData) -> Followers:
    """The selection's follower figures: from the accounts when the data has them,
    else the ready figures of `data` (built by hand)."""
    if data.accounts:
        return combine_followers(data.period, [(a.name, a.followers) for a in data.accounts])
    start, end = data.followers_start, data.followers_end
    if start is None or end is None:
        start = end = None
    return Followers(start, end, data.followers_avg, data.followers_days, (), ())


# --- results ----------------------------------------------------------------------------


def _coverage(data: PeriodData, names: Iterable[str]) -> int:
    days = [data.metric_days[n] for n in names if n in data.metric_days]
    return max(days) if days else data.days_with_data


def _result(
    data: PeriodData,
    kpi: str,
    value: float | None,
    inputs: Iterable[tuple[str, float]] = (),
    *,
    days: int | None = None,
    formula: str | None = None,
    missing: Iterable[str] = (),
    notes: Iterable[str] = (),
    extras: Mapping[str, float | None] | None = None,
    left_out: Iterable[LeftOut] = (),
    flags: Iterable[Flag] = (),
    followers_by_account: Iterable[tuple[str, float, float]] = (),
) -> KpiResult:
    inputs = tuple(inputs)
    missing = tuple(missing)
    reason = None
    if value is None:
        reason = MISSING if missing else (ZERO_DENOMINATOR if inputs else UNPAIRED)
    spec = KPIS[kpi]
    return KpiResult(
        kpi=kpi,
        value=value,
        unit=spec.unit,
        formula=formula or spec.formula,
        inputs=inputs,
        missing=missing,
        reason=reason,
        notes=tuple(notes),
        extras=MappingProxyType(dict(extras)) if extras else _EMPTY,
        higher_is_better=spec.higher_is_better,
        days_with_data=days if days is not None else _coverage(data, (n for n, _ in inputs)),
        days=data.period.days,
        left_out=tuple(left_out),
        flags=tuple(flags),
        followers_by_account=tuple(followers_by_account),
    )


def _absent(sums: Mapping[str, float], *names: str) -> list[str]:
    return [n for n in names if n not in sums]


def _over_100(total: PairTotal, numerator: str, denominator: str) -> list[Flag]:
    """Accounts whose paired numerator exceeds the denominator (a rate over 100 %)."""
    flags = []
    for name, ps in total.per_account:
        num, den = ps.sums.get(numerator), ps.sums.get(denominator)
        if num is not None and den is not None and num > den * (1 + 1e-9):
            flags.append(Flag("rate_over_100", name or None, numerator))
    return flags


def _pair_ratio(total: PairTotal, numerator: str, denominator: str, scale: float) -> float | None:
    if not total.ok or numerator not in total.sums or denominator not in total.sums:
        return None
    return _ratio(total.sums[numerator], total.sums[denominator], scale)


def reach(data: PeriodData) -> KpiResult:
    """Reach = Σ reach.

    Extras: `impressions` = Σ impressions, `frequency` = Σ impressions / Σ reach
    over the account-days that have both (None without such days or with reach 0;
    below 1 it is flagged: impressions cannot be fewer than the people reached).
    Over more than one day the note `reach_sum_overstates` says that summed daily
    reach counts a person once per day, so it overstates unique reach.
    """
    sums = data.sums
    freq = pair_total(data, "frequency")
    frequency = _pair_ratio(freq, "impressions", "reach", 1.0)
    extras: dict[str, float | None] = {
        "impressions": sums.get("impressions"),
        "frequency": frequency,
    }
    if "reach" not in sums:
        return _result(data, "reach", None, missing=["reach"], extras=extras)
    flags = [
        Flag("frequency_below_1", name or None, "impressions")
        for name, ps in freq.per_account
        if ps.sums.get("impressions", 0.0) < ps.sums.get("reach", 0.0) * (1 - 1e-9)
    ]
    notes = ["reach_sum_overstates"] if data.period.days > 1 else []
    return _result(
        data, "reach", sums["reach"], [("reach", sums["reach"])], notes=notes, extras=extras,
        flags=flags,
    )  # fmt: skip


def _interactions(total: PairTotal) -> tuple[list[tuple[str, float]], float | None]:
    parts = [(n, total.sums[n]) for n in (*INTERACTION_PARTS, "interactions") if n in total.sums]
    return parts, (sum(v for _, v in parts) if parts else None)


def _per_post_followers(data: PeriodData, key: str, avg: float | None) -> float | None:
    """Σ numerator / Σ posts / average followers × 100 over the account-days of pair `key`."""
    total = pair_total(data, key)
    posts = total.sums.get("posts", 0.0)
    if not total.ok or not posts or not avg:
        return None
    per_post = sum(v for n, v in total.sums.items() if n != "posts") / posts
    return _ratio(per_post, avg, 100)


def engagement(data: PeriodData) -> KpiResult:
    """ERR = Σ interactions / Σ reach × 100, over the account-days with both.

    interactions = likes + comments + shares + saves + reactions (those given) on
    each account-day, or the platform's total `interactions` on account-days
    without any of the parts (note `interactions_total` when only totals are used).
    When no account-day pairs interactions with reach, the denominator is Σ
    impressions over the account-days with both (formula `err_impressions`,
    note `by_impressions`): a different, lower figure, so it is labelled. With
    neither (a Telegram channel), the value is ER by followers = Σ interactions /
    Σ posts (paired) / average followers × 100 (formula `er_followers`, note
    `by_followers`).

    Extras: `interactions`; `er_followers` (above) when posts and followers are
    known; `err_views` = Σ views / Σ posts (paired) / average followers × 100
    (TGStat's ERR: views per post over subscribers) when views, posts and
    followers are known; `err_impressions` alongside a by-reach ERR.
    """
    by_reach, by_impr = pair_total(data, "err_reach"), pair_total(data, "err_impressions")
    fol = followers(data)
    extras: dict[str, float | None] = {
        "interactions": None,
        "er_followers": _per_post_followers(data, "er_posts", fol.avg),
        "err_views": _per_post_followers(data, "err_views", fol.avg),
    }
    if not by_reach.ok and not by_impr.ok and extras["er_followers"] is not None:
        per_post = pair_total(data, "er_posts")
        parts, interactions = _interactions(per_post)
        extras["interactions"] = interactions
        notes = ["by_followers"]
        if parts and all(n == "interactions" for n, _ in parts):
            notes.insert(0, "interactions_total")
        inputs = [*parts, ("posts", per_post.sums["posts"]), ("followers_avg", fol.avg or 0.0)]
        return _result(
            data, "engagement", extras["er_followers"], inputs, formula="er_followers",
            notes=notes, extras=extras, days=per_post.days, left_out=per_post.left_out,
        )  # fmt: skip
    total = by_reach if by_reach.ok or not by_impr.ok else by_impr
    basis = "reach" if total is by_reach else "impressions"
    parts, interactions = _interactions(total)
    extras["interactions"] = interactions
    notes = []
    if parts and all(n == "interactions" for n, _ in parts):
        notes.append("interactions_total")
    if basis == "impressions":
        notes.append("by_impressions")
    formula = f"err_{basis}"
    if basis == "reach" and by_impr.ok:
        _, engaged_impr = _interactions(by_impr)
        if engaged_impr is not None:
            extras["err_impressions"] = _ratio(engaged_impr, by_impr.sums["impressions"], 100)
    if not total.ok:
        missing = []
        if not _side((*INTERACTION_PARTS, "interactions"), data.sums):
            missing.append("interactions")
        if "reach" not in data.sums and "impressions" not in data.sums:
            missing.append("reach")
        return _result(
            data, "engagement", None, formula=formula, missing=missing, notes=notes,
            extras=extras, left_out=total.left_out, days=0,
        )  # fmt: skip
    value = _ratio(interactions or 0.0, total.sums[basis], 100)
    inputs = [*parts, (basis, total.sums[basis])]
    return _result(
        data, "engagement", value, inputs, formula=formula, notes=notes, extras=extras,
        days=total.days, left_out=total.left_out,
    )  # fmt: skip


def conversion(data: PeriodData) -> KpiResult:
    """Conversion rate = Σ conversions / Σ link_clicks × 100 over the account-days
    with both.

    When no account-day pairs conversions with link clicks, the denominator is Σ
    sessions over the account-days with both (formula `conversion_sessions`, note
    `sessions_denominator`). A zero denominator gives no value; a rate over 100 %
    is flagged.
    """
    clicks_pair, sessions_pair = (
        pair_total(data, "conversion_clicks"),
        pair_total(data, "conversion_sessions"),
    )
    use_sessions = not clicks_pair.ok and sessions_pair.ok
    total = sessions_pair if use_sessions else clicks_pair
    denominator = "sessions" if use_sessions else "link_clicks"
    formula = f"conversion_{'sessions' if use_sessions else 'clicks'}"
    notes = ["sessions_denominator"] if use_sessions else []
    if not total.ok:
        fallback = "sessions" if "link_clicks" not in data.sums and "sessions" in data.sums else ""
        missing = _absent(data.sums, "conversions", fallback or "link_clicks")
        return _result(
            data, "conversion", None, formula=formula, missing=missing,
            left_out=clicks_pair.left_out, days=0,
        )  # fmt: skip
    num, den = total.sums["conversions"], total.sums[denominator]
    return _result(
        data, "conversion", _ratio(num, den, 100), [("conversions", num), (denominator, den)],
        formula=formula, notes=notes, days=total.days, left_out=total.left_out,
        flags=_over_100(total, "conversions", denominator),
    )  # fmt: skip


def growth(data: PeriodData) -> KpiResult:
    """Audience growth = Σ (end − start) / Σ start × 100 over the accounts with a
    follower value at both ends (`combine_followers`); others are left out and
    named. Extras: `net` = Σ (end − start); `new_followers`, `unfollows` and
    `net_flows` = Σ new_followers − Σ unfollows when the flows are known (a second
    source for the net: both are shown, labelled).

    Without follower counts at both ends the flows give the net (formula
    `growth_flows`, note `from_follower_flows`); the rate then still needs
    followers at the start, else only `net` is given (`missing` = followers).
    Followers at start = 0 gives no rate. A day-over-day move of more than half
    is flagged.
    """
    sums = data.sums
    fol = followers(data)
    flows = {n: sums[n] for n in ("new_followers", "unfollows") if n in sums}
    extras: dict[str, float | None] = {**flows, "net": None}
    if flows:
        extras["net_flows"] = flows.get("new_followers", 0.0) - flows.get("unfollows", 0.0)
    if fol.start is not None and fol.end is not None:
        extras["net"] = fol.end - fol.start
        inputs = [("followers_end", fol.end), ("followers_start", fol.start)]
        return _result(
            data, "growth", _ratio(fol.end - fol.start, fol.start, 100), inputs,
            extras=extras, days=fol.days if fol.days is not None else data.days_with_data,
            left_out=fol.left_out, flags=fol.jumps, followers_by_account=fol.by_account,
        )  # fmt: skip
    if not flows:
        return _result(
            data, "growth", None, missing=["followers"], extras=extras, left_out=fol.left_out,
            flags=fol.jumps, days=0,
        )  # fmt: skip
    net = extras["net_flows"] or 0.0
    extras["net"] = net
    start = _flows_start(data)
    inputs = [(n, flows.get(n, 0.0)) for n in ("new_followers", "unfollows")]
    value = None if start is None else _ratio(net, start, 100)
    if start is not None:
        inputs.append(("followers_start", start))
    return _result(
        data, "growth", value, inputs, formula="growth_flows",
        missing=["followers"] if start is None else [], notes=["from_follower_flows"],
        extras=extras, left_out=fol.left_out, flags=fol.jumps,
        days=_coverage(data, ("new_followers", "unfollows")),
    )  # fmt: skip


def _flows_start(data: PeriodData) -> float | None:
    """Followers at the start when only flows give the net: Σ of the accounts' starts."""
    if not data.accounts:
        return data.followers_start
    starts = [
        a.followers.before if a.followers.before is not None else a.followers.first
        for a in data.accounts
    ]
    known = [s for s in starts if s is not None]
    return float(sum(known)) if known else None


def clicks(data: PeriodData) -> KpiResult:
    """Link clicks = Σ link_clicks; extra `ctr` = Σ link_clicks / Σ impressions × 100
    over the account-days with both (None without them or with impressions 0)."""
    sums = data.sums
    ctr = pair_total(data, "ctr")
    extras: dict[str, float | None] = {"ctr": _pair_ratio(ctr, "link_clicks", "impressions", 100)}
    if "link_clicks" not in sums:
        return _result(data, "clicks", None, missing=["link_clicks"], extras=extras)
    total = sums["link_clicks"]
    return _result(
        data, "clicks", total, [("link_clicks", total)], extras=extras,
        flags=_over_100(ctr, "link_clicks", "impressions"),
    )  # fmt: skip


def ctr(data: PeriodData) -> KpiResult:
    """CTR = Σ link_clicks / Σ impressions × 100 over the account-days with both (the
    rate an alert watches; in answers it is an extra of `clicks`)."""
    total = pair_total(data, "ctr")
    if not total.ok:
        missing = _absent(data.sums, "link_clicks", "impressions")
        base = _result(data, "clicks", None, missing=missing, left_out=total.left_out, days=0)
    else:
        num, den = total.sums["link_clicks"], total.sums["impressions"]
        base = _result(
            data, "clicks", _ratio(num, den, 100), [("link_clicks", num), ("impressions", den)],
            days=total.days, left_out=total.left_out,
        )  # fmt: skip
    return KpiResult(
        "ctr", base.value, "percent", "ctr", base.inputs, base.missing, base.reason,
        (), _EMPTY, True, base.days_with_data, base.days, base.left_out,
        tuple(_over_100(total, "link_clicks", "impressions")),
    )  # fmt: skip


def _simple_ratio(
    data: PeriodData, kpi: str, numerator: str, denominator: str, scale: float
) -> tuple[PairTotal, KpiResult]:
    total = pair_total(data, PAIRS_OF[kpi])
    if not total.ok:
        missing = _absent(data.sums, numerator, denominator)
        return total, _result(data, kpi, None, missing=missing, left_out=total.left_out, days=0)
    num, den = total.sums[numerator], total.sums[denominator]
    flags = _over_100(total, numerator, denominator) if scale == 100 else []
    return total, _result(
        data, kpi, _ratio(num, den, scale), [(numerator, num), (denominator, den)],
        days=total.days, left_out=total.left_out, flags=flags,
    )  # fmt: skip


PAIRS_OF = {k: d.pairs[0] for k, d in KPIS.items() if d.pairs}


def bounce(data: PeriodData) -> KpiResult:
    """Bounce rate = Σ bounces / Σ sessions × 100 over the account-days with both;
    lower is better. Zero sessions: no value. Bounces above sessions are flagged."""
    return _simple_ratio(data, "bounce", "bounces", "sessions", 100)[1]


def visitors(data: PeriodData) -> KpiResult:
    """New visitors' share = Σ new / (Σ new + Σ returning) × 100 over the account-days
    with both; extra `returning_share`. No visitors at all gives no value."""
    total = pair_total(data, "visitors")
    extras: dict[str, float | None] = {"returning_share": None}
    if not total.ok:
        missing = _absent(data.sums, "new_visitors", "returning_visitors")
        return _result(
            data, "visitors", None, missing=missing, extras=extras, left_out=total.left_out,
            days=0,
        )  # fmt: skip
    new, returning = total.sums["new_visitors"], total.sums["returning_visitors"]
    extras["returning_share"] = _ratio(returning, new + returning, 100)
    return _result(
        data, "visitors", _ratio(new, new + returning, 100),
        [("new_visitors", new), ("returning_visitors", returning)], extras=extras,
        days=total.days, left_out=total.left_out,
    )  # fmt: skip


def time_on_page(data: PeriodData) -> KpiResult:
    """Average time on page, seconds = Σ time_on_page_s / Σ pageviews over the
    account-days with both. Zero pageviews: no value."""
    return _simple_ratio(data, "time_on_page", "time_on_page_s", "pageviews", 1.0)[1]


def _cost(total: PairTotal) -> tuple[list[tuple[str, float]], float | None, list[str]]:
    """Cost = Σ ad_spend + Σ content_cost; one absent counts as 0 when the other is known."""
    known = {n: total.sums[n] for n in ("ad_spend", "content_cost") if n in total.sums}
    if not known:
        return [], None, []
    inputs = [(n, known.get(n, 0.0)) for n in ("ad_spend", "content_cost")]
    notes = ["partial_cost"] if len(known) == 1 else []
    return inputs, sum(known.values()), notes


def _cost_missing(sums: Mapping[str, float], other: str) -> list[str]:
    missing = [] if _side(("ad_spend", "content_cost"), sums) else ["ad_spend", "content_cost"]
    if other not in sums:
        missing.append(other)
    return missing


def cac(data: PeriodData) -> KpiResult:
    """CAC = (Σ ad_spend + Σ content_cost) / Σ new_customers over the account-days
    with a cost and new customers; lower is better. A cost metric that is absent
    counts as 0 only when the other is known (note `partial_cost`). Zero new
    customers: no value. Extra: `cost`."""
    total = pair_total(data, "cac")
    inputs, cost, notes = _cost(total)
    extras = {"cost": cost}
    if not total.ok or cost is None:
        return _result(
            data, "cac", None, missing=_cost_missing(data.sums, "new_customers"),
            left_out=total.left_out, days=0, extras=extras,
        )  # fmt: skip
    customers = total.sums["new_customers"]
    inputs.append(("new_customers", customers))
    return _result(
        data, "cac", _ratio(cost, customers), inputs, notes=notes, extras=extras,
        days=total.days, left_out=total.left_out,
    )  # fmt: skip


def mentions(data: PeriodData) -> KpiResult:
    """Brand mentions = Σ mentions.

    Extras: `positive_share` = Σ mentions_positive / Σ mentions × 100 over the
    account-days with both, and `negative_share` likewise. The change against the
    previous period is the caller's (`compare`).
    """
    sums = data.sums
    extras: dict[str, float | None] = {"positive_share": None, "negative_share": None}
    for name, key in (
        ("mentions_positive", "positive_share"),
        ("mentions_negative", "negative_share"),
    ):
        extras[key] = _pair_ratio(pair_total(data, key), name, "mentions", 100)
    if "mentions" not in sums:
        return _result(data, "mentions", None, missing=["mentions"], extras=extras)
    total = sums["mentions"]
    return _result(data, "mentions", total, [("mentions", total)], extras=extras)


def roi(data: PeriodData) -> KpiResult:
    """ROI = (Σ revenue × margin − cost) / cost × 100, cost = Σ ad_spend + Σ content_cost,
    over the account-days with revenue and a cost.

    `margin` is the workspace's share of revenue that is profit (1.0 by default).
    A cost metric that is absent counts as 0 only when the other is known (note
    `partial_cost`). Zero cost: no value (the ROI of free marketing is undefined,
    not infinite). Extras: `cost`, `profit` = revenue × margin − cost.
    """
    total = pair_total(data, "roi")
    cost_inputs, cost, notes = _cost(total)
    extras: dict[str, float | None] = {"cost": cost, "profit": None}
    if not total.ok or cost is None:
        missing = _absent(data.sums, "revenue")
        if not _side(("ad_spend", "content_cost"), data.sums):
            missing += ["ad_spend", "content_cost"]
        return _result(
            data, "roi", None, missing=missing, left_out=total.left_out,
            days=0, extras=extras,
        )  # fmt: skip
    revenue = total.sums["revenue"]
    profit = revenue * data.margin - cost
    extras["profit"] = profit
    inputs = [("revenue", revenue), ("margin", data.margin), *cost_inputs]
    return _result(
        data, "roi", _ratio(profit, cost, 100), inputs, notes=notes, extras=extras,
        days=total.days, left_out=total.left_out,
    )  # fmt: skip


# --- posts: hashtags and formats ---------------------------------------------

_HASHTAG = re.compile(r"#(\w+)")


def _post_interactions(post: PostRecord) -> float | None:
    counts = (post.likes, post.comments, post.shares, post.saves, post.reactions)
    parts = [v for v in counts if v is not None]
    return sum(parts) if parts else None


def _post_hashtags(post: PostRecord) -> set[str]:
    tags = post.hashtags or tuple(_HASHTAG.findall(post.text or ""))
    return {t.lstrip("#").casefold().replace("ё", "е") for t in tags if t.lstrip("#")}


def _basis(posts: Iterable[PostRecord]) -> str | None:
    posts = list(posts)
    if any(p.reach is not None for p in posts):
        return "reach"
    if any(p.impressions is not None for p in posts):
        return "impressions"
    return None


def _err(posts: Iterable[PostRecord], basis: str | None) -> float | None:
    if basis is None:
        return None
    interactions = denominator = 0.0
    counted = False
    for post in posts:
        base = post.reach if basis == "reach" else post.impressions
        engaged = _post_interactions(post)
        if base is None or engaged is None:
            continue
        counted = True
        interactions += engaged
        denominator += base
    return _ratio(interactions, denominator, 100) if counted else None


def _mean(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def _group(
    posts: Iterable[PostRecord], key: Callable[[PostRecord], Iterable[str]], min_posts: int
) -> list[GroupRow]:
    posts = tuple(posts)
    basis = _basis(posts)
    baseline = _err(posts, basis)
    groups: dict[str, list[PostRecord]] = {}
    for post in posts:
        for k in key(post):
            groups.setdefault(k, []).append(post)
    rows = []
    for k, members in groups.items():
        if len(members) < min_posts:
            continue
        err = _err(members, basis)
        lift = None
        if err is not None and baseline:
            lift = (err / baseline - 1) * 100
        rows.append(
            GroupRow(
                key=k,
                posts=len(members),
                avg_reach=_mean(p.reach for p in members),
                avg_interactions=_mean(_post_interactions(p) for p in members),
                err=err,
                lift=lift,
                basis=basis,
                baseline_err=baseline,
            )
        )

    def rank(row: GroupRow) -> tuple[bool, float, float, int, str]:
        # Groups without an ERR sort after those with one, then by interactions.
        return (
            row.err is None,
            -(row.err or 0.0),
            -(row.avg_interactions or 0.0),
            -row.posts,
            row.key,
        )

    return sorted(rows, key=rank)


def hashtags(posts: Iterable[PostRecord], *, min_posts: int = 2) -> list[GroupRow]:
    """Per hashtag over the posts: posts, average reach, ERR, lift vs all posts' ERR.

    ERR = Σ interactions / Σ reach × 100 over the posts that have both
    (interactions = likes + comments + shares + saves, those given); by
    impressions when no post has reach. Lift = (ERR / overall ERR − 1) × 100,
    None when the overall ERR is 0 or unknown. Hashtags come from
    `PostRecord.hashtags`, else from `#words` in the text, case-folded; a post
    counts once per hashtag. Hashtags in fewer than `min_posts` posts are left
    out. Best first: by ERR, then average interactions.
    """
    return _group(posts, _post_hashtags, min_posts)


def formats(posts: Iterable[PostRecord], *, min_posts: int = 2) -> list[GroupRow]:
    """The same as `hashtags`, grouped by post format (posts without a format are
    left out of the groups but count in the overall ERR)."""
    return _group(posts, lambda p: [p.format.strip().casefold()] if p.format else [], min_posts)


_DIMENSION_ORDER = ("age", "gender", "city", "country")


def audience(buckets: Iterable[AudienceBucket]) -> dict[str, tuple[AudienceRow, ...]]:
    """The audience breakdown grouped by dimension (age, gender, city, country, then others).

    Share = the given share for share buckets, else count / Σ counts of the
    dimension × 100 (None when they add up to 0). A repeated count bucket is
    summed (several accounts); a repeated share bucket keeps the last value,
    since shares cannot be combined without their counts. Buckets are sorted
    by value, largest first.
    """
    grouped: dict[str, dict[str, AudienceBucket]] = {}
    for b in buckets:
        by_bucket = grouped.setdefault(b.dimension, {})
        seen = by_bucket.get(b.bucket)
        if seen is not None and not seen.is_share and not b.is_share:
            b = AudienceBucket(b.dimension, b.bucket, seen.value + b.value, False)
        by_bucket[b.bucket] = b
    order = sorted(
        grouped,
        key=lambda d: (
            _DIMENSION_ORDER.index(d) if d in _DIMENSION_ORDER else len(_DIMENSION_ORDER),
            d,
        ),
    )
    result: dict[str, tuple[AudienceRow, ...]] = {}
    for dim in order:
        items = list(grouped[dim].values())
        total = sum(b.value for b in items if not b.is_share)
        rows = [
            AudienceRow(
                b.bucket,
                b.value,
                b.value if b.is_share else _ratio(b.value, total, 100),
                b.is_share,
            )
            for b in items
        ]
        result[dim] = tuple(sorted(rows, key=lambda r: (-r.value, r.bucket)))
    return result


# --- catalogue ----------------------------------------------------------------

KPI_FUNCTIONS: Mapping[str, Callable[[PeriodData], KpiResult]] = MappingProxyType(
    {
        "reach": reach,
        "engagement": engagement,
        "conversion": conversion,
        "growth": growth,
        "clicks": clicks,
        "bounce": bounce,
        "visitors": visitors,
        "time_on_page": time_on_page,
        "cac": cac,
        "mentions": mentions,
        "roi": roi,
    }
)
assert tuple(KPI_FUNCTIONS) == PERIOD_KPIS, "every period KPI of the registry has a formula"


def needed_metrics(kpi: str) -> tuple[str, ...]:
    """Every metric the KPI can use, for the "how to add them" hint. KeyError if unknown."""
    key = resolve_kpi(kpi)
    if key is None:
        raise KeyError(kpi)
    return KPIS[key].needs


def compare(current: KpiResult, previous: KpiResult) -> Change:
    """Change from `previous` to `current` (see `Change`), direction-aware via
    `current.higher_is_better` (bounce and CAC: lower is better).

    No change is given when the two values come from different formulas
    (`basis_changed`) or when the previous period has data on fewer than
    `MIN_PREVIOUS_COVERAGE` of the days the current one has (`thin`); a change of
    under `NEGLIGIBLE_CHANGE_PCT` relative is `negligible`: neither better nor worse.
    """
    cur, prev = current.value, previous.value
    absolute = relative = None
    better = None
    negligible = thin = basis_changed = False
    if cur is not None and prev is not None:
        if current.formula != previous.formula:
            basis_changed = True
        elif previous.days_with_data < current.days_with_data * MIN_PREVIOUS_COVERAGE:
            thin = True
        else:
            absolute = cur - prev
            relative = _ratio(absolute, abs(prev), 100)
            negligible = absolute == 0 or (
                relative is not None and abs(relative) < NEGLIGIBLE_CHANGE_PCT
            )
            if not negligible:
                better = (absolute > 0) == current.higher_is_better
    return Change(
        current.kpi, cur, prev, absolute, relative, better, negligible, thin, basis_changed
    )


__all__ = [
    "FORMULAS",
    "INTERACTION_PARTS",
    "KPI_FUNCTIONS",
    "KPI_KEYS",
    "LOWER_IS_BETTER",
    "MISSING",
    "UNPAIRED",
    "ZERO_DENOMINATOR",
    "AudienceRow",
    "Change",
    "Flag",
    "Followers",
    "GroupRow",
    "KpiResult",
    "LeftOut",
    "PairTotal",
    "audience",
    "combine_followers",
    "compare",
    "ctr",
    "followers",
    "formats",
    "hashtags",
    "needed_metrics",
    "pair_total",
    "resolve_kpi",
]
