"""Uploads the bot is unsure of: the preview, column choices, remembered readings.

Also the two exports of issue #13 in their shape (a tweets mentions export and
monthly follower statistics) and both audience spellings, end to end through
the dispatcher into the database and back out through the KPI commands.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app import create_bot, create_dispatcher
from bot.config import Settings
from kpi.models import Period
from storage import Storage
from tests.dispatcher.conftest import Harness
from tests.fakeapi.core import Call
from tests.fakeapi.recording import RecordingSession

# After the fixtures' last day (monthly_follower_stats.csv ends 2024-06-30): rows dated
# after today are refused (kpi/datepolicy.py).
NOW = datetime(2024, 7, 5, 9, 0, tzinfo=UTC)  # 12:00 in Moscow
CHAT = 7101
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "exports"
ALL_TIME = Period(date(2000, 1, 1), date(2024, 12, 31))
UNSURE = b"Date,Engaged views\n2024-05-01,120\n2024-05-02,135\n2024-05-03,99\n"


@pytest.fixture
async def h(storage: Storage, settings: Settings) -> AsyncIterator[Harness]:
    session = RecordingSession()
    bot = create_bot(settings, session=session)
    dp = create_dispatcher(storage, settings, clock=lambda: NOW)
    yield Harness(dp, bot, session, storage, settings)
    await bot.session.close()


async def _upload(h: Harness, name: str, data: bytes, caption: str | None = None) -> list[Call]:
    update = h.fake.document(
        CHAT, f"file-{name}-{len(h.session.calls)}", name, caption, data=data, push=False,
        language_code="en",
    )  # fmt: skip
    return await h.feed(update)


def _texts(calls: list[Call]) -> list[str]:
    return [
        c.visible_text or ""
        for c in calls
        if c.method in ("sendMessage", "editMessageText") and c.ok
    ]


def _panel(calls: list[Call]) -> Call:
    with_buttons = [c for c in calls if c.callback_data and c.ok]
    assert with_buttons, [c.method for c in calls]
    return with_buttons[-1]


def _mid(call: Call) -> int:
    if call.method in ("editMessageText", "editMessageReplyMarkup"):
        return int(call.params["message_id"])
    assert call.message_id is not None
    return call.message_id


async def _sums(h: Harness, period: Period = ALL_TIME) -> dict[str, float]:
    ws = await h.storage.workspaces.get_by_chat(CHAT)
    assert ws is not None
    return dict((await h.storage.metrics.period_data(ws.id, period)).sums)


async def _press(h: Harness, call: Call, data: str) -> list[Call]:
    return await h.feed(h.fake.callback(CHAT, _mid(call), data, push=False, language_code="en"))


async def test_unsure_file_shows_a_preview_and_stores_nothing(h: Harness) -> None:
    calls = await _upload(h, "views.csv", UNSURE)
    panel = _panel(calls)
    text = _texts(calls)[-1]
    assert text.splitlines() == [
        "How I read “views.csv”",
        "Each row: daily table (a date column and metric columns).",
        "• “Date” → date (a name I know)",
        "• “Engaged views” → Views (read from the words: views) — not sure",
        "I am not sure of “Engaged views”: nothing is saved until you press Import.",
    ]
    assert panel.callback_data == ["imppv:go:-1:", "imppv:cols:-1:", "imppv:cancel:-1:"]
    assert all(len(d.encode()) <= 64 for d in panel.callback_data)
    assert await _sums(h) == {}
    cancelled = await _press(h, panel, "imppv:cancel:-1:")
    assert _texts(cancelled)[-1] == "Import cancelled, nothing was saved."
    assert await _sums(h) == {}


async def test_confirmed_reading_is_remembered_and_reused(h: Harness) -> None:
    panel = _panel(await _upload(h, "views.csv", UNSURE))
    done = _texts(await _press(h, panel, "imppv:go:-1:"))[-1]
    assert "• Views: Σ 354" in done
    assert done.endswith("I will read files with these columns the same way (change: /mappings).")
    assert await _sums(h) == {"views": 354.0}
    # Next week's export with the same headers: imported at once, no question.
    next_week = UNSURE.replace(b"2024-05-0", b"2024-05-1")
    calls = await _upload(h, "views (1).csv", next_week)
    assert not any(c.callback_data for c in calls)
    text = _texts(calls)[-1]
    assert text.endswith("Read as last time (change: /mappings).")
    assert await _sums(h) == {"views": 708.0}
    listing = await h.say(" /mappings".strip(), CHAT, language_code="en")
    shown = _texts(listing)[-1]
    assert shown.splitlines()[0] == (
        "Remembered file readings (files with these columns import at once):"
    )
    assert shown.splitlines()[1].startswith("1. “Date”, “Engaged views” — as I proposed")
    forget = _panel(listing)
    assert forget.callback_data and forget.callback_data[0].startswith("mapdel:")
    after = await h.feed(
        h.fake.callback(CHAT, _mid(forget), forget.callback_data[0], push=False, language_code="en")
    )
    assert _texts(after)[-1].startswith("No remembered file readings.")
    ws = await h.storage.workspaces.get_by_chat(CHAT)
    assert ws is not None and await h.storage.mappings.list_mappings(ws.id) == []
    # Forgotten: the same file asks again.
    assert _panel(await _upload(h, "views.csv", UNSURE)).callback_data[0] == "imppv:go:-1:"


async def test_changing_a_column_stores_it_under_the_chosen_metric(h: Harness) -> None:
    panel = _panel(await _upload(h, "views.csv", UNSURE))
    cols = _panel(await _press(h, panel, "imppv:cols:-1:"))
    assert cols.callback_data == ["imppv:col:0:", "imppv:col:1:", "imppv:back:-1:"]
    choice = _panel(await _press(h, cols, "imppv:col:1:"))
    assert "imppv:set:1:reach" in choice.callback_data
    assert "imppv:set:1:" in choice.callback_data  # ignore
    assert all(len(d.encode()) <= 64 for d in choice.callback_data)
    again = await _press(h, choice, "imppv:set:1:reach")
    assert "• “Engaged views” → Reach (your choice)" in _texts(again)[-1]
    done = await _press(h, _panel(again), "imppv:go:-1:")
    assert "• Reach: Σ 354" in _texts(done)[-1]
    assert await _sums(h) == {"reach": 354.0}
    ws = await h.storage.workspaces.get_by_chat(CHAT)
    assert ws is not None
    (mapping,) = await h.storage.mappings.list_mappings(ws.id)
    assert mapping.overrides == {1: "reach"}
    assert mapping.headers == ("Date", "Engaged views")


def _csv_rows(name: str) -> list[dict[str, str]]:
    with (FIXTURES / name).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


async def test_tweets_mentions_export_counts_per_day_with_sentiment(h: Harness) -> None:
    rows = _csv_rows("twitter_airline_mentions.csv")
    moscow = ZoneInfo("Europe/Moscow")
    per_day: Counter[date] = Counter()
    positive = negative = 0
    for r in rows:
        moment = datetime.strptime(r["tweet_created"], "%Y-%m-%d %H:%M:%S %z")
        per_day[moment.astimezone(moscow).date()] += 1
        positive += r["airline_sentiment"] == "positive"
        negative += r["airline_sentiment"] == "negative"
    data = (FIXTURES / "twitter_airline_mentions.csv").read_bytes()
    calls = await _upload(h, "Tweets.csv", data, caption="tw:nordwind")
    preview = _texts(calls)[-1].splitlines()
    # A sentiment column beside numbers (retweet_count): mentions, but posts fit too: ask.
    assert preview[:5] == [
        "How I read “Tweets.csv”",
        "Each row: mentions (one row per mention).",
        "Why: a sentiment column, one row per item. It could also be: posts (one row per post).",
        "• “airline_sentiment” → sentiment (read from the words: sentiment)",
        "• “text” → text (a name I know)",
    ]
    assert "Times with a UTC offset (-0800) are counted on their day in Europe/Moscow." in preview
    assert preview[-1] == "Nothing is saved until you press Import."
    assert await _sums(h) == {}
    text = _texts(await _press(h, _panel(calls), "imppv:go:-1:"))[-1]
    assert "Recognised: mentions (one row per mention)." in text
    assert "• “tweet_created” → date (its values are dates)" in text
    assert "• “airline_sentiment” → sentiment (read from the words: sentiment)" in text
    assert f"• Mentions: Σ {len(rows)}" in text
    sums = await _sums(h)
    assert sums["mentions"] == len(rows)
    assert sums["mentions_positive"] == positive
    assert sums["mentions_negative"] == negative
    # A tweet at 14:13 −08:00 is past midnight in Moscow: it counts on the next day.
    assert max(per_day) == date(2015, 2, 25)
    for day, n in per_day.items():
        assert (await _sums(h, Period(day, day)))["mentions"] == n
    answer = await h.say("/mentions 2015-02", CHAT, language_code="en")
    shown = _texts(answer)[-1]
    # The figures, not the wording: the count and both sentiment shares.
    assert shown.splitlines()[1] == f"{len(rows)}", shown
    assert f"{positive / len(rows) * 100:.1f}%" in shown, shown
    assert f"{negative / len(rows) * 100:.1f}%" in shown, shown


async def test_monthly_follower_stats_give_growth(h: Harness) -> None:
    rows = _csv_rows("monthly_follower_stats.csv")
    data = (FIXTURES / "monthly_follower_stats.csv").read_bytes()
    text = _texts(await _upload(h, "follower_stats.csv", data, caption="ig:brand"))[-1]
    assert "Recognised: periods (start and end dates)." in text
    assert "• “followers_gained” → New followers (read from the words: followers + gained)" in text
    sums = await _sums(h)
    assert sums["new_followers"] == sum(int(r["followers_gained"]) for r in rows)
    assert sums["unfollows"] == sum(int(r["followers_lost"]) for r in rows)
    assert sums["views"] == sum(int(r["views"]) for r in rows)
    ws = await h.storage.workspaces.get_by_chat(CHAT)
    assert ws is not None
    # Rows count on the span's last day.
    last = rows[-1]
    end = date.fromisoformat(last["period_end"])
    day = await h.storage.metrics.period_data(ws.id, Period(end, end))
    assert dict(day.sums)["new_followers"] == int(last["followers_gained"])
    # /growth over Feb–May: followers at the start are the last count before the period.
    first, last_day = date(2024, 2, 1), date(2024, 5, 31)
    before = [r for r in rows if date.fromisoformat(r["period_end"]) < first]
    inside = [r for r in rows if first <= date.fromisoformat(r["period_end"]) <= last_day]
    start_total = int(before[-1]["followers_total"])
    end_total = int(inside[-1]["followers_total"])
    expected = (end_total - start_total) / start_total * 100
    answer = _texts(await h.say("/growth 2024-02-01..2024-05-31", CHAT, language_code="en"))[-1]
    # The figures, not the wording (the KPI texts are another module's): growth, both ends,
    # net new and the gained/lost sums of the same months.
    gained = sum(int(r["followers_gained"]) for r in inside)
    lost = sum(int(r["followers_lost"]) for r in inside)
    for figure in (
        f"{expected:.2f}%", f"{end_total:,}", f"{start_total:,}", f"+{end_total - start_total:,}",
        f"{gained:,}", f"{lost:,}",
    ):  # fmt: skip
        assert figure in answer, (figure, answer)


@pytest.mark.parametrize("name", ["vk_audience_ru.csv", "instagram_audience_en.csv"])
async def test_audience_files_reach_audience(h: Harness, name: str) -> None:
    data = (FIXTURES / name).read_bytes()
    text = _texts(await _upload(h, name, data))[-1]
    assert "Recognised: audience breakdown." in text, text
    calls = await h.say("/audience", CHAT, language_code="en")
    photo = [c for c in calls if c.method == "sendPhoto"]
    assert photo, [(c.method, c.visible_text) for c in calls]
    caption = photo[0].visible_text or ""
    reader = csv.reader(io.StringIO(data.decode("utf-8")), delimiter=";" if b";" in data else ",")
    rows = list(reader)[1:]
    # The largest age bucket, in percent whether the file wrote 38,0% or 0.41.
    top = max((r for r in rows if r[0].lower() in ("age", "возраст")), key=lambda r: r[2])
    value = float(top[2].rstrip("%").replace(",", "."))
    percent = value * 100 if value <= 1 else value
    assert top[1] in caption and f"{percent:.0f}" in caption, caption


def _book(*sheets: tuple[str, list[list[object]]]) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    for n, (title, rows) in enumerate(sheets):
        ws = wb.active if n == 0 else wb.create_sheet(title)
        assert ws is not None
        ws.title = title
        for row in rows:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


async def test_several_sheets_ask_which_one(h: Harness) -> None:
    data = _book(
        ("VK", [["Date", "Reach"], ["2024-05-01", 10], ["2024-05-02", 15]]),
        ("IG", [["Date", "Likes"], ["2024-05-01", 3]]),
    )
    calls = await _upload(h, "both.xlsx", data)
    panel = _panel(calls)
    assert (
        _texts(calls)[-1] == "“both.xlsx” has several sheets with tables. Which one shall I import?"
    )
    assert panel.callback_data == ["impsheet:0", "impsheet:1", "impsheet:-1"]
    assert await _sums(h) == {}
    done = _texts(await _press(h, panel, "impsheet:0"))[-1]
    assert "Sheet: “VK”." in done and "• Reach: Σ 25" in done
    assert await _sums(h) == {"reach": 25.0}


async def test_formula_without_value_is_named_in_the_reply(h: Harness) -> None:
    data = _book(("Data", [["Date", "Reach"], ["2024-05-01", 10], ["2024-05-02", "=B2*2"]]))
    text = _texts(await _upload(h, "calc.xlsx", data))[-1]
    assert text.splitlines() == [
        "Nothing was imported from “calc.xlsx”.",
        "Some cells are formulas that Excel has not calculated yet, so the file holds no "
        "values for them.",
        "Where: row 3, column “Reach”, value “=B2*2”.",
        "Open the file in Excel, save it, then send it again.",
        "Fix that cell and send the file again: one bad cell stops the whole file.",
    ]
    assert await _sums(h) == {}


async def test_mixed_date_orders_are_refused_naming_the_rows(h: Harness) -> None:
    body = b"Date,Reach\n2024-01-05,1\n06.01.2024,2\n03/04/2024,3\n07/08/2024,4\n"
    text = _texts(await _upload(h, "dates.csv", body))[-1]
    assert "Where: rows 4, 5, column “Date”." in text, text
    assert "Write those dates as 2024-01-07 (year-month-day)" in text
    assert await _sums(h) == {}


async def test_the_other_layout_can_be_chosen_and_is_remembered(h: Harness) -> None:
    rows = _csv_rows("twitter_airline_mentions.csv")
    data = (FIXTURES / "twitter_airline_mentions.csv").read_bytes()
    panel = _panel(await _upload(h, "Tweets.csv", data))
    assert panel.callback_data == [
        "imppv:go:-1:", "imppv:cols:-1:", "imppv:layout:-1:posts", "imppv:cancel:-1:",
    ]  # fmt: skip
    switched = await _press(h, panel, "imppv:layout:-1:posts")
    assert "Each row: posts (one row per post)." in _texts(switched)[-1].splitlines()
    assert await _sums(h) == {}
    done = _texts(await _press(h, _panel(switched), "imppv:go:-1:"))[-1]
    assert "Recognised: posts (one row per post)." in done
    assert "Why: your choice." in done
    ws = await h.storage.workspaces.get_by_chat(CHAT)
    assert ws is not None
    posts = await h.storage.metrics.posts_in_period(ws.id, ALL_TIME)
    assert sorted(p.post_id for p in posts) == sorted(r["tweet_id"] for r in rows)
    assert (await _sums(h))["shares"] == sum(int(r["retweet_count"]) for r in rows)
    (mapping,) = await h.storage.mappings.list_mappings(ws.id)
    assert mapping.overrides == {-1: "posts"}
    # The same export again: read as posts at once.
    again = await _upload(h, "Tweets (2).csv", data)
    assert not any(c.callback_data for c in again)
    text = _texts(again)[-1]
    assert "Recognised: posts (one row per post)." in text
    assert text.endswith("Read as last time (change: /mappings).")
    listing = _texts(await h.say("/mappings", CHAT, language_code="en"))[-1]
    assert "read as posts" in listing


async def test_all_formula_columns_are_named_in_the_reply(h: Harness) -> None:
    data = _book(
        (
            "Data",
            [
                ["Date", "Reach", "Likes"],
                ["2024-05-01", 10, "=B2/2"],
                ["2024-05-02", "=B2*2", 3],
            ],
        )
    )
    text = _texts(await _upload(h, "calc.xlsx", data))[-1]
    assert "Where: rows 2, 3, columns “Likes”, “Reach”, value “=B2/2”." in text, text
    assert "Open the file in Excel, save it, then send it again." in text
