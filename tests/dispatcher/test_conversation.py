"""The bot never goes silent (issue #14): unknown commands, plain text, periods and
accounts as people write them, and quiet groups — through the real dispatcher.

The clock is fixed at 2026-11-30 12:00 Moscow time. Replies that come from a KPI
command are compared with the reply to the command typed out: free text runs the
same handler, so the two must be identical.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.app import create_bot, create_dispatcher
from bot.config import Settings
from bot.texts import COMMANDS
from handlers import create_routers
from handlers.conversation import edit_distance, registered_commands, suggest
from storage import Storage
from storage.records import Workspace
from tests.dispatcher.conftest import Harness
from tests.fakeapi.core import Call
from tests.fakeapi.recording import RecordingSession

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # 12:00 in Moscow
CHAT = 1401
GROUP = -1001401
RU = {"language_code": "ru"}
EN = {"language_code": "en"}

MENU_RU = "Команды: {}. Что делает каждая: /help".format(
    " ".join(f"/{c.command}" for c in COMMANDS if c.in_menu)
)
MENU_EN = "Commands: {}. What each one does: /help".format(
    " ".join(f"/{c.command}" for c in COMMANDS if c.in_menu)
)
HINT_RU = (
    "Я отвечаю на команды и на вопросы вроде «охват за май», «отчёт за прошлую неделю», "
    "«roi за прошлый месяц».\n"
    "Добавить цифры: /log охват=12000 или пришлите файл выгрузки. Все команды: /help"
)
HINT_EN = (
    "I answer commands and questions like “reach in May”, “report for last week”, "
    "“roi last month”.\n"
    "To add numbers: /log reach=12000 or send an export file. All commands: /help"
)
PERIODS_RU = (
    "Периоды: сегодня, вчера, май, май 2024, 05.2024, 31.05.24, с 1 по 15 мая, "
    "последние 7 дней, прошлый квартал, этот год, 7d, 30d, 12w, 3m, week, неделя, last-week, "
    "прошлая-неделя, month, месяц, last-month, прошлый-месяц, quarter, квартал, ytd, год, "
    "2024-05, 2024-Q2, 2024, 2024-05-01..2024-05-31, 01.05.2024-31.05.2024."
)
PERIODS_EN = (
    "Periods: today, yesterday, May, May 2024, 05.2024, 31.05.24, May 1–15, last 7 days, "
    "last quarter, this year, 7d, 30d, 12w, 3m, week, неделя, last-week, "
    "прошлая-неделя, month, месяц, last-month, прошлый-месяц, quarter, квартал, ytd, год, "
    "2024-05, 2024-Q2, 2024, 2024-05-01..2024-05-31, 01.05.2024-31.05.2024."
)


@pytest.fixture
async def h(storage: Storage, settings: Settings) -> AsyncIterator[Harness]:
    session = RecordingSession()
    bot = create_bot(settings, session=session)
    dp = create_dispatcher(storage, settings, clock=lambda: NOW)
    yield Harness(dp, bot, session, storage, settings)
    await bot.session.close()


async def seed(h: Harness, chat_id: int = CHAT, chat_type: str = "private") -> Workspace:
    """Reach and bounces on every day of May and of 1–30 Nov 2026, on `main` and `vk:shop`."""
    ws, _ = await h.storage.workspaces.ensure(chat_id, chat_type, None, "Europe/Moscow")
    values: dict[tuple[str, date], dict[str, float]] = {}
    for first, n in ((date(2026, 5, 1), 31), (date(2026, 11, 1), 30)):
        for i in range(n):
            day = first + timedelta(days=i)
            values[("main", day)] = {"reach": 1000.0 + i, "sessions": 50.0, "bounces": 20.0}
            values[("vk:shop", day)] = {"reach": 300.0, "revenue": 900.0, "ad_spend": 400.0}
    await h.storage.metrics.apply_import(ws.id, source="t", user_id=None, values=values)
    return ws


def texts(calls: list[Call]) -> list[str]:
    return [c.visible_text or "" for c in calls if c.method in ("sendMessage", "sendPhoto")]


# ------------------------------------------------------------ unknown commands


@pytest.mark.parametrize(
    ("typed", "ru", "en"),
    [
        (
            "/raech",
            "Команды /raech нет. Возможно, вы имели в виду /reach?",
            "There is no command /raech. Did you mean /reach?",
        ),
        (
            "/reprot",
            "Команды /reprot нет. Возможно, вы имели в виду /report?",
            "There is no command /reprot. Did you mean /report?",
        ),
        (
            "/bounse 30d",
            "Команды /bounse нет. Возможно, вы имели в виду /bounce?",
            "There is no command /bounse. Did you mean /bounce?",
        ),
        (  # /report typed on a Russian keyboard layout
            "/кузщке",
            "Команды /кузщке нет. Возможно, вы имели в виду /report?",
            "There is no command /кузщке. Did you mean /report?",
        ),
        (
            "/охвт",  # a typo of the Russian word
            "Команды /охвт нет. Возможно, вы имели в виду /reach?",
            "There is no command /охвт. Did you mean /reach?",
        ),
        ("/xyzzy", "Команды /xyzzy нет.", "There is no command /xyzzy."),
    ],
)
async def test_unknown_command_suggests_and_lists(h: Harness, typed: str, ru: str, en: str) -> None:
    calls = await h.say(typed, CHAT, **RU)
    assert [c.method for c in calls] == ["sendMessage"]
    assert texts(calls) == [f"{ru}\n{MENU_RU}"]
    assert texts(await h.say(typed, CHAT + 1, **EN)) == [f"{en}\n{MENU_EN}"]


async def test_russian_command_word_runs_the_command(h: Harness) -> None:
    await seed(h)
    for lang in (RU, EN):
        expected = texts(await h.say("/report прошлый месяц", CHAT, **lang))
        assert texts(await h.say("/отчёт прошлый месяц", CHAT, **lang)) == expected
        expected = texts(await h.say("/reach май", CHAT, **lang))
        assert expected and "2026" in expected[0]
        assert texts(await h.say("/охват май", CHAT, **lang)) == expected


async def test_russian_words_for_the_newer_commands_run_them(h: Harness) -> None:
    await seed(h)
    for word, command in (
        ("/цели", "/goals"),
        ("/прогноз охват", "/forecast reach"),
        ("/почему охват 30д", "/why reach 30d"),
        ("/контент 30д", "/content 30d"),
        ("/кампании", "/campaigns"),
        ("/каналы", "/channels"),
        ("/клиенты", "/clients"),
        ("/бренд", "/brand"),
        ("/валюта", "/currency"),
    ):
        for lang in (RU, EN):
            expected = texts(await h.say(command, CHAT, **lang))
            assert expected, command
            assert texts(await h.say(word, CHAT, **lang)) == expected, word


async def test_group_commands_for_other_bots_are_left_alone(h: Harness) -> None:
    # Far from any of ours and not addressed to us: another bot's command.
    assert texts(await h.say("/xyzzy", GROUP, **EN)) == []
    assert texts(await h.say("/raech@other_bot", GROUP, **EN)) == []
    assert texts(await h.say("/report@other_bot", GROUP, **EN)) == []
    # Close to one of ours, or addressed to us: answered.
    assert texts(await h.say("/raech", GROUP, **EN)) == [
        f"There is no command /raech. Did you mean /reach?\n{MENU_EN}"
    ]
    assert texts(await h.say("/xyzzy@smm_test_bot", GROUP, **EN)) == [
        f"There is no command /xyzzy.\n{MENU_EN}"
    ]


# ------------------------------------------------------------ free text


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("отчёт", "/report"),
        ("Отчет", "/report"),
        ("охват за май", "/reach за май"),
        ("покажи охват vk:shop за май", "/reach vk:shop за май"),
        ("roi last month", "/roi last month"),
        ("bounce 30d", "/bounce 30d"),
        ("отказы за прошлую неделю?", "/bounce за прошлую неделю"),
        ("какая окупаемость по vk:shop в ноябре", "/roi vk:shop в ноябре"),
        ("reach in May", "/reach in May"),
        ("report for last week", "/report for last week"),
        ("время на странице вчера", "/timeonpage вчера"),
        ("за май", "/report за май"),  # a period alone: the report for it
        ("last 7 days", "/report last 7 days"),
    ],
)
async def test_plain_text_is_answered_as_the_command(h: Harness, text: str, command: str) -> None:
    await seed(h)
    for lang in (RU, EN):
        expected = texts(await h.say(command, CHAT, **lang))
        assert expected, command
        assert texts(await h.say(text, CHAT, **lang)) == expected


async def test_plain_text_keeps_accounts_and_periods_and_drops_chatter(h: Harness) -> None:
    await seed(h)
    for text, command in [
        ("сколько подписчиков прибавилось за май", "/growth за май"),
        ("какой был охват у vk:shop в мае, подскажи", "/reach vk:shop в мае"),
        ("bounce rate last month please", "/bounce last month"),
    ]:
        assert texts(await h.say(text, CHAT, **RU)) == texts(await h.say(command, CHAT, **RU))
    # A word with a platform is meant as an account: the command says there is none.
    assert texts(await h.say("охват vk:nope", CHAT, **RU)) == texts(
        await h.say("/reach vk:nope", CHAT, **RU)
    )


@pytest.mark.parametrize(
    "text", ["привет", "что ты умеешь", "всё хорошо, спасибо", "hello there", "🙂", "/", "/ 30d"]
)
async def test_other_text_gets_a_two_line_hint(h: Harness, text: str) -> None:
    assert texts(await h.say(text, CHAT, **RU)) == [HINT_RU]
    assert texts(await h.say(text, CHAT + 1, **EN)) == [HINT_EN]


async def test_a_sticker_in_a_private_chat_gets_the_hint(h: Harness) -> None:
    update = h.fake.message(CHAT, "x", push=False, language_code="en")
    message = update["message"]
    del message["text"]
    message["sticker"] = {
        "file_id": "s1", "file_unique_id": "u1", "type": "regular",
        "width": 512, "height": 512, "is_animated": False, "is_video": False,
    }  # fmt: skip
    assert texts(await h.feed(update)) == [HINT_EN]


async def test_groups_stay_quiet_unless_addressed(h: Harness) -> None:
    await seed(h, GROUP, "supergroup")
    assert texts(await h.say("охват за май", GROUP, **RU)) == []
    assert texts(await h.say("привет всем", GROUP, **RU)) == []
    expected = texts(await h.say("/reach за май", GROUP, **RU))
    assert expected
    # A mention of the bot, anywhere in the message.
    mention = "@smm_test_bot охват за май"
    entity = {"type": "mention", "offset": 0, "length": len("@smm_test_bot")}
    assert texts(await h.say(mention, GROUP, entities=[entity], **RU)) == expected
    other = {"type": "mention", "offset": 0, "length": len("@someone")}
    assert texts(await h.say("@someone охват за май", GROUP, entities=[other], **RU)) == []
    # A reply to one of the bot's messages.
    sent = await h.say("/reach за май", GROUP, **RU)
    bot_message = sent[-1].message_id
    assert bot_message is not None
    reply = await h.say("охват за май", GROUP, reply_to_message_id=bot_message, **RU)
    assert texts(reply) == expected
    assert texts(await h.say("спасибо", GROUP, reply_to_message_id=bot_message, **RU)) == [HINT_RU]


async def test_dialog_steps_still_win_over_free_text(h: Harness) -> None:
    calls = await h.say("/add", CHAT, **EN)
    panel = [c for c in calls if c.callback_data][-1]
    assert panel.message_id is not None
    # Waiting for a button: a stray message is told so.
    assert texts(await h.say("hello", CHAT, **EN)) == [
        "Finish the step above with its buttons, or stop it with /cancel."
    ]
    # Waiting for a typed account name: `ig:brand` is the answer, not a question.
    await h.press(CHAT, panel.message_id, "add:new:", language_code="en")
    calls = await h.say("ig:brand", CHAT, **EN)
    answer = [c.visible_text or "" for c in calls if c.method == "editMessageText"]
    assert answer and answer[-1].startswith("Adding numbers for ig:brand (new account).")
    assert texts(await h.say("/cancel", CHAT, **EN))


# ------------------------------------------------------------ periods and accounts


async def test_period_words_are_not_taken_for_accounts(h: Harness) -> None:
    await seed(h)
    for args, same_as in [
        ("вчера vk:shop", "2026-11-29..2026-11-29 vk:shop"),
        ("vk:shop вчера", "2026-11-29 vk:shop"),
        ("май", "2026-05"),
        ("за май 2026", "2026-05"),
        ("05.2026", "2026-05"),
        ("29.11.26", "2026-11-29"),
        ("today", "2026-11-30"),
        ("yesterday", "2026-11-29"),
        ("сегодня", "2026-11-30"),
        ("с 1 по 15 мая", "2026-05-01..2026-05-15"),
        ("last 7 days", "7d"),
        ("прошлый квартал", "2026-Q3"),
        ("этот год", "ytd"),
    ]:
        for lang in (RU, EN):
            got = texts(await h.say(f"/reach {args}", CHAT, **lang))
            assert got == texts(await h.say(f"/reach {same_as}", CHAT, **lang)), args


async def test_a_word_that_is_neither_period_nor_account(h: Harness) -> None:
    await seed(h)
    calls = await h.say("/roi banana", CHAT, **RU)
    assert texts(calls) == [
        "«banana» — это не период и не аккаунт этого чата.\n"
        f"{PERIODS_RU}\n"
        "Аккаунты: main, vk:shop. Добавить: /account add vk:brand\n"
        "Пример: /roi 30d vk:brand (период и аккаунт — в любом порядке)."
    ]
    assert texts(await h.say("/roi banana", CHAT, **EN)) == [
        "“banana” is neither a period nor an account of this chat.\n"
        f"{PERIODS_EN}\n"
        "Accounts: main, vk:shop. Add one: /account add vk:brand\n"
        "Example: /roi 30d vk:brand (period and account in any order)."
    ]
    # The same reply wherever the word stands and whatever else is right.
    assert texts(await h.say("/roi вчера banana vk:shop", CHAT, **EN)) == texts(
        await h.say("/roi banana", CHAT, **EN)
    )


async def test_an_unknown_platform_account(h: Harness) -> None:
    await seed(h)
    assert texts(await h.say("/reach вчера vk:nope", CHAT, **RU)) == [
        "В этом чате нет аккаунта «vk:nope».\n"
        "Аккаунты: main, vk:shop. Добавить: /account add vk:brand"
    ]
    assert texts(await h.say("/reach вчера vk:nope", CHAT, **EN)) == [
        "There is no account “vk:nope” in this chat.\n"
        "Accounts: main, vk:shop. Add one: /account add vk:brand"
    ]


async def test_two_accounts(h: Harness) -> None:
    await seed(h)
    assert texts(await h.say("/reach main vk:shop", CHAT, **RU)) == [
        "Укажите один аккаунт: «main» и «vk:shop» — оба аккаунты. Чтобы посчитать по всем "
        "аккаунтам вместе, не указывайте ни одного."
    ]
    assert texts(await h.say("/reach main vk:shop", CHAT, **EN)) == [
        "Give one account at most: “main” and “vk:shop” are both accounts. "
        "For all accounts together, name none."
    ]


# ------------------------------------------------------------ did-you-mean coverage


def _typos(word: str) -> list[str]:
    """A dropped last letter, two neighbours swapped, one letter replaced."""
    out = [word[:-1]] if len(word) > 2 else []
    if len(word) >= 3:
        out.append(word[0] + word[2] + word[1] + word[3:])
    out.append(word[:-1] + ("x" if word[-1] != "x" else "y"))
    return out


def test_every_command_and_help_entry_has_a_neighbour_list() -> None:
    known = registered_commands(create_routers())
    help_entries = [c.command for c in COMMANDS]
    assert set(help_entries) <= set(known), set(help_entries) - set(known)
    for command in (*known, *help_entries):
        assert suggest(command, known) == [command]
        for typo in _typos(command):
            if typo in known:
                continue
            found = suggest(typo, known)
            assert command in found, (typo, found)


def test_edit_distance_counts_a_swap_as_one() -> None:
    assert edit_distance("raech", "reach") == 1
    assert edit_distance("reprot", "report") == 1
    assert edit_distance("bounse", "bounce") == 1
    assert edit_distance("", "roi") == 3
    assert edit_distance("kitten", "sitting") == 3


def test_every_period_example_in_the_replies_parses() -> None:
    from bot.i18n import create_i18n
    from handlers.selection import spoken_forms
    from kpi.periods import parse_period

    i18n = create_i18n("ru")
    for lang in ("ru", "en"):
        with i18n.context(), i18n.use_locale(lang):
            examples = [e.strip() for e in spoken_forms().split(",")]
        assert len(examples) == 10
        for example in examples:
            assert parse_period(example, date(2026, 11, 30)), (lang, example)


async def test_help_lists_the_spoken_period_forms(h: Harness) -> None:
    ru = texts(await h.say("/help", CHAT, **RU))[0].splitlines()
    assert (
        "Периоды — как вы их пишете: сегодня, вчера, май, май 2024, 05.2024, 31.05.24, "
        "с 1 по 15 мая, последние 7 дней, прошлый квартал, этот год; или коротко: 7d, 30d, "
        "12w, 3m, week, month, quarter, ytd, 2024-05, 2024-Q2, 2024." in ru
    )
    en = texts(await h.say("/help", CHAT + 1, **EN))[0].splitlines()
    assert en[-1] == (
        "No command needed: write “reach in May” or “report for last week” (in a group, "
        "mention me or reply to me); a mistyped command gets a suggestion."
    )
