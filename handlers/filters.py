"""Filters checked in the event loop.

aiogram awaits a filter only when it is a coroutine function or a `Filter`;
anything else (a bare `F.text`, a `State` object) runs through
`asyncio.to_thread`, a worker-thread round trip for every update that reaches
the handler. With a few of them ahead of the KPI commands that was most of
the dispatch time of `/report` (bench/bench_report.py). Register `Is(F...)`
and `StateFilter(...)` instead; tests/unit/test_routers.py keeps it that way.
"""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.types import TelegramObject
from aiogram.utils.magic_filter import MagicFilter


class Is(Filter):
    """A magic filter (`Is(F.document)`, `Is(F.text & ~F.text.startswith("/"))`) on the event."""

    def __init__(self, magic: MagicFilter) -> None:
        self._magic = magic

    async def __call__(self, event: TelegramObject) -> bool:
        return bool(self._magic.resolve(event))

    def __str__(self) -> str:
        return f"Is({self._magic!r})"
