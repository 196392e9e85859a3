"""Every real export in ../shared/data/exports/ imports without edits.

The files are third-party (see that folder's README): they stay in ../shared,
and these tests skip when it is absent. Each expectation is computed here from
the file with the csv module, independently of the importer's code: which
cell becomes which metric is the claim under test, so it is written out per
file, with the reason where the reading is not obvious.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kpi.importing import ParsedImport, parse_table
from tests.shareddata import EXPORTS_DATA as EXPORTS

MSK = ZoneInfo("Europe/Moscow")
# The day the TikTok export was made (its commit in the source repository, README §4).
TIKTOK_EXPORT_DAY = date(2026, 2, 28)

# Skipped with the shared-data reason when ../shared/data is absent (tests/conftest.py).
pytestmark = pytest.mark.shared_data


def _rows(
    name: str, *, skip: int = 0, encoding: str = "utf-8-sig", delimiter: str = ","
) -> list[dict[str, str]]:
    text = (EXPORTS / name).read_bytes().decode(encoding)
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.splitlines(keepends=True)[skip:]
    return list(csv.DictReader(io.StringIO("".join(lines), newline=""), delimiter=delimiter))


def _num(text: str) -> float:
    t = text.strip().replace(",", "")
    return 0.0 if t in ("", "--", "undefined") else float(t)


def _parse(name: str, caption: str | None = None, today: date | None = None) -> ParsedImport:
    return parse_table((EXPORTS / name).read_bytes(), name, tz=MSK, caption=caption, today=today)


def _totals(parsed: ParsedImport) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for group in parsed.values.values():
        for metric, value in group.items():
            out[metric] += value
    return dict(out)


def _by_day(parsed: ParsedImport, metric: str) -> dict[date, float]:
    return {day: g[metric] for (_a, day), g in parsed.values.items() if metric in g}


def _approx(actual: dict[str, float], expected: dict[str, float]) -> None:
    assert set(actual) == set(expected), (sorted(actual), sorted(expected))
    for key, value in expected.items():
        assert actual[key] == pytest.approx(value, rel=1e-9, abs=1e-6), key


# ---------------------------------------------------------------- Google Analytics 4


def test_ga4_landing_page() -> None:
    rows = _rows("ga4_landing_page.csv", skip=9)
    parsed = _parse("ga4_landing_page.csv")
    assert (parsed.layout, parsed.platform, parsed.needs_day) == ("aggregate", "ga4", False)
    # The `# End date: 20250804` line above the table is the day.
    assert parsed.date_range == (date(2025, 8, 4), date(2025, 8, 4))
    _approx(
        _totals(parsed),
        {
            "sessions": sum(_num(r["Sessions"]) for r in rows),
            "visitors": sum(_num(r["Active users"]) for r in rows),  # GA4 "users" are visitors
            "new_visitors": sum(_num(r["New users"]) for r in rows),
            "conversions": sum(_num(r["Key events"]) for r in rows),
            "revenue": sum(_num(r["Total revenue"]) for r in rows),
            # Average engagement per session → a total: average × sessions.
            "time_on_page_s": sum(
                _num(r["Average engagement time per session"]) * _num(r["Sessions"]) for r in rows
            ),
        },
    )
    assert parsed.rows_used == len(rows) == 211
    assert not parsed.unsure and parsed.layout_alternative is None


def test_ga4_pages_and_screens() -> None:
    rows = _rows("ga4_pages_and_screens.csv", skip=9)
    parsed = _parse("ga4_pages_and_screens.csv")
    assert parsed.date_range == (date(2026, 1, 13), date(2026, 1, 13))
    _approx(
        _totals(parsed),
        {
            "pageviews": sum(_num(r["Views"]) for r in rows),  # a website's views: page views
            "visitors": sum(_num(r["Active users"]) for r in rows),
            "conversions": sum(_num(r["Key events"]) for r in rows),
            "revenue": sum(_num(r["Total revenue"]) for r in rows),
        },
    )


def test_ga4_reports_snapshot_first_table_by_nth_day() -> None:
    text = (EXPORTS / "ga4_reports_snapshot.csv").read_text("utf-8")
    start = date(2025, 12, 4)  # "# Start date: 20251204"
    assert "# Start date: 20251204" in text
    table = text.split("Nth day,Active users\n", 1)[1].split("\n\n", 1)[0]
    expected = {
        start + timedelta(days=int(n)): float(v)
        for n, v in (line.split(",") for line in table.strip().splitlines())
    }
    parsed = _parse("ga4_reports_snapshot.csv")
    assert parsed.layout == "wide"
    assert _by_day(parsed, "visitors") == expected
    assert parsed.date_range == (min(expected), max(expected)) == (start, date(2025, 12, 31))


# ---------------------------------------------------------------- Google Ads (UTF-16, tabs)


@pytest.mark.parametrize(
    ("name", "impressions", "clicks"),
    [
        ("google_ads_search_keyword_report_utf16.csv", "Impr.", "Clicks"),
        ("google_ads_search_terms_report_utf16.csv", "Impr.", "Clicks"),
    ],
)
def test_google_ads_reports_store_the_account_total(
    name: str, impressions: str, clicks: str
) -> None:
    rows = _rows(name, skip=2, encoding="utf-16", delimiter="\t")
    account = next(r for r in rows if "Total: Account" in r.values())
    parsed = _parse(name)
    # "1 May 2026 - 8 May 2026" on line 2: the period counts on its last day.
    assert parsed.date_range == (date(2026, 5, 8), date(2026, 5, 8))
    # Smart campaigns have no keyword rows, so the keyword rows sum to far less than
    # the account: the platform's own "Total: Account" row is what the account did.
    assert parsed.total_row == "Total: Account"
    expected = {
        "impressions": _num(account[impressions]),
        "link_clicks": _num(account[clicks]),
        "ad_spend": _num(account["Cost"]),
        "conversions": _num(account["Conversions"]),
    }
    if "Interactions" in account:
        expected["interactions"] = _num(account["Interactions"])
    _approx(_totals(parsed), expected)
    assert expected["impressions"] == 10708
    item_rows = [r for r in rows if not any(v.startswith("Total:") for v in r.values() if v)]
    assert parsed.rows_skipped["breakdown"] == len(item_rows)


# ---------------------------------------------------------------- Search Console


@pytest.mark.parametrize("name", ["gsc_performance_pages.csv", "gsc_performance_queries.csv"])
def test_search_console_totals_take_the_caption_day(name: str) -> None:
    rows = _rows(name)
    asked = _parse(name)
    assert asked.needs_day and asked.values == {}  # no date anywhere: the bot asks
    parsed = _parse(name, caption="site 2024-06-30")
    # CTR is clicks / impressions, both in the file: not stored twice.
    assert ("CTR", "redundant_ratio") in parsed.ignored_columns
    assert parsed.values == {
        ("site", date(2024, 6, 30)): {
            "link_clicks": sum(_num(r["Clicks"]) for r in rows),
            "impressions": sum(_num(r["Impressions"]) for r in rows),
        }
    }


# ---------------------------------------------------------------- Meta Ads Manager


@pytest.mark.parametrize(
    "name", ["meta_ads_manager_campaigns.csv", "meta_ads_manager_campaigns_by_age.csv"]
)
def test_meta_ads_store_the_totals_row(name: str) -> None:
    rows = _rows(name)
    total = rows[0]
    assert total["Campaign name"] == ""
    parsed = _parse(name)
    end = date.fromisoformat(total["Reporting ends"])
    # The totals row has the de-duplicated reach (the campaigns' reach sums higher).
    assert sum(_num(r["Reach"]) for r in rows[1:]) > _num(total["Reach"])
    assert parsed.values == {
        (None, end): {
            "reach": _num(total["Reach"]),
            "impressions": _num(total["Impressions"]),
            "ad_spend": _num(total["Amount spent (INR)"]),
            "link_clicks": _num(total["Link clicks"]),
            "conversions": _num(total["Purchases"]),
        }
    }
    assert parsed.rows_skipped == {"breakdown": len(rows) - 1}


# ---------------------------------------------------------------- Microsoft Clarity


def test_clarity_top_pages() -> None:
    rows = _rows("ms_clarity_top_pages.csv", skip=4)
    parsed = _parse("ms_clarity_top_pages.csv")
    # "02/01/2025 12:00 AM - 08/04/2025 11:59 PM": US dates, the range ends on 4 August.
    assert parsed.values == {
        (None, date(2025, 8, 4)): {"sessions": sum(_num(r["No. of sessions"]) for r in rows)}
    }


# ---------------------------------------------------------------- TikTok Studio


def _tiktok_days(rows: list[dict[str, str]]) -> list[date]:
    """Consecutive days ending the day before the export, checked against the file's text."""
    last = TIKTOK_EXPORT_DAY - timedelta(days=1)
    days = [last - timedelta(days=len(rows) - 1 - i) for i in range(len(rows))]
    for row, day in zip(rows, days, strict=True):
        assert row["Date"] == f"{day:%B} {day.day}"
    return days


