"""The KPI registry: every KPI described once (SPEC, "The KPIs").

Per KPI: its inputs (the ratios it pairs per account-day, the counters it sums,
the follower gauge), its formula templates, direction, unit, the commands and
words that name it, the metrics to add when it cannot be computed, and how an
alert rule measures it (which volume guards a week, its default minimum).
Every surface reads this: the KPI commands, /report, /chart, the digest, alerts,
/kpi. The words (display names, formula in words, explanations) live in the
text layer under the KPI's key; changing a KPI touches its entry here and its
words, nothing else.

Pairing (SPEC, "Several accounts and sources"): a ratio is summed over the
account-days on which both of its sides have a value. A side is a group of
metrics; it has a value when any of them has one (likes or comments make
"interactions"; ad spend or content cost make "cost"). The aggregation
(`storage.metrics.MetricsRepo.aggregate`) sums every metric of a pair over its
paired account-days, per account, in SQL; `kpi.kpis` combines the accounts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from kpi.models import FOLLOWER_JUMP as _FOLLOWER_JUMP

# A relative change below this (in %) is "≈ no change": neutral, no arrow colour.
NEGLIGIBLE_CHANGE_PCT = 1.0
# The previous period's figure is compared only when it has data on at least this
# share of the days the current one has.
MIN_PREVIOUS_COVERAGE = 0.5
# Followers moving by more than this share in one day look misread.
FOLLOWER_JUMP = _FOLLOWER_JUMP

# Telegram reaction totals count as interactions, under their own name (SPEC, "Metrics").
INTERACTION_PARTS: tuple[str, ...] = ("likes", "comments", "shares", "saves", "reactions")
# The platform's total counts only on account-days without any of the parts.
INTERACTIONS: tuple[str, ...] = (*INTERACTION_PARTS, "interactions")
COST: tuple[str, ...] = ("ad_spend", "content_cost")


@dataclass(frozen=True, slots=True)
class Pair:
    """A ratio's two sides; `label` names a side in words (a metric or pseudo-metric)."""

    key: str
    numerator: tuple[str, ...]
    denominator: tuple[str, ...]
    numerator_label: str
    denominator_label: str

    @property
    def metrics(self) -> tuple[str, ...]:
        return (*self.numerator, *self.denominator)


def _pair(key: str, num: tuple[str, ...], den: tuple[str, ...]) -> Pair:
    label = {INTERACTIONS: "interactions", COST: "cost"}
    return Pair(key, num, den, label.get(num, num[0]), label.get(den, den[0]))


PAIRS: Mapping[str, Pair] = MappingProxyType(
    {
        p.key: p
        for p in (
            _pair("frequency", ("impressions",), ("reach",)),
            _pair("err_reach", INTERACTIONS, ("reach",)),
            _pair("err_impressions", INTERACTIONS, ("impressions",)),
            _pair("er_posts", INTERACTIONS, ("posts",)),
            # Telegram channels (TGStat): views per post, read against average followers.
            _pair("err_views", ("views",), ("posts",)),
            _pair("conversion_clicks", ("conversions",), ("link_clicks",)),
            _pair("conversion_sessions", ("conversions",), ("sessions",)),
            _pair("ctr", ("link_clicks",), ("impressions",)),
            _pair("bounce", ("bounces",), ("sessions",)),
            _pair("visitors", ("new_visitors",), ("returning_visitors",)),
            _pair("time_on_page", ("time_on_page_s",), ("pageviews",)),
            _pair("cac", COST, ("new_customers",)),
            _pair("roi", ("revenue",), COST),
            _pair("positive_share", ("mentions_positive",), ("mentions",)),
            _pair("negative_share", ("mentions_negative",), ("mentions",)),
        )
    }
)


@dataclass(frozen=True, slots=True)
class AlertFit:
    """How an alert rule reads a KPI: the weekly volume behind it (`volume`: a metric
    or `cost`/`visitors`/`followers`) and the default minimum (None: none)."""

    volume: str
    default_min: float | None
    count: bool = False  # a count KPI: the volume is the value itself


