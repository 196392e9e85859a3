"""/chart and /digest through the real dispatcher, and the digest job on the recording session."""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import create_bot, create_dispatcher
from bot.config import Settings
from bot.services.delivery import PacedSender
from bot.services.digest import DigestCache, DigestJob, digest_tick
from bot.services.rendering import ChartRenderer
from handlers.charts import CHARTABLE
from handlers.digest import DigestButton
from storage import Storage
from tests.dispatcher.conftest import Harness
from tests.fakeapi.core import Call
from tests.fakeapi.recording import RecordingSession

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # Wednesday, 12:00 in Moscow
TODAY = date(2026, 12, 2)
GROUP = -100700
EN = {"language_code": "en"}


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.fixture
async def renderer() -> AsyncIterator[ChartRenderer]:
    pool = ChartRenderer.threads(2)
    yield pool
    pool.close()


@pytest.fixture
async def clocked(
    storage: Storage, settings: Settings, renderer: ChartRenderer
) -> AsyncIterator[Harness]:
    session = RecordingSession()
    bot = create_bot(settings, session=session)
    dp = create_dispatcher(storage, settings, renderer=renderer, clock=lambda: NOW)
    yield Harness(dp, bot, session, storage, settings)
    await bot.session.close()


async def seed(harness: Harness, chat_id: int, values: dict[date, dict[str, float]]) -> int:
    await harness.say("/start", chat_id=chat_id, **EN)
    ws = await harness.storage.workspaces.get_by_chat(chat_id)
    assert ws is not None
    await harness.storage.metrics.apply_import(
        ws.id,
        source="test",
        user_id=None,
        values={("main", day): metrics for day, metrics in values.items()},
    )
    return ws.id


def full_day(k: int) -> dict[str, float]:
    """Every metric, varying by day `k` (0 = today)."""
    return {
        "reach": 1000.0 + 10 * k,
        "impressions": 2000.0 + 15 * k,
        "likes": 50.0 + k,
        "comments": 5.0,
        "link_clicks": 40.0 + k % 5,
        "conversions": 4.0,
        "sessions": 100.0,
        "bounces": 30.0 if k < 7 else 20.0,
        "new_visitors": 60.0,
        "returning_visitors": 40.0,
        "time_on_page_s": 9000.0 + 60 * k,
        "pageviews": 100.0,
        "followers": 5000.0 - 10 * k,
        "ad_spend": 300.0,
        "content_cost": 100.0,
        "new_customers": 2.0 + k % 2,
        "revenue": 900.0,
        "mentions": 3.0 + k % 4,
    }


async def test_chart_bounce_by_day_with_caption(clocked: Harness) -> None:
    await seed(clocked, 501, {TODAY - timedelta(days=k): full_day(k) for k in range(60)})
    calls = await clocked.say("/chart bounce 7d", chat_id=501, **EN)
    assert [c.method for c in calls] == ["sendPhoto"]
    (call,) = calls
    assert png_size(call.files["photo"].data) == (1200, 675)
    # Last 7 days: 30 bounces / 100 sessions a day; the 7 days before: 20 / 100.
    assert call.visible_text == (
        "Bounce rate · Nov 26 – Dec 2, 2026\n"
        "For the period: 30%\n"
        "Previous period: 20% (↑ +10 pp 🔴)\n"
        "Days with data: 7 of 7\n"
        # The forecast learns from the 59 days before today (20 %, then 30 % for 6 days);
        # its backtest: origins 28..58, up to 7 days ahead = 196 forecasts. Naive misses
        # by 10 pp wherever it still says 20 % for a 30 % day: 1+2+…+6 + 6 = 27 times,
        # 270 / 196 = 1.38 pp, and beats the rest.
        "Dashed: the forecast, naive (the last value carried on); the band comes from its "
        "backtest errors (±1.38%)."
    )


