"""The KPI formulas (SPEC, "The KPIs"): one pure function per KPI.

Every period KPI takes a `PeriodData` (sums over the period, follower gauges,
posts) and returns a `KpiResult` carrying the value, the sums the formula used
(so the answer can show "the formula with the actual sums"), what is missing and
why no value could be computed. A period's KPI is always a ratio of sums, never
an average of daily ratios.

Shared policy: a metric absent from `PeriodData.sums` is missing (it is not 0);
a zero denominator gives `value=None` with `reason="zero_denominator"`; missing
inputs give `value=None` with `reason="missing"` and the metric names in
`missing`. No NaN or infinity ever leaves this module.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from kpi.models import AudienceBucket, PeriodData, PostRecord

MISSING = "missing"
ZERO_DENOMINATOR = "zero_denominator"

# Language-neutral formula templates by id; names in braces are the entries of
# `KpiResult.inputs` (or of `extras` for `interactions`), so the text layer can
# substitute the sums and translate the metric names.
FORMULAS: Mapping[str, str] = MappingProxyType(
    {
        "reach": "Σ {reach}",
        "err_reach": "Σ {interactions} / Σ {reach} × 100",
        "err_impressions": "Σ {interactions} / Σ {impressions} × 100",
        "conversion_clicks": "Σ {conversions} / Σ {link_clicks} × 100",
        "conversion_sessions": "Σ {conversions} / Σ {sessions} × 100",
        "growth": "({followers_end} − {followers_start}) / {followers_start} × 100",
        "growth_flows": "(Σ {new_followers} − Σ {unfollows}) / {followers_start} × 100",
        "clicks": "Σ {link_clicks}",
        "bounce": "Σ {bounces} / Σ {sessions} × 100",
        "visitors": "Σ {new_visitors} / (Σ {new_visitors} + Σ {returning_visitors}) × 100",
        "time_on_page": "Σ {time_on_page_s} / Σ {pageviews}",
        "cac": "(Σ {ad_spend} + Σ {content_cost}) / Σ {new_customers}",
        "mentions": "Σ {mentions}",
        "roi": "(Σ {revenue} × {margin} − (Σ {ad_spend} + Σ {content_cost}))"
        " / (Σ {ad_spend} + Σ {content_cost}) × 100",
    }
)

INTERACTION_PARTS: tuple[str, ...] = ("likes", "comments", "shares", "saves")

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
    `days_with_data`: days on which the best-covered input metric has data
    (the completeness numerator; `days` is the denominator).
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

    @property
    def ok(self) -> bool:
        return self.value is not None


@dataclass(frozen=True, slots=True)
class Change:
    """Current against previous period. `absolute` is in the KPI's unit (percentage
    points for percent KPIs); `relative` is in %, None when previous is 0 or None;
    `better` is None when nothing changed or either side has no value."""

    kpi: str
    current: float | None
    previous: float | None
    absolute: float | None
    relative: float | None
    better: bool | None


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


_UNITS: Mapping[str, str] = MappingProxyType(
    {
        "reach": "count",
        "engagement": "percent",
        "conversion": "percent",
        "growth": "percent",
        "clicks": "count",
        "bounce": "percent",
        "visitors": "percent",
        "time_on_page": "duration",
        "cac": "money",
        "mentions": "count",
        "roi": "percent",
    }
)
LOWER_IS_BETTER: frozenset[str] = frozenset({"bounce", "cac"})


def _ratio(numerator: float, denominator: float, scale: float = 1.0) -> float | None:
    if denominator == 0:
        return None
    value = numerator / denominator * scale
    return value if math.isfinite(value) else None


_FOLLOWER_FIGURES = frozenset({"followers_start", "followers_end"})


def _coverage(data: PeriodData, names: Iterable[str]) -> int:
    """Days with data for a KPI: the best-covered of its inputs' metrics.

    Growth's follower figures count the days from the start value to the end value
    (`PeriodData.followers_days`), not the days with a count: two snapshots can
    cover the whole period. Unknown spans fall back to the period's days with data.
    """
    days = []
    for name in names:
        if name in _FOLLOWER_FIGURES:
            if data.followers_days is not None:
                days.append(data.followers_days)
        elif name in data.metric_days:
            days.append(data.metric_days[name])
    return max(days) if days else data.days_with_data


def _result(
    data: PeriodData,
    kpi: str,
    value: float | None,
    inputs: Iterable[tuple[str, float]] = (),
    *,
    formula: str | None = None,
    missing: Iterable[str] = (),
    notes: Iterable[str] = (),
    extras: Mapping[str, float | None] | None = None,
) -> KpiResult:
    inputs = tuple(inputs)
    missing = tuple(missing)
    reason = None
    if value is None:
        reason = MISSING if missing else ZERO_DENOMINATOR
    return KpiResult(
        kpi=kpi,
        value=value,
        unit=_UNITS[kpi],
        formula=formula or kpi,
        inputs=inputs,
        missing=missing,
        reason=reason,
        notes=tuple(notes),
        extras=MappingProxyType(dict(extras)) if extras else _EMPTY,
        higher_is_better=kpi not in LOWER_IS_BETTER,
        days_with_data=_coverage(data, (name for name, _ in inputs)),
        days=data.period.days,
    )


def _absent(sums: Mapping[str, float], *names: str) -> list[str]:
    return [n for n in names if n not in sums]


def reach(data: PeriodData) -> KpiResult:
    """Reach = Σ reach.

    Extras: `impressions` = Σ impressions, `frequency` = Σ impressions / Σ reach
    (None when reach is 0 or impressions are missing). Over more than one day the
    note `reach_sum_overstates` says that summed daily reach counts a person once
    per day, so it overstates unique reach.
    """
    sums = data.sums
    impressions = sums.get("impressions")
    extras: dict[str, float | None] = {"impressions": impressions, "frequency": None}
    if "reach" not in sums:
        return _result(data, "reach", None, missing=["reach"], extras=extras)
    total = sums["reach"]
    if impressions is not None:
        extras["frequency"] = _ratio(impressions, total)
    notes = ["reach_sum_overstates"] if data.period.days > 1 else []
    return _result(data, "reach", total, [("reach", total)], notes=notes, extras=extras)


def _interactions(sums: Mapping[str, float]) -> tuple[list[tuple[str, float]], float | None]:
    parts = [(n, sums[n]) for n in INTERACTION_PARTS if n in sums]
    if parts:
        return parts, sum(v for _, v in parts)
    if "interactions" in sums:
        return [("interactions", sums["interactions"])], sums["interactions"]
    return [], None


def engagement(data: PeriodData) -> KpiResult:
    """ERR = Σ interactions / Σ reach × 100.

    interactions = Σ likes + Σ comments + Σ shares + Σ saves over those of the
    four that have data; only when none has data, the platform total
    `interactions` (note `interactions_total`). Without reach the denominator is
    Σ impressions (formula `err_impressions`, note `by_impressions`): a different,
    lower figure, so it is labelled. A zero denominator gives no value.

    Extras: `interactions`; `er_followers` = Σ interactions / Σ posts /
    average followers × 100 when posts and followers are known and non-zero;
    `err_impressions` alongside a by-reach ERR when impressions are known.
    """
    sums = data.sums
    parts, interactions = _interactions(sums)
    notes = ["interactions_total"] if parts and parts[0][0] == "interactions" else []
    basis = next((n for n in ("reach", "impressions") if n in sums), None)
    if basis == "impressions":
        notes.append("by_impressions")
    formula = f"err_{basis or 'reach'}"

    extras: dict[str, float | None] = {"interactions": interactions, "er_followers": None}
    posts = sums.get("posts")
    if interactions is not None and posts and data.followers_avg:
        extras["er_followers"] = _ratio(interactions / posts, data.followers_avg, 100)
    if basis == "reach" and interactions is not None and "impressions" in sums:
        extras["err_impressions"] = _ratio(interactions, sums["impressions"], 100)

    if interactions is None or basis is None:
        missing = (["interactions"] if interactions is None else []) + _absent(sums, "reach")
        return _result(
            data,
            "engagement",
            None,
            parts,
            formula=formula,
            missing=missing,
            notes=notes,
            extras=extras,
        )
    value = _ratio(interactions, sums[basis], 100)
    inputs = [*parts, (basis, sums[basis])]
    return _result(data, "engagement", value, inputs, formula=formula, notes=notes, extras=extras)


def conversion(data: PeriodData) -> KpiResult:
    """Conversion rate = Σ conversions / Σ link_clicks × 100.

    Without link clicks the denominator is Σ sessions (formula
    `conversion_sessions`, note `sessions_denominator`). A zero denominator
    gives no value.
    """
    sums = data.sums
    use_sessions = "link_clicks" not in sums and "sessions" in sums
    denominator = "sessions" if use_sessions else "link_clicks"
    formula = f"conversion_{'sessions' if use_sessions else 'clicks'}"
    notes = ["sessions_denominator"] if use_sessions else []
    if missing := _absent(sums, "conversions", denominator):
        return _result(data, "conversion", None, formula=formula, missing=missing)
    inputs = [("conversions", sums["conversions"]), (denominator, sums[denominator])]
    value = _ratio(sums["conversions"], sums[denominator], 100)
    return _result(data, "conversion", value, inputs, formula=formula, notes=notes)


def growth(data: PeriodData) -> KpiResult:
    """Audience growth = (followers at end − followers at start) / followers at start × 100.

    Extras: `net` = end − start. Without a follower count at the end the flows
    give the net: Σ new_followers − Σ unfollows (an absent one counts as 0 when
    the other is known; formula `growth_flows`, note `from_follower_flows`); the
    rate then still needs followers at the start, else only `net` is given
    (`missing` = followers). Followers at start = 0 gives no rate.
    """
    sums = data.sums
    start, end = data.followers_start, data.followers_end
    flows = {n: sums[n] for n in ("new_followers", "unfollows") if n in sums}
    extras: dict[str, float | None] = {**flows, "net": None}
    if start is not None and end is not None:
        extras["net"] = end - start
        inputs = [("followers_end", end), ("followers_start", start)]
        return _result(data, "growth", _ratio(end - start, start, 100), inputs, extras=extras)
    if not flows:
        return _result(data, "growth", None, missing=["followers"], extras=extras)
    net = flows.get("new_followers", 0.0) - flows.get("unfollows", 0.0)
    extras["net"] = net
    inputs = [(n, flows.get(n, 0.0)) for n in ("new_followers", "unfollows")]
    notes = ["from_follower_flows"]
    value = None if start is None else _ratio(net, start, 100)
    if start is not None:
        inputs.append(("followers_start", start))
    missing = ["followers"] if start is None else []
    return _result(
        data,
        "growth",
        value,
        inputs,
        formula="growth_flows",
        missing=missing,
        notes=notes,
        extras=extras,
    )


def clicks(data: PeriodData) -> KpiResult:
    """Link clicks = Σ link_clicks; extra `ctr` = Σ link_clicks / Σ impressions × 100.

    CTR is None when impressions are missing or 0; the click count stands anyway.
    """
    sums = data.sums
    extras: dict[str, float | None] = {"ctr": None}
    if "link_clicks" not in sums:
        return _result(data, "clicks", None, missing=["link_clicks"], extras=extras)
    total = sums["link_clicks"]
    inputs = [("link_clicks", total)]
    if "impressions" in sums:
        inputs.append(("impressions", sums["impressions"]))
        extras["ctr"] = _ratio(total, sums["impressions"], 100)
    return _result(data, "clicks", total, inputs, extras=extras)


def bounce(data: PeriodData) -> KpiResult:
    """Bounce rate = Σ bounces / Σ sessions × 100; lower is better. Zero sessions: no value."""
    sums = data.sums
    if missing := _absent(sums, "bounces", "sessions"):
        return _result(data, "bounce", None, missing=missing)
    inputs = [("bounces", sums["bounces"]), ("sessions", sums["sessions"])]
    return _result(data, "bounce", _ratio(sums["bounces"], sums["sessions"], 100), inputs)


def visitors(data: PeriodData) -> KpiResult:
    """New visitors' share = Σ new / (Σ new + Σ returning) × 100; extra `returning_share`.

    Both counters are required (a share against an unknown part means nothing);
    no visitors at all gives no value. Higher counts as better: the new share
    is the audience social media brings in.
    """
    sums = data.sums
    extras: dict[str, float | None] = {"returning_share": None}
    if missing := _absent(sums, "new_visitors", "returning_visitors"):
        return _result(data, "visitors", None, missing=missing, extras=extras)
    new, returning = sums["new_visitors"], sums["returning_visitors"]
    extras["returning_share"] = _ratio(returning, new + returning, 100)
    inputs = [("new_visitors", new), ("returning_visitors", returning)]
    return _result(data, "visitors", _ratio(new, new + returning, 100), inputs, extras=extras)


def time_on_page(data: PeriodData) -> KpiResult:
    """Average time on page, seconds = Σ time_on_page_s / Σ pageviews.

    Zero pageviews: no value.
    """
    sums = data.sums
    if missing := _absent(sums, "time_on_page_s", "pageviews"):
        return _result(data, "time_on_page", None, missing=missing)
    total, views = sums["time_on_page_s"], sums["pageviews"]
    inputs = [("time_on_page_s", total), ("pageviews", views)]
    return _result(data, "time_on_page", _ratio(total, views), inputs)


def _cost(sums: Mapping[str, float]) -> tuple[list[tuple[str, float]], float | None, list[str]]:
    """Cost = Σ ad_spend + Σ content_cost; one absent counts as 0 when the other is known."""
    known = {n: sums[n] for n in ("ad_spend", "content_cost") if n in sums}
    if not known:
        return [], None, []
    inputs = [(n, known.get(n, 0.0)) for n in ("ad_spend", "content_cost")]
    notes = ["partial_cost"] if len(known) == 1 else []
    return inputs, sum(known.values()), notes


def cac(data: PeriodData) -> KpiResult:
    """CAC = (Σ ad_spend + Σ content_cost) / Σ new_customers; lower is better.

    A cost metric that is absent counts as 0 only when the other is known (note
    `partial_cost`). Zero new customers: no value. Extra: `cost`.
    """
    sums = data.sums
    inputs, cost, notes = _cost(sums)
    extras = {"cost": cost}
    if cost is None or "new_customers" not in sums:
        missing = (["ad_spend", "content_cost"] if cost is None else []) + ["new_customers"]
        missing = [n for n in missing if n not in sums]
        return _result(data, "cac", None, inputs, missing=missing, notes=notes, extras=extras)
    customers = sums["new_customers"]
    inputs.append(("new_customers", customers))
    return _result(data, "cac", _ratio(cost, customers), inputs, notes=notes, extras=extras)


def mentions(data: PeriodData) -> KpiResult:
    """Brand mentions = Σ mentions.

    Extras: `positive_share` = Σ mentions_positive / Σ mentions × 100 and
    `negative_share` likewise, each when known and mentions are non-zero. The
    change against the previous period is the caller's (`compare`).
    """
    sums = data.sums
    extras: dict[str, float | None] = {"positive_share": None, "negative_share": None}
    if "mentions" not in sums:
        return _result(data, "mentions", None, missing=["mentions"], extras=extras)
    total = sums["mentions"]
    for name, key in (
        ("mentions_positive", "positive_share"),
        ("mentions_negative", "negative_share"),
    ):
        if name in sums:
            extras[key] = _ratio(sums[name], total, 100)
    return _result(data, "mentions", total, [("mentions", total)], extras=extras)


def roi(data: PeriodData) -> KpiResult:
    """ROI = (Σ revenue × margin − cost) / cost × 100, cost = Σ ad_spend + Σ content_cost.

    `margin` is the workspace's share of revenue that is profit (1.0 by
    default). A cost metric that is absent counts as 0 only when the other is
    known (note `partial_cost`). Zero cost: no value (the ROI of free marketing
    is undefined, not infinite). Extras: `cost`, `profit` = revenue × margin − cost.
    """
    sums = data.sums
    cost_inputs, cost, notes = _cost(sums)
    revenue = sums.get("revenue")
    extras: dict[str, float | None] = {"cost": cost, "profit": None}
    if revenue is None or cost is None:
        missing = _absent(sums, "revenue") + (["ad_spend", "content_cost"] if cost is None else [])
        known = [("revenue", revenue)] if revenue is not None else []
        return _result(
            data, "roi", None, known + cost_inputs, missing=missing, notes=notes, extras=extras
        )
    profit = revenue * data.margin - cost
    extras["profit"] = profit
    inputs = [("revenue", revenue), ("margin", data.margin), *cost_inputs]
    return _result(data, "roi", _ratio(profit, cost, 100), inputs, notes=notes, extras=extras)


# --- posts: hashtags and formats ---------------------------------------------

_HASHTAG = re.compile(r"#(\w+)")


def _post_interactions(post: PostRecord) -> float | None:
    parts = [v for v in (post.likes, post.comments, post.shares, post.saves) if v is not None]
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

KPI_KEYS: tuple[str, ...] = (
    "reach",
    "engagement",
    "conversion",
    "growth",
    "clicks",
    "bounce",
    "visitors",
    "time_on_page",
    "hashtags",
    "cac",
    "mentions",
    "roi",
)

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

# Lower-case, `ё` folded to `е`; `resolve_kpi` folds the user's word the same way.
ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "er": "engagement",
        "err": "engagement",
        "ctr": "clicks",
        "cr": "conversion",
        "timeonpage": "time_on_page",
        "time": "time_on_page",
        "охват": "reach",
        "охваты": "reach",
        "вовлеченность": "engagement",
        "вовлечение": "engagement",
        "конверсия": "conversion",
        "рост": "growth",
        "подписчики": "growth",
        "клики": "clicks",
        "отказы": "bounce",
        "посетители": "visitors",
        "время": "time_on_page",
        "хэштеги": "hashtags",
        "хештеги": "hashtags",
        "упоминания": "mentions",
        "окупаемость": "roi",
        "стоимость-клиента": "cac",
    }
)


def resolve_kpi(word: str) -> str | None:
    """The KPI key for a typed name (`/er`, `ROI`, `охват`, `time-on-page`), else None."""
    folded = word.strip().lstrip("/").lower().replace("ё", "е")
    key = folded.replace("-", "_")
    if key in KPI_KEYS:
        return key
    return ALIASES.get(folded) or ALIASES.get(key)


_NEEDED: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "reach": ("reach", "impressions"),
        "engagement": (
            *INTERACTION_PARTS,
            "interactions",
            "reach",
            "impressions",
            "posts",
            "followers",
        ),
        "conversion": ("conversions", "link_clicks", "sessions"),
        "growth": ("followers", "new_followers", "unfollows"),
        "clicks": ("link_clicks", "impressions"),
        "bounce": ("bounces", "sessions"),
        "visitors": ("new_visitors", "returning_visitors"),
        "time_on_page": ("time_on_page_s", "pageviews"),
        # Per-post columns of a posts file.
        "hashtags": ("reach", *INTERACTION_PARTS),
        "cac": ("ad_spend", "content_cost", "new_customers"),
        "mentions": ("mentions", "mentions_positive", "mentions_negative"),
        "roi": ("revenue", "ad_spend", "content_cost"),
    }
)


def needed_metrics(kpi: str) -> tuple[str, ...]:
    """Every metric the KPI can use, for the "how to add them" hint. KeyError if unknown."""
    key = resolve_kpi(kpi)
    if key is None:
        raise KeyError(kpi)
    return _NEEDED[key]


def compare(current: KpiResult, previous: KpiResult) -> Change:
    """Change from `previous` to `current` (see `Change`), direction-aware via
    `current.higher_is_better` (bounce and CAC: lower is better)."""
    cur, prev = current.value, previous.value
    absolute = relative = None
    better = None
    if cur is not None and prev is not None:
        absolute = cur - prev
        relative = _ratio(absolute, abs(prev), 100)
        if absolute != 0:
            better = (absolute > 0) == current.higher_is_better
    return Change(current.kpi, cur, prev, absolute, relative, better)
