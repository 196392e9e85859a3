"""What content worked: formats, hashtags and posting times whose ERR stands out from the
account's, with enough posts behind each claim. Pure (numpy for the bootstrap).

ERR of a group = Σ interactions / Σ reach × 100 over its posts (by impressions when no
post has reach, as `/hashtags` does), the same ratio of sums as every ERR in the bot;
the baseline is the ERR of all the period's posts on the same basis.

The confidence rule: a group is reported only with at least `MIN_POSTS` posts, and
called better (worse) only when its whole 90 % bootstrap interval lies above (below) the
baseline. The bootstrap resamples whole posts (2000 times, a fixed seed, so the same data
gives the same answer): posts differ far more from each other than a binomial model of
"interactions out of reach" would say (one viral post), and a Wilson interval on
interactions / reach, with reach in the tens of thousands, would be narrow enough to
make every 2-post hashtag look significant. A group that is neither is "unclear", and
the answer says so instead of naming a winner.

Posting time: by weekday and by hour, each with at least `MIN_POSTS` posts, and by
weekday × hour with at least `MIN_SLOT_POSTS`: 168 cells invite lucky winners, and a
bootstrap of five posts is too narrow (it cannot see the variance five posts don't
show). Hours are only known for posts that carry a time (channel posts); imported post
tables carry a day only, so the hour views are left out for them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # imported where the bootstrap runs: not on the bot's start path
    import numpy as np

from kpi.kpis import _basis, _post_hashtags, _post_interactions
from kpi.models import PostRecord

MIN_POSTS = 5
MIN_SLOT_POSTS = 10
BOOTSTRAP_SAMPLES = 2000
INTERVAL = (0.05, 0.95)
SEED = 20241

Verdict = Literal["better", "worse", "unclear"]


@dataclass(frozen=True, slots=True)
class ContentPost:
    """One post as the insights read it: interactions over a base (reach or impressions)."""

    interactions: float
    base: float
    format: str | None = None
    hashtags: frozenset[str] = frozenset()
    weekday: int | None = None  # 0 = Monday
    hour: int | None = None  # 0..23 in the workspace's time zone


@dataclass(frozen=True, slots=True)
class GroupInsight:
    """One format, hashtag or time slot: its ERR, 90 % interval and verdict vs baseline."""

    key: str
    posts: int
    err: float
    low: float
    high: float
    lift: float | None  # (err / baseline − 1) × 100; None for a zero baseline
    verdict: Verdict


@dataclass(frozen=True, slots=True)
class ContentInsights:
    """`posts`: posts with both interactions and a base > 0 (the ones that count);
    `left_out`: posts without them. Each tuple holds the groups with enough posts, by ERR,
    best first; `small_groups`: groups left out for having fewer than `min_posts`."""

    posts: int
    left_out: int
    basis: str | None
    baseline: float | None
    formats: tuple[GroupInsight, ...]
    hashtags: tuple[GroupInsight, ...]
    weekdays: tuple[GroupInsight, ...]
    hours: tuple[GroupInsight, ...]
    slots: tuple[GroupInsight, ...]  # "weekday:hour"
    small_groups: int
    min_posts: int

    def best(self, kind: str) -> GroupInsight | None:
        """The best group of `kind` that is clearly better than the baseline."""
        better = [g for g in getattr(self, kind) if g.verdict == "better"]
        return better[0] if better else None

    def worst(self, kind: str) -> GroupInsight | None:
        worse = [g for g in getattr(self, kind) if g.verdict == "worse"]
        return worse[-1] if worse else None


def from_records(records: Iterable[PostRecord]) -> tuple[list[ContentPost], int, str | None]:
    """Posts as `ContentPost`s on the `/hashtags` basis; also how many were left out and
    the basis ("reach", "impressions" or None)."""
    records = list(records)
    basis = _basis(records)
    posts: list[ContentPost] = []
    for r in records:
        base = r.reach if basis == "reach" else r.impressions
        engaged = _post_interactions(r)
        if base is None or engaged is None or base <= 0:
            continue
        fmt = r.format.strip().casefold() if r.format and r.format.strip() else None
        posts.append(
            ContentPost(engaged, base, fmt, frozenset(_post_hashtags(r)), weekday=r.day.weekday())
        )
    return posts, len(records) - len(posts), basis


def _interval(inter: np.ndarray, base: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    import numpy as np

    n = len(inter)
    picks = rng.integers(0, n, size=(BOOTSTRAP_SAMPLES, n))
    totals = base[picks].sum(axis=1)
    ratios = inter[picks].sum(axis=1) / totals * 100
    low, high = np.quantile(ratios, INTERVAL)
    return float(low), float(high)


def _groups(
    posts: Sequence[ContentPost],
    keys: Callable[[ContentPost], Iterable[str]],
    baseline: float,
    min_posts: int,
) -> tuple[tuple[GroupInsight, ...], int]:
    import numpy as np

    members: dict[str, list[int]] = {}
    for i, post in enumerate(posts):
        for key in keys(post):
            members.setdefault(key, []).append(i)
    inter = np.array([p.interactions for p in posts], dtype=np.float64)
    base = np.array([p.base for p in posts], dtype=np.float64)
    rows = []
    small = 0
    for key in sorted(members):
        idx = np.array(members[key])
        if len(idx) < min_posts:
            small += 1
            continue
        err = float(inter[idx].sum() / base[idx].sum() * 100)
        # One generator per group from a fixed seed: a group's interval does not depend
        # on which other groups there are.
        rng = np.random.default_rng([SEED, *key.encode()])
        low, high = _interval(inter[idx], base[idx], rng)
        verdict: Verdict = "better" if low > baseline else "worse" if high < baseline else "unclear"
        lift = (err / baseline - 1) * 100 if baseline else None
        rows.append(GroupInsight(key, len(idx), err, low, high, lift, verdict))
    rows.sort(key=lambda g: (-g.err, -g.posts, g.key))
    return tuple(rows), small


def insights(
    posts: Sequence[ContentPost],
    *,
    left_out: int = 0,
    basis: str | None = "reach",
    min_posts: int = MIN_POSTS,
) -> ContentInsights:
    """Formats, hashtags, weekdays, hours and weekday × hour slots (see module doc)."""
    total_base = sum(p.base for p in posts)
    if not posts or total_base <= 0:
        return ContentInsights(0, left_out, basis, None, (), (), (), (), (), 0, min_posts)
    baseline = sum(p.interactions for p in posts) / total_base * 100

    def group(
        keys: Callable[[ContentPost], Iterable[str]], least: int = min_posts
    ) -> tuple[GroupInsight, ...]:
        rows, left = _groups(posts, keys, baseline, least)
        small.append(left)
        return rows

    small: list[int] = []
    formats = group(lambda p: [p.format] if p.format else [])
    hashtags = group(lambda p: p.hashtags)
    weekdays = group(lambda p: [str(p.weekday)] if p.weekday is not None else [])
    hours = group(lambda p: [str(p.hour)] if p.hour is not None else [])
    slots = group(
        lambda p: [f"{p.weekday}:{p.hour}"] if p.weekday is not None and p.hour is not None else [],
        max(min_posts, MIN_SLOT_POSTS),
    )
    return ContentInsights(
        len(posts),
        left_out,
        basis,
        baseline,
        formats,
        hashtags,
        weekdays,
        hours,
        slots,
        sum(small),
        min_posts,
    )


__all__ = [
    "MIN_POSTS",
    "MIN_SLOT_POSTS",
    "ContentInsights",
    "ContentPost",
    "GroupInsight",
    "from_records",
    "insights",
]
