"""Daily metric values, posts and audience snapshots: imports with undo, and
the SQL aggregates the KPI layer reads."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import islice
from operator import itemgetter
from typing import Any, TypeVar

from sqlalchemy import (
    Date,
    String,
    and_,
    bindparam,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    literal_column,
    null,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from kpi.importing.values import ValueStore
from kpi.metrics import COUNTERS, METRIC_NAMES
from kpi.models import (
    FOLLOWER_JUMP,
    AccountData,
    AudienceBucket,
    FollowerEdges,
    PairSums,
    Period,
    PeriodData,
    PostRecord,
    combine_followers,
)
from kpi.registry import INTERACTION_PARTS, PAIRS
from storage.db import Reader, write_transaction
from storage.records import DataSpan, ImportBatch, UndoResult
from storage.schema import accounts, audience, daily_metrics, import_batches, import_undo, posts
from storage.workspaces import WorkspaceRepo

T = TypeVar("T")

_POST_COUNTERS = (
    "reach", "impressions", "likes", "comments", "shares", "saves", "link_clicks", "reactions",
)  # fmt: skip

# Rows per executemany chunk: keeps memory flat for big imports.
_CHUNK = 2000
# Account-days written (and their existing rows read back for undo) at a time.
_WRITE_CHUNK = 10_000
_ROW_KEYS = ("workspace_id", "account_id", "day", "batch_id")
_UNDO_KEYS = ("batch_id", "target", "account_id", "day", "key", "previous", "previous_batch_id")
_METRIC_POSITION = {m: i for i, m in enumerate(METRIC_NAMES)}
_UNDO_INSERT = insert(import_undo)


@dataclass(frozen=True, slots=True)
class ImportOutcome:
    batch_id: int
    rows: int  # account-days written
    posts: int
    audience: int
    accounts_created: tuple[str, ...]
    replaced: int  # account-days that already had values for the imported metrics


@dataclass(frozen=True, slots=True)
class AudienceRow:
    account: str
    day: date
    bucket: AudienceBucket


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _picker(positions: Sequence[int]) -> Callable[[Sequence[float]], Sequence[float]]:
    """Values in another order, or as they are when the order is the same."""
    if list(positions) == list(range(len(positions))):
        return lambda values: values
    return itemgetter(*positions)  # two or more: a single one is always in order


def _metric_rows(
    store: ValueStore[tuple[str, date]],
    slots: Iterable[tuple[tuple[str, date], int]],
    pick: Callable[[Sequence[float]], Sequence[float]],
    ids: Mapping[str, int],
    workspace_id: int,
    batch_id: int,
    day_text: dict[date, Any] | None,
) -> Iterator[tuple[Any, ...]]:
    """The upsert rows of `slots` (in `_ROW_KEYS` + metric order), made one at a time as
    the driver binds them: no chunk of row tuples, nor the garbage collector's passes
    over one, is ever held."""
    values_at = store.values_at
    for (acc, day), slot in slots:
        day_value: Any = day
        if day_text is not None:
            day_value = day_text.get(day)
            if day_value is None:
                day_value = day_text[day] = day.isoformat()
        yield (workspace_id, ids[acc], day_value, batch_id, *pick(values_at(slot)))


class MetricsRepo:
    def __init__(self, engine: AsyncEngine, workspaces: WorkspaceRepo, reader: Reader) -> None:
        self._engine = engine
        self._reader = reader
        self._workspaces = workspaces
        self._dialect = engine.dialect.name
        self._agg_cache: dict[tuple[int, bool], _Shape] = {}
        self._mixed_cache: dict[tuple[Any, ...], Any] = {}
        self._posts_cache: dict[bool, Any] = {}
        self._jump_cache: dict[bool, Any] = {}
        self._compiled: dict[int, Any] = {}
        # The import's statements, kept (the metrics upsert by the columns it sets) and
        # compiled for `_many` once: (statement id, keys) → (statement, SQL, order).
        self._upserts: dict[tuple[str, ...], Any] = {}
        self._many_sql: dict[tuple[int, tuple[str, ...]], tuple[Any, str, list[int]]] = {}

    def _insert(self, table: Any) -> Any:
        if self._dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    # Writing ------------------------------------------------------------------

    async def apply_import(
        self,
        workspace_id: int,
        *,
        source: str,
        user_id: int | None,
        values: Mapping[tuple[str, date], Mapping[str, float]],
        posts_in: Sequence[PostRecord] = (),
        audience_in: Sequence[AudienceRow] = (),
        summary: Mapping[str, Any] | None = None,
    ) -> ImportOutcome:
        """Store one import in one transaction and remember what it replaced.

        `values` maps (account name, day) to metric → value. Accounts named for
        the first time are created. Re-importing an account/day/metric replaces
        the stored value, so imports are idempotent.
        """
        names = {acc for acc, _ in values} | {p.account for p in posts_in}
        names |= {a.account for a in audience_in}
        async with write_transaction(self._engine) as conn:
            ids, created = await self._workspaces.ensure_accounts(conn, workspace_id, names)
            batch_id = (
                await conn.execute(
                    insert(import_batches)
                    .values(
                        workspace_id=workspace_id,
                        user_id=user_id,
                        source=source[:256],
                        summary=dict(summary or {}),
                        created_at=datetime.now(UTC),
                        undone=False,
                    )
                    .returning(import_batches.c.id)
                )
            ).scalar_one()
            replaced = await self._write_metrics(conn, workspace_id, batch_id, ids, values)
            n_posts = await self._write_posts(conn, workspace_id, batch_id, ids, posts_in)
            n_aud = await self._write_audience(conn, workspace_id, batch_id, ids, audience_in)
            await conn.execute(
                update(import_batches)
                .where(import_batches.c.id == batch_id)
                .values(
                    summary={
                        **dict(summary or {}),
                        "rows": len(values),
                        "posts": n_posts,
                        "audience": n_aud,
                    }
                )
            )
        return ImportOutcome(batch_id, len(values), n_posts, n_aud, tuple(created), replaced)

    async def _write_metrics(
        self,
        conn: AsyncConnection,
        workspace_id: int,
        batch_id: int,
        ids: Mapping[str, int],
        values: Mapping[tuple[str, date], Mapping[str, float]],
    ) -> int:
        """Upsert the values and their undo rows, `_WRITE_CHUNK` account-days at a time,
        so memory stays flat however big the import.

        Rows that already exist are read back (for undo) per chunk, within the
        chunk's accounts and days; an import into an empty stretch reads none.
        """
        if not values:
            return 0
        store = values if isinstance(values, ValueStore) else ValueStore(values)
        days = [day for _, day in store]
        account_ids = sorted({ids[acc] for acc, _ in store})
        clash = await conn.execute(
            select(daily_metrics.c.day)
            .where(
                daily_metrics.c.workspace_id == workspace_id,
                daily_metrics.c.account_id.in_(account_ids),
                daily_metrics.c.day.between(min(days), max(days)),
            )
            .limit(1)
        )
        any_existing = clash.first() is not None
        del days
        replaced = 0
        for chunk in store.slots(_WRITE_CHUNK):
            replaced += await self._write_metrics_chunk(
                conn, workspace_id, batch_id, ids, chunk, any_existing, store
            )
        return replaced

    async def _write_metrics_chunk(
        self,
        conn: AsyncConnection,
        workspace_id: int,
        batch_id: int,
        ids: Mapping[str, int],
        chunk: Sequence[tuple[tuple[str, date], int]],
        any_existing: bool,
        store: ValueStore[tuple[str, date]],
    ) -> int:
        """One chunk: its undo rows (what it replaces), then its values, upserted by
        the metrics each account-day holds."""
        sqlite_days = self._dialect == "sqlite"
        replaced = 0
        if any_existing:
            replaced = await self._write_metrics_undo(
                conn, workspace_id, batch_id, ids, chunk, store
            )
        # The days as the driver takes them: ISO text on SQLite, made once per day.
        day_text: dict[date, Any] | None = {} if sqlite_days else None
        for cols, slots in store.by_shape(chunk).items():
            # The values go in the table's column order, as the compiled statement has them.
            order = sorted(cols, key=_METRIC_POSITION.__getitem__)
            pick = _picker([cols.index(m) for m in order])
            stmt = self._metrics_upsert(tuple(order))
            rows = _metric_rows(store, slots, pick, ids, workspace_id, batch_id, day_text)
            await self._many(conn, stmt, (*_ROW_KEYS, *order), rows)
        return replaced

    def _metrics_upsert(self, cols: tuple[str, ...]) -> Any:
        """The upsert of `daily_metrics` rows setting `cols`: one per set of metrics,
        made (and compiled, in `_many`) once, not once a chunk."""
        stmt = self._upserts.get(cols)
        if stmt is None:
            stmt = self._insert(daily_metrics)
            stmt = stmt.on_conflict_do_update(
                index_elements=["workspace_id", "account_id", "day"],
                set_={c: stmt.excluded[c] for c in (*cols, "batch_id")},
            )
            if len(self._upserts) < 256:
                self._upserts[cols] = stmt
        return stmt

    async def _write_metrics_undo(
        self,
        conn: AsyncConnection,
        workspace_id: int,
        batch_id: int,
        ids: Mapping[str, int],
        chunk: Sequence[tuple[tuple[str, date], int]],
        store: ValueStore[tuple[str, date]],
    ) -> int:
        """The undo rows of the chunk's account-days that exist already; returns how many
        of them had a value for a metric the import sets."""
        touched_cols = sorted({m for _, slot in chunk for m in store.shape(slot)})
        days = [day for (_, day), _ in chunk]
        found = await conn.execute(
            select(
                daily_metrics.c.account_id,
                daily_metrics.c.day,
                daily_metrics.c.batch_id,
                *(daily_metrics.c[m] for m in touched_cols),
            ).where(
                daily_metrics.c.workspace_id == workspace_id,
                daily_metrics.c.account_id.in_(sorted({ids[a] for (a, _), _ in chunk})),
                daily_metrics.c.day.between(min(days), max(days)),
            )
        )
        existing = {(r.account_id, r.day): r for r in found}
        if not existing:
            return 0
        sqlite_days = self._dialect == "sqlite"
        undo_rows: list[tuple[Any, ...]] = []
        replaced = 0
        for (acc, day), slot in chunk:
            account_id = ids[acc]
            prev = existing.get((account_id, day))
            if prev is None:
                continue
            previous = {m: getattr(prev, m) for m in store.shape(slot)}
            if any(v is not None for v in previous.values()):
                replaced += 1
            day_value = day.isoformat() if sqlite_days else day
            undo_rows.append(
                (batch_id, "metrics", account_id, day_value, None, previous, prev.batch_id)
            )
        await self._many(conn, _UNDO_INSERT, _UNDO_KEYS, undo_rows)
        return replaced

    async def _many(
        self,
        conn: AsyncConnection,
        stmt: Any,
        keys: tuple[str, ...],
        rows: Iterable[tuple[Any, ...]],
    ) -> None:
        """executemany of tuples in `keys` order (days already ISO strings on SQLite).

        On SQLite the statement is compiled once and the tuples go straight to
        the driver's `executemany` on the raw connection, inside the same
        transaction (SQLAlchemy's per-row parameter processing would cost more
        than the inserts themselves); an iterator of rows is consumed as the
        driver binds them. Other databases take the ordinary (typed) path.
        """
        if self._dialect != "sqlite":
            it = iter(rows)
            while chunk := list(islice(it, _CHUNK)):
                await conn.execute(stmt, [dict(zip(keys, r, strict=True)) for r in chunk])
            return
        done = self._many_sql.get((id(stmt), keys))
        if done is None or done[0] is not stmt:
            compiled = stmt.compile(dialect=conn.dialect, column_keys=list(keys))
            done = (stmt, compiled.string, [keys.index(k) for k in compiled.positiontup])
            if len(self._many_sql) < 256:
                self._many_sql[(id(stmt), keys)] = done
        _, sql, order = done
        json_at = {i for i, k in enumerate(keys) if k == "previous"}
        if json_at or order != list(range(len(keys))):
            rows = (tuple(json.dumps(r[i]) if i in json_at else r[i] for i in order) for r in rows)
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        cursor = await driver.executemany(sql, rows)
        await cursor.close()

    async def _write_posts(
        self,
        conn: AsyncConnection,
        workspace_id: int,
        batch_id: int,
        ids: Mapping[str, int],
        posts_in: Sequence[PostRecord],
    ) -> int:
        if not posts_in:
            return 0
        rows: dict[tuple[int, str], dict[str, Any]] = {}
        for p in posts_in:
            rows[(ids[p.account], p.post_id)] = {
                "workspace_id": workspace_id,
                "account_id": ids[p.account],
                "day": p.day,
                "post_key": p.post_id[:512],
                "format": (p.format or None) and p.format[:32],
                "hashtags": " ".join(p.hashtags) or None,
                "text": p.text,
                "batch_id": batch_id,
                **{c: getattr(p, c) for c in _POST_COUNTERS},
            }
        existing = await conn.execute(
            select(posts).where(
                posts.c.workspace_id == workspace_id,
                posts.c.account_id.in_({k[0] for k in rows}),
                posts.c.post_key.in_({k[1] for k in rows}),
            )
        )
        undo_rows = [
            {
                "batch_id": batch_id,
                "target": "posts",
                "account_id": r.account_id,
                "day": r.day,
                "key": r.post_key,
                "previous": {
                    "day": r.day.isoformat(),
                    "format": r.format,
                    "hashtags": r.hashtags,
                    "text": r.text,
                    **{c: getattr(r, c) for c in _POST_COUNTERS},
                },
                "previous_batch_id": r.batch_id,
            }
            for r in existing
            if (r.account_id, r.post_key) in rows
        ]
        stmt = self._insert(posts)
        stmt = stmt.on_conflict_do_update(
            index_elements=["workspace_id", "account_id", "post_key"],
            set_={
                c: stmt.excluded[c]
                for c in ("day", "format", "hashtags", "text", "batch_id", *_POST_COUNTERS)
            },
        )
        for chunk in _chunks(list(rows.values())):
            await conn.execute(stmt, list(chunk))
        for chunk in _chunks(undo_rows):
            await conn.execute(insert(import_undo), list(chunk))
        return len(rows)

    async def _write_audience(
        self,
        conn: AsyncConnection,
        workspace_id: int,
        batch_id: int,
        ids: Mapping[str, int],
        audience_in: Sequence[AudienceRow],
    ) -> int:
        if not audience_in:
            return 0
        rows: dict[tuple[int, date, str, str], dict[str, Any]] = {}
        for a in audience_in:
            b = a.bucket
            rows[(ids[a.account], a.day, b.dimension, b.bucket)] = {
                "workspace_id": workspace_id,
                "account_id": ids[a.account],
                "day": a.day,
                "dimension": b.dimension[:16],
                "bucket": b.bucket[:128],
                "value": b.value,
                "is_share": b.is_share,
                "batch_id": batch_id,
            }
        existing = await conn.execute(
            select(audience).where(
                audience.c.workspace_id == workspace_id,
                audience.c.day.in_({k[1] for k in rows}),
            )
        )
        undo_rows = [
            {
                "batch_id": batch_id,
                "target": "audience",
                "account_id": r.account_id,
                "day": r.day,
                "key": f"{r.dimension}\t{r.bucket}",
                "previous": {"value": r.value, "is_share": r.is_share},
                "previous_batch_id": r.batch_id,
            }
            for r in existing
            if (r.account_id, r.day, r.dimension, r.bucket) in rows
        ]
        stmt = self._insert(audience)
        stmt = stmt.on_conflict_do_update(
            index_elements=["workspace_id", "account_id", "day", "dimension", "bucket"],
            set_={c: stmt.excluded[c] for c in ("value", "is_share", "batch_id")},
        )
        await conn.execute(stmt, list(rows.values()))
        for chunk in _chunks(undo_rows):
            await conn.execute(insert(import_undo), list(chunk))
        return len(rows)

    async def last_batch(self, workspace_id: int) -> ImportBatch | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(import_batches)
                    .where(
                        import_batches.c.workspace_id == workspace_id,
                        import_batches.c.undone.is_(False),
                    )
                    .order_by(import_batches.c.id.desc())
                    .limit(1)
                )
            ).first()
        return _batch(row) if row else None

    async def undo_last(self, workspace_id: int) -> UndoResult | None:
        """Take back the newest import of this workspace that is not undone yet."""
        async with write_transaction(self._engine) as conn:
            row = (
                await conn.execute(
                    select(import_batches)
                    .where(
                        import_batches.c.workspace_id == workspace_id,
                        import_batches.c.undone.is_(False),
                    )
                    .order_by(import_batches.c.id.desc())
                    .limit(1)
                )
            ).first()
            if row is None:
                return None
            batch_id = row.id
            restored = 0
            entries = await conn.execute(
                select(import_undo).where(import_undo.c.batch_id == batch_id)
            )
            # Restores are grouped by the columns they set and run as executemany:
            # one UPDATE per entry made undoing a 100 000-row import take minutes.
            groups: dict[tuple[str, tuple[str, ...]], list[dict[str, Any]]] = defaultdict(list)
            for e in entries:
                prev = dict(e.previous)
                if e.target == "metrics":
                    restored += 1
                    where = {"_account": e.account_id, "_day": e.day}
                elif e.target == "posts":
                    prev["day"] = date.fromisoformat(prev["day"])
                    where = {"_account": e.account_id, "_key": e.key}
                else:
                    dimension, bucket = str(e.key).split("\t", 1)
                    where = {
                        "_account": e.account_id,
                        "_day": e.day,
                        "_dimension": dimension,
                        "_bucket": bucket,
                    }
                cols = tuple(sorted(prev))
                groups[(e.target, cols)].append(
                    {**where, "_batch": e.previous_batch_id, **{f"_v_{c}": prev[c] for c in cols}}
                )
            for (target, cols), params in groups.items():
                table = {"metrics": daily_metrics, "posts": posts}.get(target, audience)
                cond = [
                    table.c.workspace_id == workspace_id,
                    table.c.account_id == bindparam("_account"),
                ]
                if target == "posts":
                    cond.append(table.c.post_key == bindparam("_key"))
                else:
                    cond.append(table.c.day == bindparam("_day"))
                if target == "audience":
                    cond.append(table.c.dimension == bindparam("_dimension"))
                    cond.append(table.c.bucket == bindparam("_bucket"))
                stmt = (
                    update(table)
                    .where(*cond)
                    .values(
                        {**{c: bindparam(f"_v_{c}") for c in cols}, "batch_id": bindparam("_batch")}
                    )
                )
                for chunk in _chunks(params):
                    await conn.execute(stmt, list(chunk))
            deleted = 0
            for table in (daily_metrics, posts, audience):
                result = await conn.execute(
                    delete(table).where(
                        table.c.workspace_id == workspace_id, table.c.batch_id == batch_id
                    )
                )
                deleted += result.rowcount or 0
            # A restored row whose every metric is now empty carries no data.
            await conn.execute(
                delete(daily_metrics).where(
                    daily_metrics.c.workspace_id == workspace_id,
                    *(daily_metrics.c[m].is_(None) for m in METRIC_NAMES),
                )
            )
            await conn.execute(
                update(import_batches).where(import_batches.c.id == batch_id).values(undone=True)
            )
            await conn.execute(delete(import_undo).where(import_undo.c.batch_id == batch_id))
        return UndoResult(_batch(row), restored, deleted)

    # Reading ------------------------------------------------------------------

    def _scope(self, workspace_id: int, account_id: int | None) -> list[ColumnElement[bool]]:
        cond = [daily_metrics.c.workspace_id == workspace_id]
        if account_id is not None:
            cond.append(daily_metrics.c.account_id == account_id)
        return cond

    @staticmethod
    def _posts(
        conn: Connection, workspace_id: int, period: Period, account_id: int | None
    ) -> tuple[PostRecord, ...]:
        cond = [posts.c.workspace_id == workspace_id, posts.c.day.between(period.start, period.end)]
        if account_id is not None:
            cond.append(posts.c.account_id == account_id)
        rows = conn.execute(
            select(posts, accounts.c.name.label("account"))
            .join(accounts, accounts.c.id == posts.c.account_id)
            .where(*cond)
            .order_by(posts.c.day, posts.c.id)
        )
        return tuple(
            PostRecord(
                account=r.account,
                day=r.day,
                post_id=r.post_key,
                format=r.format,
                hashtags=tuple((r.hashtags or "").split()),
                text=r.text,
                **{c: getattr(r, c) for c in _POST_COUNTERS},
            )
            for r in rows
        )

    async def daily_totals(
        self,
        workspace_id: int,
        start: date,
        end: date,
        *,
        account_id: int | None = None,
    ) -> list[tuple[date, dict[str, float]]]:
        """Per day, Σ of every metric over the selected accounts (days with data only)."""
        dm = daily_metrics.c
        rows = []
        async with self._engine.connect() as conn:
            result = await conn.execute(
                select(dm.day, *(func.sum(dm[m]).label(m) for m in METRIC_NAMES))
                .where(*self._scope(workspace_id, account_id), dm.day.between(start, end))
                .group_by(dm.day)
                .order_by(dm.day)
            )
            for r in result:
                rows.append(
                    (r.day, {m: float(v) for m in METRIC_NAMES if (v := getattr(r, m)) is not None})
                )
        return rows

    async def last_day(
        self, workspace_id: int, until: date, account_id: int | None = None
    ) -> date | None:
        """The newest day with any stored value up to `until`."""
        dm = daily_metrics.c
        async with self._engine.connect() as conn:
            day: date | None = (
                await conn.execute(
                    select(func.max(dm.day)).where(
                        *self._scope(workspace_id, account_id), dm.day <= until
                    )
                )
            ).scalar_one_or_none()
        return day

    async def data_span(self, workspace_id: int, account_id: int | None = None) -> DataSpan:
        dm = daily_metrics.c
        async with self._engine.connect() as conn:
            r = (
                await conn.execute(
                    select(func.min(dm.day), func.max(dm.day), func.count()).where(
                        *self._scope(workspace_id, account_id)
                    )
                )
            ).one()
        return DataSpan(r[0], r[1], int(r[2]))

    async def latest_audience(
        self, workspace_id: int, account_id: int | None = None
    ) -> tuple[date | None, list[AudienceBucket]]:
        """The newest audience snapshot per dimension."""
        cond = [audience.c.workspace_id == workspace_id]
        if account_id is not None:
            cond.append(audience.c.account_id == account_id)
        async with self._engine.connect() as conn:
            latest = (
                select(audience.c.dimension, func.max(audience.c.day).label("day"))
                .where(*cond)
                .group_by(audience.c.dimension)
                .subquery()
            )
            rows = (
                await conn.execute(
                    select(audience)
                    .join(
                        latest,
                        and_(
                            latest.c.dimension == audience.c.dimension,
                            latest.c.day == audience.c.day,
                        ),
                    )
                    .where(*cond)
                    .order_by(audience.c.dimension, audience.c.value.desc())
                )
            ).all()
        if not rows:
            return None, []
        return max(r.day for r in rows), [
            AudienceBucket(r.dimension, r.bucket, float(r.value), bool(r.is_share)) for r in rows
        ]

    async def export_rows(
        self, workspace_id: int, period: Period, account_id: int | None = None
    ) -> list[tuple[str, date, dict[str, float]]]:
        """(account, day, metric → value) for every stored account-day in the period."""
        dm = daily_metrics.c
        async with self._engine.connect() as conn:
            result = await conn.execute(
                select(accounts.c.name, dm.day, *(dm[m] for m in METRIC_NAMES))
                .join(accounts, accounts.c.id == dm.account_id)
                .where(
                    *self._scope(workspace_id, account_id), dm.day.between(period.start, period.end)
                )
                .order_by(dm.day, accounts.c.name)
            )
            return [
                (
                    r.name,
                    r.day,
                    {m: float(v) for m in METRIC_NAMES if (v := getattr(r, m)) is not None},
                )
                for r in result
            ]

    async def audience_rows(
        self, workspace_id: int, period: Period, account_id: int | None = None
    ) -> list[AudienceRow]:
        """Every audience snapshot row dated in the period (for /export)."""
        au = audience.c
        cond = [au.workspace_id == workspace_id, au.day.between(period.start, period.end)]
        if account_id is not None:
            cond.append(au.account_id == account_id)
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(accounts.c.name, au.day, au.dimension, au.bucket, au.value, au.is_share)
                    .join(accounts, accounts.c.id == au.account_id)
                    .where(*cond)
                    .order_by(au.day, accounts.c.name, au.dimension, au.id)
                )
            ).all()
        return [
            AudienceRow(
                r.name,
                r.day,
                AudienceBucket(r.dimension, r.bucket, float(r.value), bool(r.is_share)),
            )
            for r in rows
        ]

    async def record_gauge(
        self, workspace_id: int, account_id: int, day: date, metric: str, value: float
    ) -> None:
        """Store one automatically collected value (e.g. a channel's member count)."""
        stmt = self._insert(daily_metrics).values(
            workspace_id=workspace_id, account_id=account_id, day=day, **{metric: value}
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["workspace_id", "account_id", "day"], set_={metric: value}
        )
        async with write_transaction(self._engine) as conn:
            await conn.execute(stmt)

    def _shape(self, buckets: int, one_account: bool) -> _Shape:
        """`aggregate`'s statements for `buckets` periods, built once per shape.

        The periods arrive as a small table of bind parameters (`b`: index, first
        and last day) joined to the daily rows, so any set of periods — a period
        and its previous one, 12 weeks, a chart's days — is one grouped scan.

        `totals`: per period and account, Σ and count of every metric, the rows,
        their days, and the counts of the two many-metric sides (interactions,
        cost). That settles every pair where an account has both sides on all its
        rows or one side on none, which is most of real data; the pairs that are
        mixed for some account get a second, conditional statement (`_mixed`).
        `gauge`: per period and account, follower values at the edges.
        """
        key = (buckets, one_account)
        cached = self._agg_cache.get(key)
        if cached is not None:
            return cached
        dm = daily_metrics.c
        pg = self._dialect == "postgresql"

        def day_param(name: str) -> Any:
            p = bindparam(name, type_=Date)
            return cast(p, Date) if pg else p

        rows = [
            select(
                literal(i).label("idx"),
                day_param(f"s{i}").label("s"),
                day_param(f"e{i}").label("e"),
            )
            for i in range(buckets)
        ]
        b = (union_all(*rows) if len(rows) > 1 else rows[0]).cte("b")
        scope: list[ColumnElement[bool]] = [
            dm.workspace_id == bindparam("ws"),
            dm.day.between(bindparam("lo", type_=Date), bindparam("hi", type_=Date)),
        ]
        if one_account:
            scope.append(dm.account_id == bindparam("account"))
        joined = daily_metrics.join(b, dm.day.between(b.c.s, b.c.e))
        cols: list[Any] = [b.c.idx, dm.account_id, func.count(), self._days_list(dm.day)]
        cols += [func.sum(dm[m]) for m in COUNTERS]
        cols += [func.count(dm[m]) for m in _DAY_METRICS]
        cols += [func.count(_any_of(side)) for side in _GROUP_SIDES]
        follower_day = case((dm.followers.is_not(None), dm.day))
        cols += [
            func.min(follower_day),
            func.max(follower_day),
            func.avg(dm.followers),
            func.min(dm.followers),
            func.max(dm.followers),
        ]
        totals = select(*cols).select_from(joined).where(*scope).group_by(b.c.idx, dm.account_id)

        acc = accounts.c
        own = [dm.workspace_id == acc.workspace_id, dm.account_id == acc.id]
        known = dm.followers.is_not(None)
        before = (dm.day < b.c.s,)
        inside = (dm.day >= b.c.s, dm.day <= b.c.e)

        def edge(column: Any, *where: ColumnElement[bool], newest: bool) -> Any:
            return (
                select(column)
                .where(*own, known, *where)
                .order_by(dm.day.desc() if newest else dm.day.asc())
                .limit(1)
                .scalar_subquery()
            )

        account_scope = [acc.workspace_id == bindparam("ws")]
        if one_account:
            account_scope.append(acc.id == bindparam("account"))
        # Each figure a short walk of the primary key (workspace, account, day); the
        # days, mean and spread inside a period come with `totals`.
        gauge_cols = [
            b.c.idx,
            acc.id,
            acc.name,
            edge(dm.followers, *before, newest=True),
            edge(dm.day, *before, newest=True),
            edge(dm.followers, *inside, newest=False),
            edge(dm.followers, *inside, newest=True),
        ]
        # The gauge rows (kind 0: every account of the scope per period, in the gauge's
        # order) and the `totals` rows (kind 1), each padded with NULLs to the other's
        # columns; with `with_posts`, the gauge rows also say whether the posts' period
        # has a post at all. On PostgreSQL the two parts go as one statement (one round
        # trip); on SQLite each alone, which keeps its own plan (inside a compound
        # SELECT SQLite builds a Bloom filter over every daily row of the workspace).
        post_scope = [
            posts.c.workspace_id == bindparam("ws"),
            posts.c.day.between(bindparam("p0", type_=Date), bindparam("p1", type_=Date)),
        ]
        if one_account:
            post_scope.append(posts.c.account_id == bindparam("account"))
        any_post = exists().where(*post_scope)
        gauge_from = b.join(accounts, and_(*account_scope))
        reads: dict[bool, tuple[Any, ...]] = {}
        for with_posts in (False, True):
            head = [*gauge_cols, *([any_post] if with_posts else [])]
            gauge_part = select(literal(0), *head, *(null() for _ in cols)).select_from(gauge_from)
            padded = totals.with_only_columns(literal(1), *(null() for _ in head), *cols)
            if pg:
                reads[with_posts] = (
                    union_all(gauge_part, padded).order_by(
                        literal_column("1"), literal_column("2"), literal_column("4")
                    ),
                )
            else:
                reads[with_posts] = (gauge_part.order_by(b.c.idx, acc.name), padded)
        shape = _Shape(joined, scope, b, reads)
        self._agg_cache[key] = shape
        return shape

    def _days_list(self, day: Any) -> Any:
        """The days of a group as text, `2026-10-01,2026-10-02` (NULLs skipped)."""
        if self._dialect == "postgresql":
            return func.string_agg(cast(day, String), ",")
        return func.group_concat(day)

    def _mixed(
        self, shape: _Shape, key: tuple[int, bool], pairs: tuple[str, ...], metrics: tuple[str, ...]
    ) -> Any:
        """Per period and account, the pairs in `pairs` summed over the account-days
        where both sides have a value (with those days), and the days of each metric
        in `metrics`: the conditional part of the aggregation, only where needed."""
        cache_key = (*key, pairs, metrics)
        cached = self._mixed_cache.get(cache_key)
        if cached is not None:
            return cached
        dm = daily_metrics.c
        no_parts = and_(*(dm[p].is_(None) for p in INTERACTION_PARTS))

        def paired_sum(m: str, partner: Any) -> Any:
            # m has a value only where its own side does: pairing needs the partner.
            if m == "interactions":  # the platform's total counts only without parts
                return func.sum(case((and_(partner.is_not(None), no_parts), dm[m])))
            return func.sum(case((partner.is_not(None), dm[m])))

        cols: list[Any] = [shape.b.c.idx, dm.account_id]
        for key_ in pairs:
            pair = PAIRS[key_]
            num, den = _any_of(pair.numerator), _any_of(pair.denominator)
            both = and_(num.is_not(None), den.is_not(None))
            cols.append(func.count(case((both, 1))))
            cols += [paired_sum(m, den) for m in pair.numerator]
            cols += [paired_sum(m, num) for m in pair.denominator]
            cols.append(self._days_list(case((both, dm.day))))
        cols += [self._days_list(case((dm[m].is_not(None), dm.day))) for m in metrics]
        stmt = (
            select(*cols)
            .select_from(shape.joined)
            .where(*shape.scope)
            .group_by(shape.b.c.idx, dm.account_id)
        )
        self._mixed_cache[cache_key] = stmt
        return stmt

    def _has_posts(self, one_account: bool) -> Any:
        """One row when the workspace (or account) has a post in `p0`..`p1`, else none."""
        cached = self._posts_cache.get(one_account)
        if cached is not None:
            return cached
        cond = [
            posts.c.workspace_id == bindparam("ws"),
            posts.c.day.between(bindparam("p0", type_=Date), bindparam("p1", type_=Date)),
        ]
        if one_account:
            cond.append(posts.c.account_id == bindparam("account"))
        stmt = select(posts.c.id).where(*cond).limit(1)
        self._posts_cache[one_account] = stmt
        return stmt

    def _jump_statement(self, one_account: bool) -> Any:
        """Follower values that moved by more than `FOLLOWER_JUMP` from the account's
        previous stored value (a misread file, usually): account, day, move."""
        cached = self._jump_cache.get(one_account)
        if cached is not None:
            return cached
        dm = daily_metrics.c
        scope: list[ColumnElement[bool]] = [
            dm.workspace_id == bindparam("ws"),
            dm.followers.is_not(None),
            dm.day.between(bindparam("lo", type_=Date), bindparam("hi", type_=Date)),
        ]
        if one_account:
            scope.append(dm.account_id == bindparam("account"))
        series = (
            select(
                dm.account_id,
                dm.day,
                dm.followers,
                func.lag(dm.followers)
                .over(partition_by=dm.account_id, order_by=dm.day)
                .label("prev"),
            ).where(*scope)
        ).subquery()
        stmt = select(series.c.account_id, series.c.day, series.c.followers, series.c.prev).where(
            series.c.day >= bindparam("lo", type_=Date),
            series.c.prev > 0,
            func.abs(series.c.followers - series.c.prev) > series.c.prev * FOLLOWER_JUMP,
        )
        self._jump_cache[one_account] = stmt
        return stmt

    def _fetch(self, conn: Connection, stmt: Any, params: dict[str, Any]) -> list[Any]:
        """All rows of one of `aggregate`'s statements.

        The statement is compiled once and run with positional parameters: for
        statements this wide SQLAlchemy's per-execution cache key costs more than the
        database's own work. On SQLite (days as ISO strings, as SQLite stores them)
        the rows come straight from the driver's cursor, plain tuples, days as
        strings; `_build_periods` reads both. Elsewhere through `exec_driver_sql`,
        which keeps SQLAlchemy's handling of a lost connection (the reader's retry).
        """
        compiled = self._compiled.get(id(stmt))
        if compiled is None:
            compiled = stmt.compile(dialect=conn.dialect)
            self._compiled[id(stmt)] = compiled
        values = compiled.construct_params(params)
        if self._dialect != "sqlite":
            ordered = tuple(values[k] for k in compiled.positiontup or ())
            return list(conn.exec_driver_sql(compiled.string, ordered).all())
        args = tuple(
            v.isoformat() if isinstance(v, date) else v
            for v in (values[k] for k in compiled.positiontup or ())
        )
        # Straight to the driver's cursor: a read-only unit of work on the reader's own
        # connection, which the pool rolls back on check-in.
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(compiled.string, args)
            rows = list(cursor.fetchall())
        finally:
            cursor.close()
        return rows

    async def aggregate(
        self,
        workspace_id: int,
        periods: Sequence[Period],
        *,
        account_id: int | None = None,
        margin: float = 1.0,
        posts_for: Period | None = None,
        jumps: bool = False,
    ) -> list[PeriodData]:
        """The figures of each period (SPEC, "Several accounts and sources"): the one
        aggregation behind every KPI answer, /report, /chart, the digest and alerts.

        Per period and account, in SQL: Σ of every counter, and for every ratio of
        `kpi.registry.PAIRS` the sums over the account-days where both sides have a
        value and the account-days left out; per period, the days with data (per
        metric and per pair); per account, the follower values at the period's
        edges. `posts_for` also loads that period's posts; `jumps` looks for
        follower values that moved by more than half in a day. One trip to the
        reader, whatever the number of periods.
        """
        if not periods:
            return []
        read = self._aggregate_unit(workspace_id, periods, account_id, posts_for, jumps)
        rows = await self._reader.run(read)
        return _build_periods(periods, rows, posts_for, margin)

    def _aggregate_unit(
        self,
        workspace_id: int,
        periods: Sequence[Period],
        account_id: int | None,
        posts_for: Period | None,
        jumps: bool,
    ) -> Callable[[Connection], _Rows]:
        """`aggregate`'s reads as one unit of work on a connection (for the reader)."""
        key = (len(periods), account_id is not None)
        shape = self._shape(*key)
        params: dict[str, Any] = {
            "ws": workspace_id,
            "lo": min(p.start for p in periods),
            "hi": max(p.end for p in periods),
        }
        for i, p in enumerate(periods):
            params[f"s{i}"] = p.start
            params[f"e{i}"] = p.end
        if account_id is not None:
            params["account"] = account_id

        with_posts = posts_for is not None
        if posts_for is not None:
            params["p0"], params["p1"] = posts_for.start, posts_for.end
        # Where the `totals` columns start in a row of the combined statement.
        at = 1 + _GAUGE_WIDTH + with_posts

        def read(conn: Connection) -> _Rows:
            # One unit of work: on SQLite a single trip to a reader thread.
            both = [r for stmt in shape.reads[with_posts] for r in self._fetch(conn, stmt, params)]
            gauge = [r[1 : 1 + _GAUGE_WIDTH] for r in both if r[0] == 0]
            totals = [r[at:] for r in both if r[0] == 1]
            found: tuple[PostRecord, ...] = ()
            # Most workspaces have no post rows: the check in the combined statement
            # spares the posts query (asked alone when the scope has no account rows).
            if posts_for is not None and (
                any(r[1 + _GAUGE_WIDTH] for r in gauge_rows)
                if (gauge_rows := [r for r in both if r[0] == 0])
                else self._fetch(conn, self._has_posts(account_id is not None), params)
            ):
                found = self._posts(conn, workspace_id, posts_for, account_id)
            pairs, metrics = _mixed_keys(totals)
            mixed = (
                self._fetch(conn, self._mixed(shape, key, pairs, metrics), params)
                if pairs or metrics
                else []
            )
            # Day-over-day moves only where the values inside a period spread by more
            # than the jump allows (max / min): otherwise no step can be that big.
            low, high = _T_FOLLOWERS + 3, _T_FOLLOWERS + 4
            spread = any(
                r[low] is not None and (r[low] <= 0 or r[high] > r[low] * (1 + FOLLOWER_JUMP))
                for r in totals
            )
            moves = (
                self._fetch(conn, self._jump_statement(account_id is not None), params)
                if jumps and spread
                else []
            )
            return _Rows(totals, mixed, pairs, metrics, gauge, moves, found)

        return read

    async def period_data(
        self,
        workspace_id: int,
        period: Period,
        *,
        account_id: int | None = None,
        margin: float = 1.0,
        with_posts: bool = False,
    ) -> PeriodData:
        """`aggregate` for one period."""
        (data,) = await self.aggregate(
            workspace_id,
            [period],
            account_id=account_id,
            margin=margin,
            posts_for=period if with_posts else None,
        )
        return data

    async def period_pair(
        self,
        workspace_id: int,
        period: Period,
        *,
        account_id: int | None = None,
        margin: float = 1.0,
        with_posts: bool = False,
    ) -> tuple[PeriodData, PeriodData]:
        """`aggregate` for `period` and `period.previous()` at once (every KPI answer
        needs both), with the follower-jump check."""
        current, previous = await self.aggregate(
            workspace_id,
            [period, period.previous()],
            account_id=account_id,
            margin=margin,
            posts_for=period if with_posts else None,
            jumps=True,
        )
        return current, previous

    async def period_pair_with(
        self,
        workspace_id: int,
        period: Period,
        alongside: Callable[[Connection], T],
        *,
        account_id: int | None = None,
        margin: float = 1.0,
        with_posts: bool = False,
    ) -> tuple[PeriodData, PeriodData, T]:
        """`period_pair` and one more read (`alongside`, a unit of work on the same
        connection, e.g. the workspace's goals) in a single trip to the reader."""
        periods = (period, period.previous())
        posts_for = period if with_posts else None
        read = self._aggregate_unit(workspace_id, periods, account_id, posts_for, True)

        def both(conn: Connection) -> tuple[_Rows, T]:
            return read(conn), alongside(conn)

        rows, other = await self._reader.run(both)
        current, previous = _build_periods(periods, rows, posts_for, margin)
        return current, previous, other

    async def posts_in_period(
        self, workspace_id: int, period: Period, account_id: int | None = None
    ) -> tuple[PostRecord, ...]:
        """The posts published in the period (for /hashtags and /formats), oldest first."""
        return await self._reader.run(
            lambda conn: self._posts(conn, workspace_id, period, account_id)
        )

    # Added for the data-in handlers (/undo) --------------------------------------

    async def batch_days(self, workspace_id: int, batch_id: int) -> tuple[date, date] | None:
        """First and last day an import touched (its own rows and the ones it replaced)."""
        firsts: list[date] = []
        lasts: list[date] = []
        async with self._engine.connect() as conn:
            for table in (daily_metrics, posts, audience):
                lo, hi = (
                    await conn.execute(
                        select(func.min(table.c.day), func.max(table.c.day)).where(
                            table.c.workspace_id == workspace_id, table.c.batch_id == batch_id
                        )
                    )
                ).one()
                if lo is not None:
                    firsts.append(lo)
                    lasts.append(hi)
            lo, hi = (
                await conn.execute(
                    select(func.min(import_undo.c.day), func.max(import_undo.c.day)).where(
                        import_undo.c.batch_id == batch_id
                    )
                )
            ).one()
            if lo is not None:
                firsts.append(lo)
                lasts.append(hi)
        return (min(firsts), max(lasts)) if firsts else None


@dataclass(frozen=True, slots=True)
class _Shape:
    joined: Any
    scope: list[ColumnElement[bool]]
    b: Any
    # With the posts check or without: the statements that read `totals` and `gauge`.
    reads: dict[bool, tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class _Rows:
    totals: list[Any]
    mixed: list[Any]
    mixed_pairs: tuple[str, ...]
    mixed_metrics: tuple[str, ...]
    gauge: list[Any]
    moves: list[Any]
    posts: tuple[PostRecord, ...]


_GAUGE_WIDTH = 7  # idx, account id and name, the four follower edges
_DAY_METRICS: tuple[str, ...] = (*COUNTERS, "followers")
_GROUP_SIDES: tuple[tuple[str, ...], ...] = tuple(
    dict.fromkeys(
        side for p in PAIRS.values() for side in (p.numerator, p.denominator) if len(side) > 1
    )
)
# Column positions in a `totals` row.
_T_ROWS, _T_DAYS, _T_SUMS = 2, 3, 4
_T_COUNTS = _T_SUMS + len(COUNTERS)
_T_GROUPS = _T_COUNTS + len(_DAY_METRICS)
_T_FOLLOWERS = _T_GROUPS + len(_GROUP_SIDES)  # first day, last day, mean, min, max
_COUNT_AT = {m: _T_COUNTS + k for k, m in enumerate(_DAY_METRICS)}
_GROUP_AT = {side: _T_GROUPS + k for k, side in enumerate(_GROUP_SIDES)}


def _any_of(names: Sequence[str]) -> Any:
    """Non-NULL exactly when the side has a value on the row."""
    dm = daily_metrics.c
    return dm[names[0]] if len(names) == 1 else func.coalesce(*(dm[m] for m in names))


def _side_count(row: Any, side: tuple[str, ...]) -> int:
    return int(row[_COUNT_AT[side[0]]] if len(side) == 1 else row[_GROUP_AT[side]])


def _side_at(side: tuple[str, ...]) -> int:
    return _COUNT_AT[side[0]] if len(side) == 1 else _GROUP_AT[side]


# Per pair: its key, the columns of its sides' counts, and whether its numerator is
# interactions (whose platform total counts only on rows without parts).
_PAIR_COLS: tuple[tuple[str, int, int, bool], ...] = tuple(
    (k, _side_at(p.numerator), _side_at(p.denominator), "interactions" in p.numerator)
    for k, p in PAIRS.items()
)
_PART_AT = tuple(_COUNT_AT[p] for p in INTERACTION_PARTS)
_TOTAL_AT = _COUNT_AT["interactions"]


def _pair_states(row: Any) -> dict[str, tuple[str, int, int]]:
    """Per pair: (state, numerator-side rows, denominator-side rows). State: `apart`
    (one side is empty), `whole` (both sides on every row) or `mixed` (needs the
    conditional statement); pairs with neither side are absent."""
    rows = row[_T_ROWS]
    both_kinds = bool(row[_TOTAL_AT]) and any(row[i] for i in _PART_AT)
    out = {}
    for key, ni, di, interactions in _PAIR_COLS:
        num, den = row[ni], row[di]
        if not num and not den:
            continue
        if not num or not den:
            out[key] = ("apart", num, den)
        elif num == den == rows and not (interactions and both_kinds):
            out[key] = ("whole", num, den)
        else:
            out[key] = ("mixed", num, den)
    return out


def _mixed_keys(totals: Sequence[Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    mixed = {k for r in totals for k, (state, _, _) in _pair_states(r).items() if state == "mixed"}
    pairs = tuple(k for k in PAIRS if k in mixed)
    metrics = tuple(
        m for m in _DAY_METRICS if any(0 < r[_COUNT_AT[m]] < r[_T_ROWS] for r in totals)
    )
    return pairs, metrics


def _day_set(text: Any) -> set[str]:
    return set(str(text).split(",")) if text else set()


def _build_periods(
    periods: Sequence[Period], rows: _Rows, posts_for: Period | None, margin: float
) -> list[PeriodData]:
    """`PeriodData` per period from `aggregate`'s rows (columns in statement order)."""
    totals: dict[int, dict[int, Any]] = defaultdict(dict)
    for r in rows.totals:
        totals[int(r[0])][int(r[1])] = r
    mixed: dict[tuple[int, int], Any] = {(int(r[0]), int(r[1])): r for r in rows.mixed}
    gauges: dict[int, list[Any]] = defaultdict(list)
    for g in rows.gauge:
        gauges[int(g[0])].append(g)
    out: list[PeriodData] = []
    for i, period in enumerate(periods):
        jumps: dict[int, tuple[float, date]] = {}
        for account, raw_day, value, prev in rows.moves:
            day = _day(raw_day)
            if day is not None and period.start <= day <= period.end:
                move = abs(float(value) - float(prev)) / float(prev)
                if move > jumps.get(int(account), (0.0, day))[0]:
                    jumps[int(account)] = (move, day)
        sums_total: dict[str, float] = {}
        # The day sets of the accounts behind each figure; sized once at the end (most
        # metrics and pairs share the same accounts' sets: one union for all of them).
        all_days: list[set[str]] = []
        metric_days: dict[str, list[set[str]]] = defaultdict(list)
        pair_days: dict[str, list[set[str]]] = defaultdict(list)
        accounts_data: list[AccountData] = []
        for g in gauges.get(i, []):
            account_id, name = int(g[1]), str(g[2])
            r = totals.get(i, {}).get(account_id)
            f = r[_T_FOLLOWERS : _T_FOLLOWERS + 3] if r is not None else (None, None, None)
            edges = FollowerEdges(
                _float(g[3]), _day(g[4]), _float(g[5]), _day(f[0]), _float(g[6]), _day(f[1]),
                _float(f[2]), *(jumps.get(account_id) or (None, None)),
            )  # fmt: skip
            sums: dict[str, float] = {}
            pairs: dict[str, PairSums] = {}
            if r is not None:
                days = _day_set(r[_T_DAYS])
                all_days.append(days)
                n_rows = int(r[_T_ROWS])
                sums = {
                    m: float(v)
                    for m, v in zip(COUNTERS, r[_T_SUMS:_T_COUNTS], strict=True)
                    if v is not None
                }
                for m, value in sums.items():
                    sums_total[m] = sums_total.get(m, 0.0) + value
                mixed_metrics = rows.mixed_metrics
                for m, count in zip(_DAY_METRICS, r[_T_COUNTS:_T_GROUPS], strict=True):
                    if count == n_rows and m not in mixed_metrics:
                        metric_days[m].append(days)
                mx = mixed.get((i, account_id))
                at = 2
                for key in rows.mixed_pairs:
                    pair = PAIRS[key]
                    width = len(pair.metrics)
                    if mx is not None:
                        paired = int(mx[at])
                        values = mx[at + 1 : at + 1 + width]
                        num = _side_count(r, pair.numerator) - paired
                        den = _side_count(r, pair.denominator) - paired
                        if paired or num or den:
                            pairs[key] = PairSums(
                                paired,
                                {m: float(v) for m, v in zip(pair.metrics, values, strict=True)
                                 if v is not None},
                                (num, den),
                            )  # fmt: skip
                        pair_days[key].append(_day_set(mx[at + 1 + width]))
                    at += width + 2
                for m in rows.mixed_metrics:
                    if mx is not None:
                        metric_days[m].append(_day_set(mx[at]))
                    at += 1
                for key, (state, num, den) in _pair_states(r).items():
                    if state == "apart":
                        pairs[key] = PairSums(0, {}, (num, den))
                    elif state == "whole":
                        picked = {m: sums[m] for m in PAIRS[key].metrics if m in sums}
                        pairs[key] = PairSums(n_rows, picked)
                        pair_days[key].append(days)
            if r is not None or edges.before is not None:
                accounts_data.append(AccountData(name, pairs, sums, edges))
        fol = combine_followers(period, [(a.name, a.followers) for a in accounts_data])
        sizes: dict[tuple[int, ...], int] = {}
        out.append(
            PeriodData(
                period=period,
                sums=sums_total,
                days_with_data=_union_size(all_days, sizes),
                metric_days=_union_sizes(metric_days, sizes),
                followers_start=fol.start,
                followers_end=fol.end,
                followers_avg=fol.avg,
                posts=rows.posts if posts_for is not None and period == posts_for else (),
                margin=margin,
                followers_days=fol.days,
                accounts=tuple(accounts_data),
                pair_days=_union_sizes(pair_days, sizes),
            )
        )
    return out


def _union_size(sets: Sequence[set[str]], sizes: dict[tuple[int, ...], int]) -> int:
    """How many days the sets hold together, remembered in `sizes` by the sets'
    identities (the sets live as long as `sizes`)."""
    key = tuple(map(id, sets))
    size = sizes.get(key)
    if size is None:
        size = len(sets[0]) if len(sets) == 1 else len(set().union(*sets))
        sizes[key] = size
    return size


def _union_sizes(
    groups: Mapping[str, Sequence[set[str]]], sizes: dict[tuple[int, ...], int]
) -> dict[str, int]:
    """Per key, the days of its sets together; keys without any day left out."""
    out = {}
    for key, sets in groups.items():
        if size := _union_size(sets, sizes):
            out[key] = size
    return out


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _day(value: Any) -> date | None:
    """A day from a row: a `date`, or SQLite's ISO text when read through the driver."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _batch(row: Any) -> ImportBatch:
    summary = row.summary or {}
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return ImportBatch(
        id=row.id,
        workspace_id=row.workspace_id,
        source=row.source,
        created_at=created,
        rows=int(summary.get("rows", 0)),
        posts=int(summary.get("posts", 0)),
        audience=int(summary.get("audience", 0)),
    )


__all__ = ["AudienceRow", "ImportOutcome", "MetricsRepo"]