@dataclass(frozen=True, slots=True)
class Kpi:
    key: str
    unit: str  # count, percent, money, duration
    higher_is_better: bool
    commands: tuple[str, ...]  # the first is the KPI's own command
    aliases: tuple[str, ...]  # other words for it (lower-case, `ё` folded)
    formula: str  # the main formula template's id (`FORMULAS`)
    needs: tuple[str, ...]  # every metric it can use, for "how to add what is missing"
    pairs: tuple[str, ...] = ()  # the ratios it pairs, main first, fallbacks after
    period: bool = True  # a period figure (hashtags are per post)
    alert: AlertFit | None = None


# Language-neutral formula templates by id; names in braces are entries of
# `KpiResult.inputs`, so the text layer can put in the sums and translate names.
FORMULAS: Mapping[str, str] = MappingProxyType(
    {
        "reach": "Σ {reach}",
        "err_reach": "Σ {interactions} / Σ {reach} × 100",
        "err_impressions": "Σ {interactions} / Σ {impressions} × 100",
        "er_followers": "Σ {interactions} / Σ {posts} / {followers_avg} × 100",
        "err_views": "Σ {views} / Σ {posts} / {followers_avg} × 100",
        "conversion_clicks": "Σ {conversions} / Σ {link_clicks} × 100",
        "conversion_sessions": "Σ {conversions} / Σ {sessions} × 100",
        "growth": "Σ ({followers_end} − {followers_start}) / Σ {followers_start} × 100",
        "growth_flows": "(Σ {new_followers} − Σ {unfollows}) / {followers_start} × 100",
        "clicks": "Σ {link_clicks}",
        "ctr": "Σ {link_clicks} / Σ {impressions} × 100",
        "bounce": "Σ {bounces} / Σ {sessions} × 100",
        "visitors": "Σ {new_visitors} / (Σ {new_visitors} + Σ {returning_visitors}) × 100",
        "time_on_page": "Σ {time_on_page_s} / Σ {pageviews}",
        "cac": "(Σ {ad_spend} + Σ {content_cost}) / Σ {new_customers}",
        "mentions": "Σ {mentions}",
        "unfollows": "Σ {unfollows}",
        "roi": "(Σ {revenue} × {margin} − (Σ {ad_spend} + Σ {content_cost}))"
        " / (Σ {ad_spend} + Σ {content_cost}) × 100",
    }
)

KPIS: Mapping[str, Kpi] = MappingProxyType(
    {
        k.key: k
        for k in (
            Kpi(
                "reach", "count", True, ("reach",), ("охват", "охваты"), "reach",
                ("reach", "impressions"), ("frequency",),
                alert=AlertFit("reach", None, count=True),
            ),
            Kpi(
                "engagement", "percent", True, ("engagement", "er"),
                ("er", "err", "вовлеченность", "вовлечение"), "err_reach",
                (*INTERACTIONS, "reach", "impressions", "posts", "followers", "views"),
                ("err_reach", "err_impressions", "er_posts", "err_views"),
                alert=AlertFit("reach", 1000.0),
            ),
            Kpi(
                "conversion", "percent", True, ("conversion",), ("cr", "конверсия"),
                "conversion_clicks", ("conversions", "link_clicks", "sessions"),
                ("conversion_clicks", "conversion_sessions"),
                alert=AlertFit("link_clicks", 100.0),
            ),
            Kpi(
                "growth", "percent", True, ("growth",), ("рост", "подписчики"), "growth",
                ("followers", "new_followers", "unfollows"),
                alert=AlertFit("followers", 100.0),
            ),
            Kpi(
                "clicks", "count", True, ("clicks", "ctr"), ("клики",), "clicks",
                ("link_clicks", "impressions"), ("ctr",),
                alert=AlertFit("link_clicks", None, count=True),
            ),
            Kpi(
                "bounce", "percent", False, ("bounce",), ("отказы",), "bounce",
                ("bounces", "sessions"), ("bounce",),
                alert=AlertFit("sessions", 100.0),
            ),
            Kpi(
                "visitors", "percent", True, ("visitors",), ("посетители",), "visitors",
                ("new_visitors", "returning_visitors"), ("visitors",),
                alert=AlertFit("visitors", 100.0),
            ),
            Kpi(
                "time_on_page", "duration", True, ("timeonpage",),
                ("timeonpage", "time", "время"), "time_on_page",
                ("time_on_page_s", "pageviews"), ("time_on_page",),
                alert=AlertFit("pageviews", 100.0),
            ),
            Kpi(
                "hashtags", "percent", True, ("hashtags", "formats"), ("хэштеги", "хештеги"),
                "hashtags", ("reach", *INTERACTION_PARTS), period=False,
            ),
            Kpi(
                "cac", "money", False, ("cac",), ("стоимость-клиента",), "cac",
                (*COST, "new_customers"), ("cac",),
                alert=AlertFit("new_customers", 3.0),
            ),
            Kpi(
                "mentions", "count", True, ("mentions",), ("упоминания",), "mentions",
                ("mentions", "mentions_positive", "mentions_negative"),
                ("positive_share", "negative_share"),
                alert=AlertFit("mentions", None, count=True),
            ),
            Kpi(
                "roi", "percent", True, ("roi",), ("окупаемость",), "roi",
                ("revenue", *COST), ("roi",),
                alert=AlertFit("cost", 1000.0),
            ),
        )
    }
)  # fmt: skip

