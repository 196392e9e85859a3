"""Getting data in: /log, /add, file uploads, /undo, /export, Telegram channels.

The dispatcher runs with a fixed clock (2024-06-05 12:00 in Moscow), so
"today", "yesterday" and "the end of last month" are known dates.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.app import create_bot, create_dispatcher
from bot.config import Settings
from bot.services.channels import record_channel_followers
from kpi.models import Period
from kpi.numbers import NBSP
from storage import Storage
from tests.conftest import SMM_DATA
from tests.dispatcher.conftest import Harness
from tests.fakeapi.core import Call
from tests.fakeapi.recording import RecordingSession

NOW = datetime(2024, 6, 5, 9, 0, tzinfo=UTC)  # 12:00 in Moscow
TODAY = date(2024, 6, 5)
CHAT = 7001
GROUP = -1007001
ALL_TIME = Period(date(2000, 1, 1), date(2024, 12, 31))


@pytest.fixture
async def h(storage: Storage, settings: Settings) -> AsyncIterator[Harness]:
    session = RecordingSession()
    bot = create_bot(settings, session=session)
    dp = create_dispatcher(storage, settings, clock=lambda: NOW)
    yield Harness(dp, bot, session, storage, settings)
    await bot.session.close()


async def _ws_id(h: Harness, chat_id: int = CHAT) -> int:
    ws = await h.storage.workspaces.get_by_chat(chat_id)
    assert ws is not None
    return ws.id


async def _sums(
    h: Harness, account: str | None = None, period: Period = ALL_TIME, chat_id: int = CHAT
) -> dict[str, float]:
    ws_id = await _ws_id(h, chat_id)
    account_id = None
    if account is not None:
        acc = await h.storage.workspaces.find_account(ws_id, account)
        assert acc is not None, account
        account_id = acc.id
    data = await h.storage.metrics.period_data(ws_id, period, account_id=account_id)
    return dict(data.sums)


def _texts(calls: list[Call]) -> list[str]:
    return [
        c.visible_text or ""
        for c in calls
        if c.method in ("sendMessage", "editMessageText") and c.ok
    ]


def _final(calls: list[Call]) -> str:
    texts = _texts(calls)
    assert texts, [c.method for c in calls]
    return texts[-1]


async def upload(
    h: Harness,
    name: str,
    data: bytes | None = None,
    caption: str | None = None,
    chat_id: int = CHAT,
    **kw: Any,
) -> list[Call]:
    if data is None:
        data = (SMM_DATA / name).read_bytes()
    kw.setdefault("language_code", "en")
    update = h.fake.document(
        chat_id, f"file-{name}-{len(h.session.calls)}", name, caption, data=data, push=False, **kw
    )
    return await h.feed(update)


def _panel(calls: list[Call]) -> Call:
    """The latest message of the bot that carries inline buttons."""
    with_buttons = [c for c in calls if c.callback_data and c.ok]
    assert with_buttons, [c.method for c in calls]
    return with_buttons[-1]


def _message_id(call: Call) -> int:
    if call.method == "editMessageText":
        return int(call.params["message_id"])
    mid = call.message_id
    assert mid is not None
    return mid


# ---------------------------------------------------------------- /log


async def test_log_in_english_replies_with_what_was_stored(h: Harness) -> None:
    text = await h.say_text(
        "/log 2024-05-30 vk:brand reach=12 000 likes=340 comments=1,234", CHAT, language_code="en"
    )
    assert text == (
        "Saved for May 30, 2024, vk:brand: (new account — created)\n"
        "• Reach: 12,000\n"
        "• Likes: 340\n"
        "• Comments: 1,234\n"
        "/undo takes this back."
    )
    day = Period(date(2024, 5, 30), date(2024, 5, 30))
    assert await _sums(h, "vk:brand", day) == {"reach": 12000.0, "likes": 340.0, "comments": 1234.0}


async def test_log_in_russian_with_russian_names_and_default_account(h: Harness) -> None:
    text = await h.say_text("/log вчера охват=12 000 лайки=340 выручка=1500,5", CHAT)
    assert text == (
        "Записано за 4 июн. 2024, main:\n"
        f"• Охват: 12{NBSP}000\n"
        "• Лайки: 340\n"
        f"• Выручка: 1{NBSP}500,50{NBSP}₽\n"
        "/undo отменит эту запись."
    )
    day = Period(date(2024, 6, 4), date(2024, 6, 4))
    assert await _sums(h, "main", day) == {"reach": 12000.0, "likes": 340.0, "revenue": 1500.5}


async def test_log_converts_bounce_rate_with_sessions_of_the_same_command(h: Harness) -> None:
    text = await h.say_text("/log 2024-06-01 site sessions=1200 bounce_rate=45%", CHAT,
                            language_code="en")  # fmt: skip
    assert text.splitlines()[1:3] == [
        "• Sessions: 1,200",
        "• Bounces: 540 (from bounce rate 45% × sessions)",
    ]
    assert await _sums(h, "site") == {"sessions": 1200.0, "bounces": 540.0}


async def test_log_converts_a_ratio_with_stored_sessions_and_says_what_it_replaced(
    h: Harness,
) -> None:
    await h.say("/log 2024-06-01 site sessions=1000 bounces=300", CHAT, language_code="en")
    text = await h.say_text("/log 2024-06-01 site bounce_rate=42,5%", CHAT, language_code="en")
    assert "• Bounces: 425 (from bounce rate 42.5% × sessions) — replaced previous value 300" in (
        text
    )
    assert await _sums(h, "site") == {"sessions": 1000.0, "bounces": 425.0}


async def test_log_time_on_site_multiplies_stored_sessions_in_russian(h: Harness) -> None:
    await h.say("/log 2024-06-01 site визиты=40 просмотры страниц=100", CHAT, language_code="ru")
    text = await h.say_text("/log 2024-06-01 site время на сайте=2:30", CHAT, language_code="ru")
    # 2:30 per visit × 40 visits = 6000 s in all; the KPI divides by the 100 pageviews
    assert "(из среднего времени на сайте 2:30 × визиты)" in text
    assert await _sums(h, "site") == {
        "sessions": 40.0,
        "pageviews": 100.0,
        "time_on_page_s": 6000.0,
    }
    text = await h.say_text("/timeonpage 2024-06-01..2024-06-01 site", CHAT, language_code="ru")
    assert text.splitlines()[1] == "1:00"  # 6000 s / 100 pageviews
    assert "= 6 000 / 100 = 1:00" in text.replace(NBSP, " ")


async def test_log_ratio_without_any_sessions_stores_nothing(h: Harness) -> None:
    text = await h.say_text("/log 2024-06-01 site bounce_rate=45%", CHAT, language_code="en")
    assert text.startswith(
        "To store bounce rate 45% I need the sessions of site for Jun 1, 2024, "
        "and there are none yet. Nothing was saved."
    )
    assert "/log bounce rate=45% sessions=1200" in text
    ru = await h.say_text("/log 2024-06-01 site отказы=45%", CHAT, language_code="ru")
    assert ru.endswith("Укажите оба в одной команде: /log показатель отказов=45% визиты=1200")
    ws_id = await _ws_id(h)
    assert (await h.storage.metrics.data_span(ws_id)).rows == 0


async def test_relogging_a_day_replaces_and_undo_brings_the_old_value_back(h: Harness) -> None:
    await h.say("/log 2024-06-01 reach=1000 likes=10", CHAT, language_code="en")
    text = await h.say_text("/log 2024-06-01 reach=1500 likes=10", CHAT, language_code="en")
    assert "• Reach: 1,500 — replaced previous value 1,000" in text
    assert "• Likes: 10 (unchanged)" in text
    assert await _sums(h) == {"reach": 1500.0, "likes": 10.0}
    undo = await h.say_text("/undo", CHAT, language_code="en")
    assert undo.startswith("Undone: /log from ")
    assert "(1 account-day row)" in undo
    assert "Days affected: Jun 1, 2024." in undo
    assert "Earlier values restored: 1 account-day row." in undo
    assert await _sums(h) == {"reach": 1000.0, "likes": 10.0}
    await h.say("/undo", CHAT, language_code="en")
    assert await _sums(h) == {}
    assert await h.say_text("/undo", CHAT, language_code="en") == (
        "Nothing to undo: there are no imports or /log entries left."
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("reach", "“reach” has no value: write it as metric=value."),
        ("vk:brand", "“vk:brand”: no numbers to record. Write them as metric=value."),
        ("reech=100", "“reech” is not a metric I know."),
        ("foo reach=100", "“foo” is neither a date, an account nor metric=value."),
        ("reach=lots", "“lots” is not a number."),
        ("reach=-5", "“-5”: the value cannot be negative."),
        ("bounce_rate=145%", "“145%”: a percentage cannot be above 100."),
        ("reach=1 reach=2", "“reach” is given twice: give each metric once."),
        ("2024-13-45 reach=1", "“2024-13-45” is not a date."),
        ("2024-07-01 reach=1", "“2024-07-01” is in the future"),
        ("2024-06-01 2024-06-02 reach=1", "“2024-06-02”: give one date per command."),
        ("vk:a vk:b reach=1", "“vk:b”: give one account per command."),
    ],
)
async def test_log_bad_tokens_are_named_with_an_example(
    h: Harness, args: str, expected: str
) -> None:
    text = await h.say_text(f"/log {args}", CHAT, language_code="en")
    assert text.startswith(expected), text
    assert "Example: /log 31.05.2024 vk:brand reach=12000 likes=340 (all: /log)" in text
    ws_id = await _ws_id(h)
    assert (await h.storage.metrics.data_span(ws_id)).rows == 0


async def test_log_bad_token_in_russian(h: Harness) -> None:
    text = await h.say_text("/log охват=много", CHAT)
    assert text.startswith("«много» — не число.")
    assert "Пример: /log 31.05.2024 vk:brand reach=12000 likes=340" in text


async def test_log_without_arguments_shows_usage(h: Harness) -> None:
    text = await h.say_text("/log", CHAT, language_code="en")
    assert text.startswith("/log records numbers for one day and one account:")
    assert "/log yesterday vk:brand reach=12 000 comments=45" in text
    assert "link_clicks (link clicks)" in text
    ru = await h.say_text("/log", CHAT)
    assert "/log охват=12000 лайки=340" in ru and "(охват)" in ru


async def test_log_in_a_group_is_for_admins_only(h: Harness) -> None:
    h.fake.set_chat_member(GROUP, 2002, "member")
    text = await h.say_text("/log reach=100", GROUP, user_id=2002, language_code="en",
                            chat_type="supergroup")  # fmt: skip
    assert text == "Only chat administrators can change this. Anyone can ask for KPIs."
    ws_id = await _ws_id(h, GROUP)
    assert (await h.storage.metrics.data_span(ws_id)).rows == 0


# ---------------------------------------------------------------- /add


async def test_add_walkthrough_with_buttons_stores_one_batch(h: Harness) -> None:
    calls = await h.say("/add", CHAT, language_code="en")
    panel = _panel(calls)
    assert panel.visible_text == "Adding numbers. Step 1 of 3: which account?"
    assert panel.callback_data == ["add:acc:1", "add:new:", "add:cancel:"]
    assert all(len(d.encode()) <= 64 for d in panel.callback_data)
    pid = _message_id(panel)
    calls = await h.press(CHAT, pid, "add:new:", language_code="en")
    assert _texts(calls) == ["Type the account name, e.g. vk:brand, ig:brand or site."]
    assert calls[-1].params["reply_markup"]["force_reply"] is True
    assert "is not an account name" in await h.say_text("vk brand!", CHAT, language_code="en")
    calls = await h.say("vk:brand", CHAT, language_code="en")
    panel = _panel(calls)
    assert panel.visible_text == (
        "Adding numbers for vk:brand (new account). Step 2 of 3: which day?"
    )
    assert [b["text"] for row in panel.reply_markup["inline_keyboard"] for b in row] == [  # type: ignore[index]
        "Today, Jun 5, 2024", "Yesterday, Jun 4, 2024", "Type a date", "Cancel",
    ]  # fmt: skip
    calls = await h.press(CHAT, pid, "add:day:type", language_code="en")
    assert _texts(calls) == ["Type the date, e.g. 31.05.2024 or 2024-05-31."]
    assert "is in the future" in await h.say_text("10.06.2024", CHAT, language_code="en")
    calls = await h.say("01.06.2024", CHAT, language_code="en")
    panel = _panel(calls)
    assert panel.visible_text is not None
    assert panel.visible_text.startswith("Adding numbers for vk:brand (new account), Jun 1, 2024.")
    assert "add:metric:link_clicks" in panel.callback_data
    assert "add:save:" not in panel.callback_data  # nothing to save yet
    await h.press(CHAT, pid, "add:metric:reach", language_code="en")
    calls = await h.say("12 000", CHAT, language_code="en")
    panel = _panel(calls)
    assert "• Reach: 12,000" in (panel.visible_text or "")
    assert "Got it: Reach = 12,000. Pick the next metric or press Save." in (
        panel.visible_text or ""
    )
    assert panel.callback_data[-2:] == ["add:save:", "add:cancel:"]
    await h.press(CHAT, _message_id(panel), "add:metric:ad_spend", language_code="en")
    bad = await h.say_text("ten", CHAT, language_code="en")
    assert bad == "“ten” is not a number. Type the value of “Ad spend” again, e.g. 12 000."
    assert "cannot be negative" in await h.say_text("-3", CHAT, language_code="en")
    panel = _panel(await h.say("1 500,50", CHAT, language_code="en"))
    calls = await h.press(CHAT, _message_id(panel), "add:save:", language_code="en")
    assert _final(calls) == (
        "Saved for Jun 1, 2024, vk:brand: (new account — created)\n"
        "• Reach: 12,000\n"
        "• Ad spend: $1,500.50\n"
        "/undo takes this back."
    )
    assert await _sums(h, "vk:brand") == {"reach": 12000.0, "ad_spend": 1500.5}
    batch = await h.storage.metrics.last_batch(await _ws_id(h))
    assert batch is not None and batch.source == "/add" and batch.rows == 1
    # The flow is over: the old buttons say so instead of doing anything.
    stale = await h.press(CHAT, _message_id(panel), "add:save:", language_code="en")
    assert any(c.method == "answerCallbackQuery" and "no longer active" in str(c.params)
               for c in stale)  # fmt: skip


async def test_add_existing_account_and_today(h: Harness) -> None:
    panel = _panel(await h.say("/add", CHAT))
    pid = _message_id(panel)
    await h.press(CHAT, pid, "add:acc:1")
    panel = _panel(await h.press(CHAT, pid, "add:day:today"))
    assert (panel.visible_text or "").startswith("Добавляем цифры для main, 5 июн. 2024.")
    await h.press(CHAT, pid, "add:metric:followers")
    panel = _panel(await h.say("4 321", CHAT))
    calls = await h.press(CHAT, _message_id(panel), "add:save:")
    assert _final(calls) == (
        f"Записано за 5 июн. 2024, main:\n• Подписчики: 4{NBSP}321\n/undo отменит эту запись."
    )
    ws_id = await _ws_id(h)
    data = await h.storage.metrics.period_data(ws_id, Period(TODAY, TODAY))
    assert data.accounts[0].followers.last == 4321.0


@pytest.mark.parametrize("step", ["account", "name", "day", "metric", "value"])
async def test_add_cancel_at_every_step_saves_nothing(h: Harness, step: str) -> None:
    panel = _panel(await h.say("/add", CHAT, language_code="en"))
    pid = _message_id(panel)
    if step != "account":
        if step == "name":
            await h.press(CHAT, pid, "add:new:", language_code="en")
            text = await h.say_text("/cancel", CHAT, language_code="en")
            assert text == "Cancelled, nothing was saved."
            assert "is not an account name" not in await h.say_text("vk:x", CHAT)
            assert await _sums(h) == {}
            return
        await h.press(CHAT, pid, "add:acc:1", language_code="en")
        if step in ("metric", "value"):
            await h.press(CHAT, pid, "add:day:today", language_code="en")
        if step == "value":
            await h.press(CHAT, pid, "add:metric:reach", language_code="en")
    calls = await h.press(CHAT, pid, "add:cancel:", language_code="en")
    assert _final(calls) == "Cancelled, nothing was saved."
    # A number typed now is not taken as a value any more: it gets the general hint.
    assert (await h.say_text("100", CHAT, language_code="en")).startswith(
        "I answer commands and questions like"
    )
    assert await _sums(h) == {}
    assert await h.storage.metrics.last_batch(await _ws_id(h)) is None


async def test_add_in_a_group_is_for_admins_only(h: Harness) -> None:
    h.fake.set_chat_member(GROUP, 2002, "member")
    text = await h.say_text("/add", GROUP, user_id=2002, language_code="en")
    assert text == "Only chat administrators can change this. Anyone can ask for KPIs."


# ---------------------------------------------------------------- uploads


def _views(path: Path) -> tuple[int, int, date, date]:
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    days = [datetime.strptime(r["Date"], "%d/%m/%Y").date() for r in rows]
    return len(rows), sum(int(r["Views"]) for r in rows), min(days), max(days)


@pytest.mark.shared_data
async def test_upload_daily_views_with_caption_account(h: Harness) -> None:
    n, total, first, last = _views(SMM_DATA / "website_daily_views.csv")
    calls = await upload(h, "website_daily_views.csv", caption="site")
    assert not [c for c in calls if c.method == "editMessageText"]  # small: no progress message
    text = _final(calls)
    assert text.splitlines() == [
        "Imported “website_daily_views.csv”",
        "Recognised: daily table (a date column and metric columns).",
        "Why: a date column beside numbers.",
        f"Rows: {n} read, {n} used.",
        f"Dates: {first:%b} {first.day}, {first.year} – {last:%b} {last.day}, {last.year}.",
        "Accounts: site (new).",
        "Metrics:",
        f"• Pageviews: Σ {total:,}",
        f"Stored: {n} account-day rows, 0 posts, 0 audience rows.",
        "Columns:",
        "• “Date” → date (a name I know)",
        "• “Views” → Pageviews (a name I know)",
        "/undo takes this import back.",
    ]
    assert await _sums(h, "site") == {"pageviews": float(total)}
    again = _final(await upload(h, "website_daily_views.csv", caption="site"))
    assert f"Replaced earlier values: {n} account-day rows" in again
    assert "site (new)" not in again
    assert await _sums(h, "site") == {"pageviews": float(total)}  # replaced, not doubled


@pytest.mark.shared_data
async def test_upload_summary_in_russian(h: Harness) -> None:
    n, total, _first, _last = _views(SMM_DATA / "website_daily_views.csv")
    text = _final(await upload(h, "website_daily_views.csv", caption="site", language_code="ru"))
    lines = text.splitlines()
    assert lines[0] == "Импортирован «website_daily_views.csv»"
    assert f"Строк: {n} прочитано, {n} использовано." in lines
    assert "Даты: 1 июн. 2021 – 26 июн. 2022." in lines
    assert "Аккаунты: site (новый)." in lines
    assert f"• Просмотры страниц: Σ {total:,}".replace(",", NBSP) in lines
    assert lines[-1] == "/undo отменит этот импорт."


@pytest.mark.shared_data
async def test_upload_posts_without_dates_asks_for_the_day(h: Harness) -> None:
    path = SMM_DATA / "uci_facebook_metrics.csv"
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    reach = sum(int(r["Lifetime Post Total Reach"]) for r in rows)
    likes = sum(int(r["like"]) for r in rows if r["like"])
    calls = await upload(h, path.name)
    question = _panel(calls)
    assert question.visible_text is not None
    assert question.visible_text.startswith(
        "“uci_facebook_metrics.csv” has 500 rows but no dates. Which day are these numbers for?"
    )
    assert question.callback_data == [
        "impday:today", "impday:yesterday", "impday:lastmonth", "impday:type", "impday:cancel",
    ]  # fmt: skip
    labels = [b["text"] for row in question.reply_markup["inline_keyboard"] for b in row]  # type: ignore[index]
    assert "End of last month, May 31, 2024" in labels
    assert await _sums(h) == {}  # nothing stored while asking
    getfiles = len([c for c in h.session.calls if c.method == "getFile"])
    calls = await h.press(CHAT, _message_id(question), "impday:lastmonth", language_code="en")
    assert len([c for c in h.session.calls if c.method == "getFile"]) == getfiles + 1
    text = _final(calls)
    assert "Recognised: posts (one row per post), Facebook / Meta." in text
    assert "Rows: 500 read, 500 used." in text
    assert f"• Reach: Σ {reach:,}" in text
    assert f"• Likes: Σ {likes:,}" in text
    assert "Stored: 12 account-day rows, 500 posts, 0 audience rows." in text
    assert "• not a metric I know: “Category”, “Post Weekday”, “Post Hour”, “Paid”" in text
    sums = await _sums(h, "main")
    assert sums["reach"] == reach and sums["likes"] == likes and sums["posts"] == 500
    ws_id = await _ws_id(h)
    posts = await h.storage.metrics.posts_in_period(ws_id, ALL_TIME)
    assert len(posts) == 500 and max(p.day for p in posts) == date(2024, 5, 31)


@pytest.mark.shared_data
async def test_upload_day_typed_after_the_question(h: Harness) -> None:
    path = SMM_DATA / "instagram_posts_hashtags_likes.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        likes = sum(int(r["Likes"]) for r in csv.DictReader(fh))
    question = _panel(await upload(h, path.name, caption="ig:brand"))
    calls = await h.press(CHAT, _message_id(question), "impday:type", language_code="en")
    assert _texts(calls) == ["Type the date, e.g. 31.05.2024 or 2024-05-31."]
    assert "is not a date" in await h.say_text("someday", CHAT, language_code="en")
    text = _final(await h.say("20.05.2024", CHAT, language_code="en"))
    assert "Dates: May 20, 2024." in text
    assert "Accounts: ig:brand (new)." in text
    assert f"• Likes: Σ {likes:,}" in text
    assert "• followers of other authors, not of this account: “Followers”" in text
    assert (await _sums(h, "ig:brand"))["likes"] == likes


@pytest.mark.shared_data
async def test_upload_day_question_can_be_cancelled(h: Harness) -> None:
    question = _panel(await upload(h, "instagram_posts_hashtags_likes.csv"))
    calls = await h.press(CHAT, _message_id(question), "impday:cancel", language_code="en")
    assert _final(calls) == "Import cancelled, nothing was saved."
    assert await _sums(h) == {}
    late = await h.press(CHAT, _message_id(question), "impday:today", language_code="en")
    assert any("expired" in str(c.params) for c in late if c.method == "answerCallbackQuery")


@pytest.mark.shared_data
async def test_upload_sessions_file_shows_progress_and_counts_visits(h: Harness) -> None:
    path = SMM_DATA / "uci_online_shoppers_intention.csv"
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    visitor = Counter(r["VisitorType"] for r in rows)
    converted = sum(r["Revenue"] == "TRUE" for r in rows)
    calls = await upload(h, path.name, caption="site 2024-05-31")
    texts = _texts(calls)
    assert texts[0] == "Reading the file…"
    assert texts[1] == f"Saving {len(rows):,} rows…"
    assert [c.method for c in calls if c.method in ("sendMessage", "editMessageText")] == [
        "sendMessage", "editMessageText", "editMessageText",
    ]  # fmt: skip
    text = texts[-1]
    assert "Recognised: visits (one row per session)." in text
    assert f"• Sessions: Σ {len(rows):,}" in text
    assert f"• Conversions: Σ {converted:,}" in text
    sums = await _sums(h, "site")
    assert sums["sessions"] == len(rows) == 12330
    assert sums["new_visitors"] == visitor["New_Visitor"]
    assert sums["returning_visitors"] == visitor["Returning_Visitor"]
    assert sums["conversions"] == converted


@pytest.mark.shared_data
async def test_upload_mentions_in_cp1252(h: Harness) -> None:
    path = SMM_DATA / "apple_brand_mentions_tweets.csv"
    with path.open(newline="", encoding="cp1252") as fh:
        rows = list(csv.DictReader(fh))
    relevant = [r for r in rows if r["sentiment"] != "not_relevant"]
    negative = sum(r["sentiment"] == "1" for r in relevant)
    positive = sum(r["sentiment"] == "5" for r in relevant)
    text = _final(await upload(h, path.name, caption="tw:apple"))
    assert f"Rows: {len(rows):,} read, {len(relevant):,} used." in text
    assert "Skipped: marked not relevant: 82." in text
    assert "Dates: Dec 1–10, 2014." in text
    assert f"• Mentions: Σ {len(relevant):,}" in text
    sums = await _sums(h, "tw:apple")
    assert sums == {
        "mentions": len(relevant),
        "mentions_positive": positive,
        "mentions_negative": negative,
    }


@pytest.mark.shared_data
async def test_upload_customers_file(h: Harness) -> None:
    path = SMM_DATA / "ifood_marketing_campaign.csv"
    with path.open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    days = {r["Dt_Customer"] for r in rows}
    text = _final(await upload(h, path.name))
    assert "Recognised: customers (one row per customer)." in text
    assert f"• New customers: Σ {len(rows):,}" in text
    assert f"Stored: {len(days)} account-day rows" in text
    assert (
        "• a customer attribute: “ID”, “Year_Birth”, “Education”, “Marital_Status”, “Income”"
        in text
    )
    assert await _sums(h, "main") == {"new_customers": len(rows)}


async def test_json_that_is_not_statistics_is_refused(h: Harness) -> None:
    # JSON is downloaded (Telegram's channel statistics come as JSON); other JSON is refused.
    calls = await upload(h, "export.json", b'{"rows": [1, 2, 3]}')
    assert [c.method for c in calls if c.method == "getFile"] == ["getFile"]
    assert _final(calls) == (
        "Nothing was imported from “export.json”.\nThis is not a table.\n"
        "I read tables: CSV or TXT (comma, semicolon or tab separated; UTF-8 or Windows-1251) "
        "and Excel .xlsx, up to 20 MB. Save an old .xls as .xlsx or CSV first."
    )


async def test_a_bad_cell_stores_nothing_and_is_named(h: Harness) -> None:
    data = "Date;Reach;Likes\n01.05.2024;1 200;30\n02.05.2024;1 300;abc\n03.05.2024;900;12\n"
    text = _final(await upload(h, "vk.csv", data.encode("cp1251"), caption="vk:brand"))
    assert text.splitlines() == [
        "Nothing was imported from “vk.csv”.",
        "A cell in a number column is not a number.",
        "Where: row 3, column “Likes”, value “abc”.",
        "Numbers: 12000, 12 000, 1,234.5, 12,5 or 45%; empty cells are fine.",
        "Fix that cell and send the file again: one bad cell stops the whole file.",
    ]
    assert await h.storage.workspaces.find_account(await _ws_id(h), "vk:brand") is None
    assert await h.storage.metrics.last_batch(await _ws_id(h)) is None


async def test_bad_cell_reply_in_russian(h: Harness) -> None:
    data = "Дата;Охват\n01.05.2024;1 200\n02.05.2024;много\n"
    text = _final(await upload(h, "vk.csv", data.encode("cp1251"), language_code="ru"))
    assert "Где: строка 3, столбец «Охват», значение «много»." in text
    assert text.startswith("Ничего не импортировано из «vk.csv».")


async def test_file_over_20_mb_is_refused_without_getfile(h: Harness) -> None:
    update = h.fake.document(CHAT, "big-file", "big.csv", file_size=25 * 1024 * 1024,
                             language_code="en", push=False)  # fmt: skip
    calls = await h.feed(update)
    assert _final(calls).startswith(
        "This file is 25 MB: bots can only download files up to 20 MB, so nothing was imported."
    )
    assert not [c for c in h.session.calls if c.method == "getFile"]


@pytest.mark.shared_data
async def test_a_failed_download_is_answered_and_stores_nothing(h: Harness) -> None:
    # More 500s in a row than the request retries (bot/retry.py) absorb.
    h.fake.fail_next("getFile", count=4, status=500, retry_after=None)
    calls = await upload(h, "website_daily_views.csv", caption="site")
    assert _final(calls) == (
        "I could not download “website_daily_views.csv” from Telegram. "
        "Nothing was imported: please send the file again."
    )
    assert await h.storage.metrics.last_batch(await _ws_id(h)) is None


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"\0" * (8 * 1024 * 1024))
    return out.getvalue()


async def test_zip_bomb_and_junk_are_refused(h: Harness) -> None:
    bomb = _final(await upload(h, "report.xlsx", _zip_bomb()))
    assert bomb.splitlines()[1] == (
        "The workbook unpacks to a suspicious size, so I did not open it."
    )
    junk = bytes(range(256)) * 64
    text = _final(await upload(h, "data.csv", junk))
    assert text.splitlines()[:2] == [
        "Nothing was imported from “data.csv”.",
        "This is not a table.",
    ]
    assert await h.storage.metrics.last_batch(await _ws_id(h)) is None


@pytest.mark.shared_data
async def test_group_uploads_admins_only_and_silence_for_unrelated_files(h: Harness) -> None:
    h.fake.set_chat_member(GROUP, 2002, "member")
    data = (SMM_DATA / "website_daily_views.csv").read_bytes()
    calls = await upload(h, "website_daily_views.csv", data, "site", GROUP, user_id=2002,
                         chat_type="supergroup")  # fmt: skip
    assert _final(calls) == "Only chat administrators can change this. Anyone can ask for KPIs."
    assert not [c for c in calls if c.method == "getFile"]
    assert await h.storage.metrics.last_batch(await _ws_id(h, GROUP)) is None
    # A brief in PDF shared in the team chat: not for the bot, no answer at all.
    calls = await upload(h, "brief.pdf", b"%PDF-1.4 ...", None, GROUP, user_id=2002)
    assert calls == []
    # Unless the caption asks the bot.
    h.fake.set_chat_member(GROUP, 1001, "administrator")
    calls = await upload(h, "brief.pdf", b"%PDF-1.4 ...", "@smm_test_bot", GROUP, user_id=1001)
    assert _final(calls).startswith("“brief.pdf” is not a table.")


@pytest.mark.shared_data
async def test_admin_upload_in_group_imports(h: Harness) -> None:
    h.fake.set_chat_member(GROUP, 1001, "administrator")
    _n, total, _first, _last = _views(SMM_DATA / "website_daily_views.csv")
    calls = await upload(h, "website_daily_views.csv", None, "site", GROUP, user_id=1001)
    assert f"• Pageviews: Σ {total:,}" in _final(calls)
    assert await _sums(h, "site", chat_id=GROUP) == {"pageviews": float(total)}


@pytest.mark.shared_data
async def test_undo_takes_back_a_file_import(h: Harness) -> None:
    await h.say("/log 2021-06-01 site pageviews=5", CHAT, language_code="en")
    await upload(h, "website_daily_views.csv", caption="site")
    text = await h.say_text("/undo", CHAT, language_code="en")
    assert text.startswith("Undone: the file “website_daily_views.csv” from 05.06.2024"[:30])
    assert "Days affected: Jun 1, 2021 – Jun 26, 2022." in text
    assert "Earlier values restored: 1 account-day row." in text
    assert await _sums(h, "site") == {"pageviews": 5.0}


# ---------------------------------------------------------------- /export


async def test_export_neutralises_formulas_and_round_trips(h: Harness) -> None:
    data = (
        "Date,Account,Reach,Likes\n"
        '2024-05-01,=HYPERLINK("http://x"),100,5\n'
        "2024-05-01,vk:brand,1200,30\n"
        "2024-05-02,vk:brand,1300,\n"
        "2024-05-02,@cmd,7,1\n"
    )
    # A file can no longer bring such a name in (one account rule for every path) …
    refused = _final(await upload(h, "mixed.csv", data.encode()))
    assert refused.startswith("Nothing was imported from “mixed.csv”.\nA row names an account")
    assert 'Where: row 2, value “=hyperlink("http://x")”.' in refused
    # … but names stored before the rule still leave /export neutralised.
    ws = await h.storage.workspaces.get_by_chat(CHAT)
    assert ws is not None
    values = {
        ('=hyperlink("http://x")', date(2024, 5, 1)): {"reach": 100.0, "likes": 5.0},
        ("vk:brand", date(2024, 5, 1)): {"reach": 1200.0, "likes": 30.0},
        ("vk:brand", date(2024, 5, 2)): {"reach": 1300.0},
        ("cmd", date(2024, 5, 2)): {"reach": 7.0, "likes": 1.0},
    }
    await h.storage.metrics.apply_import(ws.id, source="legacy", user_id=None, values=values)
    calls = await h.say("/export csv 2024-05-01..2024-05-31", CHAT, language_code="en")
    (doc,) = [c for c in calls if c.method == "sendDocument"]
    assert doc.visible_text == (
        "Data for May 1–31, 2024 (all accounts): 4 account-day rows, 2 metrics, "
        "3 accounts. CSV: commas, decimal points."
    )
    raw = doc.files["document"].data
    assert doc.files["document"].filename == "kpi_2024-05-01_2024-05-31.csv"
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert rows == [
        ["Account", "Date", "Reach", "Likes"],
        ['\'=hyperlink("http://x")', "2024-05-01", "100", "5"],
        ["vk:brand", "2024-05-01", "1200", "30"],
        ["cmd", "2024-05-02", "7", "1"],
        ["vk:brand", "2024-05-02", "1300", ""],
    ]
    one = await h.say("/export 2024-05 csv vk:brand", CHAT, language_code="en")
    (doc,) = [c for c in one if c.method == "sendDocument"]
    body = doc.files["document"].data.decode("utf-8-sig")
    assert body.splitlines() == [
        "Account,Date,Reach,Likes", "vk:brand,2024-05-01,1200,30", "vk:brand,2024-05-02,1300,",
    ]  # fmt: skip


async def test_export_without_data_answers_in_text(h: Harness) -> None:
    text = await h.say_text("/export 7d", CHAT, language_code="en")
    assert text == (
        "No data for May 30 – Jun 5, 2024 (all accounts). "
        "Send a file or use /log, then /export again."
    )
    assert "is not a period" in await h.say_text("/export 13x", CHAT, language_code="en")


# ---------------------------------------------------------------- channels


def _channel(chat_id: int, username: str) -> dict[str, Any]:
    return {
        "id": chat_id,
        "type": "channel",
        "title": username.title(),
        "username": username,
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        },
    }


async def test_channel_account_is_linked_when_the_bot_is_admin(h: Harness) -> None:
    h.fake.set_result("getChat", lambda call: _channel(-1009001, "brandchannel"))
    h.fake.set_chat_member(-1009001, h.bot.id, "administrator")
    h.fake.set_member_count(-1009001, 5321)
    text = await h.say_text("/account add tg:@brandchannel", CHAT, language_code="en")
    assert text == (
        "Account tg:brandchannel added.\n"
        "I'm an administrator of @brandchannel: I'll record its followers every day and its "
        "posts, reactions, joins and leaves as they happen (/channels).\n"
        "Alert on: unfollows 50% above the median of the 4 weeks before, checked every week "
        "(/alerts).\n"
        "Followers today: 5,321."
    )
    ws_id = await _ws_id(h)
    acc = await h.storage.workspaces.find_account(ws_id, "tg:brandchannel")
    assert acc is not None and acc.channel_chat_id == -1009001
    data = await h.storage.metrics.period_data(ws_id, Period(TODAY, TODAY), account_id=acc.id)
    assert data.accounts[0].followers.last == 5321.0


async def test_channel_account_explains_how_to_make_the_bot_admin(h: Harness) -> None:
    h.fake.set_result("getChat", lambda call: _channel(-1009002, "otherchannel"))
    h.fake.set_chat_member(-1009002, h.bot.id, "member")
    text = await h.say_text("/account add tg:otherchannel", CHAT, language_code="en")
    assert text == (
        "Account tg:otherchannel added.\n"
        "To collect its followers, posts, reactions, joins and leaves, make me an administrator "
        "of @otherchannel: channel → Manage channel → Administrators → Add administrator → "
        "@smm_test_bot, with “Add subscribers” switched on (for campaign links). "
        "Then send /account add tg:otherchannel again."
    )
    acc = await h.storage.workspaces.find_account(await _ws_id(h), "tg:otherchannel")
    assert acc is not None and acc.channel_chat_id is None
    # Promoted now: adding it again links it.
    h.fake.set_chat_member(-1009002, h.bot.id, "administrator")
    again = await h.say_text("/account add tg:otherchannel", CHAT, language_code="en")
    assert again.startswith("Account tg:otherchannel already exists.\nI'm an administrator")


async def test_daily_job_records_followers_and_skips_a_failing_channel(h: Harness) -> None:
    h.fake.set_result("getChat", lambda call: _channel(-1009001, "brandchannel"))
    h.fake.set_chat_member(-1009001, h.bot.id, "administrator")
    await h.say("/account add tg:brandchannel", CHAT, language_code="en")
    ws_id = await _ws_id(h)
    await h.storage.workspaces.add_account(ws_id, "tg:gone", channel_chat_id=-1009999)
    h.fake.set_member_count(-1009001, 6000)
    h.fake.fail_next("getChatMemberCount", status=400, description="Bad Request: chat not found",
                     chat_id=-1009999)  # fmt: skip
    later = datetime(2024, 6, 10, 20, 50, tzinfo=UTC)  # 23:50 in Moscow
    recorded = await record_channel_followers(h.bot, h.storage, lambda: later)
    assert recorded == 1
    acc = await h.storage.workspaces.find_account(ws_id, "tg:brandchannel")
    assert acc is not None
    day = Period(date(2024, 6, 10), date(2024, 6, 10))
    data = await h.storage.metrics.period_data(ws_id, day, account_id=acc.id)
    assert data.followers_end == 6000.0
