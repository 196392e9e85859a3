"""docs/glossary.md is the bot's vocabulary: the Russian catalogues never use a word it
says to avoid (`сессии` beside `визиты`, `аккаунто-дней`, `нет значения`)."""

from __future__ import annotations

import re

from babel.messages.pofile import read_po

from bot.i18n import LOCALES_DIR
from tests.conftest import REPO


def _avoided() -> list[str]:
    words: list[str] = []
    for line in (REPO / "docs" / "glossary.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] not in ("metric (code)", "idea") and "---" not in cells[0]:
            words += [w.strip() for w in cells[3].split(",") if w.strip()]
    return words


def _russian_strings() -> dict[str, str]:
    out: dict[str, str] = {}
    for po in sorted((LOCALES_DIR / "ru" / "LC_MESSAGES").glob("*.po")):
        with po.open("rb") as fh:
            for msg in read_po(fh, locale="ru"):
                if msg.id and isinstance(msg.string, str) and msg.string:
                    out[str(msg.id)] = msg.string
    return out


def test_the_glossary_lists_words_to_avoid() -> None:
    avoided = _avoided()
    assert {"сессии", "сессий", "аккаунто-дней", "нет значения"} <= set(avoided)


def test_russian_messages_use_the_glossary_words() -> None:
    patterns = {w: re.compile(rf"(?<!\w){re.escape(w)}(?!\w)", re.IGNORECASE) for w in _avoided()}
    found = {
        (word, msgid)
        for msgid, text in _russian_strings().items()
        for word, pattern in patterns.items()
        if pattern.search(text)
    }
    assert found == set()
