"""The bot never goes silent: unknown commands, plain text, and what is addressed to it.

Registered after every feature router (handlers/__init__.py), so it only sees
what none of them took — FSM steps of /add and of a file import still win.

* An unknown command (`/raech`, `/bounse 30d`) gets "did you mean /reach?" (edit
  distance, transpositions count as one, over every registered command, its
  Russian names and the same word typed on a Russian keyboard layout) and the
  command list. A Russian command word (`/отчёт`, `/охват май`) runs the command.
* Plain text in a private chat that names a KPI or a period (`охват за май`,
  `отчёт`, `roi last month`, `bounce 30d`, `за прошлую неделю`) is answered by the
  command itself: the text is rewritten as the command and sent through the
  dispatcher again, so the same filters, parsing and handler run. Anything else
  gets a two-line hint.
* In a group the bot speaks only when addressed: a command, a message that
  mentions it, or a reply to one of its messages. A command that is neither ours
  nor close to one of ours (likely another bot's) is left alone.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import Bot, Dispatcher, F, Router
from aiogram.filters import Command
from aiogram.types import Message, MessageEntity
from aiogram.utils.i18n import gettext as _

from bot.texts import COMMANDS
from handlers.filters import Is
from kpi.accounts import normalize_account
from kpi.periods import PeriodError, split_period_words
from kpi.registry import resolve_kpi
from storage import Storage
from storage.records import Workspace

log = logging.getLogger(__name__)

# Russian (and a few English) words for commands, lower-case with `ё` folded to `е`.
# The KPI names themselves come from `kpi.kpis.resolve_kpi`; these are the other
# commands and the word forms people type in a sentence.
COMMAND_WORDS: dict[str, str] = {}
for _command, _words in (
    ("report", "отчет отчета отчеты сводка сводку итоги report summary dashboard"),
    ("reach", "охват охвата охваты охватов охвату показы показов impressions"),
    ("engagement", "вовлеченность вовлеченности вовлечение engagement"),
    ("conversion", "конверсия конверсии конверсию конверсий conversions"),
    ("growth", "рост роста прирост прироста подписчики подписчиков followers"),
    ("clicks", "клики кликов переходы переходов"),
    ("bounce", "отказы отказов отказ bounces"),
    ("visitors", "посетители посетителей"),
    ("timeonpage", "время-на-странице"),
    ("hashtags", "хэштеги хэштегов хештеги хештегов теги тегов hashtag"),
    ("formats", "форматы форматов"),
    ("cac", "стоимость-клиента стоимость-привлечения"),
    ("mentions", "упоминания упоминаний"),
    ("roi", "окупаемость окупаемости рои"),
    ("audience", "аудитория аудитории"),
    ("chart", "график графики графика"),
    ("kpi", "показатели метрики"),
    ("help", "помощь справка команды"),
    ("start", "старт начать"),
    ("log", "внести записать"),
    ("add", "добавить"),
    ("undo", "отменить"),
    ("cancel", "отмена стоп"),
    ("export", "экспорт выгрузка выгрузить"),
    ("account", "аккаунт аккаунты"),
    ("digest", "дайджест"),
    ("alerts", "алерты оповещения уведомления"),
    ("alert", "алерт оповещение"),
    ("settings", "настройки"),
    ("lang", "язык"),
    ("timezone", "часовой-пояс"),
    ("margin", "маржа маржу"),
    ("currency", "валюта валюту"),
    ("goals", "цели целей"),
    ("goal", "цель"),
    ("forecast", "прогноз прогнозы прогноза"),
    ("why", "почему"),
    ("content", "контент контента"),
    ("campaigns", "кампании кампаний"),
    ("campaign", "кампания кампанию"),
    ("channels", "каналы каналов"),
    ("mappings", "сопоставления колонки"),
    ("clients", "клиенты клиентов"),
    ("client", "клиент клиента"),
    ("agency", "агентство агентства"),
    ("brand", "бренд"),
    # Not /delete_all: a word typed by mistake must never reach a destructive command.
):
    COMMAND_WORDS.update(dict.fromkeys(_words.split(), _command))


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Commands free text may run: they only read, so a misread sentence costs nothing.
_FREE_TEXT_COMMANDS = _word_set(
    "report reach engagement conversion growth clicks bounce visitors timeonpage hashtags "
    "formats cac mentions roi audience"
)
_KPI_COMMAND = {"time_on_page": "timeonpage"}
# Words of a question that carry no meaning for the answer.
_FILLERS = _word_set(
    "покажи покажите показать посчитай посчитайте какой какая какое какие каков какова "
    "сколько скажи скажите дай дайте мне нам наш наша наше наши нашего нашей у нас был была "
    "было были пожалуйста плиз please show me what whats what's is was were our us give "
    "tell how much many about hey hi привет а и ну"
)
_ACCOUNT_FILLERS = _word_set("по аккаунту аккаунта аккаунт for account")
_LAYOUT = str.maketrans("йцукенгшщзхъфывапролджэячсмитьбю", "qwertyuiop[]asdfghjkl;'zxcvbnm,.")
_COMMAND_TOKEN = re.compile(r"/([^\s@]+)(?:@(\S+))?")
_PUNCTUATION = ",.;:!?()«»\"'"


def _fold(word: str) -> str:
    return word.strip(_PUNCTUATION).lower().replace("ё", "е")


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: a swap of two neighbours (`raech`) counts as one."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], prev2[j - 2] + 1)
        prev2, prev = prev, row
    return prev[-1]


def _allowed(word: str) -> int:
    return 1 if len(word) <= 4 else 2 if len(word) <= 8 else 3


def suggest(typed: str, commands: Iterable[str], limit: int = 3) -> list[str]:
    """The commands closest to `typed` (without the slash), alphabetically.

    Compared with every command name and every Russian command word, as typed and
    as the same keys on a Russian layout (`кузщке` → `report`); a typed prefix of
    three letters or more (`/eng`) counts as close too.
    """
    word = _fold(typed)
    known = set(commands)
    candidates: dict[str, int] = {}

    def consider(name: str, command: str) -> None:
        for form in {word, word.translate(_LAYOUT)}:
            distance = edit_distance(form, name)
            if distance > _allowed(name):
                distance = 1 if len(form) >= 3 and name.startswith(form) else 99
            if distance <= _allowed(name) and command in known:
                candidates[command] = min(candidates.get(command, 99), distance)

    for command in known:
        consider(command, command)
    for name, command in COMMAND_WORDS.items():
        consider(name, command)
    if not candidates:
        return []
    best = min(candidates.values())
    # Only the closest: `/кузщке` is /report, not also /export.
    return sorted(c for c in candidates if candidates[c] == best)[:limit]


def registered_commands(routers: Iterable[Router]) -> tuple[str, ...]:
    """Every command a `Command` filter of these routers accepts, in registration order."""
    found: list[str] = []
    for router in routers:
        for handler in router.message.handlers:
            for f in handler.filters or []:
                if isinstance(f.callback, Command):
                    found += [c for c in f.callback.commands if isinstance(c, str)]
    return tuple(dict.fromkeys(c.lower() for c in found))


def command_for_word(word: str) -> str | None:
    """The command a word names (`охвата` → reach, `отчёт` → report, `ROI` → roi)."""
    folded = _fold(word)
    if folded in COMMAND_WORDS:
        return COMMAND_WORDS[folded]
    key = resolve_kpi(folded)
    if key is None:
        return None
    return _KPI_COMMAND.get(key, key)


def _strip(word: str) -> str:
    # Keep `.` (`дек.`, `31.05.24`) and `:` (`vk:brand`).
    return word.strip(",;!?()«»\"'")


def read_question(text: str, is_period: Callable[[str], bool]) -> tuple[str, str] | None:
    """(command, arguments) for a plain-text question, None when it names no KPI or period.

    `охват за май` → ("reach", "за май"); `roi last month` → ("roi", "last month");
    `за прошлую неделю` → ("report", "за прошлую неделю"). Up to three words name a
    KPI (`время на странице`, `стоимость привлечения`).
    """
    words = [_strip(w) for w in text.split()]
    words = [w for w in words if w and _fold(w) not in _FILLERS]
    command: str | None = None
    for i in range(len(words)):
        for span in (3, 2, 1):
            if i + span > len(words):
                continue
            found = command_for_word("-".join(_fold(w) for w in words[i : i + span]))
            if found in _FREE_TEXT_COMMANDS:
                command, words = found, words[:i] + words[i + span :]
                break
        if command is not None:
            break
    rest = [
        w
        for i, w in enumerate(words)
        if not (
            _fold(w) in _ACCOUNT_FILLERS
            and not (words[i + 1] if i + 1 < len(words) else "")[:1].isdigit()
        )
    ]
    args = " ".join(rest)
    if command is not None:
        return command, args
    if rest and is_period(args):
        return "report", args
    return None


def hint_text() -> str:
    return "\n".join(
        (
            _(
                "I answer commands and questions like “reach in May”, “report for last week”, "
                "“roi last month”."
            ),
            _("To add numbers: /log reach=12000 or send an export file. All commands: /help"),
        )
    )


def menu_line() -> str:
    commands = " ".join(f"/{c.command}" for c in COMMANDS if c.in_menu)
    return _("Commands: {commands}. What each one does: /help").format(commands=commands)


def unknown_command_text(typed: str, suggestions: list[str]) -> str:
    name = html.escape(typed[:64])
    if suggestions:
        options = _(" or ").join(f"/{s}" for s in suggestions)
        first = _("There is no command /{name}. Did you mean {options}?").format(
            name=name, options=options
        )
    else:
        first = _("There is no command /{name}.").format(name=name)
    return f"{first}\n{menu_line()}"


def busy_text() -> str:
    return _("Finish the step above with its buttons, or stop it with /cancel.")


async def _addressed(message: Message, bot: Bot) -> str | None:
    """The text with the bot's @mention removed when the message is meant for the bot."""
    text = message.text or ""
    if message.chat.type == "private":
        return text
    replied = message.reply_to_message
    mentions = [e for e in message.entities or [] if e.type == "mention"]
    if (replied is None or replied.from_user is None) and not mentions:
        return None
    me = await bot.me()  # cached by aiogram after the first call
    if replied is not None and replied.from_user is not None and replied.from_user.id == me.id:
        return text
    handle = f"@{me.username or ''}".lower()
    ours = [e for e in mentions if e.extract_from(text).lower() == handle]
    if not ours:
        return None
    for entity in ours:
        text = text.replace(entity.extract_from(text), " ")
    return text


