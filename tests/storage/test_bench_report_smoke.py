"""`python -m bench --quick` for bench_report: the rows it reports are well-formed."""

from __future__ import annotations

from bench import bench_report
from bench.__main__ import table


def test_bench_report_quick_smoke() -> None:
    rows = bench_report.main(quick=True)
    assert [r["bench"] for r in rows] == [
        "report_30d_per_update",
        "report_30d_vs_fair_baseline",
        "aggregate_30d_one_account",
        "database_size",
    ]
    for row in rows:
        assert row["baseline_s"] > 0 and row["subject_s"] > 0
        assert row["ratio"] == row["subject_s"] / row["baseline_s"]
    assert rows[0]["subject_s"] == rows[1]["subject_s"]  # one run, two baselines
    assert rows[3]["subject_s"] < 200  # MB, 50 workspaces: about 5
    assert "report_30d_per_update" in table(rows)
