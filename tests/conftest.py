from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage import Storage

# Tests never talk to Telegram and never read a developer's .env.
os.environ.pop("BOT_TOKEN", None)

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("SHARED_DATA_DIR", REPO.parent / "shared" / "data"))
SMM_DATA = SHARED_DATA / "smm"
TEST_TOKEN = "123456789:AAH-test-token-not-real-abcdefghijklm"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="run soak/slow tests too")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with make soak (--run-slow)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
async def db_url(tmp_path: Path) -> AsyncIterator[str]:
    """A fresh SQLite file; with TEST_POSTGRES_URL (`postgresql+asyncpg://user@host:port/db`,
    a role that may create databases) a fresh PostgreSQL database instead, dropped after."""
    server = os.environ.get("TEST_POSTGRES_URL")
    if not server:
        yield f"sqlite+aiosqlite:///{tmp_path / 'kpibot.sqlite3'}"
        return
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    name = f"kpibot_test_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(server, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


@pytest.fixture
async def storage(db_url: str) -> AsyncIterator[Storage]:
    st = await Storage.open(db_url)
    try:
        yield st
    finally:
        await st.close()
