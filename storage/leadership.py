"""The scheduler leader's lock: a PostgreSQL session advisory lock
(`pg_try_advisory_lock`) on a connection of its own, outside the pool.

The lock lives exactly as long as that session: when the leader's process dies (even
`kill -9`) its socket closes and PostgreSQL frees the lock at once; when its machine
vanishes without closing the socket, the server's TCP keepalives (set below for this
session) notice within ~15 s. The leader checks its connection every few seconds
(`still_held`); a failed check means it may have lost the lock, and it stops leading.
"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

# Server-side keepalives of the lock's session: probe after 5 s idle, every 2 s, 5 tries.
KEEPALIVES = {
    "tcp_keepalives_idle": "5",
    "tcp_keepalives_interval": "2",
    "tcp_keepalives_count": "5",
    "application_name": "kpibot-leader",
}
LOCK_NAMESPACE = 0x4B50_4900_0000_0000  # "KPI" in the high bytes; the bot id below


def is_postgres(database_url: str) -> bool:
    return make_url(database_url).get_backend_name() == "postgresql"


def lock_key(bot_id: int) -> int:
    """One lock per bot token on a shared database (a signed 64-bit key)."""
    key = LOCK_NAMESPACE | (bot_id & 0xFFFF_FFFF_FFFF)
    return key - (1 << 64) if key >= 1 << 63 else key


class AdvisoryLock:
    def __init__(self, database_url: str, key: int, *, timeout: float = 5.0) -> None:
        self.key = key
        self._engine: AsyncEngine = create_async_engine(
            database_url,
            poolclass=NullPool,
            connect_args={
                "server_settings": KEEPALIVES,
                "timeout": timeout,
                "command_timeout": timeout,
            },
        )
        self._conn: AsyncConnection | None = None

    async def try_acquire(self) -> bool:
        """True when this session holds the lock (now or already)."""
        if self._conn is None:
            conn = await self._engine.connect()
            # Autocommit: the session holds the lock, not a transaction left open.
            self._conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        result = await self._conn.execute(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
        )
        return bool(result.scalar())

    async def still_held(self) -> bool:
        """False when the session is gone (and with it, perhaps, the lock)."""
        if self._conn is None:
            return False
        result = await self._conn.execute(
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                "AND pid = pg_backend_pid() AND granted AND objsubid = 1 "
                "AND ((classid::bigint << 32) | objid::bigint) = :key"
            ),
            {"key": self.key},
        )
        return bool(result.scalar())

    async def release(self) -> None:
        """Close the session (the lock goes with it)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.close()
            except Exception as exc:  # already broken: the lock is gone with it
                log.info("leader lock connection closed with %s", type(exc).__name__)

    async def close(self) -> None:
        await self.release()
        await self._engine.dispose()
