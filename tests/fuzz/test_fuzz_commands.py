"""Random and adversarial input for EVERY command of bot.texts.COMMANDS (the registry
of /help and the menu), random button data, at the dispatcher level.

Every update gets a reply (the harness fails on the apology text); no ERROR is logged;
every outgoing call is valid Bot API (RecordingSession: text ≤ 4096, caption ≤ 1024,
callback_data ≤ 64 bytes, valid HTML); input that is refused changes nothing in the
database (all tables, row by row).
"""

from __future__ import annotations

import logging

import pytest
from aiogram.filters.callback_data import CallbackData
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.dispatcher.conftest import Harness
from tests.faults.tools import (
    GROUP,
    MEMBER,
    db_snapshot,
    diff,
    error_lines,
    live_commands,
    read_commands,
    replies,
    write_examples,
)
from tests.fuzz.conftest import PRIVATE

FUZZ = settings(
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,  # examples do not depend on a local example database
)

ADVERSARIAL = (
    "9" * 400, "1e309", "-1e309", "1e-400", "NaN", "nan%", "inf", "-inf", "Infinity",
    "-0", "0", "0%", "100%", "1000%", "-100%", "1,5", "1 000 000", "1.000.000,5", "٣٤٥",
    "مرحبا", "שלום", "\u202eevil", "🚀" * 30, "👨‍👩‍👧", "<b>", "</b>", "<i>x", "&amp;",
    "&lt;", "&", "<", ">", "<a href='javascript:x'>x</a>", "<script>", "\u200b", "\u200d",
    "\ufeff", "a" * 5000, "x" * 4096, "reach=NaN", "reach=inf", "reach=1e309", "likes=-5",
    "охват=1e309", "reach=", "=5", "==", "2024-13-45", "2024-02-30", "31.02.2024",
    "9999-12-31", "0001-01-01", "1900-01-01..2100-01-01", "2024-05-31..2024-05-01",
    "30d", "0d", "-5d", "99999999d", "100000w", "1000000m", "2024-Q9", "vk:" + "a" * 300,
    ":", "vk:", "vk:<b>", "@@", "/", "//", "\\", "%", "%%", "bounce > NaN%", "roi < inf%",
    "cac +1e309%", "> <", "add", "delete", "rename", "off", "on", "now", "fri", "25:99",
    "Asia/Almaty", "Etc/GMT+14", "../../etc/passwd", "None", "null", "'; DROP TABLE x;--",
    "%s%s%s", "{0}", "{name}", "\x00", "\t", "ru", "en", "auto",
)  # fmt: skip

