"""`python -m bench --quick` for bench_report: the rows it reports are well-formed."""

from __future__ import annotations

import re

from bench import bench_report
from bench.__main__ import table


def test_bench_report_quick_smoke() -> None:
    rows = bench_report.main(quick=True)
    assert [r["bench"] for r in rows] == [
        "report_30d_per_update",
        "report_30d_vs_fair_baseline",
        "aggregate_30d_one_account",
        "database_size",
        "report_30d_p50_p95_50ws",
        "report_30d_p50_p95_200ws",
    ]
    for row in rows:
        assert row["baseline_s"] > 0 and row["subject_s"] > 0
        assert row["ratio"] == row["subject_s"] / row["baseline_s"]
    assert rows[0]["subject_s"] == rows[1]["subject_s"]  # one run, two baselines
    assert rows[3]["subject_s"] < 200  # MB, 50 workspaces: about 5
    assert "report_30d_per_update" in table(rows)
    for row in rows[4:]:  # the spread rows: p95 is at least the median, of both
        assert "50 chats in turn" in row["notes"]
        subject_p95, fair_p95 = (float(x) for x in re.findall(r"([\d.]+) ms", row["notes"]))
        assert subject_p95 >= row["subject_s"] * 1000 - 0.01  # 2 decimals
        assert fair_p95 >= row["baseline_s"] * 1000 - 0.01
    assert "81,750 daily rows" in rows[5]["notes"]  # 50 × 365 + 150 × 60 days, 3 accounts
