from __future__ import annotations

import os
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
def db_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'kpibot.sqlite3'}"


@pytest.fixture
async def storage(db_url: str) -> AsyncIterator[Storage]:
    st = await Storage.open(db_url)
    try:
        yield st
    finally:
        await st.close()
