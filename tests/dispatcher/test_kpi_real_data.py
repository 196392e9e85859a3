"""KPI answers on rows of real public files (../shared/data/smm), stored with
`storage.metrics.apply_import` and checked against an independent computation here."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest

from bot.app import create_bot, create_dispatcher
from bot.config import Settings
from kpi.models import PostRecord
from storage import Storage
from tests.conftest import SMM_DATA
from tests.dispatcher.conftest import Harness
from tests.fakeapi.recording import RecordingSession

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
FACEBOOK = SMM_DATA / "uci_facebook_metrics.csv"
WEBSITE = SMM_DATA / "website_daily_views.csv"

pytestmark = pytest.mark.shared_data


@pytest.fixture
async def bot_at(storage: Storage, settings: Settings) -> AsyncIterator[Harness]:
    session = RecordingSession()
    bot = create_bot(settings, session=session)
    dp = create_dispatcher(storage, settings, clock=lambda: NOW)
    yield Harness(dp, bot, session, storage, settings)
    await bot.session.close()


def _num(text: str) -> float | None:
    return float(text) if text.strip() else None


def facebook_posts() -> list[dict[str, str]]:
    # The file uses bare CR line ends; newline="" lets the csv module read them.
    with FACEBOOK.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


async def test_facebook_posts_engagement_and_formats(bot_at: Harness) -> None:
    rows = facebook_posts()
    assert len(rows) == 500
    ws, _ = await bot_at.storage.workspaces.ensure(1001, "private", None, "Europe/Moscow")
    # The 2014 page posts carry a month but no day: each counts on the 1st of its month.
    posts = []
    daily: dict[tuple[str, date], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for i, r in enumerate(rows):
        day = date(2014, int(r["Post Month"]), 1)
        likes, comments, shares = _num(r["like"]), _num(r["comment"]), _num(r["share"])
        reach = _num(r["Lifetime Post Total Reach"])
        impressions = _num(r["Lifetime Post Total Impressions"])
        posts.append(
            PostRecord("fb:page", day, f"post-{i}", r["Type"].lower(), reach=reach,
                       impressions=impressions, likes=likes, comments=comments, shares=shares)
        )  # fmt: skip
        values = daily[("fb:page", day)]
        values["posts"] += 1
        for name, value in (("reach", reach), ("impressions", impressions), ("likes", likes),
                            ("comments", comments), ("shares", shares)):  # fmt: skip
            if value is not None:
                values[name] += value
    await bot_at.storage.metrics.apply_import(
        ws.id,
        source=FACEBOOK.name,
        user_id=None,
        values={k: dict(v) for k, v in daily.items()},
        posts_in=posts,
    )

    # Independent ERR over the year: Σ (like + comment + share) / Σ reach × 100.
    interactions = sum(
        (_num(r["like"]) or 0) + (_num(r["comment"]) or 0) + (_num(r["share"]) or 0) for r in rows
    )
    reach = sum(_num(r["Lifetime Post Total Reach"]) or 0 for r in rows)
    err = interactions / reach * 100
    text = (await bot_at.say_text("/er 2014 fb:page", language_code="en")).split("\n")
    assert text[0] == "Engagement (ERR) · Jan 1 – Dec 31, 2014 · fb:page"
    assert text[1] == f"{err:.3g}%"
    formula = next(ln for ln in text if ln.startswith("Formula: "))
    assert formula.endswith(f" / {reach:,.0f} × 100 = {err:.3g}%")  # with the real Σ reach
    assert "⚠️ Data for 12 of 365 days" in text

    # Independent ERR per post type, over posts that have reach and any interaction.
    by_type: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for r in rows:
        parts = [_num(r[c]) for c in ("like", "comment", "share")]
        if all(p is None for p in parts):
            continue
        acc = by_type[r["Type"].lower()]
        acc[0] += sum(p or 0 for p in parts)
        acc[1] += _num(r["Lifetime Post Total Reach"]) or 0
    type_err = {t: v[0] / v[1] * 100 for t, v in by_type.items()}
    ranked = sorted(type_err, key=lambda t: -type_err[t])
    formats = (await bot_at.say_text("/formats 2014", language_code="en")).split("\n")
    listed = [ln.split(" — ")[0].split(". ", 1)[1] for ln in formats if ln[:1].isdigit()]
    assert listed == ranked
    best = next(ln for ln in formats if ln.startswith("1. "))
    assert f"ERR {type_err[ranked[0]]:.3g}%" in best


async def test_website_views_fill_pageviews_and_completeness(bot_at: Harness) -> None:
    with WEBSITE.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    ws, _ = await bot_at.storage.workspaces.ensure(1001, "private", None, "Europe/Moscow")
    values = {
        ("site", datetime.strptime(r["Date"], "%d/%m/%Y").date()): {"pageviews": float(r["Views"])}
        for r in rows
    }
    await bot_at.storage.metrics.apply_import(
        ws.id, source=WEBSITE.name, user_id=None, values=values
    )
    june = [v["pageviews"] for (_, d), v in values.items() if (d.year, d.month) == (2022, 6)]
    assert len(june) == 26  # the file ends on 26 June 2022
    text = (await bot_at.say_text("/timeonpage 2022-06 site", language_code="en")).split("\n")
    # pageviews are there, the time is not: the answer names exactly that
    assert text[1] == "Can't compute: no data on total time on page in this period."
    report = (await bot_at.say_text("/report 2022-06", language_code="en")).split("\n")
    assert report[1] == "Data for 26 of 30 days · compared with May 1–31, 2022"