def test_tiktok_overview_days_without_a_year() -> None:
    rows = _rows("tiktok_studio_overview_daily.csv")
    days = _tiktok_days(rows)
    parsed = _parse("tiktok_studio_overview_daily.csv", today=TIKTOK_EXPORT_DAY)
    assert parsed.date_range == (date(2025, 2, 28), date(2026, 2, 27))
    for metric, header in (
        ("views", "Video Views"),
        ("likes", "Likes"),
        ("comments", "Comments"),
        ("shares", "Shares"),
    ):
        got = _by_day(parsed, metric)
        assert got == {d: _num(r[header]) for d, r in zip(days, rows, strict=True)}, metric
    # Daily comments are net of deleted ones: some days are below zero, kept and said.
    negative = sum(1 for r in rows if _num(r["Comments"]) < 0)
    assert parsed.negative_cells == {"Comments": negative} and negative > 0


def test_tiktok_follower_history() -> None:
    rows = _rows("tiktok_studio_follower_history.csv")
    days = _tiktok_days(rows)
    parsed = _parse("tiktok_studio_follower_history.csv", today=TIKTOK_EXPORT_DAY)
    pairs = list(zip(days, rows, strict=True))
    assert _by_day(parsed, "followers") == {
        d: _num(r["Followers"]) for d, r in pairs if r["Followers"] != "undefined"
    }
    assert _by_day(parsed, "net_followers") == {
        d: _num(r["Difference in followers from previous day"]) for d, r in pairs
    }
    assert min(_by_day(parsed, "net_followers").values()) < 0  # net changes may be negative


