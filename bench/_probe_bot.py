"""`python -m bot` with a probe: writes the number of asyncio tasks of the bot's event
loop to $KPIBOT_PROBE_FILE every 0.25 s (used by bench_load to see task leaks)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bot.main
from bot.config import Settings

_run = bot.main.run


async def _report(path: str) -> None:
    while True:
        tmp = f"{path}.tmp"
        with open(tmp, "w") as f:  # noqa: ASYNC230 - a few bytes, 4 times a second
            f.write(str(len(asyncio.all_tasks())))
        os.replace(tmp, path)
        await asyncio.sleep(0.25)


async def run(settings: Settings, *args: Any) -> None:
    probe = asyncio.create_task(_report(os.environ["KPIBOT_PROBE_FILE"]))
    try:
        await _run(settings, *args)
    finally:
        probe.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await probe


bot.main.run = run  # type: ignore[assignment]

if __name__ == "__main__":
    sys.exit(bot.main.main())
