"""Telegram's channel statistics JSON (kpi/importing/telegram_stats.py) and the campaign
link figures (kpi/campaigns.py)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kpi.campaigns import Join, campaign_figures
from kpi.importing import ImportFailure, parse_table
from kpi.importing.telegram_stats import looks_like_stats, read_telegram_stats
from tests.conftest import SMM_DATA

STATS = SMM_DATA / "telegram_stats_graphs_2019.json"
MSK = ZoneInfo("Europe/Moscow")


def _ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def _graph(days: list[date], series: dict[str, list[float]], **extra: Any) -> dict[str, Any]:
    ids = {name: f"y{i}" for i, name in enumerate(series)}
    return {
        "columns": [["x", *(_ms(d) for d in days)]]
        + [[ids[n], *values] for n, values in series.items()],
        "types": {"x": "x", **{i: "line" for i in ids.values()}},
        "names": {i: n for n, i in ids.items()},
        "colors": {i: "#000000" for i in ids.values()},
        **extra,
    }


@pytest.mark.shared_data
def test_the_2019_contest_file_imports_its_joined_left_graph() -> None:
    charts = json.loads(STATS.read_bytes())
    first = {col[0]: col[1:] for col in charts[0]["columns"]}
    days = [datetime.fromtimestamp(ms / 1000, UTC).date() for ms in first["x"]]
    # The first chart's series are unnamed (#0, #1) in Telegram's joined/left colours.
    assert [charts[0]["colors"][k].upper() for k in ("y0", "y1")] == ["#3DC23F", "#F34C44"]

    parsed = parse_table(STATS.read_bytes(), STATS.name, tz=MSK, caption="tg:brand")
    assert (parsed.layout, parsed.platform) == ("telegram_stats", "telegram_unnamed")
    assert parsed.date_range == (min(days), max(days))
    assert parsed.values == {
        ("tg:brand", d): {"new_followers": float(j), "unfollows": float(u)}
        for d, j, u in zip(days, first["y0"], first["y1"], strict=True)
    }
    assert sum(v["new_followers"] for v in parsed.values.values()) == sum(first["y0"])
    assert sum(v["unfollows"] for v in parsed.values.values()) == sum(first["y1"])
    assert parsed.rows_read == 2 * len(days)
    # Charts 2-4 are other joined/left graphs over the same days (other channels), chart 5
    # has four unnamed series: left out, each with why.
    assert parsed.ignored_columns == [
        ("graph 2: #0, #1", "duplicate_graph"),
        ("graph 3: #0, #1", "duplicate_graph"),
        ("graph 4: #0, #1", "duplicate_graph"),
        ("graph 5: #0, #1, #2, #3", "unnamed_series"),
    ]


def test_named_graphs_give_metrics_and_audience() -> None:
    days = [date(2024, 5, 1) + timedelta(days=i) for i in range(3)]
    data = {
        "growth_graph": _graph(days, {"Followers": [1000, 1010, 1004]}),
        "followers_graph": _graph(days, {"Joined": [15, 20, 4], "Left": [5, 10, 10]}),
        "interactions_graph": _graph(days, {"Views": [900, 1200, 700], "Shares": [3, 5, 0]}),
        "views_by_source_graph": _graph(
            days, {"Followers": [600, 800, 500], "Search": [300, 400, 200]}
        ),
        "new_followers_by_source_graph": _graph(days, {"URL": [10, 15, 1], "Search": [5, 5, 3]}),
        "languages_graph": _graph(days, {"Russian": [800, 805, 801], "English": [200, 205, 203]}),
        "mute_graph": _graph(days, {"Muted": [1, 0, 2], "Unmuted": [0, 1, 0]}),
    }
    raw = json.dumps(data).encode()
    assert looks_like_stats(raw)
    r = read_telegram_stats(raw)
    assert r.values[days[0]] == {
        "followers": 1000, "new_followers": 15, "unfollows": 5, "views": 900, "shares": 3,
    }  # fmt: skip
    assert r.values[days[2]]["followers"] == 1004
    # The interactions graph gives views and the joined/left graph new followers, so the
    # by-source graphs only give breakdowns (totals over the days), never a second count.
    audience = {(b.dimension, b.bucket): b.value for b in r.audience}
    assert audience == {
        ("view source", "Followers"): 1900, ("view source", "Search"): 900,
        ("follower source", "URL"): 26, ("follower source", "Search"): 13,
        ("language", "Russian"): 801, ("language", "English"): 203,
    }  # fmt: skip
    assert r.skipped == [("graph 7 “mute_graph”: Muted, Unmuted", "not_a_metric")]
    assert r.notes == []


def test_views_by_source_give_daily_views_when_nothing_else_does() -> None:
    days = [date(2024, 5, 1), date(2024, 5, 2)]
    raw = json.dumps(
        [_graph(days, {"Followers": [60, 80], "Search": [30, 40]}, title="Views by source")]
    ).encode()
    r = read_telegram_stats(raw)
    assert {d: m["views"] for d, m in r.values.items()} == {days[0]: 90, days[1]: 120}


@pytest.mark.parametrize(
    ("graph", "code"),
    [
        ({"columns": [["y0", 1, 2]], "types": {"y0": "line"}}, "not_a_table"),  # no x
        ({"columns": [["x", 0, 86400000], ["y0", 1]]}, "not_a_table"),  # lengths differ
        ({"columns": [["x", 0], ["y0", -3]], "names": {"y0": "Joined"}}, "negative"),
        ({"columns": [["x", 0], ["y0", "12"]], "names": {"y0": "Joined"}}, "bad_number"),
        ({"columns": [["x", "2024-05-01"], ["y0", 1]], "names": {"y0": "Joined"}}, "bad_date"),
        ({"columns": [["x", 0], ["y0", 1]], "names": {"y0": "#0"}}, "not_a_table"),  # unnamed
    ],
)
def test_bad_statistics_are_refused_with_a_reason(graph: dict[str, Any], code: str) -> None:
    with pytest.raises(ImportFailure) as e:
        parse_table(json.dumps([graph]).encode(), "stats.json", tz=MSK)
    assert e.value.code == code


def test_other_json_is_still_not_a_table() -> None:
    with pytest.raises(ImportFailure) as e:
        parse_table(b'{"posts": [1, 2]}', "export.json", tz=MSK)
    assert e.value.code == "not_a_table"


D = date(2024, 5, 1)


@pytest.mark.parametrize(
    ("joins", "cost", "revenue", "conversions", "expected"),
    [
        # 4 joined, 1 left: CAC = 3000 / 3; conversion 2 / 4; ROI (6000 − 3000) / 3000.
        ([False, True, False, False], 3000, 6000, 2, (4, 1, 3, 1000.0, 50.0, 100.0)),
        # Everyone left: no CAC (not infinity); no cost: no CAC, no ROI.
        ([True, True], 500, None, None, (2, 2, 0, None, None, None)),
        ([False], None, 100, None, (1, 0, 1, None, None, None)),
        # No joins: no conversion; a zero cost gives no ROI.
        ([], 0, 10, 3, (0, 0, 0, None, None, None)),
    ],
)
def test_campaign_figures(
    joins: list[bool],
    cost: float | None,
    revenue: float | None,
    conversions: float | None,
    expected: tuple[Any, ...],
) -> None:
    f = campaign_figures([Join(D, left) for left in joins], cost, revenue, conversions)
    assert (f.joins, f.leaves, f.still_subscribed, f.cac, f.conversion, f.roi) == expected
