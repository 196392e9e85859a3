"""File imports: every real file in ../shared/data/smm (tests marked shared_data),
platform-format fixtures, bad files.

Expected totals are computed here independently with the csv module, never
with the importer's own helpers.
"""

from __future__ import annotations

import contextlib
import csv
import io
import subprocess
import sys
import time
import zipfile
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpi.importing import ImportFailure, ParsedImport, parse_caption, parse_table
from tests.shareddata import SMM_DATA

REPO = Path(__file__).resolve().parents[2]
SMM = SMM_DATA  # third-party files: only tests marked shared_data read them
FIXTURES = REPO / "tests" / "fixtures" / "exports"
MSK = ZoneInfo("Europe/Moscow")
UTC = ZoneInfo("UTC")


def _parse(data: bytes, name: str = "file.csv", caption: str | None = None, **kw) -> ParsedImport:
    return parse_table(data, name, tz=kw.pop("tz", MSK), caption=caption, **kw)


def _real(name: str, caption: str | None = None, tz: ZoneInfo = MSK) -> ParsedImport:
    return parse_table((SMM / name).read_bytes(), name, tz=tz, caption=caption)


def _fixture(name: str, caption: str | None = None) -> ParsedImport:
    return parse_table((FIXTURES / name).read_bytes(), name, tz=MSK, caption=caption)


def _totals(result: ParsedImport) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for group in result.values.values():
        for k, v in group.items():
            out[k] += v
    return dict(out)


def _rows(name: str, delimiter: str = ",", encoding: str = "utf-8") -> list[dict[str, str]]:
    with open(SMM / name, newline="", encoding=encoding) as f:
        return list(csv.DictReader(f, delimiter=delimiter))


def _failure(data: bytes, name: str = "file.csv", **kw) -> ImportFailure:
    with pytest.raises(ImportFailure) as exc:
        _parse(data, name, **kw)
    return exc.value


# ---------------------------------------------------------------- real files


@pytest.mark.shared_data
def test_website_daily_views() -> None:
    rows = _rows("website_daily_views.csv")
    r = _real("website_daily_views.csv")
    assert r.layout == "wide"
    assert r.rows_read == r.rows_used == len(rows) == 391
    expected = {
        datetime.strptime(row["Date"], "%d/%m/%Y").date(): float(row["Views"]) for row in rows
    }
    # A website's "Views" are page views, not post impressions.
    assert r.values == {(None, d): {"pageviews": v} for d, v in expected.items()}
    assert r.date_range == (date(2021, 6, 1), date(2022, 6, 26))
    assert r.metrics == {"pageviews"}


@pytest.mark.shared_data
def test_facebook_posts_need_a_caption_day() -> None:
    r = _real("uci_facebook_metrics.csv")
    assert r.layout == "posts"
    assert r.needs_day
    assert r.values == {} and r.posts == []
    assert r.rows_read == 500  # checked in full before the question


