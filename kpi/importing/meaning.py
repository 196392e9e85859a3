"""A header's meaning from its words: the thing counted and its qualifier.

`columns.classify` first tries the catalogue's exact spellings; a header none of
them knows is read here, word by word: `followers_gained`, `FollowersLost`,
`Подписчики (всего)`, `Average views per post`. The words are split on
snake_case, camelCase and punctuation, Russian and English alike; each word is
a *concept* (what is counted: followers, views, reach, visitors…), a
*qualifier* (total, gained, lost, net, per post / average, rate / %) or noise.

A reading is `sure` when every word of the header is understood; a header with
words the bot does not know (`Lifetime Engaged Users`) still gets its best
guess, but unsure, so the bot asks before storing anything under it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# word → concept. Stems are matched as prefixes for Russian (case endings vary).
_CONCEPT_WORDS: dict[str, tuple[str, ...]] = {
    "followers": (
        "followers", "follower", "follows", "follow", "subscribers", "subscriber", "subs",
        "members", "member", "fans", "fan", "подписчик", "участник", "фолловер",
    ),
    "views": ("views", "view", "просмотр", "plays", "воспроизведен"),
    "reach": ("reach", "reached", "охват"),
    "impressions": ("impressions", "impression", "impr", "показ"),
    "visitors": ("visitors", "visitor", "users", "user", "посетител", "пользовател"),
    "sessions": ("sessions", "session", "visits", "visit", "визит", "сеанс", "сесси"),
    "pageviews": ("pageviews", "pageview"),
    "likes": ("likes", "like", "лайк", "нравится"),
    "comments": ("comments", "comment", "replies", "reply", "комментари", "ответ"),
    "shares": ("shares", "share", "reposts", "repost", "retweets", "retweet", "репост",
               "forwards", "пересылк"),
    "saves": ("saves", "saved", "bookmarks", "bookmark", "сохранени", "закладк"),
    "reactions": ("reactions", "reaction", "реакци"),
    "link_clicks": ("clicks", "click", "клик", "переход"),
    # Plural only: a singular "Post"/"Video" narrows another word down ("Post reach").
    "posts": ("posts", "публикаций", "публикации", "записей", "записи", "постов", "посты",
              "videos"),
    "mentions": ("mentions", "mention", "упоминани"),
    "conversions": ("conversions", "conversion", "conv", "конверси", "leads", "лид"),
    "revenue": ("revenue", "выручк", "доход"),
    "ad_spend": ("spend", "spent", "cost", "расход", "затрат"),
}  # fmt: skip

# Qualifiers. "total" makes followers the gauge; the rest change the metric.
_QUALIFIER_WORDS: dict[str, tuple[str, ...]] = {
    "total": ("total", "totals", "всего", "count", "lifetime", "overall", "итого", "общее",
              "число", "количество", "кол", "во", "amount", "sum"),
    "gained": ("gained", "gain", "new", "joined", "join", "added", "acquired", "подписались",
               "подписал", "нов", "пришл", "вступил"),
    "lost": ("lost", "loss", "left", "unsubscribed", "unsubscribes", "unfollows", "unfollowed",
             "removed", "отписал", "ушл", "вышл", "потер"),
    "net": ("net", "прирост", "чист", "change", "изменени", "growth", "delta", "difference"),
    "average": ("average", "avg", "mean", "средн", "ср", "per"),
    "rate": ("rate", "ratio", "доля", "percent", "percentage", "процент", "коэффициент", "%"),
}  # fmt: skip

# Words that carry no meaning of their own in a header.
_NOISE = frozenset(
    [
        "of",
        "the",
        "a",
        "by",
        "in",
        "on",
        "for",
        "and",
        "from",
        "to",
        "all",
        "organic",
        "уникальные",
        "уникальных",
        "unique",
        "active",
        "активные",
        "за",
        "на",
        "в",
        "и",
        "по",
        "из",
        "number",
        "no",
        "page",
        "страниц",
        "страницы",
        "create",
        "created",
        "previous",
        "prior",
        "day",
        # A singular post or video narrows the thing counted down ("Post reach").
        "post",
        "пост",
        "поста",
        "video",
        "видео",
    ]
)
# Words that make a header something else than its concept: a duration, a cost
# per something, an engaged subset of sessions, a profile's visits.
_BLOCKERS = frozenset(
    [
        "duration",
        "time",
        "время",
        "длительность",
        "hours",
        "hour",
        "watch",
        "position",
        "позиция",
        "profile",
        "профиль",
        "профиля",
        "cpc",
        "cpm",
        "cpv",
        "cpa",
        "frequency",
        "частота",
    ]
)
_PER_POST = frozenset(
    ("post", "posts", "публикацию", "публикация", "пост", "поста", "запись", "video")
)
# "Unsubscribed" is a word of its own in many exports: it means the lost qualifier
# on the followers concept even with no concept word.
_BARE_FOLLOWER_QUALIFIERS = frozenset(("gained", "lost"))


@dataclass(frozen=True, slots=True)
class Meaning:
    metric: str  # a catalogue metric, or a LOCAL_RATIOS name (per-post averages)
    sure: bool  # every word understood
    why: str  # "followers + gained" — shown to the user


def split_words(header: str) -> list[str]:
    """`followersGained` → [followers, gained]; `Подписчики_всего` → [подписчики, всего]."""
    s = unicodedata.normalize("NFKC", header).replace("ё", "е").replace("Ё", "Е")
    s = re.sub(r"([a-zа-я])([A-ZА-Я])", r"\1 \2", s)  # camelCase
    s = s.lower().replace("%", " % ")
    return [w for w in re.split(r"[^\w%]+|_", s) if w]


def _concept(word: str) -> str | None:
    for concept, stems in _CONCEPT_WORDS.items():
        for stem in stems:
            if word == stem or (not stem.isascii() and word.startswith(stem)):
                return concept
    return None


def _qualifier(word: str) -> str | None:
    for qualifier, stems in _QUALIFIER_WORDS.items():
        for stem in stems:
            if word == stem or (not stem.isascii() and word.startswith(stem)):
                return qualifier
    return None


def read_header(header: str, *, web: bool) -> Meaning | None:
    """The metric a header means by its words, or None when no concept is named."""
    words = split_words(header)
    if not words:
        return None
    concepts: list[str] = []
    qualifiers: list[str] = []
    unknown: list[str] = []
    per_post = False
    for i, w in enumerate(words):
        if per_post and w in _PER_POST:
            continue
        if w == "per" and i + 1 < len(words) and words[i + 1] in _PER_POST:
            per_post = True
            continue
        if w in _BLOCKERS:
            return None
        if w == "per":
            return None  # "views per user", "cost per click": a ratio the bot computes
        q = _qualifier(w)
        c = _concept(w)
        if c is not None and q is None:
            concepts.append(c)
        elif q is not None:
            qualifiers.append(q)
        elif w not in _NOISE and not w.isdigit():
            unknown.append(w)
    if "average" in qualifiers and "posts" in concepts and len(set(concepts)) > 1:
        per_post = True  # "Средний охват поста": reach per post
        concepts = [c for c in concepts if c != "posts"]
    if per_post:
        qualifiers.append("average")
    # "page views" is one concept on a website, two words elsewhere.
    if "views" in concepts and ("page" in words or "страниц" in " ".join(words) or web):
        concepts = ["pageviews" if c == "views" else c for c in concepts]
    uniq = list(dict.fromkeys(concepts))
    if not uniq:
        bare = [q for q in qualifiers if q in _BARE_FOLLOWER_QUALIFIERS]
        if len(bare) == 1 and len(qualifiers) == 1 and not unknown and words[0] in (
            "unsubscribed", "unfollows", "подписались", "отписались", "joined", "left",
        ):  # fmt: skip
            uniq = ["followers"]
        else:
            return None
    if len(uniq) > 1:
        # "Reach by people who like your Page", "Cost / conv.", "Охват подписчиков":
        # two things counted in one header is a breakdown or a ratio, not a metric.
        return None
    concept = uniq[0]
    if "engaged" in words and concept in ("sessions", "visitors"):
        return None  # GA4's engaged sessions are a subset, not the sessions
    metric = _apply(concept, set(qualifiers))
    if metric is None:
        return None
    why = " + ".join([concept, *dict.fromkeys(qualifiers)])
    sure = not unknown
    return Meaning(metric, sure, why)


def _apply(concept: str, qualifiers: set[str]) -> str | None:
    """The metric of a concept under its qualifiers; None when they make it no metric."""
    if "rate" in qualifiers:
        return None  # a ready-made rate: a KPI the bot computes itself, or a LOCAL_RATIO
    if concept == "followers":
        if "net" in qualifiers:
            return "net_followers"
        if "gained" in qualifiers and "lost" not in qualifiers:
            return "new_followers"
        if "lost" in qualifiers and "gained" not in qualifiers:
            return "unfollows"
        if "average" in qualifiers or ("gained" in qualifiers and "lost" in qualifiers):
            return None
        return "followers"
    if concept == "visitors" and "gained" in qualifiers:
        return "new_visitors"
    if "lost" in qualifiers or "net" in qualifiers:
        return None  # "lost views": not a quantity the catalogue keeps
    if "average" in qualifiers:
        return {"reach": "avg_post_reach", "views": "avg_post_views"}.get(concept)
    return concept  # "Comments added", "New likes": the counter itself
