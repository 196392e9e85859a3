"""Pre-rendered digest dashboards on disk, and the file_ids of dashboards already sent.

Issue #16: 10,000 dashboards of ~90 KB held in RAM came to ~1 GB. Here each
picture is a file in a directory of the data directory (`digest-cache/` beside
the SQLite database, a temporary directory otherwise), the process keeps only a
small index (spec → path, size, when, how many digests want it), and the total
on disk is capped: pre-rendering stops when the cap is reached instead of
evicting pictures about to be sent.

Equal spec ⇒ equal picture. A picture is deleted once every digest that asked
for it has taken it (`take`), or when it is older than `max_age_s` (its data
changed, so its spec is never asked for again). Files left by an earlier
process are removed when the cache opens: the index that knew them is gone.

After a dashboard went out, Telegram's `file_id` of the photo is remembered for
that spec (bounded, LRU), so an identical dashboard is re-sent by `file_id`
instead of being rendered and uploaded again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import shutil
import tempfile
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from kpi.charts import DashboardSpec

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 2 * 2**30  # on disk: ~20,000 dashboards
DEFAULT_MAX_AGE_S = 24 * 3600.0
FILE_IDS = 10_000
DIRECTORY_NAME = "digest-cache"


@dataclass(slots=True)
class _Entry:
    path: Path
    size: int
    added: float
    wanted: int  # digests that will take this picture


def cache_directory(database_url: str) -> Path | None:
    """`digest-cache/` beside a SQLite database file; None (a temporary directory) else."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database).expanduser().resolve().parent / DIRECTORY_NAME


class DigestCache:
    """Rendered dashboards keyed by their spec, as files under a size cap."""

    def __init__(
        self,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_age_s: float = DEFAULT_MAX_AGE_S,
        clock: Callable[[], float] = time.monotonic,
        directory: Path | None = None,
    ) -> None:
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s
        self._clock = clock
        if directory is None:
            self.directory = Path(tempfile.mkdtemp(prefix="kpibot-digests-"))
            self._finalizer = weakref.finalize(
                self, shutil.rmtree, str(self.directory), ignore_errors=True
            )
        else:
            self.directory = directory
            self.directory.mkdir(parents=True, exist_ok=True)
            for stale in self.directory.glob("*.png*"):
                with contextlib.suppress(OSError):
                    stale.unlink()
        self._items: OrderedDict[DashboardSpec, _Entry] = OrderedDict()
        self._bytes = 0
        self._file_ids: OrderedDict[DashboardSpec, str] = OrderedDict()
        # (workspace, week) already rendered or counted in -> when: later ticks skip them.
        self._reserved: dict[Hashable, float] = {}
        self.hits = 0
        self.misses = 0
        self.reused = 0  # photos re-sent by file_id
        # The background pre-render batch started by a tick, if any.
        self.warming: asyncio.Task[int] | None = None
        # Measured rendering speed (dashboards per second, whole batches).
        self.render_rate: float | None = None
        # The look-ahead has read every digest due up to here (bot/services/digest.py).
        self.horizon: datetime | None = None

    def __len__(self) -> int:
        return len(self._items)

    @property
    def size(self) -> int:
        """Bytes on disk."""
        return self._bytes

    def has_room(self, reserve: int = 256 * 1024) -> bool:
        return self._bytes + reserve <= self.max_bytes

    def __contains__(self, spec: DashboardSpec) -> bool:
        return spec in self._items

    def _path(self, spec: DashboardSpec) -> Path:
        return self.directory / (hashlib.sha256(repr(spec).encode()).hexdigest()[:40] + ".png")

    def _drop(self, spec: DashboardSpec) -> None:
        entry = self._items.pop(spec)
        self._bytes -= entry.size
        with contextlib.suppress(FileNotFoundError):
            entry.path.unlink()

    def reserved(self, key: Hashable) -> bool:
        return key in self._reserved

    def reserve(self, key: Hashable) -> None:
        self._reserved[key] = self._clock()

    def expire(self) -> None:
        """Delete pictures older than `max_age_s` (oldest first)."""
        limit = self._clock() - self.max_age_s
        if self._reserved and next(iter(self._reserved.values())) <= limit:
            self._reserved = {k: t for k, t in self._reserved.items() if t > limit}
        while self._items:
            spec, entry = next(iter(self._items.items()))
            if entry.added > limit:
                break
            self._drop(spec)

    def want(self, spec: DashboardSpec) -> bool:
        """One more digest will take this cached picture; False if it is not cached."""
        entry = self._items.get(spec)
        if entry is None:
            return False
        entry.wanted += 1
        return True

    def put(self, spec: DashboardSpec, png: bytes) -> bool:
        """Store a picture (for one digest; `want` counts more). False if it could not be
        written (cap, disk) — the send run then renders it."""
        if self.want(spec):
            return True
        self.expire()
        if self._bytes + len(png) > self.max_bytes:
            return False
        path = self._path(spec)
        partial = path.with_suffix(".png.part")
        try:
            partial.write_bytes(png)
            os.replace(partial, path)
        except OSError as error:  # disk full, permissions: degrade to rendering later
            log.warning("digest cache: cannot write %s: %s", path.name, error)
            with contextlib.suppress(OSError):
                partial.unlink()
            return False
        self._items[spec] = _Entry(path, len(png), self._clock(), 1)
        self._bytes += len(png)
        return True

    def take(self, spec: DashboardSpec) -> bytes | None:
        """The picture for one digest; the file goes once the last digest took it."""
        entry = self._items.get(spec)
        if entry is None:
            self.misses += 1
            return None
        try:
            png = entry.path.read_bytes()
        except OSError as error:
            log.warning("digest cache: cannot read %s: %s", entry.path.name, error)
            self._drop(spec)
            self.misses += 1
            return None
        entry.wanted -= 1
        if entry.wanted <= 0:
            self._drop(spec)
        self.hits += 1
        return png

    def release(self, spec: DashboardSpec) -> None:
        """One digest no longer needs the cached picture (it goes by file_id)."""
        entry = self._items.get(spec)
        if entry is not None:
            entry.wanted -= 1
            if entry.wanted <= 0:
                self._drop(spec)

    # Telegram's copies ---------------------------------------------------------------

    def file_id(self, spec: DashboardSpec) -> str | None:
        found = self._file_ids.get(spec)
        if found is not None:
            self._file_ids.move_to_end(spec)
        return found

    def remember_file_id(self, spec: DashboardSpec, file_id: str) -> None:
        self._file_ids[spec] = file_id
        self._file_ids.move_to_end(spec)
        while len(self._file_ids) > FILE_IDS:
            self._file_ids.popitem(last=False)

    def forget_file_id(self, spec: DashboardSpec) -> None:
        self._file_ids.pop(spec, None)

    def note_render_rate(self, rendered: int, seconds: float) -> None:
        """Fold one batch's speed into the estimate (batches of a few are noise)."""
        if rendered < 4 or seconds <= 0:
            return
        rate = rendered / seconds
        self.render_rate = rate if self.render_rate is None else 0.5 * (self.render_rate + rate)

    def clear(self) -> None:
        for spec in list(self._items):
            self._drop(spec)
        self._reserved.clear()


__all__ = ["DIRECTORY_NAME", "DigestCache", "cache_directory"]