token = st.one_of(
    st.sampled_from(ADVERSARIAL),
    st.text(max_size=40),
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
args_strategy = st.lists(token, max_size=4).map(" ".join)


class Errors:
    """ERROR records logged since the last check."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self.caplog = caplog
        self.seen = len(caplog.records)

    def check(self, what: str) -> None:
        new = [r for r in self.caplog.records[self.seen :] if r.levelno >= logging.ERROR]
        self.seen = len(self.caplog.records)
        assert not new, f"{what!r:.300} logged errors:\n{error_lines(new)}"


LIVE = live_commands()
READS = read_commands()
WRITES = sorted({c for c, _ in write_examples()})


def test_the_registry_is_really_handled() -> None:
    """Every command in the menu/help registry has a handler (a dead menu entry would
    be answered by nothing)."""
    from tests.faults.tools import menu_commands

    assert sorted(set(menu_commands()) - set(LIVE)) == []


@FUZZ
@given(
    command=st.sampled_from(LIVE),
    args=args_strategy,
    lang=st.sampled_from(["ru", "en", None, "de"]),
)
async def test_every_command_with_adversarial_args_answers_and_stays_valid(
    fz: Harness, caplog: pytest.LogCaptureFixture, command: str, args: str, lang: str | None
) -> None:
    errors = Errors(caplog)
    before = await db_snapshot(fz.storage)
    text = f"/{command} {args}".rstrip()
    calls = await fz.say(text, chat_id=PRIVATE, language_code=lang)
    assert replies(calls, PRIVATE), f"no answer to {text!r:.200}"
    errors.check(text)
    await fz.say("/cancel", chat_id=PRIVATE)  # leave any step-by-step flow
    if command in READS:
        changed = diff(before, await db_snapshot(fz.storage))
        assert not changed, f"read-only {text!r:.200} changed {changed}"


@FUZZ
@given(command=st.sampled_from(WRITES or ["help"]), args=args_strategy)
async def test_group_members_who_are_not_admins_change_nothing_whatever_they_type(
    fz: Harness, caplog: pytest.LogCaptureFixture, command: str, args: str
) -> None:
    errors = Errors(caplog)
    before = await db_snapshot(fz.storage)
    text = f"/{command} {args}".rstrip()
    calls = await fz.say(text, chat_id=GROUP, user_id=MEMBER, language_code="en")
    assert replies(calls, GROUP), f"no answer to {text!r:.200}"
    errors.check(text)
    changed = diff(before, await db_snapshot(fz.storage))
    assert not changed, f"a non-admin's {text!r:.200} changed {changed}"


# Input that must be refused and change nothing, for every write command we know of.
REFUSED = (
    ("log", "reach=NaN"),
    ("log", "reach=nan"),
    ("log", "reach=inf"),
    ("log", "reach=-inf"),
    ("log", "reach=1e309"),
    ("log", "reach=" + "9" * 400),
    ("log", "likes=-5"),
    ("log", "9999-12-31 reach=5"),
    ("log", "<b>=5"),
    ("log", "reach=5 reach=6"),
    ("log", "vk:" + "a" * 300 + " reach=5"),
    ("margin", "NaN"),
    ("margin", "nan%"),
    ("margin", "inf"),
    ("margin", "1e309"),
    ("margin", "0"),
    ("margin", "-5%"),
    ("margin", "101%"),
    ("margin", "<b>"),
    ("timezone", "<b>Europe/Moscow</b>"),
    ("timezone", "../../etc/passwd"),
    ("timezone", "a" * 5000),
    ("timezone", "Mars/Olympus"),
    ("lang", "<b>"),
    ("lang", "de"),
    ("account", "add <b>"),
    ("account", "add " + "a" * 5000),
    ("account", "add \u200b"),
    ("account", "rename vk:nope vk:other"),
    ("account", "delete vk:nope"),
    ("account", "delete main"),
    ("digest", "<b>"),
    ("digest", "fri 25:99"),
    ("digest", "someday"),
    ("alert", "bounce > NaN%"),
    ("alert", "bounce > inf%"),
    ("alert", "roi < 1e309%"),
    ("alert", "cac +NaN%"),
    ("alert", "<b> > 5"),
    ("alert", "bounce >"),
    ("alert", "a" * 5000),
    ("undo", "<b>"),
)


@pytest.mark.parametrize(
    ("command", "args"),
    [pytest.param(c, a, id=f"{c} {a[:24]!r}") for c, a in REFUSED],
)
async def test_refused_input_changes_nothing(
    fz: Harness, caplog: pytest.LogCaptureFixture, command: str, args: str
) -> None:
    if command not in {c for c, _ in write_examples()}:
        pytest.skip(f"/{command} is not registered yet")
    errors = Errors(caplog)
    await fz.say("/log reach=777", chat_id=PRIVATE, language_code="en")  # something to undo
    before = await db_snapshot(fz.storage)
    text = f"/{command} {args}"
    calls = await fz.say(text, chat_id=PRIVATE, language_code="en")
    shown = "\n".join(c.visible_text or "" for c in replies(calls, PRIVATE))
    assert shown, f"no answer to {text!r:.200}"
    errors.check(text)
    if command == "undo":  # /undo ignores its arguments: it undoes, which is a change
        return
    changed = diff(before, await db_snapshot(fz.storage))
    assert not changed, f"refused {text!r:.80} changed {changed}; answer: {shown[:300]!r}"


# ------------------------------------------------------------------------- buttons


def _factories() -> list[type[CallbackData]]:
    import handlers  # noqa: F401 - every feature module defines its factories on import

    found: list[type[CallbackData]] = []
    todo = list(CallbackData.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted({c for c in found if getattr(c, "__prefix__", None)}, key=lambda c: c.__prefix__)


FACTORIES = _factories()
field_value = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(["", "0", "-1", "1", "2", "x", "on", "off", "now", "day", "time", "save",
                     "cancel", "today", "type", "m", "w", "d", "r", "t", "x", "1e309", "NaN",
                     "true", "false", "9999", "2400", "<b>", ":", "%"]),
    st.text(max_size=10),
)  # fmt: skip


@st.composite
def factory_data(draw: st.DrawFn) -> str:
    """Well-formed prefixes of the real factories, with wrong or odd field values."""
    cls = draw(st.sampled_from(FACTORIES))
    n = len(cls.model_fields)
    values = draw(st.lists(field_value, min_size=max(0, n - 1), max_size=n + 1))
    data = cls.__separator__.join([cls.__prefix__, *values])
    return data.encode()[:64].decode(errors="ignore")


random_data = st.text(min_size=1, max_size=64).filter(lambda s: len(s.encode()) <= 64)


@FUZZ
@given(data=st.one_of(factory_data(), random_data), in_group=st.booleans())
async def test_random_button_data_changes_nothing_and_logs_no_error(
    fz: Harness, caplog: pytest.LogCaptureFixture, data: str, in_group: bool
) -> None:
    """Pressed by a group member (never allowed to change anything) or, in the private
    chat, with ids that are not this chat's (the real ones are small numbers)."""
    errors = Errors(caplog)
    if not in_group:  # every small number (a real id here) becomes someone else's id
        data = ":".join(
            str(int(p) + 10**6) if p.isascii() and p.isdigit() and int(p) < 10**6 else p
            for p in data.split(":")
        )
        data = data.encode()[:64].decode(errors="ignore")
    chat, user = (GROUP, MEMBER) if in_group else (PRIVATE, PRIVATE)
    before = await db_snapshot(fz.storage)
    calls = await fz.press(chat, 1, data, user_id=user, language_code="en")
    errors.check(data)
    changed = diff(before, await db_snapshot(fz.storage))
    assert not changed, f"button {data!r} changed {changed}"
    assert len([c for c in calls if c.method == "answerCallbackQuery"]) <= 1


async def test_every_button_press_is_answered(fz: Harness) -> None:
    # Old or forged buttons (no factory matches, or ids the routers filter out)
    # reach the fallback router, which answers instead of leaving a spinner.
    for data in ("zz:1", "garbage", "delall", "x" * 64, "al:m:0", "dg:0:off", "delall:0:1"):
        calls = await fz.press(PRIVATE, 1, data, language_code="en")
        answers = [c for c in calls if c.method == "answerCallbackQuery"]
        assert len(answers) == 1, data
        assert answers[0].params.get("text") == "This button is out of date.", data


@FUZZ
@given(data=factory_data())
async def test_buttons_with_real_prefixes_are_always_answered(
    fz: Harness, caplog: pytest.LogCaptureFixture, data: str
) -> None:
    errors = Errors(caplog)
    calls = await fz.press(GROUP, 1, data, user_id=MEMBER, language_code="en")
    errors.check(data)
    # Every press, well-formed or not, is answered exactly once (a feature router
    # or the fallback router).
    assert len([c for c in calls if c.method == "answerCallbackQuery"]) == 1, data