async def test_chart_every_kpi_is_a_png_of_the_right_size(clocked: Harness) -> None:
    # Gaps: every third day is missing.
    days = {TODAY - timedelta(days=k): full_day(k) for k in range(120) if k % 3 != 1}
    await seed(clocked, 502, days)
    for kpi in CHARTABLE:
        for period in ("30d", "120d"):
            calls = await clocked.say(f"/chart {kpi} {period}", chat_id=502, **EN)
            assert [c.method for c in calls] == ["sendPhoto"], (kpi, period, calls[0].visible_text)
            assert png_size(calls[0].files["photo"].data) == (1200, 675)
            assert len(calls[0].params["caption"]) <= 1024


async def test_chart_single_point_and_russian(clocked: Harness) -> None:
    await seed(clocked, 503, {TODAY - timedelta(days=3): {"reach": 12000.0}})
    calls = await clocked.say("/chart охват 7d", chat_id=503, language_code="ru")
    assert [c.method for c in calls] == ["sendPhoto"]
    assert png_size(calls[0].files["photo"].data) == (1200, 675)
    text = calls[0].visible_text or ""
    assert text.startswith("Охват · 26 нояб. – 2 дек. 2026\nЗа период: 12\u00a0000")
    assert text.endswith("Дней с данными: 1 из 7")


async def test_chart_weekly_is_ratio_of_weekly_sums(clocked: Harness) -> None:
    # By week (90 days > 62): each point is Σ bounces / Σ sessions of its week.
    await seed(clocked, 504, {TODAY - timedelta(days=k): full_day(k) for k in range(200)})
    calls = await clocked.say("/chart bounce 90d", chat_id=504, **EN)
    assert [c.method for c in calls] == ["sendPhoto"]
    # 7 days at 30 %, 83 days at 20 %: (7·30 + 83·20) / 9000 × 100.
    assert "For the period: 20.8%" in (calls[0].visible_text or "")


async def test_chart_without_data_answers_in_text(clocked: Harness) -> None:
    await seed(clocked, 505, {TODAY: {"reach": 100.0}})
    text = await clocked.say_text("/chart roi 30d", chat_id=505, **EN)
    assert text.startswith("No data for ROI in Nov 3 – Dec 2, 2026, so there is nothing to draw.")
    assert "It is computed from: revenue, ad spend, content cost." in text


async def test_chart_unknown_kpi_lists_names(clocked: Harness) -> None:
    text = await clocked.say_text("/chart popularity", chat_id=506, **EN)
    assert text.startswith("I don't know the KPI “popularity”.")
    for key in CHARTABLE:
        assert key in text
    assert "Bounce rate" in text
    text = await clocked.say_text("/chart", chat_id=506, **EN)
    assert text.startswith("Which KPI?")


async def test_chart_bad_period_and_unknown_account(clocked: Harness) -> None:
    text = await clocked.say_text("/chart reach 7x", chat_id=507, **EN)
    first, forms, example = text.split("\n")
    assert first == "“7x” is not a period."
    assert forms.startswith("Periods: today, yesterday, May, May 2024, 05.2024, 31.05.24,")
    assert example == "Example: /chart reach 30d vk:brand (period and account in any order)."
    text = await clocked.say_text("/chart reach 7d vk:nobody", chat_id=507, **EN)
    assert text == (
        "There is no account “vk:nobody” in this chat.\n"
        "Accounts: main. Add one: /account add vk:brand"
    )


async def test_chart_for_one_account(clocked: Harness) -> None:
    ws = await seed(clocked, 508, {TODAY: {"reach": 100.0}})
    await clocked.storage.metrics.apply_import(
        ws, source="t", user_id=None, values={("vk:brand", TODAY): {"reach": 40.0}}
    )
    calls = await clocked.say("/chart reach 7d vk:brand", chat_id=508, **EN)
    assert (calls[0].visible_text or "").startswith(
        "Reach · vk:brand · Nov 26 – Dec 2, 2026\nFor the period: 40\n"
    )


# --------------------------------------------------------------------------- /digest


