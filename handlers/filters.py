"""Filters checked in the event loop.

aiogram awaits a filter only when it is a coroutine function or a `Filter`;
anything else (a bare `F.text`, a `State` object) runs through
`asyncio.to_thread`, a worker-thread round trip for every update that reaches
the handler. With a few of them ahead of the KPI commands that was most of
the dispatch time of `/report` (bench/bench_report.py). Register `Is(F...)`
and `StateFilter(...)` instead; tests/unit/test_routers.py keeps it that way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from aiogram.filters import Filter
from aiogram.types import TelegramObject
from aiogram.utils.magic_filter import MagicFilter
from pydantic import Field

# A number a button carries (an id, a page, a week): what a database column holds. A
# forged button with a larger one does not unpack, so the fallback router answers it as
# out of date instead of the number overflowing in SQL.
ButtonInt = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]


def born(created_at: datetime) -> int:
    """A row's creation time (µs) as a button carries it: SQLite reuses a deleted row's
    id, so a button names the row by its id *and* this; an old button pressed after its
    row was deleted and the id reused does not match the new row. 0 on a button: made
    before buttons carried it (matches any)."""
    return int(created_at.timestamp() * 1_000_000) % 10**15


def with_born(value: str, separator: str, fields: int) -> str:
    """Button data sent before it carried `born` (one part fewer): as if it carried 0."""
    return value + separator + "0" if value.count(separator) == fields - 1 else value


class Is(Filter):
    """A magic filter (`Is(F.document)`, `Is(F.text & ~F.text.startswith("/"))`) on the event."""

    def __init__(self, magic: MagicFilter) -> None:
        self._magic = magic

    async def __call__(self, event: TelegramObject) -> bool:
        return bool(self._magic.resolve(event))

    def __str__(self) -> str:
        return f"Is({self._magic!r})"
