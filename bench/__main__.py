"""`python -m bench [--quick] [--only NAME]`: run every bench/bench_*.py, print one table.

A bench module exposes `main(quick: bool) -> list[dict]` returning rows
`{"bench", "baseline", "baseline_s", "subject_s", "ratio", "target", "notes"}`.
Each module runs in a fresh interpreter of its own, so no bench inherits another's
imports, caches or heap (the digest run's RSS row measured the agency bench's
matplotlib and PDF state when they shared a process). A module whose `main` takes
no argument (bench_charts.py: it parses its own arguments and prints JSON lines)
runs as a script; its JSON records that carry `baseline_s`/`subject_s`/`ratio`
become rows, the others are printed as they are under the table.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
COLUMNS = ("bench", "baseline", "baseline", "subject", "ratio", "target", "notes")


def _from_subprocess(path: Path, quick: bool) -> tuple[list[dict[str, Any]], list[str]]:
    cmd = [sys.executable, str(path), *(["--quick"] if quick else [])]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=HERE.parent)
    rows: list[dict[str, Any]] = []
    extra: list[str] = []
    for line in done.stdout.splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            extra.append(line)
            continue
        if {"baseline_s", "subject_s", "ratio"} <= record.keys():
            rows.append(
                {
                    "bench": f"{path.stem}:{record.get('bench', '?')}",
                    "baseline": record.get("baseline", "minimal"),
                    "baseline_s": record["baseline_s"],
                    "subject_s": record["subject_s"],
                    "ratio": record["ratio"],
                    "target": record.get("target", "—"),
                    "notes": record.get("notes", ""),
                }
            )
        else:
            extra.append(f"{path.stem}: {json.dumps(record, ensure_ascii=False)}")
    if done.returncode != 0:
        extra.append(f"{path.stem}: exit {done.returncode}: {done.stderr.strip()[-500:]}")
    return rows, extra


_ROW = "bench-row: "
_RUN_MAIN = """
import json, sys
from bench.{name} import main
for row in main({quick}):
    print({marker!r} + json.dumps(row, ensure_ascii=False, default=str), flush=True)
"""


def _in_own_process(name: str, quick: bool) -> tuple[list[dict[str, Any]], list[str]]:
    """`bench.<name>.main(quick)` in a fresh interpreter; its rows back as JSON lines."""
    code = _RUN_MAIN.format(name=name, quick=quick, marker=_ROW)
    done = subprocess.run(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, check=False,
        cwd=HERE.parent,
    )  # fmt: skip
    rows = [
        json.loads(line[len(_ROW) :]) for line in done.stdout.splitlines() if line.startswith(_ROW)
    ]
    extra = [line for line in done.stdout.splitlines() if line and not line.startswith(_ROW)]
    if done.returncode != 0:
        extra.append(f"{name}: exit {done.returncode} (its error is above, on stderr)")
    return rows, extra


def run(quick: bool, only: str | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    rows: list[dict[str, Any]] = []
    extra: list[str] = []
    for path in sorted(HERE.glob("bench_*.py")):
        if only and only not in path.stem:
            continue
        started = time.perf_counter()
        module = importlib.import_module(f"bench.{path.stem}")
        main = getattr(module, "main", None)
        if main is None:
            extra.append(f"{path.stem}: no main()")
            continue
        try:
            if "quick" in inspect.signature(main).parameters:
                more_rows, more_extra = _in_own_process(path.stem, quick)
            else:
                more_rows, more_extra = _from_subprocess(path, quick)
            rows.extend(more_rows)
            extra.extend(more_extra)
        except Exception as exc:  # one broken bench must not hide the others
            extra.append(f"{path.stem}: failed: {type(exc).__name__}: {exc}")
        print(f"… {path.stem} done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return rows, extra


def _seconds(value: Any) -> str:
    if not isinstance(value, int | float):
        return str(value)
    if value >= 1:
        return f"{value:.3g}"
    return f"{value * 1000:.3g} ms"


def table(rows: list[dict[str, Any]]) -> str:
    head = ("bench", "baseline", "baseline_s", "subject_s", "ratio", "target", "notes")
    body = [
        (
            str(r.get("bench", "")),
            str(r.get("baseline", "")),
            _seconds(r.get("baseline_s")),
            _seconds(r.get("subject_s")),
            f"{r['ratio']:.2f}×" if isinstance(r.get("ratio"), int | float) else "—",
            str(r.get("target", "")),
            str(r.get("notes", "")),
        )
        for r in rows
    ]
    widths = [max(len(x) for x in col) for col in zip(head, *body, strict=False)]
    widths[-1] = 0  # notes run on
    lines = [" | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip()]
    lines.append("-+-".join("-" * max(w, 5) for w in widths))
    lines += [" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in body]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    parser.add_argument("--only", help="run the bench modules whose name contains this")
    args = parser.parse_args()
    rows, extra = run(args.quick, args.only)
    print(table(rows))
    for line in extra:
        print(line)


if __name__ == "__main__":
    main()