async def test_digest_shows_schedule_with_buttons(clocked: Harness) -> None:
    calls = await clocked.say("/digest", chat_id=601, **EN)
    (call,) = calls
    assert call.visible_text == (
        "Weekly digest: on, every Mon at 10:00 (Europe/Moscow).\n"
        "Next one: Dec 7, 2026 10:00.\n"
        "It covers the last full week: every KPI, its change and a 12-week trend.\n"
        "Change it with the buttons or: /digest off, /digest on, /digest fri 18:00, "
        "/digest now — send it now."
    )
    ws = await clocked.storage.workspaces.get_by_chat(601)
    assert ws is not None
    assert f"dg:{ws.id}:off:" in call.callback_data
    assert f"dg:{ws.id}:now:" in call.callback_data
    assert f"dg:{ws.id}:day:4" in call.callback_data
    assert f"dg:{ws.id}:time:1800" in call.callback_data
    assert all(len(d.encode()) <= 64 for d in call.callback_data)


@pytest.mark.parametrize(
    ("args", "weekday", "time", "enabled"),
    [
        ("fri 18:00", 4, "18:00", True),
        ("пт 9:30", 4, "09:30", True),
        ("понедельник", 0, "10:00", True),
        ("в среду 8", None, None, None),  # "в" is not understood: nothing changes
        ("off", 0, "10:00", False),
        ("21:15", 0, "21:15", True),
    ],
)
async def test_digest_schedule_changes(
    clocked: Harness, args: str, weekday: int | None, time: str | None, enabled: bool | None
) -> None:
    text = await clocked.say_text(f"/digest {args}", chat_id=602, **EN)
    ws = await clocked.storage.workspaces.get_by_chat(602)
    assert ws is not None
    if weekday is None:
        assert text.startswith("Use: /digest — the schedule;")
        assert (ws.digest_weekday, ws.digest_time, ws.digest_enabled) == (0, "10:00", True)
        return
    assert (ws.digest_weekday, ws.digest_time, ws.digest_enabled) == (weekday, time, enabled)
    assert text.startswith("Weekly digest: off." if not enabled else "Weekly digest: on, every")


async def test_digest_changes_are_admin_only_in_groups_but_now_is_for_everyone(
    clocked: Harness,
) -> None:
    kw = {"chat_id": GROUP, "chat_type": "supergroup", "user_id": 2002, **EN}
    clocked.fake.set_chat_member(GROUP, 2002, "member")
    await seed(clocked, GROUP, {TODAY - timedelta(days=k): full_day(k) for k in range(30)})
    calls = await clocked.say("/digest off", **kw)
    assert calls[-1].visible_text == (
        "Only chat administrators can change this. Anyone can ask for KPIs."
    )
    ws = await clocked.storage.workspaces.get_by_chat(GROUP)
    assert ws is not None and ws.digest_enabled
    calls = await clocked.say("/digest now", **kw)
    assert [c.method for c in calls] == ["sendPhoto"]
    assert not calls[0].params.get("disable_notification")


async def test_digest_buttons_check_admin_and_workspace(clocked: Harness) -> None:
    kw = {"chat_id": GROUP, "chat_type": "supergroup", **EN}
    clocked.fake.set_chat_member(GROUP, 2002, "member")
    clocked.fake.set_chat_member(GROUP, 2003, "administrator")
    (shown,) = await clocked.say("/digest", user_id=2003, **kw)
    ws = await clocked.storage.workspaces.get_by_chat(GROUP)
    assert ws is not None and shown.message_id is not None
    fri = DigestButton(ws=ws.id, act="day", val="4").pack()
    calls = await clocked.press(GROUP, shown.message_id, fri, user_id=2002, **EN)
    assert _answer(calls) == "Only chat administrators can do this."
    other = DigestButton(ws=ws.id + 1000, act="off").pack()
    calls = await clocked.press(GROUP, shown.message_id, other, user_id=2003, **EN)
    assert _answer(calls) == "This button is not for this chat."
    calls = await clocked.press(GROUP, shown.message_id, fri, user_id=2003, **EN)
    assert _answer(calls) == "Saved."
    (edit,) = [c for c in calls if c.method == "editMessageText"]
    assert (edit.visible_text or "").startswith("Weekly digest: on, every Fri at 10:00")
    calls = await clocked.press(
        GROUP, shown.message_id, DigestButton(ws=ws.id, act="time", val="1800").pack(),
        user_id=2003, **EN,
    )  # fmt: skip
    ws = await clocked.storage.workspaces.get_by_chat(GROUP)
    assert ws is not None and (ws.digest_weekday, ws.digest_time) == (4, "18:00")


