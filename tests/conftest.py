from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncIterator, Generator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from storage import Storage
from tests import shareddata
from tests.shareddata import SHARED_DATA, SMM_DATA

# CI runs the property tests on a fixed sequence of examples (derived from each test's
# name), so a landing never depends on the luck of a random draw; every other run
# draws anew, and what it finds is fixed and kept as a test of its own.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

# Tests never talk to Telegram and never read a developer's .env.
os.environ.pop("BOT_TOKEN", None)
# In-process tests talk to a fake that enforces no flood limits: no pacing there. The
# bot process of the end-to-end tests gets the production default (tests/e2e/conftest.py).
os.environ["SEND_PACING"] = "false"

REPO = shareddata.REPO
TEST_TOKEN = "123456789:AAH-test-token-not-real-abcdefghijklm"
SLOW_REASON = "slow: run with make soak (--run-slow)"

__all__ = ["REPO", "SHARED_DATA", "SMM_DATA", "TEST_TOKEN"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="run soak/slow tests too")


def _require_shared() -> bool:
    return os.environ.get(shareddata.REQUIRE_ENV, "") not in ("", "0")


def pytest_configure(config: pytest.Config) -> None:
    if _require_shared() and not shareddata.available():
        raise pytest.UsageError(
            f"{shareddata.REQUIRE_ENV}=1 but ../shared/data is not beside the checkout "
            f"({os.path.relpath(SHARED_DATA)}): the shared_data tests cannot run"
        )
    config.stash[_COUNTS] = {"passed": 0, "failed": 0, "skipped": 0}
    _CONFIG[0] = config
    _install_read_guard()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    run_slow = config.getoption("--run-slow")
    have_shared = shareddata.available()
    slow = pytest.mark.skip(reason=SLOW_REASON)
    no_shared = pytest.mark.skip(reason=shareddata.SKIP_REASON)
    for item in items:
        if "slow" in item.keywords and not run_slow:
            item.add_marker(slow)
        elif item.get_closest_marker(shareddata.MARKER) and not have_shared:
            item.add_marker(no_shared)


# ---------------------------------------------------------------- shared_data accounting

_COUNTS = pytest.StashKey[dict[str, int]]()
_CURRENT_MARKED = [False]  # is the running test marked shared_data? (read by the guard)
_CONFIG: list[pytest.Config | None] = [None]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, Any, Any]:
    _CURRENT_MARKED[0] = item.get_closest_marker(shareddata.MARKER) is not None
    try:
        return (yield)
    finally:
        _CURRENT_MARKED[0] = False


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report: pytest.TestReport = yield
    if item.get_closest_marker(shareddata.MARKER) is None:
        return report
    slow_skip = "slow" in item.keywords and not item.config.getoption("--run-slow")
    if report.skipped and _require_shared() and not slow_skip:
        # CI has the data beside the checkout: a skipped shared_data test is a failure.
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = (
            f"shared_data test skipped although {shareddata.REQUIRE_ENV}=1 "
            f"(../shared/data is required here): {reason}"
        )
    return report


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # Counted where the reports arrive: in this process, or in the pytest-xdist controller
    # for its workers' reports (so the summary line below counts every worker's tests).
    if shareddata.MARKER not in report.keywords:
        return
    config = _CONFIG[0]
    if config is None:
        return
    slow_skip = "slow" in report.keywords and not config.getoption("--run-slow")
    if not slow_skip and (report.when == "call" or report.outcome != "passed"):
        config.stash[_COUNTS][report.outcome] += 1


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    counts = config.stash.get(_COUNTS, None)
    if not counts or not any(counts.values()):
        return
    if counts["skipped"]:
        line = f"shared_data: {counts['skipped']} tests skipped: {shareddata.SKIP_REASON}"
        line += f" at {os.path.relpath(SHARED_DATA)}"
    else:
        line = f"shared_data: {counts['passed'] + counts['failed']} tests ran on ../shared/data"
        if counts["failed"]:
            line += f" ({counts['failed']} failed)"
    terminalreporter.write_line(line, yellow=bool(counts["skipped"]), bold=True)


# ---------------------------------------------------------------- the read guard

_GUARD_INSTALLED = [False]
_WATCHED_EVENTS = frozenset({"open", "os.listdir", "os.scandir"})


class UnmarkedSharedDataRead(RuntimeError):
    """An unmarked test (or collection) tried to read ../shared."""


def _install_read_guard() -> None:
    """Only tests marked shared_data may read ../shared (the one exception: the fake
    Bot API's cross-check against the full description in ../shared/data/telegram-bot-api,
    which works without it). Reads elsewhere raise, so a bare clone cannot hide them."""
    if _GUARD_INSTALLED[0]:
        return
    _GUARD_INSTALLED[0] = True
    roots = {os.path.abspath(shareddata.SHARED)}
    if shareddata.SHARED.exists():
        roots.add(os.path.realpath(shareddata.SHARED))
    allowed = {os.path.abspath(shareddata.BOT_API_DATA)}
    if shareddata.BOT_API_DATA.exists():
        allowed.add(os.path.realpath(shareddata.BOT_API_DATA))

    def inside(path: str, dirs: set[str]) -> bool:
        return any(path == d or path.startswith(d + os.sep) for d in dirs)

    def guard(event: str, args: tuple[Any, ...]) -> None:
        if event not in _WATCHED_EVENTS or _CURRENT_MARKED[0] or not args:
            return
        target = args[0]
        if isinstance(target, int) or target is None:
            return
        try:
            path = os.path.abspath(os.fsdecode(os.fspath(target)))
        except (TypeError, ValueError):
            return
        if inside(path, roots) and not inside(path, allowed):
            raise UnmarkedSharedDataRead(
                f"{path}: only tests marked @pytest.mark.shared_data may read ../shared "
                "(and not at import/collection time)"
            )

    sys.addaudithook(guard)


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
