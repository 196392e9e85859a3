"""Posts: one row per post (id, text, hashtags, format beside its numbers).

A posts file also yields daily values (posts = rows, counters summed) so that
KPIs work from a posts export alone. Posts without an id get a stable content
hash (`h:…`), so re-importing the same file replaces, not doubles. A followers
column in a posts file with many authors (a collection of other people's
posts) is each author's, not the account's: it is dropped.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING

from kpi.importing.cells import cell_text
from kpi.importing.columns import Role
from kpi.importing.layouts.base import Detection, Evidence, Layout
from kpi.importing.reader import Cell
from kpi.models import PostRecord

if TYPE_CHECKING:
    from kpi.importing.core import ImportContext

_POST_TEXT_MAX = 2000
_HASHTAG_RE = re.compile(r"#([^\W_]\w*)", re.UNICODE)
_FORMATS = {
    "photo": "photo",
    "фото": "photo",
    "image": "photo",
    "picture": "photo",
    "изображение": "photo",
    "картинка": "photo",
    "video": "video",
    "видео": "video",
    "reel": "reel",
    "reels": "reel",
    "клип": "reel",
    "клипы": "reel",
    "shorts": "reel",
    "story": "story",
    "stories": "story",
    "сторис": "story",
    "история": "story",
    "text": "text",
    "текст": "text",
    "status": "text",
    "статус": "text",
    "post": "text",
    "link": "link",
    "ссылка": "link",
    "live": "live",
    "прямой эфир": "live",
    "эфир": "live",
    "трансляция": "live",
    "carousel": "carousel",
    "карусель": "carousel",
    "album": "carousel",
    "альбом": "carousel",
    "poll": "poll",
    "опрос": "poll",
    "article": "article",
    "статья": "article",
}
_POST_COUNTERS = ("reach", "impressions", "likes", "comments", "shares", "saves", "link_clicks")


def _hashtags(text: str) -> tuple[str, ...]:
    if "#" not in text:
        return ()
    seen: dict[str, None] = {}
    for tag in _HASHTAG_RE.findall(text):
        seen.setdefault(tag.casefold(), None)
    return tuple(seen)


def read_row(ctx: ImportContext, n: int, cells: list[Cell]) -> bool:
    day = ctx.day(n, cells, fallback=True)
    if day is None:
        return False
    values = ctx.row_values(n, cells)
    account = ctx.account(cells)
    author = ctx.first(Role.AUTHOR)
    if author is not None and len(ctx.authors) < 2:
        name = cell_text(ctx.cell(cells, author.index)).lower()
        if name:
            ctx.authors.add(name)
    text_col, tags_col = ctx.first(Role.TEXT), ctx.first(Role.HASHTAGS)
    text = cell_text(ctx.cell(cells, text_col.index)) if text_col else ""
    tags_text = cell_text(ctx.cell(cells, tags_col.index)) if tags_col else ""
    hashtags = _hashtags(tags_text) or _hashtags(text)
    id_col, fmt_col = ctx.first(Role.POST_ID), ctx.first(Role.FORMAT)
    post_id = cell_text(ctx.cell(cells, id_col.index)) if id_col else ""
    if not post_id:
        digest = hashlib.blake2b(
            "\x1f".join(cell_text(c) for c in cells).encode("utf-8", "replace"), digest_size=8
        )
        post_id = "h:" + digest.hexdigest()
    fmt = cell_text(ctx.cell(cells, fmt_col.index)).lower() if fmt_col else ""
    ctx.result.posts.append(
        PostRecord(
            account=account or "",
            day=day,
            post_id=post_id,
            format=_FORMATS.get(fmt, fmt) or None,
            hashtags=hashtags,
            text=text[:_POST_TEXT_MAX] or None,
            **{k: values.get(k) for k in _POST_COUNTERS},
        )
    )
    values["posts"] = values.get("posts", 0.0) + 1
    ctx.add((account, day), values)
    return True


def detect(ev: Evidence) -> Detection | None:
    if ev.has_metrics and ev.roles & {Role.POST_ID, Role.TEXT, Role.HASHTAGS, Role.FORMAT}:
        return Detection(40, "post_columns")
    return None


def finish(ctx: ImportContext) -> None:
    if len(ctx.authors) > 1:
        for group in ctx.result.values.values():
            group.pop("followers", None)
        for c in ctx.columns:
            if c.role is Role.METRIC and c.metric == "followers":
                ctx.ignore(c, "per_author")


LAYOUT = Layout(
    "posts",
    frozenset(
        {Role.DATE, Role.MONTH, Role.ACCOUNT, Role.PLATFORM, Role.AUTHOR, Role.POST_ID,
         Role.TEXT, Role.HASHTAGS, Role.FORMAT}
    ),
    uses_metrics=True,
    detect=detect,
    read_row=read_row,
    finish=finish,
    day_from_caption=True,
)  # fmt: skip
