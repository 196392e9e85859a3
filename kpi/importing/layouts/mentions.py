"""Mentions: one row per mention (a timestamp, a text, maybe a sentiment) → daily counts.

`not_relevant`/spam rows are dropped; words (positive/negative/нейтр…) or a
numeric scale (1–5, −1…1, 0…1, 0–10; above the middle is positive) give
`mentions_positive`/`_negative`. A file with a sentiment column but also metric
columns (a tweets export with `retweet_count`) is read as mentions, not posts,
but unsure: the bot shows how it read it before storing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kpi.importing.cells import MISSING, cell_text
from kpi.importing.columns import Role
from kpi.importing.layouts.base import Detection, Evidence, Layout
from kpi.importing.reader import Cell
from kpi.parsing import parse_number

if TYPE_CHECKING:
    from kpi.importing.core import ImportContext


_SENTIMENT_WORDS = (
    ("drop", ("not relevant", "not_relevant", "irrelevant", "нерелевант", "spam", "спам")),
    ("positive", ("pos", "позитив", "положит", "good")),
    ("negative", ("neg", "негатив", "отрицат", "bad")),
    ("neutral", ("neutr", "нейтр", "mixed", "смешан")),
)


def _sentiment_label(raw: str) -> str | float | None:
    low = raw.strip().lower()
    if not low or low in MISSING:
        return None
    try:
        return parse_number(low)
    except ValueError:
        pass
    for label, prefixes in _SENTIMENT_WORDS:
        if any(low.startswith(p) for p in prefixes):
            return label
    return None


def _scale_middle(values: set[float]) -> float | None:
    """The neutral point of a numeric sentiment scale, or None if it cannot be told."""
    lo, hi = min(values), max(values)
    ints = all(v.is_integer() for v in values)
    if lo < 0:
        return 0.0
    if values <= {0.0, 1.0} or (hi <= 1 and not ints):
        return 0.5
    if ints and lo >= 1 and hi <= 5:
        return 3.0
    if ints and hi <= 10:
        return 5.0
    if ints and hi <= 100:
        return 50.0
    return None


def read_row(ctx: ImportContext, n: int, cells: list[Cell]) -> bool:
    day = ctx.day(n, cells, fallback=True)
    if day is None:
        return False
    key = (ctx.account(cells), day)
    col = ctx.first(Role.SENTIMENT)
    label: str | float | None = None
    if col is not None:
        raw = cell_text(ctx.cell(cells, col.index))
        label = _sentiment_label(raw)
        if label == "drop":
            ctx.skip("not_relevant")
            return False
    ctx.add(key, {"mentions": 1.0})
    if label is not None:
        counts = ctx.sentiment.setdefault(key, {})
        counts[label] = counts.get(label, 0) + 1
    return True


def detect(ev: Evidence) -> Detection | None:
    if ev.roles & {Role.TEXT, Role.SENTIMENT} and not ev.has_metrics:
        return Detection(70, "text_without_numbers")
    if Role.SENTIMENT in ev.roles and not ev.roles & {Role.FORMAT, Role.HASHTAGS}:
        # One row per item with a sentiment: posts have none. Numbers beside it
        # (retweets) could still make it a posts export: ask.
        return Detection(65, "sentiment", sure=False)
    return None


def finish(ctx: ImportContext) -> None:
    numbers = {k for counts in ctx.sentiment.values() for k in counts if isinstance(k, float)}
    mid = _scale_middle(numbers) if numbers else None
    col = ctx.first(Role.SENTIMENT)
    usable = False
    for key, counts in ctx.sentiment.items():
        pos = neg = 0
        for label, count in counts.items():
            if isinstance(label, float):
                if mid is None:
                    continue
                usable = True
                pos += count if label > mid else 0
                neg += count if label < mid else 0
            else:
                usable = True
                pos += count if label == "positive" else 0
                neg += count if label == "negative" else 0
        group = ctx.result.values[key]
        group["mentions_positive"] = float(pos)
        group["mentions_negative"] = float(neg)
    if not usable:
        for group in ctx.result.values.values():
            group.pop("mentions_positive", None)
            group.pop("mentions_negative", None)
        if col is not None:
            ctx.ignore(col, "unknown_sentiment_scale")
        return
    for group in ctx.result.values.values():
        group.setdefault("mentions_positive", 0.0)
        group.setdefault("mentions_negative", 0.0)


LAYOUT = Layout(
    "mentions",
    frozenset({Role.DATE, Role.ACCOUNT, Role.PLATFORM, Role.TEXT, Role.SENTIMENT}),
    uses_metrics=False,
    detect=detect,
    read_row=read_row,
    finish=finish,
    day_from_caption=True,
)