def test_tiktok_content_counts_on_the_report_day() -> None:
    rows = _rows("tiktok_studio_content_posts.csv")
    assert {r["Time"] for r in rows} == {"February 28"}
    parsed = _parse("tiktok_studio_content_posts.csv", today=TIKTOK_EXPORT_DAY)
    assert parsed.values == {
        (None, TIKTOK_EXPORT_DAY): {
            "likes": sum(_num(r["Total likes"]) for r in rows),
            "comments": sum(_num(r["Total comments"]) for r in rows),
            "shares": sum(_num(r["Total shares"]) for r in rows),
            "views": sum(_num(r["Total views"]) for r in rows),
        }
    }


# ---------------------------------------------------------------- X (Twitter)


def test_x_account_overview_daily_newest_first() -> None:
    rows = _rows("x_account_overview_daily.csv")
    parsed = _parse("x_account_overview_daily.csv")
    columns = {
        "impressions": "Impressions",
        "likes": "Likes",
        "interactions": "Engagements",
        "saves": "Bookmarks",
        "shares": "Shares",
        "new_followers": "New follows",  # followers + gained
        "unfollows": "Unfollows",
        "comments": "Replies",
        "posts": "Create Post",
        "views": "Video views",
    }
    expected = {
        (None, datetime.strptime(r["Date"], "%a, %b %d, %Y").date()): {
            metric: _num(r[header]) for metric, header in columns.items()
        }
        for r in rows
    }
    assert parsed.values == expected
    assert parsed.date_range == (date(2024, 12, 31), date(2025, 2, 18))