@pytest.mark.shared_data
def test_facebook_posts() -> None:
    with open(SMM / "uci_facebook_metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 500
    r = _real("uci_facebook_metrics.csv", caption="fb:brand 2014-12-31")
    assert r.layout == "posts"
    assert r.platform == "facebook"
    assert len(r.posts) == r.rows_used == 500
    assert r.accounts == {"fb:brand"}

    def col_sum(name: str) -> float:
        return sum(float(row[name]) for row in rows if row[name] != "")

    totals = _totals(r)
    assert totals["reach"] == col_sum("Lifetime Post Total Reach")
    assert totals["impressions"] == col_sum("Lifetime Post Total Impressions")
    assert totals["likes"] == col_sum("like")
    assert totals["comments"] == col_sum("comment")
    assert totals["shares"] == col_sum("share")
    assert totals["interactions"] == col_sum("Total Interactions")
    assert totals["posts"] == 500
    assert sum(p.likes or 0 for p in r.posts) == col_sum("like")
    assert sum(1 for p in r.posts if p.shares is None) == 4  # empty cells stay missing
    assert Counter(p.format for p in r.posts) == {"photo": 426, "text": 45, "link": 22, "video": 7}
    # Posts fall on their month's last day; the file runs newest first, so a
    # month's follower count is its first row's.
    first_per_month: dict[int, float] = {}
    for row in rows:
        first_per_month.setdefault(int(row["Post Month"]), float(row["Page total likes"]))
    for month, followers in first_per_month.items():
        last = (date(2014, month, 28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        assert r.values[("fb:brand", last)]["followers"] == followers
    assert r.values[("fb:brand", date(2014, 12, 31))]["followers"] == 139441
    assert r.date_range == (date(2014, 1, 31), date(2014, 12, 31))
    assert len({p.post_id for p in r.posts}) == 500
    again = _real("uci_facebook_metrics.csv", caption="fb:brand 2014-12-31")
    assert [p.post_id for p in again.posts] == [p.post_id for p in r.posts]
    ignored = dict(r.ignored_columns)
    assert ignored["Paid"] == "not_a_metric"
    assert "Page total likes" not in ignored


@pytest.mark.shared_data
def test_online_shoppers_sessions() -> None:
    rows = _rows("uci_online_shoppers_intention.csv", delimiter=";")
    r = _real("uci_online_shoppers_intention.csv", caption="2024-05-31")
    assert r.layout == "sessions"
    assert r.rows_used == len(rows) == 12330
    totals = _totals(r)
    pages = ("Administrative", "Informational", "ProductRelated")
    assert totals["sessions"] == 12330
    assert totals["pageviews"] == sum(float(row[p]) for row in rows for p in pages)
    assert totals["time_on_page_s"] == pytest.approx(
        sum(float(row[p + "_Duration"]) for row in rows for p in pages)
    )
    assert totals["bounces"] == pytest.approx(sum(float(row["BounceRates"]) for row in rows))
    assert totals["new_visitors"] == 1694
    assert totals["returning_visitors"] == 10551
    assert totals["conversions"] == 1908 == sum(row["Revenue"] == "TRUE" for row in rows)
    assert "revenue" not in totals  # TRUE/FALSE is a converting visit, not an amount
    # Months without a year: the twelve months that end on the caption's day.
    assert r.date_range == (date(2023, 6, 30), date(2024, 5, 31))
    feb = sum(row["Month"] == "Feb" for row in rows)
    assert r.values[(None, date(2024, 2, 29))]["sessions"] == feb
    june = sum(row["Month"] == "June" for row in rows)
    assert r.values[(None, date(2023, 6, 30))]["sessions"] == june


@pytest.mark.shared_data
def test_instagram_posts_with_glued_hashtags() -> None:
    rows = _rows("instagram_posts_hashtags_likes.csv")
    r = _real("instagram_posts_hashtags_likes.csv", caption="ig:brand 2024-05-31")
    assert r.layout == "posts"
    assert len(r.posts) == 100
    assert {p.day for p in r.posts} == {date(2024, 5, 31)}
    assert {p.account for p in r.posts} == {"ig:brand"}
    assert _totals(r)["likes"] == sum(float(row["Likes"]) for row in rows)
    tags = r.posts[1].hashtags
    assert {"deck", "mac", "macintosh", "sayhello", "evolution", "artificialintelligence"} <= set(
        tags
    )
    assert all("#" not in t and t == t.casefold() for p in r.posts for t in p.hashtags)
    # Followers of 95 different authors are not the account's follower count.
    assert "followers" not in r.metrics
    assert ("Followers", "per_author") in r.ignored_columns


@pytest.mark.shared_data
def test_ifood_crm_table_gives_new_customers_by_day() -> None:
    rows = _rows("ifood_marketing_campaign.csv", delimiter=";", encoding="utf-8-sig")
    r = _real("ifood_marketing_campaign.csv")
    assert r.layout == "customers"
    expected = Counter(date.fromisoformat(row["Dt_Customer"]) for row in rows)
    assert r.values == {(None, d): {"new_customers": float(n)} for d, n in expected.items()}
    assert r.date_range == (date(2012, 7, 30), date(2014, 6, 29))
    # Household income is not revenue.
    assert ("Income", "customer_attribute") in r.ignored_columns
    assert r.metrics == {"new_customers"}


@pytest.mark.shared_data
@pytest.mark.parametrize("tz", [MSK, UTC, ZoneInfo("America/Los_Angeles")])
def test_apple_mentions(tz: ZoneInfo) -> None:
    rows = _rows("apple_brand_mentions_tweets.csv", encoding="cp1252")
    assert len(rows) == 3886
    expected: dict[date, Counter[str]] = defaultdict(Counter)
    for row in rows:
        if row["sentiment"] == "not_relevant":
            continue
        moment = datetime.strptime(row["date"], "%a %b %d %H:%M:%S %z %Y")
        day = moment.astimezone(tz).date()
        expected[day]["mentions"] += 1
        expected[day]["mentions_positive"] += row["sentiment"] == "5"
        expected[day]["mentions_negative"] += row["sentiment"] == "1"
    r = _real("apple_brand_mentions_tweets.csv", tz=tz)
    assert r.layout == "mentions"
    assert r.encoding == "cp1252"
    assert r.rows_read == 3886
    assert r.rows_skipped == {"not_relevant": 82}
    assert r.values == {(None, d): {k: float(v) for k, v in c.items()} for d, c in expected.items()}
    totals = _totals(r)
    assert (totals["mentions_positive"], totals["mentions_negative"]) == (423, 1219)


def test_json_that_is_not_telegram_statistics_is_refused_clearly() -> None:
    # Telegram's statistics JSON imports (tests/unit/test_telegram_stats.py); other JSON not.
    e = _failure(b'[{"date": "2024-05-01", "reach": 10}]', "chart_data.json")
    assert e.code == "not_a_table"


# ---------------------------------------------------------------- platform formats


def test_vk_community_stats_cp1251() -> None:
    raw = (FIXTURES / "vk_community_stats.csv").read_bytes()
    rows = list(csv.DictReader(io.StringIO(raw.decode("cp1251"), newline=""), delimiter=";"))
    r = _fixture("vk_community_stats.csv", caption="vk:brand")
    assert (r.layout, r.platform, r.encoding) == ("wide", "vk", "cp1251")

    def col(name: str) -> float:
        return sum(float(row[name].replace(" ", "")) for row in rows)

    totals = _totals(r)
    assert totals["reach"] == col("Полный охват")
    # VK's «Просмотры» are views, neither impressions nor reach (views / reach is no frequency).
    assert totals["views"] == col("Просмотры")
    assert "impressions" not in totals
    assert totals["visitors"] == col("Посетители")
    assert totals["likes"] == col("Мне нравится")
    assert totals["shares"] == col("Рассказать друзьям")
    assert totals["new_followers"] == col("Подписались")
    assert totals["unfollows"] == col("Отписались")
    assert r.values[("vk:brand", date(2024, 5, 7))]["followers"] == 15409
    # "Охват подписчиков" is part of the full reach: adding it would count people twice.
    assert ("Охват подписчиков", "not_a_metric") in r.ignored_columns
    assert r.accounts == {"vk:brand"}


def test_tgstat_channel() -> None:
    r = _fixture("tgstat_channel.csv", caption="tg:brandchannel")
    assert (r.layout, r.platform) == ("wide", "tgstat")
    day1 = r.values[("tg:brandchannel", date(2024, 5, 1))]
    assert day1["followers"] == 5210
    assert day1["reach"] == 3100 * 3  # average post reach × posts
    assert day1["mentions"] == 2
    ignored = dict(r.ignored_columns)
    assert ignored["ERR"] == "computed_kpi"
    # The net change is kept only where an export has no gained/lost split.
    assert ignored["Прирост"] == "redundant_net"
    assert day1["views"] == 9800  # Telegram's ERR = views / subscribers needs views as views


def test_yandex_metrica() -> None:
    r = _fixture("yandex_metrica_traffic.csv", caption="site")
    assert (r.layout, r.platform) == ("wide", "yandex_metrica")
    assert r.rows_skipped == {"total": 1}
    day = r.values[("site", date(2024, 5, 1))]
    assert day["sessions"] == 1100
    assert day["pageviews"] == 3300
    assert day["bounces"] == pytest.approx(0.215 * 1100)
    assert day["time_on_page_s"] == pytest.approx(125 * 1100)  # 00:02:05 per visit
    # GA's "<00:00:01": half a second.
    assert r.values[("site", date(2024, 5, 5))]["time_on_page_s"] == pytest.approx(0.5 * 1150)
    assert _totals(r)["sessions"] == 5610
    assert ("Глубина просмотра", "redundant_ratio") in r.ignored_columns


def test_ga4_first_table_only() -> None:
    r = _fixture("ga4_traffic_acquisition.csv")
    assert (r.layout, r.platform) == ("wide", "ga4")
    assert r.header_row == 10
    assert r.rows_read == 5
    totals = _totals(r)
    assert totals["sessions"] == 625
    assert totals["pageviews"] == 1540
    assert totals["conversions"] == 16
    assert totals["revenue"] == pytest.approx(897.65)
    # GA4's bounce rate is 1 − engagement rate.
    assert totals["bounces"] == pytest.approx(
        120 * 0.3 + 140 * 0.35 + 95 * 0.4 + 160 * 0.25 + 110 * 0.3
    )
    assert r.values[(None, date(2024, 5, 1))]["time_on_page_s"] == pytest.approx(45.2 * 120)


def test_ga4_without_date_column_uses_end_date_or_caption() -> None:
    r = _fixture("ga4_channels_no_date.csv")
    assert r.layout == "aggregate"
    assert not r.needs_day
    assert r.values == {
        (None, date(2024, 5, 31)): {
            "sessions": 2750,
            "pageviews": 6600,
            "new_visitors": 1050,
            "conversions": 24,
        }
    }
    r = _fixture("ga4_channels_no_date.csv", caption="site 2024-06-02")
    assert list(r.values) == [("site", date(2024, 6, 2))]


def test_vk_ads() -> None:
    r = _fixture("vk_ads_campaigns.csv", caption="ads:vk")
    assert (r.layout, r.platform) == ("wide", "ads")
    assert r.rows_skipped == {"total": 1}
    day = r.values[("ads:vk", date(2024, 5, 1))]
    assert day == {
        "impressions": 16500,
        "link_clicks": 375,
        "ad_spend": pytest.approx(1860.5),
        "conversions": 21,
    }
    assert _totals(r)["ad_spend"] == pytest.approx(5016.1)
    assert ("CTR", "redundant_ratio") in r.ignored_columns


def test_google_ads() -> None:
    r = _fixture("google_ads_campaigns.csv", caption="ads:google")
    assert (r.layout, r.platform) == ("wide", "ads")
    assert r.header_row == 3
    assert r.rows_skipped == {"total": 1}
    totals = _totals(r)
    assert totals == {
        "impressions": 4625,
        "link_clicks": 148,
        "ad_spend": pytest.approx(84.1),
        "conversions": 6.5,
        "revenue": 390,
    }


def _metrica_xlsx() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Отчёт «Посещаемость»"])
    ws.append(["Период: 01.05.2024 — 03.05.2024"])
    ws.append([])
    ws.append(["Дата визита", "Визиты", "Посетители", "Отказы", "Время на сайте"])
    ws.append(["Итого и средние", 300, 250, 0.2, "00:02:00"])
    ws.append([datetime(2024, 5, 1), 100, 80, "20 %", timedelta(minutes=2)])
    ws.append([datetime(2024, 5, 2), 120, 95, "25 %", "00:01:30"])
    ws.append([date(2024, 5, 3), 80, 75, "15 %", 150])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_xlsx_metrica_with_title_rows() -> None:
    r = _parse(_metrica_xlsx(), "metrica.xlsx", caption="site")
    assert r.layout == "wide"
    assert r.header_row == 4
    assert r.rows_skipped == {"total": 1}
    assert r.values[("site", date(2024, 5, 1))] == {
        "sessions": 100,
        "visitors": 80,  # Metrica's «Посетители»: unique site visitors
        "bounces": pytest.approx(20),
        "time_on_page_s": pytest.approx(12000),
    }
    assert r.values[("site", date(2024, 5, 2))]["time_on_page_s"] == pytest.approx(90 * 120)
    assert r.values[("site", date(2024, 5, 3))]["time_on_page_s"] == pytest.approx(150 * 80)


# ---------------------------------------------------------------- layouts


def test_long_layout_converts_ratios_with_the_days_sessions() -> None:
    data = (
        "date,account,metric,value\n"
        "2024-05-01,site,sessions,200\n"
        "2024-05-01,site,bounce rate,45%\n"
        "2024-05-01,site,Показы,1000\n"
        "2024-05-02,site,отказы,0.5\n"
        "2024-05-02,site,визиты,10\n"
        "2024-05-02,site,mood,happy\n"
    ).encode()
    r = _parse(data)
    assert r.layout == "long"
    assert r.values[("site", date(2024, 5, 1))] == {
        "sessions": 200,
        "bounces": pytest.approx(90),
        "impressions": 1000,
    }
    assert r.values[("site", date(2024, 5, 2))]["bounces"] == pytest.approx(5)
    assert ("mood", "unknown_metric") in r.ignored_columns


def test_span_rows_count_on_the_last_day() -> None:
    data = "period_start;period_end;Охват;Подписчики\n01.05.2024;07.05.2024;5 000;100\n".encode()
    r = _parse(data, caption="vk:brand")
    assert r.layout == "span"
    assert r.values == {("vk:brand", date(2024, 5, 7)): {"reach": 5000, "followers": 100}}


def test_aggregate_without_any_day_asks() -> None:
    r = _parse(b"reach,likes\n100,5\n")
    assert r.layout == "aggregate"
    assert r.needs_day and r.values == {}
    r = _parse(b"reach,likes\n100,5\n", caption="31.05.2024")
    assert r.values == {(None, date(2024, 5, 31)): {"reach": 100, "likes": 5}}


def test_audience() -> None:
    data = "Измерение;Сегмент;Доля\nвозраст;18-24;35,5 %\nпол;женский;62 %\n".encode()
    r = _parse(data)
    assert r.layout == "audience"
    assert [(a.dimension, a.bucket, a.value, a.is_share) for a in r.audience] == [
        ("age", "18-24", 35.5, True),
        ("gender", "женский", 62, True),
    ]
    r = _parse("Город,Пользователи\nМосква,1200\nКазань,300\n".encode())
    assert [(a.dimension, a.bucket, a.value, a.is_share) for a in r.audience] == [
        ("city", "Москва", 1200, False),
        ("city", "Казань", 300, False),
    ]


def test_mentions_with_russian_sentiment_words() -> None:
    data = (
        "Дата;Текст;Тональность\n"
        "2024-05-01 10:00:00 +0000;Отличный сервис;позитив\n"
        "2024-05-01 23:30:00 +0000;Ужас;негатив\n"
        "2024-05-01 12:00:00 +0000;Купил;нейтрально\n"
        "2024-05-01 12:00:00 +0000;спам ссылка;спам\n"
    ).encode()
    r = _parse(data, caption="vk:brand")
    assert r.layout == "mentions"
    assert r.values == {
        ("vk:brand", date(2024, 5, 1)): {
            "mentions": 2,
            "mentions_positive": 1,
            "mentions_negative": 0,
        },
        # 23:30 UTC is the next day in Moscow.
        ("vk:brand", date(2024, 5, 2)): {
            "mentions": 1,
            "mentions_positive": 0,
            "mentions_negative": 1,
        },
    }


def test_account_column_platform_column_and_caption_override() -> None:
    data = b"date,platform,account,reach\n2024-05-01,vk,brand,10\n2024-05-01,ig,brand,20\n"
    r = _parse(data)
    assert r.accounts == {"vk:brand", "ig:brand"}
    r = _parse(data, caption="tg:x")
    assert r.values == {("tg:x", date(2024, 5, 1)): {"reach": 30}}
    assert ("account", "caption_account") in r.ignored_columns


def test_rows_of_one_day_are_combined() -> None:
    data = b"date,reach,followers\n2024-05-01,10,100\n2024-05-01,5,110\n2024-05-02,1,120\n"
    r = _parse(data)
    assert r.values[(None, date(2024, 5, 1))] == {"reach": 15, "followers": 110}


def test_ratio_without_denominator_is_ignored_with_reason() -> None:
    r = _parse(b"date,bounce rate,reach\n2024-05-01,45%,10\n")
    assert ("bounce rate", "ratio_without_denominator") in r.ignored_columns
    assert r.values == {(None, date(2024, 5, 1)): {"reach": 10}}


def test_cr_only_line_ends_and_tabs_and_utf8_bom() -> None:
    r = _parse(b"\xef\xbb\xbfdate\treach\r2024-05-01\t1 000\r2024-05-02\t2\r")
    assert _totals(r) == {"reach": 1002}


def test_mm_dd_decided_by_a_late_row() -> None:
    lines = ["date,reach"] + [f"05/{d:02d}/2024,1" for d in range(1, 13)] * 200
    lines.append("05/13/2024,1")
    r = _parse("\n".join(lines).encode())
    assert (None, date(2024, 5, 13)) in r.values
    assert (None, date(2024, 5, 1)) in r.values


@pytest.mark.parametrize(
    ("caption", "expected"),
    [
        (None, (None, None)),
        ("2024-05-31", (date(2024, 5, 31), None)),
        ("vk:brand 31.05.2024", (date(2024, 5, 31), "vk:brand")),
        ("Отчёт за 01.05.2024-31.05.2024 для site", (date(2024, 5, 31), "site")),
        ("see https://example.com/x:y", (None, None)),
    ],
)
def test_parse_caption(caption: str | None, expected: tuple[date | None, str | None]) -> None:
    assert parse_caption(caption) == expected


def test_caption_with_two_accounts_is_refused() -> None:
    with pytest.raises(ImportFailure) as exc:
        parse_caption("vk:a ig:b")
    assert exc.value.code == "bad_caption"


# ---------------------------------------------------------------- bad files


def test_bad_number_names_row_column_and_value() -> None:
    lines = ["Дата;Охват;Лайки"] + [f"0{d}.05.2024;1 000;5" for d in range(1, 6)]
    lines.insert(6, "06.05.2024;12x4;5")  # spreadsheet row 7
    e = _failure("\n".join(lines).encode())
    assert (e.code, e.row, e.column, e.value) == ("bad_number", 7, "Охват", "12x4")
    assert "row 7" in str(e) and "Охват" in str(e) and "12x4" in str(e)


def test_mostly_unparseable_metric_column_is_a_bad_file() -> None:
    e = _failure(b"date,reach\n2024-05-01,lots\n2024-05-02,many\n")
    assert (e.code, e.row, e.column) == ("bad_number", 2, "reach")


def test_bad_date_and_percent_in_count_column() -> None:
    e = _failure(b"date,reach\n2024-05-01,1\n2024-13-45,2\n")
    assert (e.code, e.row, e.value) == ("bad_date", 3, "2024-13-45")
    e = _failure(b"date,reach\n2024-05-01,12%\n")
    assert (e.code, e.column) == ("bad_number", "reach")
    e = _failure(b"date,reach\n2024-05-01,-3\n")
    assert e.code == "negative"


@pytest.mark.parametrize(
    ("data", "name", "code"),
    [
        (b"", "x.csv", "empty"),
        (b"\n\n  \r\n", "x.csv", "empty"),
        (b"date,reach\n", "x.csv", "header_only"),
        (b"date,reach\n\n\n", "x.csv", "header_only"),
        (b"\x00\x01\x02\xff" * 200, "x.csv", "not_a_table"),
        (bytes(range(256)) * 20, "x.bin", "not_a_table"),
        (b"%PDF-1.4 blah", "x.pdf", "not_a_table"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "x.xls", "legacy_xls"),
        (b"PK\x03\x04garbage", "x.xlsx", "bad_xlsx"),
        (b"just one line of text", "x.csv", "not_a_table"),
        (b"colour,mood\nred,happy\n", "x.csv", "no_metrics"),
        (b"date,reach\nTotal,5\n", "x.csv", "no_rows"),
        (b'date,reach\n2024-05-01,"5\n', "x.csv", "bad_csv"),
    ],
)
def test_malformed(data: bytes, name: str, code: str) -> None:
    assert _failure(data, name).code == code


def test_truncated_rows_are_missing_values_not_errors() -> None:
    r = _parse(b"date,reach,likes\n2024-05-01,10,1\n2024-05-02,20\n2024-05-03")
    assert r.values == {
        (None, date(2024, 5, 1)): {"reach": 10, "likes": 1},
        (None, date(2024, 5, 2)): {"reach": 20},
    }
    assert r.rows_skipped == {"no_values": 1}


def test_too_large() -> None:
    e = _failure(b"date,reach\n2024-05-01,1\n", max_bytes=10)
    assert e.code == "too_large"


def test_zip_bomb_and_zip_that_is_not_a_workbook() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"\x00" * (20 * 1024 * 1024))
    assert _failure(buf.getvalue(), "bomb.xlsx").code == "zip_bomb"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "hello")
    assert _failure(buf.getvalue(), "x.zip").code == "not_a_table"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_junk_bytes_raise_only_import_failure(data: bytes) -> None:
    with contextlib.suppress(ImportFailure):
        _parse(data, "junk.csv", caption="2024-05-31")


_TOKENS = [
    *"0123456789,;.\t\n\r\"'% -:/#абвxyzTRUE",
    "date",
    "reach",
    "охват",
    "2024-05-01",
    "31.05.2024",
    "sessions",
    "bounce rate",
    "text",
    "sentiment",
    "metric",
    "value",
    "Итого",
    "post id",
    "month",
    "Feb",
    "visitortype",
    "period_end",
    "city",
    "share",
]
_CSVISH = st.lists(st.sampled_from(_TOKENS), max_size=150).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_CSVISH, st.sampled_from([None, "2024-05-31", "vk:brand"]))
def test_csvish_junk_raises_only_import_failure(text: str, caption: str | None) -> None:
    try:
        r = _parse(text.encode(), "junk.csv", caption=caption)
    except ImportFailure:
        return
    assert r.rows_used <= r.rows_read