def _answer(calls: list[Call]) -> str | None:
    (answer,) = [c for c in calls if c.method == "answerCallbackQuery"]
    text = answer.params.get("text")
    return text if isinstance(text, str) else None


async def test_digest_now_without_data(clocked: Harness) -> None:
    text = await clocked.say_text("/digest now", chat_id=603, **EN)
    assert text == "No numbers yet, so no digest. Send them with /log or a file, then try again."


async def test_digest_now_caption_in_russian(clocked: Harness) -> None:
    # Last full week in Moscow on Wednesday 2026-12-02: Nov 23–29 (ISO week 48).
    week = [date(2026, 11, 23) + timedelta(days=i) for i in range(7)]
    before = [d - timedelta(days=7) for d in week]
    values = {d: {"reach": 1000.0, "bounces": 30.0, "sessions": 100.0} for d in before}
    values |= {d: {"reach": 1500.0, "bounces": 45.0, "sessions": 100.0} for d in week}
    await seed(clocked, 604, values)
    await clocked.say("/lang ru", chat_id=604)
    calls = await clocked.say("/digest now", chat_id=604)
    assert [c.method for c in calls] == ["sendPhoto"]
    png = calls[0].files["photo"].data
    assert png_size(png)[0] == 1080
    assert calls[0].visible_text == (
        "Ваши SMM-KPI · дайджест недели\n"
        "Неделя 48, 23–29 нояб. 2026\n"
        # What changed and why: bounces 210 → 315 (+50 %) on 700 sessions both weeks.
        "❓ Показатель отказов +15 п.п.: число отказов +50\u00a0%, визиты без изменений\n"
        "Данные на 29 нояб. 2026\n"
        "Сначала самые заметные изменения:\n"
        "Охват: 10\u00a0500 · ↑ +50\u00a0% 🟢\n"
        "Показатель отказов: 45\u00a0% · ↑ +15 п.п. 🔴"
    )


# --------------------------------------------------------------------------- the job


def _job(harness: Harness, renderer: ChartRenderer, now: datetime) -> DigestJob:
    return DigestJob(
        bot=harness.bot,
        storage=harness.storage,
        renderer=renderer,
        sender=PacedSender(),
        i18n=harness.dp["i18n"],
        cache=DigestCache(),
        clock=lambda: now,
    )


async def test_digest_job_sends_once_per_week_silently(
    clocked: Harness, renderer: ChartRenderer
) -> None:
    await seed(clocked, 701, {TODAY - timedelta(days=k): full_day(k) for k in range(100)})
    await seed(clocked, 702, {})  # no data: no digest
    from sqlalchemy import update

    from storage.schema import workspaces

    async with clocked.storage.engine.begin() as conn:
        await conn.execute(update(workspaces).values(created_at=datetime(2026, 1, 1, tzinfo=UTC)))
    await clocked.storage.digests.reschedule_all(datetime(2026, 1, 1, tzinfo=UTC))
    before = len(clocked.session.calls)
    report = await digest_tick(_job(clocked, renderer, NOW))
    calls = clocked.session.calls[before:]
    assert report.sent == 1 and [c.method for c in calls] == ["sendPhoto"]
    assert calls[0].chat_id == 701 and calls[0].params["disable_notification"] is True
    assert len(calls[0].params["caption"]) <= 1024
    text = calls[0].visible_text or ""
    # The chat was started by an English-speaking user: its digest is in English
    # (before: in the default Russian, whatever the user spoke).
    assert text.startswith("Your SMM KPIs · weekly digest\nWeek 48, Nov 23–29, 2026\n")
    ws = await clocked.storage.workspaces.get_by_chat(701)
    assert ws is not None
    (entry,) = await clocked.storage.digests.entries(ws.id)
    assert (entry.week, entry.status, entry.message_id) == ("2026-W48", "sent", calls[0].message_id)
    # Ticks later in the week send nothing; the next Monday sends week 49.
    assert (await digest_tick(_job(clocked, renderer, NOW + timedelta(hours=30)))).sent == 0
    report = await digest_tick(_job(clocked, renderer, datetime(2026, 12, 7, 7, 0, tzinfo=UTC)))
    assert report.sent == 1