def test_x_content_posts_keep_19_digit_ids() -> None:
    rows = _rows("x_account_analytics_content_posts.csv")
    parsed = _parse("x_account_analytics_content_posts.csv")
    assert parsed.layout == "posts"
    assert [p.post_id for p in parsed.posts] == [r["Post id"] for r in rows]
    assert all(len(p.post_id) == 19 for p in parsed.posts)
    by_id = {p.post_id: p for p in parsed.posts}
    for r in rows:
        post = by_id[r["Post id"]]
        assert post.day == datetime.strptime(r["Date"], "%a %b %d %Y").date()
        assert (post.impressions, post.likes, post.link_clicks) == (
            _num(r["Impressions"]), _num(r["Likes"]), _num(r["Url clicks"]),
        )  # fmt: skip
    totals = _totals(parsed)
    assert totals["posts"] == len(rows) == 141
    assert totals["new_followers"] == sum(_num(r["New follows"]) for r in rows)


# ---------------------------------------------------------------- YouTube Studio


def test_youtube_chart_data_sums_videos_per_day() -> None:
    rows = _rows("youtube_studio_chart_data_daily_per_video.csv")
    expected: dict[date, float] = defaultdict(float)
    for r in rows:
        expected[date.fromisoformat(r["Date"])] += _num(r["Views"])
    parsed = _parse("youtube_studio_chart_data_daily_per_video.csv")
    # One row per video and day (the ids repeat): a daily table, not 1,825 posts.
    assert parsed.layout == "wide" and parsed.posts == []
    assert _by_day(parsed, "views") == dict(expected)


def test_youtube_table_data_per_video_posts() -> None:
    rows = [r for r in _rows("youtube_studio_table_data_per_video.csv") if r["Content"] != "Total"]
    parsed = _parse("youtube_studio_table_data_per_video.csv")
    assert parsed.layout == "posts"
    assert len(parsed.posts) == len(rows) == 317
    totals = _totals(parsed)
    for metric, header in (
        ("views", "Views"),
        ("likes", "Likes"),
        ("comments", "Comments added"),
        ("shares", "Shares"),
        ("impressions", "Impressions"),
        ("new_followers", "Subscribers gained"),
        ("unfollows", "Subscribers lost"),
    ):
        assert totals[metric] == sum(_num(r[header]) for r in rows), metric
    # Per video "Subscribers" = gained − lost: a net change, not the channel's count.
    assert ("Subscribers", "redundant_net") in parsed.ignored_columns
    assert "followers" not in totals
    days = {datetime.strptime(r["Video publish time"], "%b %d, %Y").date() for r in rows}
    assert {p.day for p in parsed.posts} == days


def test_youtube_engaged_views_are_views_but_unsure() -> None:
    rows = _rows("youtube_studio_totals_daily_engaged_views.csv")
    parsed = _parse("youtube_studio_totals_daily_engaged_views.csv")
    # "Engaged" is a word the bot does not know: it proposes views and asks first.
    assert parsed.unsure == [(1, "Engaged views", "views")]
    assert _by_day(parsed, "views") == {
        date.fromisoformat(r["Date"]): _num(r["Engaged views"]) for r in rows
    }


# The corpus as its README lists it (tests/dispatcher/test_corpus_uploads.py sends each).
CORPUS = (
    "ga4_landing_page.csv", "ga4_pages_and_screens.csv", "ga4_reports_snapshot.csv",
    "google_ads_search_keyword_report_utf16.csv", "google_ads_search_terms_report_utf16.csv",
    "gsc_performance_pages.csv", "gsc_performance_queries.csv",
    "meta_ads_manager_campaigns.csv", "meta_ads_manager_campaigns_by_age.csv",
    "ms_clarity_top_pages.csv", "tiktok_studio_content_posts.csv",
    "tiktok_studio_follower_history.csv", "tiktok_studio_overview_daily.csv",
    "x_account_analytics_content_posts.csv", "x_account_overview_daily.csv",
    "youtube_studio_chart_data_daily_per_video.csv",
    "youtube_studio_table_data_per_video.csv", "youtube_studio_totals_daily_engaged_views.csv",
)  # fmt: skip


def test_every_corpus_file_is_covered_here() -> None:
    assert {p.name for p in Path(EXPORTS).glob("*.csv")} == set(CORPUS)
