"""Engine, SQLite pragmas and migrations at start-up."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

log = logging.getLogger(__name__)

T = TypeVar("T")

_HERE = Path(__file__).resolve().parent


class DatabaseUnavailable(RuntimeError):
    """The database can't be opened or migrated; start-up stops with this message."""


class WorkspaceGone(LookupError):
    """The workspace was deleted (/delete_all) while a write for it was on its way."""


# What SQLite and PostgreSQL say when they cannot write at all (not a bug of ours, and
# retrying will not help until the operator frees space or remounts read-write).
_CANNOT_WRITE = (
    "database or disk is full",
    "disk i/o error",
    "attempt to write a readonly database",
    "readonly database",
    "read-only file system",
    "no space left on device",
    "could not extend file",
    "read-only transaction",
)
_CANNOT_WRITE_SQLSTATES = ("53100", "25006")  # disk_full, read_only_sql_transaction


def cannot_write(exc: BaseException) -> bool:
    """True when `exc` means the database refuses writes (disk full, read-only)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = str(current).lower()
        if any(marker in text for marker in _CANNOT_WRITE):
            return True
        if str(getattr(current, "sqlstate", "") or "") in _CANNOT_WRITE_SQLSTATES:
            return True
        current = getattr(current, "orig", None) or current.__cause__
    return False


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    # NORMAL is durable in WAL mode except for the last commits on power loss.
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=15000")
    cur.close()


def create_engine(url: str) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:":
            Path(db).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_pre_ping=True)


def _alembic_config(connection: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE / "migrations"))
    cfg.attributes["connection"] = connection
    return cfg


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest revision (idempotent)."""

    def _upgrade(connection: Connection) -> None:
        command.upgrade(_alembic_config(connection), "head")

    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # Several processes start at once in cluster mode: one migrates, the
            # others wait here (the lock ends with the transaction) and find it done.
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        await conn.run_sync(_upgrade)


MIGRATION_LOCK = 0x4B50_494D_4947  # "KPIMIG": the advisory lock of start-up migrations
_WRITE_LOCKS: WeakKeyDictionary[Any, asyncio.Lock] = WeakKeyDictionary()


@asynccontextmanager
async def write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A write transaction; on SQLite one at a time per engine in this process.

    SQLite has one writer; concurrent transactions would otherwise queue on
    busy_timeout inside the driver's threads and, under load, fail with
    "database is locked". Readers are not affected (WAL). Never nest two of these.
    PostgreSQL takes concurrent writers (several processes write to it in cluster
    mode anyway): there a lock here would only make one process's digest claims
    and marks wait for each other.
    """
    if engine.dialect.name != "sqlite":
        async with engine.begin() as conn:
            yield conn
        return
    lock = _WRITE_LOCKS.setdefault(engine.sync_engine, asyncio.Lock())
    async with lock, engine.begin() as conn:
        yield conn


def _read_only_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA busy_timeout=15000")
    cur.execute("PRAGMA query_only=ON")  # a reader never writes, even by mistake
    cur.close()


_READERS = 2  # threads, and pooled connections: one each
# PostgreSQL: the reader's pool holds _READERS connections and opens up to this many
# more under a burst of reads (then waits for one).
_PG_OVERFLOW = 6


class Reader:
    """Runs a read-only unit of work, written against a plain SQLAlchemy `Connection`.

    The work is a synchronous function of a connection, so the same Core
    statements run on every backend. Where it runs:

    - SQLite file: on one of two reader threads, with a synchronous engine over
      the same file (WAL lets it read beside the async writer). The whole unit is
      one trip to a thread; through aiosqlite every statement costs four or five
      (cursor, execute, fetch, close, and the rollback on check-in).
    - PostgreSQL: `AsyncConnection.run_sync` on a small pool of its own in autocommit
      mode. Each statement of a unit then is one round trip and nothing more: no
      BEGIN before and no ROLLBACK after, and no ping at checkout (three more trips
      with the asyncpg dialect's pre-ping); a unit that finds its connection dead
      (the server restarted) runs once more on a fresh one, as a pre-ping would
      have. What a unit reads is the same: under READ COMMITTED every statement of
      a transaction took its own snapshot anyway.
    - anything else: `AsyncConnection.run_sync` on the async engine.

    Only for reads that answer a command: they see every committed write.
    """

    def __init__(self, engine: AsyncEngine, *, threads: bool = True) -> None:
        self._engine = engine
        self._sync: Engine | None = None
        self._threads: ThreadPoolExecutor | None = None
        self._autocommit: AsyncEngine | None = None
        url = engine.url
        if url.get_backend_name() == "postgresql":
            self._autocommit = create_async_engine(
                url,
                isolation_level="AUTOCOMMIT",
                pool_size=_READERS,
                max_overflow=_PG_OVERFLOW,
            )
        file_db = url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
        if threads and file_db:
            self._sync = create_sync_engine(
                url.set(drivername="sqlite+pysqlite"),
                connect_args={"check_same_thread": False},
                pool_size=_READERS,
            )
            event.listen(self._sync, "connect", _read_only_pragmas)
            self._threads = ThreadPoolExecutor(
                max_workers=_READERS, thread_name_prefix="sqlite-read"
            )

    @property
    def threaded(self) -> bool:
        return self._sync is not None

    def open_connections(self) -> None:
        """Open the reader threads' connections now (at start-up), not under the first load."""
        if self._sync is not None:
            held = [self._sync.connect() for _ in range(_READERS)]
            for conn in held:
                conn.close()

    async def run(self, work: Callable[[Connection], T]) -> T:
        if self._autocommit is not None:
            try:
                async with self._autocommit.connect() as conn:
                    return await conn.run_sync(work)
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    raise
                # A connection of before a server restart: SQLAlchemy has dropped the
                # pool's old connections; a read is safe to run again.
                log.warning("reader: connection lost (%s), reading again", exc.orig)
            async with self._autocommit.connect() as conn:
                return await conn.run_sync(work)
        if self._sync is None or self._threads is None:
            async with self._engine.connect() as conn:
                return await conn.run_sync(work)
        sync = self._sync

        def unit() -> T:
            with sync.connect() as conn:
                return work(conn)

        return await asyncio.get_running_loop().run_in_executor(self._threads, unit)

    def close(self) -> None:
        if self._threads is not None:
            self._threads.shutdown(wait=True)
        if self._sync is not None:
            self._sync.dispose()

    async def aclose(self) -> None:
        """`close`, and the PostgreSQL pool's connections closed too."""
        self.close()
        if self._autocommit is not None:
            await self._autocommit.dispose()