async def test_digest_job_text_only_when_rendering_fails(
    clocked: Harness, renderer: ChartRenderer, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(clocked, 703, {TODAY - timedelta(days=k): full_day(k) for k in range(30)})
    from sqlalchemy import update

    from storage.schema import workspaces

    async with clocked.storage.engine.begin() as conn:
        await conn.execute(update(workspaces).values(created_at=datetime(2026, 1, 1, tzinfo=UTC)))
    await clocked.storage.digests.reschedule_all(datetime(2026, 1, 1, tzinfo=UTC))

    async def broken(func: object, spec: object) -> bytes:
        raise RuntimeError("no fonts today")

    monkeypatch.setattr(renderer, "render", broken)
    before = len(clocked.session.calls)
    report = await digest_tick(_job(clocked, renderer, NOW))
    calls = clocked.session.calls[before:]
    assert (report.sent, report.text_only) == (1, 1)
    assert [c.method for c in calls] == ["sendMessage"]
    assert "Reach: " in (calls[0].visible_text or "")


async def test_create_jobs_wires_the_digest_tick(clocked: Harness) -> None:
    from apscheduler.triggers.cron import CronTrigger

    from bot.app import create_jobs

    await seed(clocked, 704, {TODAY - timedelta(days=k): full_day(k) for k in range(30)})
    from sqlalchemy import update

    from storage.schema import workspaces

    async with clocked.storage.engine.begin() as conn:
        await conn.execute(update(workspaces).values(created_at=datetime(2026, 1, 1, tzinfo=UTC)))
    await clocked.storage.digests.reschedule_all(datetime(2026, 1, 1, tzinfo=UTC))
    (spec,) = [j for j in create_jobs(clocked.bot, clocked.dp["services"]) if j.id == "digest"]
    # On the minute (tests/unit/test_digest_timing.py checks the fire times).
    assert isinstance(spec.trigger, CronTrigger)
    assert spec.options == {"coalesce": True, "misfire_grace_time": 30, "max_instances": 2}
    before = len(clocked.session.calls)
    await spec.func()  # what APScheduler calls every minute
    calls = clocked.session.calls[before:]
    assert [(c.method, c.chat_id) for c in calls] == [("sendPhoto", 704)]


def test_digest_cache_is_bounded_by_bytes_and_age(tmp_path: Path) -> None:
    from kpi.charts import DashboardSpec, DashboardTile

    now = [0.0]
    cache = DigestCache(max_bytes=250, max_age_s=60, clock=lambda: now[0], directory=tmp_path)
    specs = [DashboardSpec(f"t{i}", "s", (DashboardTile("n", "1"),)) for i in range(4)]
    assert [cache.put(spec, b"x" * 100) for spec in specs[:3]] == [True, True, False]
    # Full: the third is refused (rendered at send time), nothing about to be sent is evicted.
    assert len(cache) == 2 and cache.size == 200
    assert sorted(p.stat().st_size for p in tmp_path.iterdir()) == [100, 100]
    assert cache.take(specs[2]) is None and cache.take(specs[0]) == b"x" * 100
    assert cache.take(specs[0]) is None  # a picture is used once, its file deleted
    assert len(list(tmp_path.iterdir())) == 1
    now[0] = 61.0
    assert cache.put(specs[3], b"y" * 10)
    assert len(cache) == 1 and cache.size == 10  # specs[1] expired, its file too
    assert [p.read_bytes() for p in tmp_path.iterdir()] == [b"y" * 10]
    assert (cache.hits, cache.misses) == (1, 2)


async def test_identical_dashboards_render_once_and_are_resent_by_file_id(
    clocked: Harness, renderer: ChartRenderer, tmp_path: Path
) -> None:
    """Issue #16: pre-rendered into the disk cache before the slot, deleted once sent;
    an identical dashboard later goes by the file_id Telegram gave the first upload."""
    days = {TODAY - timedelta(days=k): full_day(k) for k in range(100)}
    for chat in (711, 712, 713):
        await seed(clocked, chat, days)
    from sqlalchemy import update

    from storage.schema import workspaces

    async with clocked.storage.engine.begin() as conn:
        await conn.execute(update(workspaces).values(created_at=datetime(2026, 1, 1, tzinfo=UTC)))
    await clocked.storage.digests.reschedule_all(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    await clocked.storage.workspaces.set_digest(713, time="11:00")  # an hour after the others
    await clocked.storage.digests.reschedule_all(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    cache = DigestCache(directory=tmp_path / "cache")

    def files() -> list[Path]:
        return list((tmp_path / "cache").iterdir())

    def job(now: datetime) -> DigestJob:
        j = _job(clocked, renderer, now)
        j.cache = cache
        return j

    # Monday 2026-12-07 09:50 Moscow: 711 and 712 are due within the look-ahead.
    warm = await digest_tick(job(datetime(2026, 12, 7, 6, 50, tzinfo=UTC)))
    assert warm.sent == 0 and cache.warming is not None
    assert await cache.warming == 1  # one picture for both
    assert len(files()) == 1 and len(cache) == 1
    before = len(clocked.session.calls)
    report = await digest_tick(job(datetime(2026, 12, 7, 7, 0, tzinfo=UTC)))
    photos = [c for c in clocked.session.calls[before:] if c.method == "sendPhoto"]
    assert report.sent == 2 and sorted(c.chat_id for c in photos) == [711, 712]
    # Nothing rendered in the send run: both from the cache, or the second by the
    # file_id of the first when the first was already through (the sends overlap).
    assert cache.misses == 0 and cache.hits + cache.reused == 2 and cache.hits >= 1
    reused = cache.reused
    assert files() == [] and cache.size == 0  # deleted after sending
    # 713 at 11:00: its dashboard equals the others', so it goes by file_id.
    before = len(clocked.session.calls)
    report = await digest_tick(job(datetime(2026, 12, 7, 8, 0, tzinfo=UTC)))
    (photo,) = [c for c in clocked.session.calls[before:] if c.method == "sendPhoto"]
    assert report.sent == 1 and photo.chat_id == 713
    uploaded = {c.result["photo"][-1]["file_id"] for c in photos}
    assert photo.params["photo"] in uploaded and cache.reused == reused + 1
    assert cache.misses == 0


def test_prerender_window_grows_with_the_number_due() -> None:
    from bot.services.digest import PRERENDER_AHEAD, PRERENDER_MAX, prerender_window

    # No measurement yet, or few due: the 15-minute base.
    assert prerender_window(10_000, None) == PRERENDER_AHEAD
    assert prerender_window(1_000, 20.0) == PRERENDER_AHEAD  # 75 s of rendering × 1.5
    # 10,000 due at 15 dashboards/s: 667 s × 1.5 = 1,000 s.
    assert prerender_window(10_000, 15.0) == timedelta(seconds=1000)
    assert prerender_window(10**7, 1.0) == PRERENDER_MAX


async def test_tick_sizes_the_window_from_the_count_due_and_the_render_rate(
    clocked: Harness, renderer: ChartRenderer
) -> None:
    from bot.services.digest import _sized_window

    counts: list[datetime] = []
    due_by = {timedelta(minutes=15): 20_000, timedelta(seconds=2000): 40_000}

    class Digests:
        async def due_count(self, until: datetime) -> int:
            counts.append(until)
            window = until - NOW
            return next((n for w, n in sorted(due_by.items()) if w >= window), 60_000)

    job = _job(clocked, renderer, NOW)
    job.cache.render_rate = 15.0
    job.storage = type("S", (), {"digests": Digests()})()  # type: ignore[assignment]
    # 20,000 due in 15 min → 2,000 s; 40,000 in that → 4,000 s; 60,000 beyond → 6,000 s.
    assert await _sized_window(job, NOW) == timedelta(seconds=6000)
    assert [c - NOW for c in counts] == [
        timedelta(minutes=15), timedelta(seconds=2000), timedelta(seconds=4000),
        timedelta(seconds=6000),
    ]  # fmt: skip
    job.cache.render_rate = None  # nothing measured: the base window, one count
    counts.clear()
    assert await _sized_window(job, NOW) == timedelta(minutes=15) and len(counts) == 1
