"""A big file through `parse_table` and `apply_import`, which writes it in chunks.

The sums in the database are computed here independently from the generated
cells; a failure in a late chunk of the write, or a bad cell far down the file,
leaves nothing behind (one import is one transaction).
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

import storage.metrics as metrics_module
from kpi.importing import ImportFailure, parse_table
from storage import Storage
from storage.schema import accounts, daily_metrics, import_batches, import_undo

TZ = ZoneInfo("Europe/Moscow")
START = date(2020, 1, 1)
COLUMNS = ("reach", "likes", "link_clicks")
ACCOUNTS = 12
DAYS = 2600  # 31,200 account-days: four write chunks


def _file(seed: int, bad_row: int | None = None) -> tuple[bytes, dict[str, float], int]:
    """CSV bytes (thousands spaces, decimal commas), Σ of each metric, data rows."""
    rnd = random.Random(seed)
    lines = ["Дата;Аккаунт;Охват;Лайки;Переходы"]
    sums = dict.fromkeys(COLUMNS, 0.0)
    for d in range(DAYS):
        day = (START + timedelta(days=d)).strftime("%d.%m.%Y")
        for a in range(ACCOUNTS):
            reach = rnd.randint(0, 2_000_000)
            likes = rnd.randint(0, 999)
            clicks = rnd.randint(0, 99_999) / 100
            sums["reach"] += reach
            sums["likes"] += likes
            sums["link_clicks"] += clicks
            shown_reach = f"{reach:,}".replace(",", " ")
            shown_clicks = f"{clicks:.2f}".replace(".", ",")
            if bad_row is not None and len(lines) == bad_row - 1:
                shown_clicks = "12x"
            lines.append(f"{day};vk:acc{a:02d};{shown_reach};{likes};{shown_clicks}")
    return ("\n".join(lines) + "\n").encode("utf-8"), sums, len(lines) - 1


async def _counts(storage: Storage) -> dict[str, Any]:
    async with storage.engine.connect() as conn:
        row = (
            await conn.execute(
                select(
                    func.count(),
                    *(func.sum(daily_metrics.c[m]) for m in COLUMNS),
                ).select_from(daily_metrics)
            )
        ).one()
        batches = (await conn.execute(select(func.count()).select_from(import_batches))).scalar()
        undo = (await conn.execute(select(func.count()).select_from(import_undo))).scalar()
        names = (await conn.execute(select(accounts.c.name))).scalars().all()
    return {
        "rows": row[0],
        "sums": dict(zip(COLUMNS, row[1:], strict=True)),
        "batches": batches,
        "undo": undo,
        "accounts": sorted(names),
    }


async def test_a_big_file_stores_the_exact_sums_and_undo_restores_them(storage: Storage) -> None:
    ws, _ = await storage.workspaces.ensure(1, "private", None, "Europe/Moscow")
    data, sums, n_rows = _file(seed=3)
    parsed = parse_table(data, "big.csv", tz=TZ)
    assert parsed.rows_read == parsed.rows_used == n_rows == ACCOUNTS * DAYS
    out = await storage.metrics.apply_import(ws.id, source="a", user_id=None, values=parsed.values)
    assert (out.rows, out.replaced) == (n_rows, 0)
    first = await _counts(storage)
    assert first["rows"] == n_rows
    for m in COLUMNS:
        assert first["sums"][m] == pytest.approx(sums[m], rel=1e-12), m
    # Another file over the same account-days: every one replaced, each chunk's undo rows kept.
    data2, sums2, _ = _file(seed=4)
    parsed2 = parse_table(data2, "again.csv", tz=TZ)
    out2 = await storage.metrics.apply_import(
        ws.id, source="b", user_id=None, values=parsed2.values
    )
    assert (out2.rows, out2.replaced) == (n_rows, n_rows)
    second = await _counts(storage)
    assert second["rows"] == n_rows and second["undo"] == n_rows
    for m in COLUMNS:
        assert second["sums"][m] == pytest.approx(sums2[m], rel=1e-12), m
    undone = await storage.metrics.undo_last(ws.id)
    assert undone is not None and undone.restored == n_rows
    back = await _counts(storage)
    for m in COLUMNS:
        assert back["sums"][m] == pytest.approx(sums[m], rel=1e-12), m


async def test_a_failure_in_a_late_chunk_leaves_nothing(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws, _ = await storage.workspaces.ensure(1, "private", None, "Europe/Moscow")
    before = await _counts(storage)
    data, _, _ = _file(seed=5)
    parsed = parse_table(data, "big.csv", tz=TZ)
    real = metrics_module.MetricsRepo._write_metrics_chunk
    calls: list[int] = []

    async def third_chunk_fails(self: Any, *args: Any) -> int:
        calls.append(len(args[4]))  # (conn, workspace, batch, ids, chunk, any_existing)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return await real(self, *args)

    monkeypatch.setattr(metrics_module.MetricsRepo, "_write_metrics_chunk", third_chunk_fails)
    with pytest.raises(RuntimeError, match="disk full"):
        await storage.metrics.apply_import(ws.id, source="a", user_id=None, values=parsed.values)
    assert calls == [metrics_module._WRITE_CHUNK] * 3  # two whole chunks were written first
    assert await _counts(storage) == before  # no rows, no batch, no undo rows, no new accounts
    assert before["rows"] == 0 and before["accounts"] == ["main"]


async def test_a_bad_cell_far_down_the_file_is_refused_by_its_row(storage: Storage) -> None:
    await storage.workspaces.ensure(1, "private", None, "Europe/Moscow")
    bad_row = ACCOUNTS * DAYS - 5  # the file's row number, as a spreadsheet shows it
    data, _, _ = _file(seed=6, bad_row=bad_row)
    with pytest.raises(ImportFailure) as failure:
        parse_table(data, "big.csv", tz=TZ)
    assert failure.value.row == bad_row and failure.value.value == "12x"
    assert (await _counts(storage))["rows"] == 0


async def test_account_days_of_several_shapes_store_each_value_in_its_column(
    storage: Storage,
) -> None:
    """Groups of different metrics, named out of the table's column order, in one import
    (each group is its own upsert), then a re-import of some of them and its undo."""
    ws, _ = await storage.workspaces.ensure(1, "private", None, "Europe/Moscow")
    d = [START + timedelta(days=i) for i in range(4)]
    values = {
        ("vk:a", d[0]): {"likes": 3.0, "reach": 100.0},
        ("vk:a", d[1]): {"reach": 200.0},
        ("vk:b", d[0]): {"revenue": 9.5, "sessions": 7.0, "reach": 50.0},
        ("vk:b", d[2]): {"likes": 1.0, "reach": 10.0},
    }
    out = await storage.metrics.apply_import(ws.id, source="a", user_id=None, values=values)
    assert (out.rows, out.replaced, sorted(out.accounts_created)) == (4, 0, ["vk:a", "vk:b"])
    cols = ("reach", "likes", "revenue", "sessions")

    async def stored() -> dict[tuple[str, date], dict[str, float]]:
        async with storage.engine.connect() as conn:
            rows = await conn.execute(
                select(accounts.c.name, daily_metrics.c.day, *(daily_metrics.c[m] for m in cols))
                .join(accounts, accounts.c.id == daily_metrics.c.account_id)
                .where(daily_metrics.c.workspace_id == ws.id)
            )
            return {
                (r[0], r[1]): {m: v for m, v in zip(cols, r[2:], strict=True) if v is not None}
                for r in rows
            }

    assert await stored() == values
    again = {("vk:a", d[1]): {"reach": 250.0, "likes": 5.0}, ("vk:b", d[3]): {"reach": 1.0}}
    out2 = await storage.metrics.apply_import(ws.id, source="b", user_id=None, values=again)
    assert (out2.rows, out2.replaced) == (2, 1)
    assert await stored() == {**values, **again}
    undone = await storage.metrics.undo_last(ws.id)
    assert undone is not None and undone.restored == 1
    assert await stored() == values
