"""KPI commands through the real dispatcher: values, previous period, change, formula
with the sums, completeness, missing-metric hints, in Russian and English.

The clock is fixed at 2026-11-30 12:00 Moscow time, so the default period is
1–30 Nov 2026 and the previous one 2–31 Oct 2026.

Seeded numbers (account `main`):
* Nov 1–23 (23 of 30 days), every day: reach 1000, impressions 2000, likes 40,
  comments 5, shares 3, saves 2, posts 1, link_clicks 20, conversions 1,
  sessions 50, bounces 20, pageviews 100, time_on_page_s 6000, new_visitors 30,
  returning_visitors 20, revenue 3000, ad_spend 1000, content_cost 200,
  new_customers 2, mentions 4, mentions_positive 1, mentions_negative 1.
* Oct 2–31 (30 days), every day: reach 800, impressions 1600, likes 20,
  comments 5, shares 3, saves 2, posts 1, link_clicks 16, conversions 1,
  sessions 50, bounces 25, pageviews 100, time_on_page_s 5000, new_visitors 25,
  returning_visitors 25, revenue 2000, ad_spend 1000, content_cost 200,
  new_customers 3, mentions 2.
* followers: Oct 2 = 9500, Oct 31 = 9800, Nov 23 = 10290.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.app import create_bot, create_dispatcher
from bot.config import Settings
from handlers import kpi as kpi_handlers
from kpi.models import AudienceBucket, PostRecord
from storage import Storage
from storage.metrics import AudienceRow
from storage.records import Workspace
from tests.dispatcher.conftest import Harness
from tests.fakeapi.recording import RecordingSession

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # 12:00 in Moscow
CHAT = 1001
GROUP = -100777
RU = {"language_code": "ru"}
EN = {"language_code": "en"}
NB = "\u00a0"  # Russian thousands separator and the space before %

CURRENT_DAY = {
    "reach": 1000, "impressions": 2000, "likes": 40, "comments": 5, "shares": 3, "saves": 2,
    "posts": 1, "link_clicks": 20, "conversions": 1, "sessions": 50, "bounces": 20,
    "pageviews": 100, "time_on_page_s": 6000, "new_visitors": 30, "returning_visitors": 20,
    "revenue": 3000, "ad_spend": 1000, "content_cost": 200, "new_customers": 2,
    "mentions": 4, "mentions_positive": 1, "mentions_negative": 1,
}  # fmt: skip
PREVIOUS_DAY = {
    "reach": 800, "impressions": 1600, "likes": 20, "comments": 5, "shares": 3, "saves": 2,
    "posts": 1, "link_clicks": 16, "conversions": 1, "sessions": 50, "bounces": 25,
    "pageviews": 100, "time_on_page_s": 5000, "new_visitors": 25, "returning_visitors": 25,
    "revenue": 2000, "ad_spend": 1000, "content_cost": 200, "new_customers": 3, "mentions": 2,
}  # fmt: skip


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(n) for n in range((last - first).days + 1)]


@pytest.fixture
async def bot_at(storage: Storage, settings: Settings) -> AsyncIterator[Harness]:
    session = RecordingSession()
    bot = create_bot(settings, session=session)
    dp = create_dispatcher(storage, settings, clock=lambda: NOW)
    yield Harness(dp, bot, session, storage, settings)
    await bot.session.close()


async def workspace(storage: Storage, chat_id: int = CHAT, chat_type: str = "private") -> Workspace:
    ws, _ = await storage.workspaces.ensure(chat_id, chat_type, None, "Europe/Moscow")
    return ws


async def seed(storage: Storage, chat_id: int = CHAT, chat_type: str = "private") -> Workspace:
    ws = await workspace(storage, chat_id, chat_type)
    values: dict[tuple[str, date], dict[str, float]] = {}
    for day in days(date(2026, 11, 1), date(2026, 11, 23)):
        values[("main", day)] = dict(CURRENT_DAY)
    for day in days(date(2026, 10, 2), date(2026, 10, 31)):
        values[("main", day)] = dict(PREVIOUS_DAY)
    values[("main", date(2026, 10, 2))]["followers"] = 9500
    values[("main", date(2026, 10, 31))]["followers"] = 9800
    values[("main", date(2026, 11, 23))]["followers"] = 10290
    await storage.metrics.apply_import(ws.id, source="test", user_id=None, values=values)
    return ws


async def put(
    storage: Storage, ws: Workspace, rows: dict[tuple[str, date], dict[str, float]]
) -> None:
    await storage.metrics.apply_import(ws.id, source="test", user_id=None, values=rows)


def lines(text: str) -> list[str]:
    return text.split("\n")


# --- /roi in full ------------------------------------------------------------------------


async def test_roi_in_russian(bot_at: Harness) -> None:
    await seed(bot_at.storage)
    text = await bot_at.say_text("/roi", **RU)
    # Nov: revenue 23 × 3000 = 69 000; cost 23 × 1000 + 23 × 200 = 23 000 + 4 600 = 27 600;
    # ROI = (69 000 − 27 600) / 27 600 × 100 = 150 %; profit 41 400.
    # Oct: revenue 60 000, cost 36 000: (60 000 − 36 000) / 36 000 × 100 = 66.67 %; +83.3 pp.
    assert lines(text) == [
        "ROI · 1–30 нояб. 2026 · все аккаунты",
        f"150{NB}%",
        f"Прошлый период (2–31 окт. 2026): 66,7{NB}% (данные за 30 из 30 дней) · ↑ +83,3 п.п. 🟢",
        f"Затраты: 27{NB}600{NB}₽",
        f"Прибыль: 41{NB}400{NB}₽",
        "Формула: ROI = (Σ выручки × маржа − затраты) / затраты × 100, затраты = "
        "Σ расходов на рекламу + Σ затрат на контент = "
        f"(69{NB}000 × 100{NB}% − (23{NB}000 + 4{NB}600)) / (23{NB}000 + 4{NB}600) × 100 "
        f"= 150{NB}%",
        "⚠️ Данные за 23 из 30 дней",
    ]


async def test_roi_in_english_with_margin(bot_at: Harness) -> None:
    await seed(bot_at.storage)
    await bot_at.say("/margin 50%", **EN)
    text = await bot_at.say_text("/roi", **EN)
    # margin 50 %: Nov (69 000 × 0.5 − 27 600) / 27 600 × 100 = 6 900 / 27 600 × 100 = 25 %;
    # Oct (60 000 × 0.5 − 36 000) / 36 000 × 100 = −16.67 %; change +41.7 pp.
    assert lines(text) == [
        "ROI · Nov 1–30, 2026 · all accounts",
        "25%",
        "Previous period (Oct 2–31, 2026): −16.7% (data for 30 of 30 days) · ↑ +41.7 pp 🟢",
        "Cost: $27,600",
        "Profit: $6,900",
        "Formula: ROI = (Σ revenue × margin − cost) / cost × 100, cost = Σ ad spend + "
        "Σ content cost = (69,000 × 50% − (23,000 + 4,600)) / (23,000 + 4,600) × 100 = 25%",
        "⚠️ Data for 23 of 30 days",
    ]


# --- every single-KPI command, both languages ---------------------------------------------

# (command, Russian key lines, English key lines); each line must appear as a whole.
SINGLE = [
    (
        # Σ reach 23 × 1000 = 23 000 vs 30 × 800 = 24 000: −1 000 = −4.17 %, worse.
        # Frequency 46 000 / 23 000 = 2.
        "/reach",
        [
            "Охват · 1–30 нояб. 2026 · все аккаунты",
            f"23{NB}000",
            f"Прошлый период (2–31 окт. 2026): 24{NB}000 (данные за 30 из 30 дней) · "
            f"↓ −1{NB}000 (−4,17{NB}%) 🔴",
            f"Показы: 46{NB}000",
            "Частота: 2 (показы / охват)",
            f"Формула: Охват = Σ охвата = 23{NB}000",
            "ℹ️ Сумма дневных охватов считает человека в каждый день, когда он видел "
            "публикацию, поэтому она больше уникального охвата.",
        ],
        [
            "Reach · Nov 1–30, 2026 · all accounts",
            "23,000",
            "Previous period (Oct 2–31, 2026): 24,000 (data for 30 of 30 days) · "
            "↓ −1,000 (−4.17%) 🔴",
            "Impressions: 46,000",
            "Frequency: 2 (impressions / reach)",
        ],
    ),
    (
        # interactions 23 × (40 + 5 + 3 + 2) = 920 + 115 + 69 + 46 = 1 150; ERR 1 150 / 23 000
        # = 5 %; Oct 30 × 30 = 900 / 24 000 = 3.75 %: +1.25 pp. ER by followers: 1 150 / 23
        # posts = 50 per post / 10 290 average stored followers in Nov × 100 = 0.486 %.
        "/er",
        [
            "Вовлечённость (ERR) · 1–30 нояб. 2026 · все аккаунты",
            f"5{NB}%",
            f"Прошлый период (2–31 окт. 2026): 3,75{NB}% "
            f"(данные за 30 из 30 дней) · ↑ +1,25 п.п. 🟢",
            f"Взаимодействия: 1{NB}150",
            f"ER по подписчикам: 0,486{NB}% на публикацию",
            f"ERR по показам: 2,5{NB}%",
            "Формула: ERR = Σ взаимодействий / Σ охвата × 100 = "
            f"(920 + 115 + 69 + 46) / 23{NB}000 × 100 = 5{NB}%",
        ],
        [
            "Engagement (ERR) · Nov 1–30, 2026 · all accounts",
            "5%",
            "Previous period (Oct 2–31, 2026): 3.75% (data for 30 of 30 days) · ↑ +1.25 pp 🟢",
            "ER by followers: 0.486% per post",
            "Formula: ERR = Σ interactions / Σ reach × 100 = "
            "(920 + 115 + 69 + 46) / 23,000 × 100 = 5%",
        ],
    ),
    (
        # 23 conversions / 460 clicks = 5 %; Oct 30 / 480 = 6.25 %: −1.25 pp, worse.
        "/conversion",
        [
            f"5{NB}%",
            f"Прошлый период (2–31 окт. 2026): 6,25{NB}% "
            f"(данные за 30 из 30 дней) · ↓ −1,25 п.п. 🔴",
            f"Формула: CR = Σ конверсий / Σ кликов × 100 = 23 / 460 × 100 = 5{NB}%",
        ],
        [
            "Conversion rate · Nov 1–30, 2026 · all accounts",
            "Formula: CR = Σ conversions / Σ link clicks × 100 = 23 / 460 × 100 = 5%",
        ],
    ),
    (
        # start = last value before Nov = 9 800 (Oct 31), end = 10 290: 490 / 9 800 = 5 %.
        # Oct: nothing before Oct 2, so start = 9 500: 300 / 9 500 = 3.158 %: +1.84 pp.
        "/growth",
        [
            "Рост аудитории · 1–30 нояб. 2026 · все аккаунты",
            f"5{NB}%",
            f"Прошлый период (2–31 окт. 2026): 3,16{NB}% "
            f"(данные за 30 из 30 дней) · ↑ +1,84 п.п. 🟢",
            "Чистый прирост подписчиков: +490 (по числу подписчиков)",
            "Формула: Рост = (подписчики на конец − подписчики на начало) / подписчики на "
            f"начало × 100 = (10{NB}290 − 9{NB}800) / 9{NB}800 × 100 = 5{NB}%",
            # completeness counts the days with any data (followers are a gauge)
            "⚠️ Данные за 23 из 30 дней",
        ],
        ["Net new followers: +490 (from follower counts)", "⚠️ Data for 23 of 30 days"],
    ),
    (
        # 460 clicks vs 480: −20 (−4.17 %); CTR 460 / 46 000 × 100 = 1 %.
        "/ctr",
        [
            "Клики по ссылкам · 1–30 нояб. 2026 · все аккаунты",
            "460",
            f"Прошлый период (2–31 окт. 2026): 480 "
            f"(данные за 30 из 30 дней) · ↓ −20 (−4,17{NB}%) 🔴",
            f"CTR: 1{NB}% (клики / показы × 100)",
        ],
        [
            "Link clicks · Nov 1–30, 2026 · all accounts",
            "CTR: 1% (link clicks / impressions × 100)",
        ],
    ),
    (
        # 460 bounces / 1 150 sessions = 40 %; Oct 750 / 1 500 = 50 %: −10 pp, lower is better.
        "/bounce",
        [
            f"40{NB}%",
            f"Прошлый период (2–31 окт. 2026): 50{NB}% (данные за 30 из 30 дней) · ↓ −10 п.п. 🟢",
            f"Формула: Отказы = Σ отказов / Σ визитов × 100 = 460 / 1{NB}150 × 100 = 40{NB}%",
        ],
        [
            "Bounce rate · Nov 1–30, 2026 · all accounts",
            "Previous period (Oct 2–31, 2026): 50% (data for 30 of 30 days) · ↓ −10 pp 🟢",
        ],
    ),
    (
        # new 690 / (690 + 460) = 60 %; Oct 750 / 1 500 = 50 %; returning 40 %.
        "/visitors",
        [
            f"60{NB}%",
            f"Прошлый период (2–31 окт. 2026): 50{NB}% (данные за 30 из 30 дней) · ↑ +10 п.п. 🟢",
            f"Вернувшиеся посетители: 40{NB}%",
            "Формула: Доля новых = Σ новых посетителей / (Σ новых + Σ вернувшихся) × 100 = "
            f"690 / (690 + 460) × 100 = 60{NB}%",
        ],
        ["New visitors · Nov 1–30, 2026 · all accounts", "Returning visitors: 40%"],
    ),
    (
        # 138 000 s / 2 300 views = 60 s = 1:00; Oct 150 000 / 3 000 = 50 s: +0:10 (+20 %).
        "/timeonpage",
        [
            "1:00",
            f"Прошлый период (2–31 окт. 2026): 0:50 (данные за 30 из 30 дней) · "
            f"↑ +0:10 (+20{NB}%) 🟢",
            "Формула: Время на странице = Σ времени на странице, с / Σ просмотров страниц = "
            f"138{NB}000 / 2{NB}300 = 1:00",
        ],
        ["Time on page · Nov 1–30, 2026 · all accounts", "1:00"],
    ),
    (
        # cost 27 600 / 46 customers = 600; Oct 36 000 / 90 = 400: +200 (+50 %), worse.
        "/cac",
        [
            f"600{NB}₽",
            f"Прошлый период (2–31 окт. 2026): 400{NB}₽ (данные за 30 из 30 дней) · "
            f"↑ +200{NB}₽ (+50{NB}%) 🔴",
            "Формула: CAC = (Σ расходов на рекламу + Σ затрат на контент) / Σ новых клиентов"
            f" = (23{NB}000 + 4{NB}600) / 46 = 600{NB}₽",
        ],
        [
            "$600",
            "Previous period (Oct 2–31, 2026): $400 (data for 30 of 30 days) · ↑ +$200 (+50%) 🔴",
        ],
    ),
    (
        # 92 mentions vs 60: +32 (+53.3 %); positive 23 / 92 = 25 %, negative 25 %.
        "/mentions",
        [
            "Упоминания бренда · 1–30 нояб. 2026 · все аккаунты",
            "92",
            "Прошлый период (2–31 окт. 2026): 60 (данные за 30 из 30 дней) · "
            f"↑ +32 (+53,3{NB}%) 🟢",
            f"Позитивные: 25{NB}%",
            f"Негативные: 25{NB}%",
        ],
        ["Brand mentions · Nov 1–30, 2026 · all accounts", "Positive: 25%", "Negative: 25%"],
    ),
]


@pytest.mark.parametrize(("command", "ru", "en"), SINGLE, ids=[s[0] for s in SINGLE])
async def test_single_kpi_commands(
    bot_at: Harness, command: str, ru: list[str], en: list[str]
) -> None:
    await seed(bot_at.storage)
    ru_lines = lines(await bot_at.say_text(command, **RU))
    for line in ru:
        assert line in ru_lines, (line, ru_lines)
    en_lines = lines(await bot_at.say_text(command, **EN))
    for line in en:
        assert line in en_lines, (line, en_lines)


async def test_long_command_names_answer_like_aliases(bot_at: Harness) -> None:
    await seed(bot_at.storage)
    assert await bot_at.say_text("/engagement", **EN) == await bot_at.say_text("/er", **EN)
    assert await bot_at.say_text("/clicks", **EN) == await bot_at.say_text("/CTR", **EN)


async def test_complete_period_has_no_warning(bot_at: Harness) -> None:
    await seed(bot_at.storage)
    text = await bot_at.say_text("/reach 2026-11-01..2026-11-23", **RU)
    assert "Данные за 23 из 23 дней" in lines(text)
    # the previous 23 days are Oct 9–31: 23 × 800 = 18 400
    assert (
        f"Прошлый период (9–31 окт. 2026): 18{NB}400 (данные за 23 из 23 дней) · "
        f"↑ +4{NB}600 (+25{NB}%) 🟢" in text
    )


# --- missing data and zero denominators -------------------------------------------------


async def test_missing_metrics_say_how_to_add_them(bot_at: Harness) -> None:
    ws = await workspace(bot_at.storage)
    await put(bot_at.storage, ws, {("main", date(2026, 11, 20)): {"link_clicks": 50}})
    ru = lines(await bot_at.say_text("/conversion", **RU))
    assert ru == [
        "Конверсия · 1–30 нояб. 2026 · все аккаунты",
        "Не посчитать: за период нет данных — конверсии.",
        "Добавьте: /log конверсии=… или пришлите файл CSV/XLSX с этими колонками.",
        "Прошлый период (2–31 окт. 2026): данных не хватает",
        "Формула: CR = Σ конверсий / Σ кликов × 100",
    ]
    en = lines(await bot_at.say_text("/er", **EN))
    assert en[1:3] == [
        "Can't compute: no data on likes, comments, shares, saves, reactions, reach in this "
        "period.",
        "Add them: /log likes=… comments=… shares=… saves=… reactions=… reach=… "
        "or send a CSV/XLSX file with these columns.",
    ]
    roi = lines(await bot_at.say_text("/roi", **RU))
    assert roi[1:3] == [
        "Не посчитать: за период нет данных — выручка, расход на рекламу или затраты на контент.",
        "Добавьте: /log выручка=… расход на рекламу=… затраты на контент=… или пришлите "
        "файл CSV/XLSX с этими колонками.",
    ]
    bounce = lines(await bot_at.say_text("/bounce", **EN))
    assert (
        "Add them: /log bounce rate=…% sessions=… or send a CSV/XLSX file with these columns."
    ) in bounce


async def test_zero_denominators_give_no_number(bot_at: Harness) -> None:
    ws = await workspace(bot_at.storage)
    await put(
        bot_at.storage,
        ws,
        {
            ("main", date(2026, 11, 20)): {
                "sessions": 0, "bounces": 0, "revenue": 500, "ad_spend": 0, "content_cost": 0,
                "conversions": 3, "link_clicks": 0, "new_customers": 0,
            }
        },
    )  # fmt: skip
    bounce = lines(await bot_at.say_text("/bounce", **RU))
    assert bounce[1] == "Не посчитать: визиты за период = 0, а делить на ноль нельзя."
    assert bounce[3] == "Формула: Отказы = Σ отказов / Σ визитов × 100 = 0 / 0 × 100"
    roi = lines(await bot_at.say_text("/roi", **EN))
    assert roi[1] == (
        "Can't compute: ad spend + content cost is 0 in this period, and there is no dividing by 0."
    )
    conversion = lines(await bot_at.say_text("/conversion", **EN))
    assert conversion[1] == (
        "Can't compute: link clicks is 0 in this period, and there is no dividing by 0."
    )
    cac = lines(await bot_at.say_text("/cac", **RU))
    assert cac[1] == "Не посчитать: новые клиенты за период = 0, а делить на ноль нельзя."


async def test_tiny_ctr_keeps_significant_digits(bot_at: Harness) -> None:
    ws = await workspace(bot_at.storage)
    # 179 / 1 000 000 × 100 = 0.0179 %
    await put(
        bot_at.storage,
        ws,
        {("main", date(2026, 11, 29)): {"link_clicks": 179, "impressions": 1_000_000}},
    )
    text = await bot_at.say_text("/ctr", **RU)
    assert f"CTR: 0,0179{NB}% (клики / показы × 100)" in lines(text)
    assert "Prev" not in text
    assert "Прошлый период (2–31 окт. 2026): данных не хватает" in lines(text)


# --- arguments: period, account, errors --------------------------------------------------


async def test_period_and_account_in_either_order(bot_at: Harness) -> None:
    ws = await seed(bot_at.storage)
    await bot_at.storage.workspaces.add_account(ws.id, "vk:brand")
    # vk:brand: reach 500 on Nov 24..30 (7 days) = 3 500; previous 7 days (Nov 17..23) 0 rows.
    await put(
        bot_at.storage,
        ws,
        {("vk:brand", d): {"reach": 500} for d in days(date(2026, 11, 24), date(2026, 11, 30))},
    )
    first = await bot_at.say_text("/reach 7d vk:brand", **EN)
    second = await bot_at.say_text("/reach VK:@Brand 7d", **EN)
    assert first == second
    assert lines(first)[:3] == [
        "Reach · Nov 24–30, 2026 · vk:brand",
        "3,500",
        "Previous period (Nov 17–23, 2026): no value",
    ]
    assert "Data for 7 of 7 days" in lines(first)
    # all accounts over the same 7 days: only vk:brand has reach there; previous 7 days: main's
    # Nov 17..23 = 7 × 1 000 = 7 000
    both = lines(await bot_at.say_text("/reach 7d", **EN))
    assert (
        both[2]
        == "Previous period (Nov 17–23, 2026): 7,000 (data for 7 of 7 days) · ↓ −3,500 (−50%) 🔴"
    )


async def test_unknown_account_lists_the_workspace_accounts(bot_at: Harness) -> None:
    ws = await seed(bot_at.storage)
    await bot_at.storage.workspaces.add_account(ws.id, "ig:brand")
    calls = await bot_at.say("/roi 30d vk:nope", **RU)
    assert [c.method for c in calls] == ["sendMessage"]
    assert lines(calls[0].visible_text or "") == [
        "В этом чате нет аккаунта «vk:nope».",
        "Аккаунты: main, ig:brand. Добавить: /account add vk:brand",
    ]
    text = await bot_at.say_text("/roi <b>x</b>", **EN)
    assert text.startswith("“<b>x</b>” is neither a period nor an account of this chat.")


async def test_bad_period_lists_accepted_forms(bot_at: Harness) -> None:
    await seed(bot_at.storage)
    ru = lines(await bot_at.say_text("/roi 2026-13 vk:brand", **RU))
    assert ru[0] == "«2026-13»: такой даты нет."
    assert ru[1].startswith(
        "Периоды: сегодня, вчера, май, май 2024, 05.2024, 31.05.24, с 1 по 15 мая, "
        "последние 7 дней, прошлый квартал, этот год, 7d, 30d, 12w, 3m, week, неделя, last-week,"
    )
    assert ru[1].endswith("2024-05-01..2024-05-31, 01.05.2024-31.05.2024.")
    assert ru[2] == "Пример: /roi 30d vk:brand (период и аккаунт — в любом порядке)."
    en = lines(await bot_at.say_text("/reach 30days", **EN))
    assert en[0] == "“30days” is not a period."
    assert en[2] == "Example: /reach 30d vk:brand (period and account in any order)."
    assert (await bot_at.say_text("/cac 7d 30d", **EN)).startswith(
        "Give one period, not two (“30d”)."
    )
    assert (await bot_at.say_text("/cac 2026-12", **EN)).startswith(
        "“2026-12”: the period starts in the future."
    )


async def test_group_member_may_read_kpis_without_admin_check(bot_at: Harness) -> None:
    await seed(bot_at.storage, GROUP, "supergroup")
    bot_at.fake.set_chat_member(GROUP, 2002, "member")
    calls = await bot_at.say("/bounce", chat_id=GROUP, chat_type="supergroup", user_id=2002, **EN)
    assert [c.method for c in calls] == ["sendMessage"]
    assert lines(calls[0].visible_text or "")[1] == "40%"


# --- /report -------------------------------------------------------------------------


async def test_report_in_russian(bot_at: Harness) -> None:
    await seed(bot_at.storage)
    text = await bot_at.say_text("/report", **RU)
    assert lines(text) == [
        "Отчёт · 1–30 нояб. 2026 · все аккаунты",
        "Данные за 23 из 30 дней · сравнение с 2–31 окт. 2026",
        "",
        f"• Охват: 23{NB}000 · ↓ −4,17{NB}% 🔴",
        f"• Вовлечённость (ERR): 5{NB}% · ↑ +1,25 п.п. 🟢",
        f"• Конверсия: 5{NB}% · ↓ −1,25 п.п. 🔴",
        f"• Рост аудитории: 5{NB}% (+490) · ↑ +1,84 п.п. 🟢",
        f"• Клики по ссылкам: 460 (CTR 1{NB}%) · ↓ −4,17{NB}% 🔴",
        f"• Показатель отказов: 40{NB}% · ↓ −10 п.п. 🟢",
        f"• Новые посетители: 60{NB}% новых · ↑ +10 п.п. 🟢",
        f"• Время на странице: 1:00 · ↑ +20{NB}% 🟢",
        f"• CAC: 600{NB}₽ · ↑ +50{NB}% 🔴",
        f"• Упоминания бренда: 92 · ↑ +53,3{NB}% 🟢",
        f"• ROI: 150{NB}% · ↑ +83,3 п.п. 🟢",
        # a counter with its formula: 23 days × 100 pageviews
        f"• Просмотры страниц: 2{NB}300 (Σ просмотров страниц)",
        "",
        "Не посчитать:",
        "• Хэштеги — нет публикаций: пришлите файл, одна строка — одна публикация",
        "Что означает каждый KPI: /kpi",
    ]


async def test_report_in_english_lists_what_cannot_be_computed(bot_at: Harness) -> None:
    ws = await workspace(bot_at.storage)
    # Nov 30 only: reach 2 000, likes 100 → ERR 5 %; sessions 0 → bounce: zero denominator.
    await put(
        bot_at.storage,
        ws,
        {("main", date(2026, 11, 30)): {"reach": 2000, "likes": 100, "sessions": 0, "bounces": 0}},
    )
    text = await bot_at.say_text("/report", **EN)
    assert lines(text) == [
        "Report · Nov 1–30, 2026 · all accounts",
        "Data for 1 of 30 days · compared with Oct 2–31, 2026",
        "",
        "• Reach: 2,000 · no earlier data",
        "• Engagement (ERR): 5% · no earlier data",
        "",
        "Can't compute:",
        # sessions are known (0), so conversion would be per session: only conversions lack
        "• Conversion rate — no data: conversions",
        "• Audience growth — no data: followers",
        "• Link clicks — no data: link clicks",
        "• Bounce rate — sessions = 0",
        "• New visitors — no data: new visitors, returning visitors",
        "• Time on page — no data: total time on page, pageviews",
        "• CAC — no data: ad spend, content cost, new customers",
        "• Brand mentions — no data: mentions",
        "• ROI — no data: revenue, ad spend, content cost",
        "• Hashtags — no posts: send a file with one row per post",
        # the example is capped at 8 metrics; the lines above name every one
        "Add data: /log conversions=… followers=… link clicks=… new visitors=… "
        "returning visitors=… avg time on page=m:ss pageviews=… ad spend=… "
        "or send a CSV/XLSX file.",
        "What each KPI means: /kpi",
    ]


async def test_report_with_no_data_is_short_and_helpful(bot_at: Harness) -> None:
    await workspace(bot_at.storage)
    ru = await bot_at.say_text("/report", **RU)
    assert lines(ru) == [
        "Отчёт · 1–30 нояб. 2026 · все аккаунты",
        "За этот период цифр пока нет.",
        "Добавьте цифры: /log охват=12000 лайки=340, по шагам через /add или пришлите "
        "выгрузку CSV/XLSX файлом. Что означает каждый KPI: /kpi",
    ]
    ws = await workspace(bot_at.storage)
    await put(bot_at.storage, ws, {("main", date(2025, 3, 9)): {"reach": 10}})
    en = lines(await bot_at.say_text("/report", **EN))
    assert en[1:3] == [
        "No numbers for this period yet.",
        "The latest data is for Mar 9, 2025: try /report 2025.",
    ]


async def test_long_report_is_split_at_line_breaks(
    bot_at: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(bot_at.storage)
    whole = await bot_at.say_text("/report", **EN)
    monkeypatch.setattr(kpi_handlers, "REPORT_LIMIT", 200)
    calls = await bot_at.say("/report", **EN)
    parts = [c.visible_text or "" for c in calls]
    assert [c.method for c in calls] == ["sendMessage"] * len(calls)
    assert len(whole) > 500 and len(calls) >= 3
    assert all(len(c.text or "") <= 200 for c in calls)
    # nothing lost: the parts are the whole, split at line breaks (blank lines dropped)
    assert [ln for p in parts for ln in p.split("\n") if ln] == [
        ln for ln in whole.split("\n") if ln
    ]


# --- /hashtags and /formats ------------------------------------------------------------

# Σ interactions 50 + 30 + 200 + 20 + 5 = 305 over Σ reach 5 500: ERR of all posts 5.545 %.
# #sale (P1, P2): 80 / 2 000 = 4 %, lift 4 / 5.545 − 1 = −27.9 %, avg reach 1 000.
# #summer (P1, P3): 250 / 3 000 = 8.33 %, lift +50.3 %, avg reach 1 500.
# #promo (P3, P4): 220 / 3 000 = 7.33 %, lift +32.2 %, avg reach 1 500. #once: 1 post, left out.
POSTS = [
    ("p1", "photo", "#sale #summer", 1000, 50),
    ("p2", "photo", "#Sale", 1000, 30),
    ("p3", "video", "#summer #promo", 2000, 200),
    ("p4", "video", "#promo", 1000, 20),
    ("p5", "text", "#once", 500, 5),
]


async def seed_posts(storage: Storage, ws: Workspace) -> None:
    posts = [
        PostRecord("main", date(2026, 11, 10 + i), pid, fmt, text=text, reach=reach, likes=likes)
        for i, (pid, fmt, text, reach, likes) in enumerate(POSTS)
    ]
    await storage.metrics.apply_import(
        ws.id, source="posts.csv", user_id=None, values={}, posts_in=posts
    )


async def test_hashtags_best_first_with_lift(bot_at: Harness) -> None:
    ws = await workspace(bot_at.storage)
    await seed_posts(bot_at.storage, ws)
    ru = lines(await bot_at.say_text("/hashtags", **RU))
    assert ru == [
        "Хэштеги · 1–30 нояб. 2026 · все аккаунты",
        f"Публикаций: 5 · ERR всех публикаций: 5,55{NB}%",
        "Все, от лучших к худшим:",
        f"1. #summer — публикаций: 2 · ср. охват 1{NB}500 · ERR 8,33{NB}% · "
        f"+50,3{NB}% к ERR всех публикаций",
        f"2. #promo — публикаций: 2 · ср. охват 1{NB}500 · ERR 7,33{NB}% · "
        f"+32,2{NB}% к ERR всех публикаций",
        f"3. #sale — публикаций: 2 · ср. охват 1{NB}000 · ERR 4{NB}% · "
        f"−27,9{NB}% к ERR всех публикаций",
        "ℹ️ Хэштеги, которые встречаются меньше чем в 2 публикациях, не показаны.",
        "ERR хэштега = Σ взаимодействий / Σ охвата его публикаций × 100; "
        "отрыв = (его ERR / ERR всех публикаций − 1) × 100",
    ]
    en = lines(await bot_at.say_text("/hashtags", **EN))
    assert en[3] == "1. #summer — posts: 2 · avg reach 1,500 · ERR 8.33% · +50.3% vs all posts"


async def test_formats_table(bot_at: Harness) -> None:
    ws = await workspace(bot_at.storage)
    await seed_posts(bot_at.storage, ws)
    en = lines(await bot_at.say_text("/formats", **EN))
    # video (p3, p4): 220 / 3 000 = 7.33 %; photo (p1, p2): 80 / 2 000 = 4 %; text: 1 post
    assert en[:5] == [
        "Post formats · Nov 1–30, 2026 · all accounts",
        "Posts: 5 · ERR of all posts: 5.55%",
        "All, best first:",
        "1. video — posts: 2 · avg reach 1,500 · ERR 7.33% · +32.2% vs all posts",
        "2. photo — posts: 2 · avg reach 1,000 · ERR 4% · −27.9% vs all posts",
    ]


async def test_hashtags_top_and_bottom_five(bot_at: Harness) -> None:
    ws = await workspace(bot_at.storage)
    # 12 hashtags, each in 2 posts of reach 100 with likes = tag number: ERR = n %.
    posts = [
        PostRecord("main", date(2026, 11, 20), f"t{n}-{k}", text=f"#tag{n:02d}", reach=100,
                   likes=n)
        for n in range(1, 13)
        for k in range(2)
    ]  # fmt: skip
    await bot_at.storage.metrics.apply_import(
        ws.id, source="posts.csv", user_id=None, values={}, posts_in=posts
    )
    text = lines(await bot_at.say_text("/hashtags", **EN))
    best = text.index("Best:")
    worst = text.index("Worst:")
    assert [ln.split(" — ")[0] for ln in text[best + 1 : worst]] == [
        "1. #tag12", "2. #tag11", "3. #tag10", "4. #tag09", "5. #tag08",
    ]  # fmt: skip
    assert [ln.split(" — ")[0] for ln in text[worst + 1 : worst + 6]] == [
        "8. #tag05", "9. #tag04", "10. #tag03", "11. #tag02", "12. #tag01",
    ]  # fmt: skip


async def test_hashtags_without_posts_and_with_single_use_tags(bot_at: Harness) -> None:
    ws = await workspace(bot_at.storage)
    assert lines(await bot_at.say_text("/hashtags", **EN))[1:] == [
        "No posts in this period.",
        "Send a CSV/XLSX file with one row per post: date, format, text or hashtags, reach, "
        "likes, comments, shares, saves.",
    ]
    posts = [PostRecord("main", date(2026, 11, 20), "a", text="#<b>", reach=10, likes=1)]
    await bot_at.storage.metrics.apply_import(
        ws.id, source="posts.csv", user_id=None, values={}, posts_in=posts
    )
    text = lines(await bot_at.say_text("/hashtags", **RU))
    assert "Ни один хэштег не встречается хотя бы в 2 публикациях." in text


# --- /audience ----------------------------------------------------------------------------


async def seed_audience(storage: Storage, ws: Workspace) -> None:
    rows = [
        AudienceRow("main", date(2026, 11, 20), AudienceBucket("age", "18-24", 30, True)),
        AudienceRow("main", date(2026, 11, 20), AudienceBucket("age", "25-34", 50, True)),
        AudienceRow("main", date(2026, 11, 20), AudienceBucket("age", "35-44", 20, True)),
        AudienceRow("main", date(2026, 11, 20), AudienceBucket("gender", "female", 60, True)),
        AudienceRow("main", date(2026, 11, 20), AudienceBucket("gender", "male", 40, True)),
        # counts: 300 / 400 = 75 %, 100 / 400 = 25 %
        AudienceRow("main", date(2026, 11, 20), AudienceBucket("city", "Москва", 300, False)),
        AudienceRow("main", date(2026, 11, 20), AudienceBucket("city", "<СПб>", 100, False)),
    ]
    await storage.metrics.apply_import(
        ws.id, source="audience.csv", user_id=None, values={}, audience_in=rows
    )


async def test_audience_is_a_bar_chart_with_caption(bot_at: Harness) -> None:
    ws = await workspace(bot_at.storage)
    await seed_audience(bot_at.storage, ws)
    calls = await bot_at.say("/audience", **RU)
    assert [c.method for c in calls] == ["sendPhoto"]
    assert calls[0].files["photo"].data.startswith(b"\x89PNG")
    assert lines(calls[0].visible_text or "") == [
        "Аудитория · все аккаунты · на 20 нояб. 2026",
        f"Возраст: 25-34 50{NB}%, 18-24 30{NB}%, 35-44 20{NB}%",
        f"Пол: женщины 60{NB}%, мужчины 40{NB}%",
        f"Город: Москва 75{NB}%, <СПб> 25{NB}%",
    ]
    assert len(calls[0].text or "") <= 1024


async def test_audience_falls_back_to_text_when_the_chart_fails(
    bot_at: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(spec: object) -> bytes:
        raise RuntimeError("no fonts today")

    monkeypatch.setattr(kpi_handlers, "render_bar_chart", broken)
    ws = await workspace(bot_at.storage)
    await seed_audience(bot_at.storage, ws)
    calls = await bot_at.say("/audience", **EN)
    assert [c.method for c in calls] == ["sendMessage"]
    assert lines(calls[0].visible_text or "") == [
        "Audience · all accounts · as of Nov 20, 2026",
        "Age: 25-34 50%, 18-24 30%, 35-44 20%",
        "Gender: women 60%, men 40%",
        "City: Москва 75%, <СПб> 25%",
    ]


async def test_audience_without_data_explains_how_to_add_it(bot_at: Harness) -> None:
    await workspace(bot_at.storage)
    calls = await bot_at.say("/audience", **RU)
    assert [c.method for c in calls] == ["sendMessage"]
    assert lines(calls[0].visible_text or "")[:2] == [
        "Аудитория · все аккаунты",
        "Данных о составе аудитории пока нет.",
    ]


# --- /kpi ----------------------------------------------------------------------------------


async def test_kpi_explains_one(bot_at: Harness) -> None:
    assert lines(await bot_at.say_text("/kpi roi", **RU)) == [
        "ROI — /roi",
        "Что приносят вложения в маркетинг: прибыль с выручки (выручка × маржа) минус затраты, "
        "делённые на затраты. 0 % — вложения окупились в ноль. Маржа — 100 %, если не задана "
        "командой /margin.",
        "ROI = (Σ выручки × маржа − затраты) / затраты × 100, затраты = Σ расходов на рекламу "
        "+ Σ затрат на контент",
    ]
    assert lines(await bot_at.say_text("/kpi ER", **EN)) == [
        "Engagement (ERR) — /engagement, /er",
        "How actively people react to what they see: likes, comments, shares and saves per "
        "100 people reached. ER by followers divides interactions per post by the average "
        "follower count.",
        "ERR = Σ interactions / Σ reach × 100",
    ]
    assert (await bot_at.say_text("/kpi охват", **RU)).startswith("Охват — /reach\n")


async def test_kpi_lists_all_twelve(bot_at: Harness) -> None:
    text = await bot_at.say_text("/kpi", **EN)
    for command in ("/reach", "/engagement, /er", "/conversion", "/growth", "/clicks, /ctr",
                    "/bounce", "/visitors",
                    "/timeonpage", "/hashtags, /formats", "/cac", "/mentions", "/roi"):  # fmt: skip
        assert f" — {command}" in text, command
    assert text.startswith("The 12 KPIs — any of them: /kpi roi")
    unknown = await bot_at.say_text("/kpi <zzz>", **EN)
    assert unknown.startswith("I don't know the KPI “<zzz>”. Known: reach, engagement,")


async def test_growth_completeness_is_the_span_its_follower_counts_cover(bot_at: Harness) -> None:
    # Reach every day of November, followers counted on Oct 31 and Nov 10 only: the
    # growth figure covers Nov 1–10, whatever the other metrics cover.
    ws = await workspace(bot_at.storage)
    rows = {("main", day): {"reach": 100.0} for day in days(date(2026, 11, 1), date(2026, 11, 30))}
    rows[("main", date(2026, 10, 31))] = {"followers": 1000.0}
    rows[("main", date(2026, 11, 10))]["followers"] = 1050.0
    await put(bot_at.storage, ws, rows)
    growth_lines = lines(await bot_at.say_text("/growth", **EN))
    assert growth_lines[1] == "5%"  # (1050 − 1000) / 1000 × 100
    assert "⚠️ Data for 10 of 30 days" in growth_lines
    assert "Data for 30 of 30 days" in lines(await bot_at.say_text("/reach", **EN))


async def test_report_counts_site_visitors_and_a_channels_engagement_by_followers(
    bot_at: Harness,
) -> None:
    ws = await workspace(bot_at.storage)
    # site:lp, Nov 29 and 30: visitors 120 + 80 = 200, pageviews 300 + 250 = 550.
    # tg:chan, Nov 29 and 30: posts 2 + 1, reactions 30 + 15, views 2 000 + 1 000,
    # followers 1 000 and 1 500 (average 1 250):
    # ER by followers = 45 / 3 / 1 250 × 100 = 1.2 %; ERR by views = 3 000 / 3 / 1 250 × 100 = 80 %.
    d1, d2 = date(2026, 11, 29), date(2026, 11, 30)
    await put(
        bot_at.storage,
        ws,
        {
            ("site:lp", d1): {"visitors": 120, "pageviews": 300},
            ("site:lp", d2): {"visitors": 80, "pageviews": 250},
            ("tg:chan", d1): {"posts": 2, "reactions": 30, "views": 2000, "followers": 1000},
            ("tg:chan", d2): {"posts": 1, "reactions": 15, "views": 1000, "followers": 1500},
        },
    )
    assert round(45 / 3 / 1250 * 100, 6) == 1.2 and 3000 / 3 / 1250 * 100 == 80
    report = lines(await bot_at.say_text("/report", **EN))
    assert "• Visitors: 200 (Σ visitors)" in report
    assert "• Pageviews: 550 (Σ pageviews)" in report
    assert (
        "A sum of daily unique visitors counts a person once for every day they came, "
        "so it overstates unique visitors over the period." in report
    )
    channel = lines(await bot_at.say_text("/report tg:chan", **EN))
    assert any(
        line.startswith("• Engagement (ERR): 1.2% (by followers), ERR by views 80%")
        for line in channel
    ), channel
    assert not any(line.startswith("• Visitors") for line in channel)
    er = await bot_at.say_text("/engagement tg:chan", **EN)
    assert (
        "Formula: ER by followers = Σ interactions / Σ posts / average followers × 100"
        " = 45 / 3 / 1,250 × 100 = 1.2%" in er
    ), er
    assert "ERR by views: 80% (Σ views / Σ posts / average followers × 100)" in er