def test_junk_xlsx_cells_raise_only_import_failure() -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Дата", "Охват"])
    ws.append([datetime(2024, 5, 1), "много"])
    buf = io.BytesIO()
    wb.save(buf)
    e = _failure(buf.getvalue(), "x.xlsx")
    assert (e.code, e.row, e.column, e.value) == ("bad_number", 2, "Охват", "много")


# ---------------------------------------------------------------- performance


def _wide_csv(rows: int) -> bytes:
    lines = ["date;account;reach;impressions;likes;comments;bounce rate;sessions;spend"]
    d0 = date(2020, 1, 1)
    for i in range(rows):
        d = (d0 + timedelta(days=i // 40)).strftime("%d.%m.%Y")
        lines.append(
            f"{d};vk:a{i % 4};{i % 9973};{i % 99991};{i % 97};{i % 13};"
            f"{i % 100},{i % 10} %;{i % 997 + 1};{i % 5000} {i % 1000:03d},{i % 100:02d}"
        )
    return "\n".join(lines).encode("cp1251")


def test_100k_rows_parse_fast() -> None:
    data = _wide_csv(100_000)
    start = time.perf_counter()
    r = _parse(data, "big.csv")
    elapsed = time.perf_counter() - start
    assert r.rows_used == 100_000
    assert _totals(r)["reach"] == sum(i % 9973 for i in range(100_000))
    assert elapsed < 6, elapsed  # ~1 s on an idle laptop; generous for a busy CI


def test_100k_rows_peak_memory() -> None:
    code = (
        "import resource, sys\n"
        "from zoneinfo import ZoneInfo\n"
        "from tests.unit.test_imports import _wide_csv\n"
        "from kpi.importing import parse_table\n"
        "data = _wide_csv(100_000)\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "r = parse_table(data, 'big.csv', tz=ZoneInfo('UTC'))\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print((after - before) // 1024)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert int(out.stdout.strip()) < 150, out.stdout
