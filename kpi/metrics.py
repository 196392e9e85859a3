"""The metric catalogue: canonical names, kinds, direction, display names, synonyms.

One catalogue serves `/log`, the guided `/add`, file imports (header mapping),
KPI formulas and the storage layout (one column per metric).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    COUNTER = "counter"  # summed over a period
    GAUGE = "gauge"  # the last value in the period counts


class Unit(StrEnum):
    COUNT = "count"
    MONEY = "money"
    SECONDS = "seconds"


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    kind: Kind
    unit: Unit
    ru: str
    en: str
    # Extra spellings users and exports use; the canonical name and both display
    # names are always accepted too.
    synonyms: tuple[str, ...] = ()
    higher_is_better: bool = True
    # A net change (net_followers) may be below zero; every other value may not.
    signed: bool = False


_C, _G = Kind.COUNTER, Kind.GAUGE
_N, _M, _S = Unit.COUNT, Unit.MONEY, Unit.SECONDS

METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric(
            "reach",
            _C,
            _N,
            "охват",
            "reach",
            (
                "охваты",
                "охват записи",
                "охват публикации",
                "total reach",
                "post reach",
                "lifetime post total reach",
                "уникальный охват",
                "охват поста",
                "reach organic+paid",
                "просмотры уникальные",
            ),
        ),
        Metric(
            "impressions",
            _C,
            _N,
            "показы",
            "impressions",
            (
                "показов",
                "lifetime post total impressions",
                "total impressions",
                "показы рекламы",
            ),
        ),
        Metric(
            "likes",
            _C,
            _N,
            "лайки",
            "likes",
            (
                "лайк",
                "лайков",
                "нравится",
                "мне нравится",
                "like",
                "отметки нравится",
            ),
        ),
        Metric(
            "views",
            _C,
            _N,
            "просмотры",
            "views",
            (
                "просмотров",
                "view",
                "просмотры записи",
                "просмотры записей",
                "просмотры публикаций",
                "просмотры постов",
                "post views",
                "video views",
                "просмотры видео",
            ),
        ),
        Metric(
            "reactions",
            _C,
            _N,
            "реакции",
            "reactions",
            ("реакций", "reaction", "total reactions", "реакции всего"),
        ),
        Metric(
            "comments",
            _C,
            _N,
            "комментарии",
            "comments",
            ("комментарий", "комментариев", "comment", "коммент", "комменты"),
        ),
        Metric(
            "shares",
            _C,
            _N,
            "репосты",
            "shares",
            (
                "репост",
                "репостов",
                "поделились",
                "share",
                "reposts",
                "repost",
                "пересылки",
                "forwards",
            ),
        ),
        Metric(
            "saves",
            _C,
            _N,
            "сохранения",
            "saves",
            ("сохранений", "сохранили", "save", "saved", "закладки", "bookmarks"),
        ),
        Metric(
            "interactions",
            _C,
            _N,
            "взаимодействия",
            "interactions",
            (
                "взаимодействий",
                "вовлечения",
                "total interactions",
                "engagements",
                "engagement",
                "реакций всего",
                "активность",
            ),
        ),
        Metric(
            "posts",
            _C,
            _N,
            "публикации",
            "posts",
            ("публикаций", "посты", "постов", "записи", "записей", "post count", "number of posts"),
        ),
        Metric(
            "link_clicks",
            _C,
            _N,
            "клики",
            "link clicks",
            (
                "клики по ссылке",
                "клики по ссылкам",
                "переходы",
                "переходов",
                "clicks",
                "click",
                "link click",
                "кликов",
                "переходы по ссылке",
                "url clicks",
            ),
        ),
        Metric(
            "sessions",
            _C,
            _N,
            "визиты",
            "sessions",
            ("визитов", "сеансы", "сеансов", "сессии", "сессий", "visits", "session"),
        ),
        Metric(
            "bounces",
            _C,
            _N,
            "число отказов",
            "bounces",
            ("отказов всего", "bounced sessions", "bounce count"),
            higher_is_better=False,
        ),
        Metric(
            "pageviews",
            _C,
            _N,
            "просмотры страниц",
            "pageviews",
            (
                "просмотров страниц",
                "page views",
                "views of pages",
                "screen page views",
                "screenpageviews",
                "просмотры страницы",
            ),
        ),
        Metric(
            "time_on_page_s",
            _C,
            _S,
            "суммарное время на странице",
            "total time on page",
            (
                "time on page total",
                "time on page s",
                "total engagement time",
                "общее время на странице",
            ),
        ),
        Metric(
            "visitors",
            _C,
            _N,
            "посетители",
            "visitors",
            (
                "посетителей",
                "users",
                "total users",
                "unique visitors",
                "уникальные посетители",
                "пользователи",
                "visitor",
            ),
        ),
        Metric(
            "new_visitors",
            _C,
            _N,
            "новые посетители",
            "new visitors",
            ("новых посетителей", "new users", "новые пользователи", "new visitor"),
        ),
        Metric(
            "returning_visitors",
            _C,
            _N,
            "вернувшиеся посетители",
            "returning visitors",
            (
                "вернувшихся посетителей",
                "returning users",
                "повторные посетители",
                "returning visitor",
                "вернувшиеся пользователи",
            ),
        ),
        Metric(
            "conversions",
            _C,
            _N,
            "конверсии",
            "conversions",
            (
                "конверсий",
                "целевые действия",
                "достижения целей",
                "goal completions",
                "conversion",
                "лиды",
                "leads",
                "заявки",
                "покупки",
                "purchases",
            ),
        ),
        Metric(
            "new_customers",
            _C,
            _N,
            "новые клиенты",
            "new customers",
            (
                "новых клиентов",
                "клиенты",
                "customers",
                "привлечённые клиенты",
                "acquired customers",
            ),
        ),
        Metric(
            "revenue",
            _C,
            _M,
            "выручка",
            "revenue",
            (
                "доход",
                "доходы",
                "продажи",
                "сумма продаж",
                "sales",
                "income",
                "purchase revenue",
                "total revenue",
            ),
        ),
        Metric(
            "ad_spend",
            _C,
            _M,
            "расход на рекламу",
            "ad spend",
            (
                "расход",
                "расходы",
                "затраты",
                "затраты на рекламу",
                "бюджет",
                "spend",
                "spent",
                "cost",
                "amount spent",
                "стоимость",
                "потрачено",
                "расход, руб",
                "рекламный бюджет",
            ),
            higher_is_better=False,
        ),
        Metric(
            "content_cost",
            _C,
            _M,
            "затраты на контент",
            "content cost",
            ("расходы на контент", "стоимость контента", "content spend", "production cost"),
            higher_is_better=False,
        ),
        Metric(
            "mentions",
            _C,
            _N,
            "упоминания",
            "mentions",
            ("упоминаний", "mention", "brand mentions", "упоминания бренда"),
        ),
        Metric(
            "mentions_positive",
            _C,
            _N,
            "позитивные упоминания",
            "positive mentions",
            ("позитивных упоминаний", "positive", "позитив", "позитивные"),
        ),
        Metric(
            "mentions_negative",
            _C,
            _N,
            "негативные упоминания",
            "negative mentions",
            ("негативных упоминаний", "negative", "негатив", "негативные"),
            higher_is_better=False,
        ),
        Metric(
            "new_followers",
            _C,
            _N,
            "новые подписчики",
            "new followers",
            (
                "подписались",
                "новых подписчиков",
                "вступили",
                "вступления",
                "joined",
                "follows",
                "new subscribers",
                "новые участники",
                "подписки",
            ),
        ),
        Metric(
            "unfollows",
            _C,
            _N,
            "отписки",
            "unfollows",
            (
                "отписались",
                "отписок",
                "вышли",
                "left",
                "unsubscribes",
                "unsubscribed",
                "unfollowers",
            ),
            higher_is_better=False,
        ),
        Metric(
            "net_followers",
            _C,
            _N,
            "прирост подписчиков",
            "net followers",
            (
                "чистый прирост",
                "прирост",
                "net follows",
                "net new followers",
                "followers net",
                "net followers change",
            ),
            signed=True,
        ),
        Metric(
            "followers",
            _G,
            _N,
            "подписчики",
            "followers",
            (
                "подписчиков",
                "участники",
                "участников",
                "subscribers",
                "members",
                "page total likes",
                "фолловеры",
                "всего подписчиков",
                "total followers",
                "followers count",
            ),
        ),
    )
}

METRIC_NAMES: tuple[str, ...] = tuple(METRICS)
COUNTERS: tuple[str, ...] = tuple(n for n, m in METRICS.items() if m.kind is Kind.COUNTER)
# The counters teams type by hand most, in the order /add's buttons and /log's help list them.
TYPED_COUNTERS: tuple[str, ...] = (
    "reach", "impressions", "likes", "comments", "shares", "saves", "link_clicks", "sessions",
    "bounces", "pageviews", "conversions", "new_customers", "revenue", "ad_spend", "content_cost",
)  # fmt: skip
GAUGES: tuple[str, ...] = tuple(n for n, m in METRICS.items() if m.kind is Kind.GAUGE)


@dataclass(frozen=True, slots=True)
class RatioInput:
    """A ready-made ratio that an export or `/log` may give instead of a counter.

    It is stored as `counter = ratio × denominator` so that a period's KPI stays a
    ratio of sums (SPEC, "Metrics").
    """

    name: str
    counter: str  # the counter it becomes
    denominator: str  # the counter it is multiplied by
    percent: bool  # True: the value is a percentage (45 % → 0.45)
    synonyms: tuple[str, ...]
    duration: bool = False  # typed as m:ss or h:mm:ss, stored in seconds


RATIO_INPUTS: dict[str, RatioInput] = {
    r.name: r
    for r in (
        RatioInput(
            "bounce_rate",
            "bounces",
            "sessions",
            True,
            (
                "bounce rate",
                "bouncerates",
                "bounce rates",
                "отказы",
                "отказы %",
                "доля отказов",
                "показатель отказов",
                "процент отказов",
            ),
        ),
        RatioInput(
            "avg_time_on_page",
            "time_on_page_s",
            "pageviews",
            False,
            (
                "avg time on page",
                "average time on page",
                "avg. time on page",
                "время на странице",
                "среднее время на странице",
                "ср. время на странице",
                "average engagement time",
                "глубина время",
            ),
            duration=True,
        ),
        # Per visit, not per page (Yandex Metrica's "Время на сайте", GA's session
        # duration): the total is average × sessions. Dividing that total by
        # pageviews still gives the average time per page the KPI shows.
        RatioInput(
            "avg_session_duration",
            "time_on_page_s",
            "sessions",
            False,
            (
                "время на сайте",
                "average session duration",
                "avg session duration",
                "средняя продолжительность сеанса",
                "средняя длительность визита",
                "average visit duration",
                "avg visit duration",
            ),
            duration=True,
        ),
    )
}


def normalize_name(text: str) -> str:
    """Fold a header or a typed metric name to a comparable key.

    Case, `ё`, punctuation, units in brackets, `%` signs and runs of spaces or
    underscores do not matter: `"Охват (уник.)"`, `"охват"` and `"ОХВАТ"` meet.
    """
    s = unicodedata.normalize("NFKC", text).strip().lower().replace("ё", "е")
    s = re.sub(r"\((?:[^()]*)\)|\[(?:[^\[\]]*)\]", " ", s)  # "(руб.)", "[%]"
    s = re.sub(r"[%№#*:.,;!?\"'`«»/\\|+=]", " ", s)
    s = re.sub(r"[\s_\-–—]+", " ", s)
    return s.strip()


def _build_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for m in METRICS.values():
        for alias in (m.name, m.ru, m.en, *m.synonyms):
            index.setdefault(normalize_name(alias), m.name)
    for r in RATIO_INPUTS.values():
        for alias in (r.name, *r.synonyms):
            index.setdefault(normalize_name(alias), r.name)
    return index


_INDEX = _build_index()


def lookup_metric(text: str) -> str | None:
    """Canonical metric (or ratio input) name for a typed name or header, else None."""
    return _INDEX.get(normalize_name(text))
