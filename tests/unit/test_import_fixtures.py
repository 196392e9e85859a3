"""Self-written fixtures in the documented shape of exports the corpus lacks.

See tests/fixtures/exports/README.md: each file was written for these tests from
the platform's documented export columns, never copied. Expectations are
computed here from the file with the csv module.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from kpi.importing import ParsedImport, parse_table

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "exports"
MSK = ZoneInfo("Europe/Moscow")


def _rows(name: str, *, skip: int = 0, delimiter: str = ",") -> list[dict[str, str]]:
    text = (FIXTURES / name).read_text("utf-8-sig")
    body = "".join(text.splitlines(keepends=True)[skip:])
    return list(csv.DictReader(io.StringIO(body, newline=""), delimiter=delimiter))


def _num(text: str) -> float:
    return float(text.replace("\u00a0", "").replace(" ", "").replace(",", "."))


def _parse(name: str, caption: str | None = None) -> ParsedImport:
    return parse_table((FIXTURES / name).read_bytes(), name, tz=MSK, caption=caption)


def test_yandex_direct_daily_by_campaign() -> None:
    rows = [
        r for r in _rows("yandex_direct_daily.csv", skip=1, delimiter=";") if r["День"] != "Итого"
    ]
    expected: dict[date, Counter[str]] = defaultdict(Counter)
    for r in rows:
        day = datetime.strptime(r["День"], "%d.%m.%Y").date()
        expected[day]["impressions"] += _num(r["Показы"])
        expected[day]["link_clicks"] += _num(r["Клики"])
        expected[day]["ad_spend"] += _num(r["Расход (руб.)"])
        expected[day]["conversions"] += _num(r["Конверсии"])
    parsed = _parse("yandex_direct_daily.csv", caption="ads:direct")
    assert parsed.values == {("ads:direct", d): dict(c) for d, c in expected.items()}
    assert parsed.rows_skipped == {"total": 1}
    ignored = dict(parsed.ignored_columns)
    assert ignored["CTR (%)"] == "redundant_ratio"  # clicks and impressions are both there
    # A bounce rate without sessions cannot become bounces: said, not guessed.
    assert ignored["Отказы (%)"] == "ratio_without_denominator"


def test_instagram_insights_daily() -> None:
    rows = _rows("instagram_insights_daily.csv")
    parsed = _parse("instagram_insights_daily.csv", caption="ig:brand")
    columns = {
        "reach": "Reach",
        "impressions": "Impressions",
        "link_clicks": "Website clicks",
        "followers": "Follower count",
        "interactions": "Total interactions",
        "likes": "Likes",
        "comments": "Comments",
        "shares": "Shares",
        "saves": "Saves",
    }
    assert parsed.values == {
        ("ig:brand", date.fromisoformat(r["Date"])): {m: _num(r[h]) for m, h in columns.items()}
        for r in rows
    }
    assert dict(parsed.ignored_columns) == {
        "Profile views": "not_a_metric",
        "Accounts engaged": "not_a_metric",
    }


def test_monthly_follower_stats_count_on_the_span_end() -> None:
    rows = _rows("monthly_follower_stats.csv")
    parsed = _parse("monthly_follower_stats.csv")
    assert parsed.layout == "span"
    assert parsed.values == {
        (None, date.fromisoformat(r["period_end"])): {
            "new_followers": _num(r["followers_gained"]),
            "unfollows": _num(r["followers_lost"]),
            "followers": _num(r["followers_total"]),
            "posts": _num(r["posts"]),
            "views": _num(r["views"]),
        }
        for r in rows
    }
    # The net change is kept only where there is no gained/lost split.
    assert ("followers_net", "redundant_net") in parsed.ignored_columns
    reading = {header: (became, why) for _i, header, became, why in parsed.columns}
    assert reading["followers_gained"] == ("new_followers", "followers + gained")
    assert reading["followers_lost"] == ("unfollows", "followers + lost")
    assert reading["followers_total"] == ("followers", "followers + total")
    assert not parsed.unsure


def test_tweets_mentions_per_day_in_the_workspace_zone() -> None:
    rows = _rows("twitter_airline_mentions.csv")
    per_day: dict[date, Counter[str]] = defaultdict(Counter)
    for r in rows:
        moment = datetime.strptime(r["tweet_created"], "%Y-%m-%d %H:%M:%S %z")
        day = moment.astimezone(MSK).date()
        per_day[day]["mentions"] += 1
        per_day[day]["mentions_positive"] += r["airline_sentiment"] == "positive"
        per_day[day]["mentions_negative"] += r["airline_sentiment"] == "negative"
    parsed = _parse("twitter_airline_mentions.csv")
    assert parsed.layout == "mentions"
    assert parsed.layout_alternative == "posts"  # retweet_count beside it: the bot asks
    assert parsed.values == {
        (None, d): {k: float(c[k]) for k in ("mentions", "mentions_positive", "mentions_negative")}
        for d, c in per_day.items()
    }


def test_audience_files_in_both_spellings() -> None:
    ru = _rows("vk_audience_ru.csv", delimiter=";")
    parsed = _parse("vk_audience_ru.csv")
    assert parsed.layout == "audience"
    dims = {"Возраст": "age", "Пол": "gender", "Город": "city"}
    assert [(b.dimension, b.bucket, b.value, b.is_share) for b in parsed.audience] == [
        (dims[r["Срез"]], r["Группа"], _num(r["Доля"].rstrip("%")), True) for r in ru
    ]
    en = _rows("instagram_audience_en.csv")
    parsed = _parse("instagram_audience_en.csv")
    # Fractions that add up to 1 per dimension are shares: stored in percent.
    assert [(b.dimension, b.bucket, round(b.value, 9)) for b in parsed.audience] == [
        (r["dimension"], r["bucket"], round(float(r["share"]) * 100, 9)) for r in en
    ]