# CTR is an extra of `clicks` in answers, but a rule must watch the rate itself.
CTR_ALERT = AlertFit("impressions", 1000.0)
# Alerts on a metric itself, not a KPI: its Σ over the week (count, lower is better).
METRIC_ALERTS: Mapping[str, AlertFit] = MappingProxyType(
    {"unfollows": AlertFit("unfollows", None, count=True)}
)
METRIC_ALERT_ALIASES: Mapping[str, str] = MappingProxyType(
    {"unfollows": "unfollows", "отписки": "unfollows", "отписавшиеся": "unfollows"}
)
# The rules a Telegram channel gets when it is connected (`/alert` grammar, for its
# account): unfollows 50 % above the median of the 4 weeks before.
CHANNEL_ALERTS: tuple[str, ...] = ("unfollows +50%",)

KPI_KEYS: tuple[str, ...] = tuple(KPIS)
PERIOD_KPIS: tuple[str, ...] = tuple(k for k, d in KPIS.items() if d.period)
LOWER_IS_BETTER: frozenset[str] = frozenset(k for k, d in KPIS.items() if not d.higher_is_better)
# Command → KPI key of the single-KPI commands (/formats is hashtags' second command).
COMMANDS: Mapping[str, str] = MappingProxyType(
    {c: k for k, d in KPIS.items() if d.period for c in d.commands}
)


def unit_of(key: str) -> str:
    if key in METRIC_ALERTS:
        return "count"
    return "percent" if key == "ctr" else KPIS[key].unit


def resolve_kpi(word: str) -> str | None:
    """The KPI key for a typed name (`/er`, `ROI`, `охват`, `time-on-page`), else None."""
    folded = word.strip().lstrip("/").lower().replace("ё", "е")
    key = folded.replace("-", "_")
    if key in KPIS:
        return key
    for k, d in KPIS.items():
        if folded in d.aliases or key in d.aliases or folded in d.commands:
            return k
    return None


__all__ = [
    "CHANNEL_ALERTS",
    "COMMANDS",
    "COST",
    "CTR_ALERT",
    "FOLLOWER_JUMP",
    "FORMULAS",
    "INTERACTIONS",
    "INTERACTION_PARTS",
    "KPIS",
    "KPI_KEYS",
    "LOWER_IS_BETTER",
    "METRIC_ALERTS",
    "METRIC_ALERT_ALIASES",
    "MIN_PREVIOUS_COVERAGE",
    "NEGLIGIBLE_CHANGE_PCT",
    "PAIRS",
    "PERIOD_KPIS",
    "AlertFit",
    "Kpi",
    "Pair",
    "resolve_kpi",
    "unit_of",
]
