"""Filters checked in the event loop.

aiogram awaits a filter only when it is a coroutine function or a `Filter`;
anything else (a bare `F.text`, a `State` object) runs through
`asyncio.to_thread`, a worker-thread round trip for every update that reaches
the handler. With a few of them ahead of the KPI commands that was most of
the dispatch time of `/report` (bench/bench_report.py). Register `Is(F...)`
and `StateFilter(...)` instead; tests/unit/test_routers.py keeps it that way.
"""

from __future__ import annotations

from typing import Annotated

from aiogram.filters import Filter
from aiogram.types import TelegramObject
from aiogram.utils.magic_filter import MagicFilter
from pydantic import Field

# A number a button carries (an id, a page, a week): what a database column holds. A
# forged button with a larger one does not unpack, so the fallback router answers it as
# out of date instead of the number overflowing in SQL.
ButtonInt = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]


class Is(Filter):
    """A magic filter (`Is(F.document)`, `Is(F.text & ~F.text.startswith("/"))`) on the event."""

    def __init__(self, magic: MagicFilter) -> None:
        self._magic = magic

    async def __call__(self, event: TelegramObject) -> bool:
        return bool(self._magic.resolve(event))

    def __str__(self) -> str:
        return f"Is({self._magic!r})"