async def _rerun(message: Message, command: str, args: str, data: dict[str, Any]) -> None:
    """Send `/command args` through the dispatcher as if the user had typed it."""
    text = f"/{command} {args}".strip()
    entity = MessageEntity(type="bot_command", offset=0, length=len(command) + 1)
    rewritten = message.model_copy(update={"text": text, "entities": [entity]})
    log.info("message %s in chat %s read as %r", message.message_id, message.chat.id, text)
    dispatcher: Dispatcher = data["dispatcher"]
    await dispatcher.propagate_event("message", rewritten, **data)


async def _without_chatter(args: str, data: dict[str, Any]) -> str:
    """The arguments without the words of a sentence that are neither part of a period nor
    an account (`подписчиков прибавилось за май` asks about May, not about «прибавилось»).
    A word with a platform (`vk:nope`) stays: the command says there is no such account."""
    workspace: Workspace | None = data.get("workspace")
    if workspace is None or not args:
        return args
    today = data["clock"]().astimezone(ZoneInfo(workspace.timezone)).date()
    try:
        _period, others = split_period_words(args, today)
    except PeriodError:
        return args  # the command explains what is wrong with the period
    storage: Storage = data["storage"]
    accounts = {a.name for a in await storage.workspaces.list_accounts(workspace.id)}
    chatter = [w for w in others if ":" not in w and normalize_account(w) not in accounts]
    if chatter:
        log.info("free text: left out %r", chatter)
    words = args.split()
    for word in chatter:
        words.remove(word)
    return " ".join(words)


