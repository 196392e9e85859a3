"""What a column header means: a metric, a ratio to convert, or a role (date, post id…).

Headers are matched by meaning, never by one platform's exact spelling: the
catalogue's synonyms (`kpi.metrics.lookup_metric`) plus the extra words below,
after `normalize_name` folds case, punctuation and units in brackets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from kpi.importing.meaning import read_header, split_words
from kpi.metrics import RATIO_INPUTS, lookup_metric, normalize_name


class Role(StrEnum):
    METRIC = "metric"  # a catalogue metric or ratio input (see `Column.metric`)
    DATE = "date"
    PERIOD_START = "period_start"
    PERIOD_END = "period_end"
    MONTH = "month"  # a month without a year (`Feb`, `June`, 1…12)
    ACCOUNT = "account"
    PLATFORM = "platform"
    AUTHOR = "author"  # a post's author in a collection of other people's posts
    POST_ID = "post_id"
    TEXT = "text"
    HASHTAGS = "hashtags"
    FORMAT = "format"
    SENTIMENT = "sentiment"
    METRIC_NAME = "metric_name"  # long layout
    VALUE = "value"  # long layout or audience
    DIMENSION = "dimension"  # audience
    BUCKET = "bucket"  # audience
    AUDIENCE_DIM = "audience_dim"  # a column named after the dimension: age, city…
    SHARE = "share"
    COUNT = "count"
    VISITOR_TYPE = "visitor_type"  # New_Visitor / Returning_Visitor per session row
    PAGE_COUNT = "page_count"  # `Administrative` beside `Administrative_Duration`
    PAGE_DURATION = "page_duration"
    CUSTOMER_SINCE = "customer_since"  # CRM: the day a customer was acquired
    COMPUTED = "computed"  # a KPI the bot computes itself (ER, CPC…)
    IGNORED = "ignored"


# Ratios the catalogue does not list, or lists with a denominator that does not
# fit the export's meaning: "Время на сайте" in Metrica is the average *visit*
# duration, so its total is average × visits, not × pageviews.
@dataclass(frozen=True, slots=True)
class LocalRatio:
    name: str
    counter: str
    denominator: str
    percent: bool | None  # None: decided per column (45 vs 0.45)
    duration: bool = False
    complement: bool = False  # the counter is (1 − rate) × denominator


LOCAL_RATIOS: dict[str, LocalRatio] = {
    r.name: r
    for r in (
        LocalRatio("bounce_rate", "bounces", "sessions", None),
        LocalRatio("avg_time_on_page", "time_on_page_s", "pageviews", False, duration=True),
        LocalRatio("avg_session_duration", "time_on_page_s", "sessions", False, duration=True),
        LocalRatio("page_depth", "pageviews", "sessions", False),
        LocalRatio("avg_post_reach", "reach", "posts", False),
        LocalRatio("avg_post_views", "views", "posts", False),
        LocalRatio("ctr", "link_clicks", "impressions", None),
        LocalRatio("engagement_rate_ga", "bounces", "sessions", None, complement=True),
    )
}
assert set(RATIO_INPUTS) <= set(LOCAL_RATIOS)

# Ratios whose counters feed later ratios come first (depth → pageviews → time).
RATIO_ORDER = (
    "page_depth",
    "avg_post_reach",
    "avg_post_views",
    "ctr",
    "bounce_rate",
    "engagement_rate_ga",
    "avg_session_duration",
    "avg_time_on_page",
)


def _keys(*names: str) -> frozenset[str]:
    return frozenset(normalize_name(n) for n in names)


_ROLE_WORDS: tuple[tuple[Role, frozenset[str]], ...] = (
    (
        Role.DATE,
        _keys(
            "date",
            "дата",
            "day",
            "день",
            "дата визита",
            "дата публикации",
            "дата поста",
            "дата записи",
            "published",
            "publish date",
            "publication date",
            "posted",
            "posted at",
            "created",
            "created at",
            "created time",
            "timestamp",
            "time",
            "datetime",
            "date time",
            "дата и время",
            "время публикации",
            "время создания",
            "дата создания",
            "post date",
            "post published",
            "date of publication",
            "дата упоминания",
            "mention date",
            "period",
            "период",
            "дата события",
            "event date",
            "отчетная дата",
            "report date",
            "дата (день)",
        ),
    ),
    (
        Role.PERIOD_START,
        _keys(
            "period start",
            "period_start",
            "start date",
            "date start",
            "date from",
            "from",
            "начало периода",
            "дата начала",
            "reporting starts",
            "starts",
            "с даты",
            "period from",
        ),
    ),
    (
        Role.PERIOD_END,
        _keys(
            "period end",
            "period_end",
            "end date",
            "date end",
            "date to",
            "to",
            "конец периода",
            "дата окончания",
            "окончание периода",
            "reporting ends",
            "ends",
            "по дату",
            "period to",
        ),
    ),
    (Role.MONTH, _keys("month", "месяц", "post month", "mon", "месяц публикации")),
    (
        Role.ACCOUNT,
        _keys(
            "account",
            "аккаунт",
            "account name",
            "сообщество",
            "community",
            "group",
            "группа",
            "page name",
            "channel",
            "канал",
            "profile",
            "профиль",
            "название аккаунта",
            "название сообщества",
            "название канала",
        ),
    ),
    (
        Role.PLATFORM,
        _keys(
            "platform",
            "платформа",
            "площадка",
            "соцсеть",
            "social network",
            "network",
            "сеть",
        ),
    ),
    (
        Role.AUTHOR,
        _keys(
            "username",
            "user name",
            "user",
            "author",
            "автор",
            "screen name",
            "user screen name",
            "никнейм",
            "ник",
            "handle",
        ),
    ),
    (
        Role.POST_ID,
        _keys(
            "post id",
            "post_id",
            "id",
            "id поста",
            "id записи",
            "id публикации",
            "url",
            "link",
            "ссылка",
            "permalink",
            "post url",
            "post link",
            "ссылка на пост",
            "ссылка на запись",
            "ссылка на публикацию",
            "publication id",
            "message id",
            "media id",
            "tweet id",
            "адрес публикации",
        ),
    ),
    (
        Role.TEXT,
        _keys(
            "text",
            "текст",
            "caption",
            "подпись",
            "message",
            "сообщение",
            "post text",
            "текст поста",
            "текст записи",
            "текст публикации",
            "content",
            "description",
            "описание",
            "tweet",
            "твит",
            "body",
            "текст упоминания",
            "mention text",
            "title",
            "заголовок",
            "post message",
        ),
    ),
    (
        Role.HASHTAGS,
        _keys(
            "hashtags",
            "hashtag",
            "хэштеги",
            "хештеги",
            "хэштег",
            "хештег",
            "tags",
            "теги",
        ),
    ),
    (
        Role.FORMAT,
        _keys(
            "type",
            "format",
            "формат",
            "тип",
            "тип поста",
            "тип записи",
            "тип публикации",
            "media type",
            "post type",
            "content type",
            "тип контента",
            "формат публикации",
            "вид публикации",
        ),
    ),
    (
        Role.SENTIMENT,
        _keys(
            "sentiment",
            "тональность",
            "тон",
            "tone",
            "polarity",
            "sentiment label",
            "оценка тональности",
            "эмоциональная окраска",
            "настроение",
            "sentiment score",
        ),
    ),
    (
        Role.METRIC_NAME,
        _keys(
            "metric",
            "метрика",
            "показатель",
            "metric name",
            "название метрики",
            "параметр",
            "название показателя",
        ),
    ),
    (Role.VALUE, _keys("value", "значение", "величина", "val")),
    (
        Role.DIMENSION,
        _keys(
            "dimension",
            "измерение",
            "срез",
            "разрез",
            "breakdown",
            "группировка",
            "признак",
        ),
    ),
    (Role.BUCKET, _keys("bucket", "segment", "сегмент", "label", "метка", "категория аудитории")),
    (
        Role.SHARE,
        _keys(
            "доля",
            "percent",
            "percentage",
            "процент",
            "доля %",
            "доля пользователей",
            "% of users",
            "percent of audience",
            "доля аудитории",
            "% аудитории",
            "доля подписчиков",
        ),
    ),
    (
        Role.COUNT,
        _keys(
            "count",
            "количество",
            "кол во",
            "число",
            "quantity",
            "number",
            "users",
            "пользователи",
            "посетители",
            "visitors",
            "people",
            "человек",
            "audience",
            "аудитория",
            "total users",
            "всего пользователей",
            "active users",
        ),
    ),
    (
        Role.VISITOR_TYPE,
        _keys(
            "visitortype",
            "visitor type",
            "user type",
            "тип посетителя",
            "тип пользователя",
            "new vs returning",
            "new/returning",
            "тип визита",
            "new or returning",
        ),
    ),
    (
        Role.CUSTOMER_SINCE,
        _keys(
            "dt customer",
            "customer since",
            "customer date",
            "date customer",
            "signup date",
            "sign up date",
            "registration date",
            "registered",
            "registered at",
            "дата регистрации",
            "дата привлечения",
            "клиент с",
            "first purchase date",
            "дата первой покупки",
            "first order date",
            "дата первого заказа",
            "enrollment date",
            "date joined",
            "дата первого визита",
        ),
    ),
    (
        Role.COMPUTED,
        _keys(
            "er",
            "err",
            "er day",
            "er post",
            "err %",
            "er %",
            "cpc",
            "cpm",
            "cpa",
            "cpl",
            "cpv",
            "cpi",
            "cost per click",
            "avg cpc",
            "average cpc",
            "средняя цена клика",
            "цена клика",
            "цена за клик",
            "цена за 1000 показов",
            "roi",
            "romi",
            "drr",
            "дрр",
            "конверсия",
            "conversion rate",
            "conv rate",
            "коэффициент конверсии",
            "exitrates",
            "exit rate",
            "exit rates",
            "процент выходов",
            "frequency",
            "частота",
            "pagevalues",
            "page value",
            "page values",
            "cost per result",
            "цена за результат",
            "цена результата",
            "индекс цитирования",
            "иц",
            "вовлеченность",
            "er reach",
            "er view",
            "vr",
            "views per user",
            "engaged sessions per user",
            "avg cost",
            "ecpc",
            "ecpm",
            "средняя стоимость клика",
            "cost conv",
            "cost per conv",
        ),
    ),
    (
        Role.AUDIENCE_DIM,
        _keys(
            "age",
            "возраст",
            "age group",
            "age range",
            "возрастная группа",
            "gender",
            "пол",
            "sex",
            "city",
            "город",
            "country",
            "страна",
            "region",
            "регион",
        ),
    ),
)

_ROLE_INDEX: dict[str, Role] = {}
for _role, _words in _ROLE_WORDS:
    for _w in _words:
        _ROLE_INDEX.setdefault(_w, _role)

AUDIENCE_DIMENSIONS: dict[str, str] = {
    normalize_name(k): v
    for k, v in {
        "age": "age",
        "возраст": "age",
        "age group": "age",
        "age range": "age",
        "возрастная группа": "age",
        "gender": "gender",
        "пол": "gender",
        "sex": "gender",
        "city": "city",
        "город": "city",
        "country": "country",
        "страна": "country",
        "region": "region",
        "регион": "region",
    }.items()
}

# Extra spellings by meaning, checked before the catalogue so that a word with
# a platform-specific sense wins (`время на сайте` is per visit, not per page).
_EXTRA_METRICS: dict[str, str] = {
    normalize_name(k): v
    for k, v in {
        # reach / impressions
        "полный охват": "reach",
        "охват всего": "reach",
        "охват аудитории": "reach",
        "accounts reached": "reach",
        "people reached": "reach",
        "unique reach": "reach",
        "охват публикаций": "reach",
        "reach total": "reach",
        "impr": "impressions",
        "показы объявлений": "impressions",
        "просмотры публикаций": "views",
        "просмотры постов": "views",
        "post views": "views",
        "views total": "views",
        # engagement
        "мне нравится": "likes",
        "отметки мне нравится": "likes",
        "likes count": "likes",
        "favorites": "likes",
        "favourites": "likes",
        "favorite count": "likes",
        "рассказать друзьям": "shares",
        "поделиться": "shares",
        "retweets": "shares",
        "retweet count": "shares",
        "replies": "comments",
        "ответы": "comments",
        # clicks, web
        "переходы на сайт": "link_clicks",
        "website clicks": "link_clicks",
        "outbound clicks": "link_clicks",
        "клики по объявлению": "link_clicks",
        "screen page views": "pageviews",
        "new visitors": "new_visitors",
        "новые пользователи": "new_visitors",
        # conversions, money
        "key events": "conversions",
        "ключевые события": "conversions",
        "results": "conversions",
        "результаты": "conversions",
        "результат": "conversions",
        "conv": "conversions",
        "conversions all": "conversions",
        "conv value": "revenue",
        "conversion value": "revenue",
        "purchase conversion value": "revenue",
        "total conv value": "revenue",
        "amount spent": "ad_spend",
        "потрачено всего": "ad_spend",
        "списано": "ad_spend",
        # followers
        "create post": "posts",
        "fans": "followers",
        "page likes": "followers",
        # ratios
        "время на сайте": "avg_session_duration",
        "average session duration": "avg_session_duration",
        "avg session duration": "avg_session_duration",
        "средняя продолжительность сеанса": "avg_session_duration",
        "средняя длительность визита": "avg_session_duration",
        "average visit duration": "avg_session_duration",
        "avg visit duration": "avg_session_duration",
        "average engagement time per session": "avg_session_duration",
        "avg engagement time per session": "avg_session_duration",
        "глубина просмотра": "page_depth",
        "page depth": "page_depth",
        "pages per session": "page_depth",
        "pages session": "page_depth",
        "страниц за визит": "page_depth",
        "views per session": "page_depth",
        "охват 1 публикации": "avg_post_reach",
        "средний охват публикации": "avg_post_reach",
        "средний охват поста": "avg_post_reach",
        "avg post reach": "avg_post_reach",
        "average post reach": "avg_post_reach",
        "average reach per post": "avg_post_reach",
        "средний охват": "avg_post_reach",
        "ctr": "ctr",
        "ctr %": "ctr",
        "click through rate": "ctr",
        "кликабельность": "ctr",
        "ctr all": "ctr",
        "engagement rate": "engagement_rate_ga",
    }.items()
}

# Words that mean "page views" on a website but "post views" on a social account.
_VIEWS_WORDS = _keys("views", "view", "просмотры", "просмотров")

_CURRENCY_TOKENS = re.compile(
    r"(?:^|\s)(?:₽|\$|€|руб|rub|rur|usd|eur|р|в рублях|в руб|in usd|валюта счета)(?=\s|$)"
)
_DURATION_SUFFIX = re.compile(r"^(.+?)\s*(?:duration|длительность|время)$")


@dataclass(slots=True)
class Column:
    index: int
    header: str
    role: Role
    metric: str | None = None  # a METRICS name or a LOCAL_RATIOS name
    reason: str | None = None  # why IGNORED/COMPUTED
    sure: bool = True  # False: read from its words with some unknown; the user confirms
    why: str = ""  # how the header was read: "exact" or the concept + qualifier words
    alt_metric: str | None = None  # the metric a COUNT column means outside an audience file


_SENTIMENT_WORDS = frozenset(("sentiment", "тональность", "polarity", "sentiments"))
_NOT_SENTIMENT = frozenset(("confidence", "gold", "reason", "negativereason", "уверенность"))
_TEXT_WORDS = frozenset(("text", "текст", "tweet", "твит", "message", "сообщение"))


def classify_column(index: int, header: str, *, web: bool) -> Column:
    """One header: the exact spellings first, then its words (`kpi.importing.meaning`)."""
    role, metric = classify(header, web=web)
    if role is Role.METRIC:
        return Column(index, header, role, metric, why="exact")
    if role is Role.COUNT:
        alt = read_header(header, web=web)
        return Column(
            index, header, role, why="exact", alt_metric=alt.metric if alt and alt.sure else None
        )
    if role is not Role.IGNORED:
        return Column(index, header, role, metric, why="exact")
    words = split_words(header)
    if _SENTIMENT_WORDS & set(words) and not _NOT_SENTIMENT & set(words):
        return Column(index, header, Role.SENTIMENT, why="sentiment")
    if words and words[-1] in _TEXT_WORDS:
        return Column(index, header, Role.TEXT, why="text")
    meaning = read_header(header, web=web)
    if meaning is not None:
        return Column(
            index, header, Role.METRIC, meaning.metric, sure=meaning.sure, why=meaning.why
        )
    return Column(index, header, Role.IGNORED)


def classify(header: str, *, web: bool) -> tuple[Role, str | None]:
    """The role of one header, and the metric it names for Role.METRIC."""
    key = normalize_name(header)
    if not key:
        return Role.IGNORED, None
    if key in _VIEWS_WORDS:
        return Role.METRIC, ("pageviews" if web else "views")
    metric = _metric_for(key)
    if metric == "engagement_rate_ga" and not web:
        return Role.COMPUTED, None  # an SMM ER is a KPI, not GA's engaged-session share
    if metric is not None and key not in _ROLE_INDEX:
        return Role.METRIC, metric
    role = _ROLE_INDEX.get(key)
    if role is not None:
        return role, None
    if metric is not None:
        return Role.METRIC, metric
    return Role.IGNORED, None


def _metric_for(key: str) -> str | None:
    found = _EXTRA_METRICS.get(key) or lookup_metric(key)
    if found is not None:
        return found
    stripped = _CURRENCY_TOKENS.sub(" ", key).strip()
    if stripped and stripped != key:
        return _EXTRA_METRICS.get(stripped) or lookup_metric(stripped)
    return None


def duration_base(header: str) -> str | None:
    """`"Administrative_Duration"` → `"administrative"`."""
    m = _DURATION_SUFFIX.match(normalize_name(header))
    return m.group(1) if m else None


def is_web_header(key: str) -> bool:
    return (
        _metric_for(key)
        in (
            "sessions",
            "bounce_rate",
            "pageviews",
            "new_visitors",
            "returning_visitors",
            "avg_session_duration",
            "page_depth",
            "avg_time_on_page",
            "engagement_rate_ga",
        )
        or _ROLE_INDEX.get(key) is Role.VISITOR_TYPE
    )


def detect_platform(keys: set[str], preamble: str) -> str | None:
    """The export format, from its headers and the lines above them."""
    pre = preamble.lower()
    if "# " in pre and ("property:" in pre or "start date:" in pre or "account:" in pre):
        return "ga4"
    if keys & _keys(
        "engaged sessions",
        "engagement rate",
        "average engagement time",
        "key events",
        "event count",
        "views per user",
        "total users",
        "session default channel group",
        "first user default channel group",
        "screen page views",
    ):
        return "ga4"
    if keys & _keys("визиты", "глубина просмотра", "время на сайте", "дата визита") or (
        "итого и средние" in pre
    ):
        return "yandex_metrica"
    if keys & _keys("err", "er", "охват 1 публикации", "индекс цитирования", "иц", "ср охват"):
        return "tgstat"
    if keys & _keys(
        "рассказать друзьям",
        "полный охват",
        "охват подписчиков",
        "виральный охват",
        "рекламный охват",
        "участники",
        "вступили",
        "вышли",
    ):
        return "vk"
    spend = any(_metric_for(k) == "ad_spend" for k in keys)
    clicks = any(_metric_for(k) == "link_clicks" for k in keys)
    if spend and (clicks or keys & _keys("campaign", "кампания", "ad set", "группа объявлений")):
        return "ads"
    if any(k.startswith("lifetime post") for k in keys):
        return "facebook"
    return None
