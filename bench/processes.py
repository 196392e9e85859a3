"""The environment of a `python -m bot` process that a bench starts against the fake Bot API."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tests.conftest import REPO


def bot_env(api: Any, workdir: Path, **extra: str) -> dict[str, str]:
    """This process's environment without the bot's own settings, pointed at `api` (a
    running FakeBotAPI) and a fresh SQLite database in `workdir`; `extra` on top."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "DATABASE_"))}
    env.update(
        BOT_TOKEN=api.token,
        BOT_API_URL=api.base_url,
        DATABASE_URL=f"sqlite+aiosqlite:///{workdir / 'kpibot.sqlite3'}",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(REPO),
        MPLBACKEND="Agg",
    )
    env.update(extra)
    return env