def _period_checker(
    workspace: Workspace | None, clock: Callable[[], datetime]
) -> Callable[[str], bool]:
    zone = ZoneInfo(workspace.timezone) if workspace is not None else None
    today = clock().astimezone(zone).date()

    def is_period(args: str) -> bool:
        try:
            period, others = split_period_words(args, today)
        except PeriodError:
            return False  # `100`, `2026-13` alone are not questions
        return period is not None and all(":" in w for w in others)

    return is_period


def create_router(commands: Iterable[str]) -> Router:
    """`commands`: every command the routers before this one handle (for "did you mean")."""
    known = tuple(commands)

    async def on_unknown_command(message: Message, **data: Any) -> None:
        bot: Bot = data["bot"]
        text = message.text or ""
        m = _COMMAND_TOKEN.match(text)
        if m is None:  # a lone `/` or `/ 30d`
            if message.chat.type == "private":
                await message.reply(hint_text())
            return
        typed, mention = m[1], m[2]
        if mention is not None and mention.lower() != ((await bot.me()).username or "").lower():
            return  # another bot's command
        args = text[m.end() :].strip()
        word = _fold(typed)
        if word in COMMAND_WORDS and COMMAND_WORDS[word] in known:
            await _rerun(message, COMMAND_WORDS[word], args, data)
            return
        if word in known:
            # Ours, but its handler's filters let it through (e.g. a state it needs).
            log.info("command /%s in chat %s reached the fallback", word, message.chat.id)
            return
        suggestions = suggest(typed, known)
        if message.chat.type != "private" and not suggestions and mention is None:
            return  # not close to any of ours: probably meant for another bot
        await message.reply(unknown_command_text(typed, suggestions))

    async def on_text(message: Message, **data: Any) -> None:
        text = await _addressed(message, data["bot"])
        if text is None:
            return  # group chatter not meant for the bot
        is_period = _period_checker(data.get("workspace"), data["clock"])
        question = read_question(text, is_period)
        if question is not None:
            args = await _without_chatter(question[1], data)
            await _rerun(message, question[0], args, data)
        elif data.get("raw_state") is not None:
            await message.reply(busy_text())
        else:
            await message.reply(hint_text())

    async def on_other_private(message: Message) -> None:
        await message.reply(hint_text())

    router = Router(name="conversation")
    router.message.register(on_unknown_command, Is(F.text.startswith("/")))
    router.message.register(on_text, Is(F.text))
    router.message.register(
        on_other_private,
        Is(
            (F.chat.type == "private")
            & (F.photo | F.sticker | F.voice | F.video | F.animation | F.audio | F.video_note)
        ),
    )
    return router
