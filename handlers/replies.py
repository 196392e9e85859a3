"""Sending text within Telegram's limits: 4096 characters per message."""

from __future__ import annotations

from aiogram.types import Message
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _

from bot.i18n import chosen_currency
from kpi.numbers import currency_sign, default_currency

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split at line breaks so each part fits; a single over-long line is cut hard.

    Our messages keep HTML tags within one line, so a split at a line break never
    cuts a tag in two.
    """
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current or not parts:
        parts.append(current)
    return [p for p in parts if p.strip()] or [text[:limit]]


async def answer_long(message: Message, text: str, **kwargs: object) -> None:
    for part in split_text(text):
        await message.answer(part, **kwargs)  # type: ignore[arg-type]


def current_currency() -> str:
    """The currency of this workspace's money: its `/currency`, else the language's."""
    return chosen_currency() or default_currency(current_language())


def current_language() -> str:
    """The language this update is answered in (chosen by the i18n middleware)."""
    try:
        return get_i18n().current_locale
    except LookupError:
        return "ru"


def currency_mismatch_text(codes: set[str], lang: str) -> str:
    """Money in another currency than the chat's: refused, never mixed into one sum."""
    mine = current_currency()
    return _(
        "Money in this chat is counted in {mine}; {other} is another currency, and the "
        "bot never mixes currencies in one sum. Write the amount in {mine}, or change "
        "the chat's currency: /currency {code}."
    ).format(
        mine=f"{mine} ({currency_sign(mine, lang)})",
        other=", ".join(sorted(codes)),
        code=sorted(codes)[0],
    )
