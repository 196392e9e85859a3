"""Chart rendering benchmark: `python bench/bench_charts.py [--quick]`.

Prints JSON lines:
- renders/second of a minimal one-line matplotlib chart (Figure, one Axes, 12
  points, default `savefig` PNG) at the dashboard's and at the line chart's
  pixel size: the baselines;
- renders/second of `render_dashboard` (12 tiles), `render_line_chart` (90 daily
  points with the previous period) and `render_bar_chart`;
- the ratios subject / baseline of the time per render;
- RSS after 100 and after 1000 dashboard renders and the drift between them.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import resource
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from kpi.charts import (
    DPI,
    BarChartSpec,
    BarGroup,
    DashboardSpec,
    DashboardTile,
    LineChartSpec,
    dashboard_size,
    render_bar_chart,
    render_dashboard,
    render_line_chart,
)


def minimal_chart(width_px: int, height_px: int) -> bytes:
    """The baseline: what a straightforward one-line chart costs at that size."""
    fig = Figure(figsize=(width_px / DPI, height_px / DPI), dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(range(12), [3, 5, 4, 6, 8, 7, 9, 8, 10, 12, 11, 13])
    out = BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


def naive_grid_dashboard(spec: DashboardSpec) -> bytes:
    """For reference: the same digest as a grid of Axes (what the design avoids)."""
    width, height = dashboard_size(len(spec.tiles))
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    FigureCanvasAgg(fig)
    axes = fig.subplots(math.ceil(len(spec.tiles) / 2), 2).ravel()
    for ax, tile in zip(axes, spec.tiles, strict=False):
        ax.plot([math.nan if v is None else v for v in tile.spark])
        ax.set_title(tile.name)
        ax.text(0.05, 0.5, tile.value_text, transform=ax.transAxes, fontsize=20)
        ax.text(0.05, 0.1, tile.change_text or "", transform=ax.transAxes)
    fig.suptitle(spec.title)
    out = BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


def dashboard_spec(tiles: int = 12, seed: int = 0) -> DashboardSpec:
    names = [
        "Охват",
        "ERR",
        "Конверсия",
        "Рост аудитории",
        "Клики",
        "Отказы",
        "Новые",
        "Время на странице",
        "CAC",
        "Упоминания",
        "ROI",
        "Подписчики",
        "CTR",
        "Выручка",
    ]
    return DashboardSpec(
        title="Команда SMM · неделя 10, 2025",
        subtitle="данные на 9 марта 2025",
        tiles=tuple(
            DashboardTile(
                name=names[i],
                value_text=f"{1000 + 137 * i + 7919 * seed:,}".replace(",", "\u00a0"),
                change_text=("+" if i % 3 else "\u2212") + f"{i + seed + 1},{i % 10} %",
                better=None if i % 4 == 0 else bool(i % 3),
                spark=tuple(50 + 20 * math.sin(j / 2 + i + seed) for j in range(12)),
            )
            for i in range(tiles)
        ),
    )


def line_spec(days: int = 90) -> LineChartSpec:
    start = date(2025, 1, 1)
    return LineChartSpec(
        points=tuple(
            (start + timedelta(days=i), None if i % 37 == 5 else 40 + 8 * math.sin(i / 6))
            for i in range(days)
        ),
        previous=tuple(
            (start - timedelta(days=days - i), 38 + 6 * math.sin(i / 5)) for i in range(days)
        ),
        title="Показатель отказов",
        unit_label="%, по дням",
        current_label="Текущий период",
        previous_label="Прошлый период",
        higher_is_better=False,
        value_format="percent",
    )


def bar_spec() -> BarChartSpec:
    return BarChartSpec(
        title="Аудитория",
        groups=(
            BarGroup("Возраст", (("18–24", 21.5), ("25–34", 38.1), ("35–44", 22.0), ("45+", 18.4))),
            BarGroup("Пол", (("женщины", 64.0), ("мужчины", 36.0))),
            BarGroup("Город", (("Москва", 31.2), ("Санкт-Петербург", 14.8), ("Другие", 54.0))),
        ),
    )


def seconds_per_render(
    renders: dict[str, Callable[[], bytes]], iterations: int, rounds: int = 5
) -> dict[str, float]:
    """CPU seconds per render of each subject: the best of interleaved rounds.

    Process CPU time rather than wall time, and subjects alternated round by
    round, so that other work on a shared machine skews every subject alike.
    """
    for render in renders.values():
        render()  # warm caches (fonts, glyph advances) outside the timing
    best = dict.fromkeys(renders, math.inf)
    for _ in range(rounds):
        for name, render in renders.items():
            started = time.process_time()
            for _ in range(iterations):
                render()
            best[name] = min(best[name], (time.process_time() - started) / iterations)
    return best


def rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux: peak RSS is the best we have
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def emit(**record: object) -> None:
    print(json.dumps(record, ensure_ascii=False), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations (smoke run)")
    args = parser.parse_args()
    iterations = 4 if args.quick else 10
    soak_first, soak_total = (20, 200) if args.quick else (100, 1000)

    dash = dashboard_spec(12)
    dash_w, dash_h = dashboard_size(len(dash.tiles))
    line = line_spec(90)

    # Different values each time, as real digests have (texts are laid out anew).
    dashboards = [dashboard_spec(12, seed) for seed in range(4)]
    turn = iter(range(10**9))

    def next_dashboard() -> bytes:
        return render_dashboard(dashboards[next(turn) % len(dashboards)])

    timings = seconds_per_render(
        {
            "minimal_dash": lambda: minimal_chart(dash_w, dash_h),
            "dashboard": next_dashboard,
            "minimal_line": lambda: minimal_chart(1200, 675),
            "line": lambda: render_line_chart(line),
            "bars": lambda: render_bar_chart(bar_spec()),
        },
        iterations,
    )
    minimal_dash_s, dashboard_s = timings["minimal_dash"], timings["dashboard"]
    naive_s = seconds_per_render(
        {"naive": lambda: naive_grid_dashboard(dash)}, max(1, iterations // 4), rounds=2
    )["naive"]
    minimal_line_s, line_s, bars_s = timings["minimal_line"], timings["line"], timings["bars"]

    for name, size, seconds in (
        ("minimal_chart", f"{dash_w}x{dash_h}", minimal_dash_s),
        ("render_dashboard_12_tiles", f"{dash_w}x{dash_h}", dashboard_s),
        ("minimal_chart", "1200x675", minimal_line_s),
        ("render_line_chart_90_points", "1200x675", line_s),
        ("render_bar_chart_3_groups", "1080x*", bars_s),
        ("naive_12_axes_dashboard", f"{dash_w}x{dash_h}", naive_s),
    ):
        emit(
            bench="renders_per_second",
            subject=name,
            size=size,
            seconds=round(seconds, 5),
            per_second=round(1 / seconds, 2),
        )
    emit(
        bench="dashboard_vs_minimal",
        baseline_s=round(minimal_dash_s, 5),
        subject_s=round(dashboard_s, 5),
        ratio=round(dashboard_s / minimal_dash_s, 3),
    )
    emit(
        bench="naive_grid_vs_minimal",
        baseline_s=round(minimal_dash_s, 5),
        subject_s=round(naive_s, 5),
        ratio=round(naive_s / minimal_dash_s, 3),
    )
    emit(
        bench="line_vs_minimal",
        baseline_s=round(minimal_line_s, 5),
        subject_s=round(line_s, 5),
        ratio=round(line_s / minimal_line_s, 3),
    )

    gc.collect()
    rss_first = 0
    for done in range(1, soak_total + 1):
        render_dashboard(dash)
        if done == soak_first:
            gc.collect()
            rss_first = rss_bytes()
    gc.collect()
    rss_last = rss_bytes()
    emit(
        bench="dashboard_rss",
        renders=soak_total,
        rss_after_first_mb=round(rss_first / 2**20, 2),
        after_first=soak_first,
        rss_after_all_mb=round(rss_last / 2**20, 2),
        drift_pct=round((rss_last - rss_first) / rss_first * 100, 2),
    )


if __name__ == "__main__":
    main()
