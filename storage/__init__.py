"""The database: schema, migrations, repositories. All SQL of the project lives here."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncEngine

from storage.agency import AgencyRepo
from storage.alerts import AlertRepo
from storage.channels import ChannelRepo
from storage.db import (
    DatabaseUnavailable,
    Reader,
    WorkspaceGone,
    cannot_write,
    create_engine,
    migrate,
)
from storage.digests import DigestRepo
from storage.goals import GoalRepo
from storage.mappings import MappingRepo
from storage.metrics import MetricsRepo
from storage.runtime import RuntimeRepo
from storage.workspaces import WorkspaceRepo

log = logging.getLogger(__name__)


class Storage:
    """The repositories over one engine; passed to handlers by name (`storage`)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.reader = Reader(engine)
        self.workspaces = WorkspaceRepo(engine, self.reader)
        self.metrics = MetricsRepo(engine, self.workspaces, self.reader)
        self.alerts = AlertRepo(engine)
        self.digests = DigestRepo(engine, self.reader)
        self.mappings = MappingRepo(engine)
        self.channels = ChannelRepo(engine)
        self.runtime = RuntimeRepo(engine)
        self.goals = GoalRepo(engine, self.reader)
        self.agency = AgencyRepo(engine)

    @classmethod
    async def open(cls, url: str) -> Storage:
        """Connect, migrate to the newest schema, and return the repositories.

        Raises DatabaseUnavailable with a one-line reason when that fails.
        """
        try:
            engine = create_engine(url)
        except Exception as exc:  # bad URL, missing driver
            raise DatabaseUnavailable(f"cannot use DATABASE_URL: {exc}") from exc
        storage = cls(engine)
        try:
            await migrate(engine)
            storage.reader.open_connections()
        except Exception as exc:
            await storage.close()
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise DatabaseUnavailable(f"cannot open the database: {reason}") from exc
        return storage

    async def close(self) -> None:
        await self.reader.aclose()
        await self.engine.dispose()


__all__ = ["DatabaseUnavailable", "Storage", "WorkspaceGone", "cannot_write"]
