"""PNG charts for `/chart`, alerts, `/audience` and the weekly digest.

Pure rendering: frozen dataclasses in, PNG bytes out. Every label arrives already
translated; numbers and dates are written by `kpi.numbers` (Babel's data for
`lang`), the same functions the text answers use. The
functions are top-level and their specs picklable, so the caller may run them in
`asyncio.to_thread` or a `ProcessPoolExecutor`.

Matplotlib is used without pyplot (no global figure registry to leak in a
long-running process): a `Figure` with its own Agg canvas, a fixed size and DPI,
no layout engine. Fonts are DejaVu Sans, which ships with matplotlib and covers
Cyrillic, arrows and the minus sign, so the output is the same on every host.

The digest dashboard is drawn without Axes: tiles are patches, texts and
`Line2D` sparklines placed in pixel coordinates on the figure. A grid of Axes
costs several times a single chart (each Axes draws spines, tickers and a
background); this way a 12-tile dashboard costs about as much as a minimal
one-line chart of the same size (see `bench/bench_charts.py`).
"""

from __future__ import annotations

import functools
import itertools
import math
import os
import struct
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final, Literal

import matplotlib
import numpy as np
import numpy.typing as npt
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ft2font import FT2Font, LoadFlags
from matplotlib.lines import Line2D
from matplotlib.patches import FancyBboxPatch
from matplotlib.text import Text
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import Affine2D, Transform

from kpi import numbers

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
ValueFormat = Literal["percent", "money", "count", "duration"]
Granularity = Literal["day", "week"]
Trend = Literal["up", "down", "flat"]

# --------------------------------------------------------------------------- specs


@dataclass(frozen=True, slots=True)
class LineChartSpec:
    """A KPI series by day or by week, with the previous period faintly behind it.

    `points` are (day, value) in ascending order; `None` is a gap and breaks the
    line. `previous` is the previous period in the same order: it is shifted so
    that its first day lands on the first day of `points` (offset alignment).
    For `granularity="week"` each day is the first day of its week.
    """

    points: tuple[tuple[date, float | None], ...]
    title: str
    unit_label: str = ""
    current_label: str = ""
    previous_label: str = ""
    previous: tuple[tuple[date, float | None], ...] = ()
    higher_is_better: bool = True
    value_format: ValueFormat = "count"
    granularity: Granularity = "day"
    baseline: float | None = None
    baseline_label: str = ""
    threshold: float | None = None
    threshold_label: str = ""
    currency: str = ""  # ISO 4217 code of a money KPI
    lang: str = "ru"
    week_label: str = "W{week}"  # translated by the caller: `нед {week}`
    small: bool = False
    # (bucket start, value, low, high) after the last point: drawn dashed with its band.
    forecast: tuple[tuple[date, float, float, float], ...] = ()
    forecast_label: str = ""


@dataclass(frozen=True, slots=True)
class DashboardTile:
    """One KPI tile of the digest; texts are formatted by the caller.

    `better`: True paints the change green, False red, None grey. `trend` picks the
    arrow (up/down/flat); when None it is read from the sign that starts
    `change_text` ("+…" up, "−…"/"-…" down). `spark` is up to 12 weekly values,
    oldest first, None for weeks without data.
    """

    name: str
    value_text: str
    change_text: str | None = None
    better: bool | None = None
    trend: Trend | None = None
    spark: tuple[float | None, ...] = ()


@dataclass(frozen=True, slots=True)
class DashboardSpec:
    """The weekly digest picture: a header and 1–14 tiles."""

    title: str
    subtitle: str
    tiles: tuple[DashboardTile, ...]
    columns: int | None = None  # None: 1 for a single tile, else 2 (phones)
    brand: str = ""  # drawn top right when set (the agency's /brand name)
    brand_colour: str | None = None  # "#rrggbb"; None: the subtitle's grey


@dataclass(frozen=True, slots=True)
class BarGroup:
    """One audience dimension (age, gender, city …): (bucket, share %) in display order."""

    title: str
    bars: tuple[tuple[str, float], ...]


@dataclass(frozen=True, slots=True)
class BarChartSpec:
    """Audience breakdown: horizontal bars per bucket for one or several dimensions.

    Values are shares in percent (0–100); `normalize=True` turns counts into shares
    of each group's total first.
    """

    title: str
    groups: tuple[BarGroup, ...]
    subtitle: str = ""
    normalize: bool = False
    lang: str = "ru"


# --------------------------------------------------------------------------- style

DPI: Final = 150
LINE_SIZE_PX: Final = (1200, 675)
LINE_SMALL_SIZE_PX: Final = (1000, 500)
DASHBOARD_WIDTH_PX: Final = 1080
BAR_WIDTH_PX: Final = 1080

INK: Final = "#0F172A"  # titles, values
INK_SOFT: Final = "#475569"  # tick labels, subtitles
INK_MUTED: Final = "#64748B"
GRID: Final = "#E2E8F0"
AXIS: Final = "#CBD5E1"
PAGE: Final = "#FFFFFF"
BOARD: Final = "#EEF2F7"  # dashboard background behind white tiles
TILE: Final = "#FFFFFF"
MAIN: Final = "#2563EB"
PREVIOUS: Final = "#64748B"
GOOD: Final = "#16A34A"
BAD: Final = "#DC2626"
NEUTRAL: Final = "#64748B"
BASELINE: Final = "#334155"
BAR_COLOURS: Final = ("#2563EB", "#7C3AED", "#0D9488", "#EA580C", "#DB2777")
BAR_TRACK: Final = "#EEF2F7"

_FONT_DIR = os.path.join(matplotlib.get_data_path(), "fonts", "ttf")
_REGULAR = os.path.join(_FONT_DIR, "DejaVuSans.ttf")
_BOLD = os.path.join(_FONT_DIR, "DejaVuSans-Bold.ttf")

_font_cache: dict[tuple[bool, float], FontProperties] = {}


def _path(prop: FontProperties) -> str:
    path = prop.get_file()
    return path if isinstance(path, str) else _REGULAR


def _font(size: float, *, bold: bool = False) -> FontProperties:
    """A cached FontProperties pointing straight at the DejaVu file (no font lookup)."""
    key = (bold, size)
    prop = _font_cache.get(key)
    if prop is None:
        prop = FontProperties(fname=_BOLD if bold else _REGULAR, size=size)
        _font_cache[key] = prop
    return prop


# --------------------------------------------------------------------------- numbers

_MINUS: Final = numbers.MINUS
_COMPACT_SCALES: Final = (1e9, 1e6, 1e3)


def _duration(seconds: float) -> str:
    return numbers.format_duration(seconds)


def _tick_labels(
    ticks: Sequence[float], value_format: ValueFormat, lang: str, currency: str
) -> list[str]:
    """Tick labels with one scale and just enough decimals to tell the ticks apart."""
    if value_format == "duration":
        return [_duration(t) for t in ticks]
    top = max(abs(t) for t in ticks)
    scale, suffix = 1.0, ""
    if value_format != "percent" and top >= 1e4:
        for limit in _COMPACT_SCALES:
            affix = numbers.compact_affix(limit, lang)
            if top >= limit and affix is not None:
                scale, suffix = limit, affix
                break
    step = abs(ticks[1] - ticks[0]) / scale if len(ticks) > 1 else 1.0
    if step < 0.01:  # 10 000 … 10 000,1: "10.0000K" twice; plain numbers tell them apart
        step, scale, suffix = step * scale, 1.0, ""
    # Enough decimals to write the step exactly (0.5 → 1, 0.25 → 2), so no two ticks
    # round to the same label and none is shown rounded.
    decimals = next(
        (d for d in range(5) if math.isclose(step * 10**d, round(step * 10**d), abs_tol=1e-6)),
        4,
    )
    labels = []
    for t in ticks:
        number = numbers.format_fixed(t / scale, decimals, lang) + suffix
        if value_format == "percent":
            labels.append(numbers.with_percent(number, lang))
        elif value_format == "money" and currency:
            sign = _MINUS if number.startswith(_MINUS) else ""
            labels.append(sign + numbers.with_currency(number.removeprefix(_MINUS), currency, lang))
        else:
            labels.append(number)
    return labels


# --------------------------------------------------------------------------- colours


def change_colour(better: bool | None) -> str:
    """Green for a change for the better, red for the worse, grey when unknown or flat."""
    if better is None:
        return NEUTRAL
    return GOOD if better else BAD


def trend_colour(before: float | None, latest: float | None, higher_is_better: bool) -> str:
    """Colour of a move from `before` to `latest`, aware of the KPI's direction.

    A rising bounce rate or CAC (lower is better) is red; a rising reach is green.
    """
    if before is None or latest is None or math.isclose(before, latest, rel_tol=1e-9):
        return NEUTRAL
    return change_colour((latest > before) == higher_is_better)


def _arrow(tile: DashboardTile) -> str:
    trend = tile.trend
    if trend is None and tile.change_text:
        first = tile.change_text.lstrip()[:1]
        trend = "up" if first == "+" else "down" if first in ("-", _MINUS) else None
    return {"up": "↑", "down": "↓", "flat": "→"}.get(trend or "", "")


# --------------------------------------------------------------------------- plumbing


def _new_figure(width_px: int, height_px: int, facecolor: str) -> Figure:
    fig = Figure(figsize=(width_px / DPI, height_px / DPI), dpi=DPI, facecolor=facecolor)
    FigureCanvasAgg(fig)
    return fig


def _pixels(fig: Figure, width_px: int, height_px: int) -> Transform:
    """Pixel coordinates with the origin at the top-left corner of the figure."""
    return Affine2D().scale(1 / width_px, -1 / height_px).translate(0, 1) + fig.transFigure


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def _png(fig: Figure) -> bytes:
    """Draw the figure and encode it as an 8-bit RGB PNG.

    A small encoder of our own instead of `savefig`/Pillow: the pictures are
    opaque, so alpha is dropped, and rows are stored unfiltered at zlib level 1.
    Pillow's adaptive row filtering alone costs more than compressing; on these
    flat-coloured pictures the unfiltered stream is as small and about twice as
    fast to produce, which matters for the digest's throughput.
    """
    canvas = fig.canvas
    assert isinstance(canvas, FigureCanvasAgg)
    # backend_agg has no annotations: these two calls are the typed boundary.
    canvas.draw()  # type: ignore[no-untyped-call]
    rgba: npt.NDArray[np.uint8] = np.asarray(canvas.buffer_rgba())  # type: ignore[no-untyped-call]
    height, width = rgba.shape[:2]
    rows = np.zeros((height, 1 + width * 3), dtype=np.uint8)  # column 0: filter type 0
    rows[:, 1:] = rgba[:, :, :3].reshape(height, width * 3)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _png_chunk(b"IHDR", header),
            _png_chunk(b"IDAT", zlib.compress(rows.tobytes(), 1)),
            _png_chunk(b"IEND", b""),
        )
    )


# Text widths come from a per-character advance table instead of a layout pass
# through the renderer: FreeType lays text out at ~30 µs a glyph here, and every
# Text is laid out twice by matplotlib already. Kerning is ignored, which errs on
# the wide side by a pixel or two.
_EM_PX: Final = 1000.0
_measure_lock = threading.Lock()
_advances: dict[tuple[str, str], float] = {}


@functools.cache
def _measuring_font(path: str) -> FT2Font:
    font = FT2Font(path)
    font.set_size(_EM_PX, 72)
    return font


@functools.cache
def _covered(path: str) -> frozenset[int]:
    with _measure_lock:
        return frozenset(_measuring_font(path).get_charmap())


def _clean(text: str, path: str = _REGULAR) -> str:
    """`text` on one line without characters DejaVu lacks (emoji in a workspace name).

    Matplotlib would draw a box for them and warn about the missing glyph.
    """
    covered = _covered(path)
    text = " ".join(text.split()) if ("\n" in text or "\t" in text) else text
    if all(ord(ch) in covered for ch in text):
        return text
    return " ".join("".join(ch for ch in text if ord(ch) in covered).split())


def _text_width(text: str, prop: FontProperties) -> float:
    """Width in pixels of `text` drawn with `prop` at the module's DPI."""
    path = _path(prop)
    total = 0.0
    for ch in text:
        advance = _advances.get((path, ch))
        if advance is None:
            with _measure_lock:
                glyph = _measuring_font(path).load_char(ord(ch), flags=LoadFlags.NO_HINTING)
            advance = glyph.linearHoriAdvance / 65536 / _EM_PX
            _advances[(path, ch)] = advance
        total += advance
    return total * prop.get_size_in_points() * DPI / 72


def _fit(text: str, prop: FontProperties, max_px: float) -> str:
    """`text`, cut with an ellipsis so that it fits in `max_px`."""
    text = _clean(text, _path(prop))
    if _text_width(text, prop) <= max_px:
        return text
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if _text_width(text[:middle].rstrip() + "…", prop) <= max_px:
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + "…"


def _text(
    fig: Figure,
    transform: Transform,
    x: float,
    y: float,
    text: str,
    prop: FontProperties,
    color: str,
    *,
    ha: str = "left",
    va: str = "baseline",
) -> Text:
    # parse_math=False: a "$12 … $15" value must not turn into mathtext.
    return fig.text(
        x,
        y,
        _clean(text, _path(prop)),
        fontproperties=prop,
        color=color,
        ha=ha,
        va=va,
        transform=transform,
        parse_math=False,
    )


def _add(fig: Figure, artist: Artist) -> None:
    fig.add_artist(artist, clip=False)


# --------------------------------------------------------------------------- line chart


def _values(points: Sequence[tuple[date, float | None]]) -> FloatArray:
    return np.asarray([math.nan if v is None else float(v) for _, v in points], dtype=float)


def _isolated(values: FloatArray) -> BoolArray:
    """Finite values with no finite neighbour: a line would not show them."""
    finite = np.isfinite(values)
    left = np.concatenate(([False], finite[:-1]))
    right = np.concatenate((finite[1:], [False]))
    return finite & ~left & ~right


def _day_ticks(first: date, last: date, lang: str, max_ticks: int) -> list[tuple[int, str]]:
    span = (last - first).days
    for step in (1, 2, 3, 7, 14, 21, 28):
        if span // step + 1 <= max_ticks:
            days = [last - timedelta(days=step * k) for k in range(span // step + 1)]
            return [(d.toordinal(), numbers.format_short_day(d, lang)) for d in reversed(days)]
    # Long daily series: the first day of every n-th month.
    month_count = (last.year - first.year) * 12 + last.month - first.month + 1
    step = next(s for s in (1, 2, 3, 6, 12, 24) if month_count / s <= max_ticks)
    ticks = []
    year, month = first.year, first.month
    while date(year, month, 1) <= last:
        day = date(year, month, 1)
        if day >= first and (month - 1) % step == 0:
            label = (
                numbers.format_month(day, lang)
                if month == 1
                else numbers.format_short_day(day, lang)
            )
            ticks.append((day.toordinal(), label))
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return ticks


def _week_ticks(days: Sequence[date], week_label: str, max_ticks: int) -> list[tuple[int, str]]:
    """Every n-th week, labelled `week_label` with its ISO number (`W45`, `нед 45`)."""
    count = len(days)
    step = next((s for s in (1, 2, 3, 4, 6, 8, 13, 26) if (count - 1) // s + 1 <= max_ticks), 52)
    picked = [days[i] for i in range(count - 1, -1, -step)]
    return [(d.toordinal(), week_label.format(week=d.isocalendar().week)) for d in reversed(picked)]


def x_tick_labels(
    spec: LineChartSpec,
    view_days: Sequence[date],
    span_px: tuple[float, float],
    xlim: tuple[float, float],
    font: FontProperties,
    scale: float,
) -> list[tuple[int, str]]:
    """The date ticks of a line chart: as many as fit (7, or 6 on a small chart) with at
    least 8 px between neighbouring labels; fewer when long month names (`3 февр.`) would
    touch."""
    (left, right), (x0, x1) = span_px, xlim

    def fits(ticks: list[tuple[int, str]]) -> bool:
        ends = []
        for t, label in ticks:
            middle = left + (t - x0) / (x1 - x0) * (right - left)
            half = _text_width(label, font) / 2
            ends.append((middle - half, middle + half))
        return all(b[0] - a[1] >= 8 * scale for a, b in itertools.pairwise(ends))

    ticks: list[tuple[int, str]] = []
    for max_ticks in range(6 if spec.small else 7, 1, -1):
        ticks = (
            _week_ticks(view_days, spec.week_label, max_ticks)
            if spec.granularity == "week"
            else _day_ticks(view_days[0], view_days[-1], spec.lang, max_ticks)
        )
        if fits(ticks):
            break
    return ticks


Dash = Literal["-"] | tuple[float, tuple[float, float]]
_SOLID: Final[Dash] = "-"
_PREVIOUS_DASH: Final[Dash] = (0.0, (4.0, 2.5))
_BASELINE_DASH: Final[Dash] = (0.0, (5.0, 3.0))
_FORECAST_DASH: Final[Dash] = (0.0, (6.0, 3.0))
_THRESHOLD_DASH: Final[Dash] = (0.0, (2.0, 2.0))


def _y_ticks(low: float, high: float, value_format: ValueFormat) -> list[float]:
    if math.isclose(low, high, rel_tol=1e-12, abs_tol=1e-12):
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    # Round steps only: 1, 2 or 5 × 10ⁿ (2.5 gave 37.5 / 42.5 ticks, shown as 38 / 42).
    steps = [1, 2, 3, 6, 10] if value_format == "duration" else [1, 2, 5, 10]
    locator = MaxNLocator(nbins=4, steps=steps)
    ticks = [float(t) for t in locator.tick_values(low, high)]
    # Keep just the ticks that bracket the data: the axis then ends on round numbers.
    below = [t for t in ticks if t <= low + 1e-12]
    above = [t for t in ticks if t >= high - 1e-12]
    first = below[-1] if below else ticks[0]
    last = above[0] if above else ticks[-1]
    return [t for t in ticks if first - 1e-12 <= t <= last + 1e-12]


@dataclass(frozen=True, slots=True)
class _LegendItem:
    label: str
    colour: str
    dash: Dash
    alpha: float


def _draw_legend(
    fig: Figure,
    px: Transform,
    items: Sequence[_LegendItem],
    font: FontProperties,
    x0: float,
    x1: float,
    y: float,
    scale: float,
    *,
    reserved: float,
) -> int:
    """Legend entries right-aligned on the row whose left `reserved` px are taken.

    When they do not fit there they flow left-aligned on rows below. Returns the
    number of header rows used (at least 1).
    """
    swatch, gap, row_h = 44 * scale, 26 * scale, font.get_size_in_points() * DPI / 72 + 14 * scale
    widths = [min(_text_width(i.label, font), x1 - x0 - swatch - 10 * scale) for i in items]
    total = sum(w + swatch + 10 * scale for w in widths) + gap * max(0, len(items) - 1)
    rows = 1
    if (reserved + gap if reserved else 0) + total <= x1 - x0:
        x = x1 - total
    else:
        rows, x = (2 if reserved else 1), x0
    for item, w in zip(items, widths, strict=True):
        if x > x0 and x + swatch + 10 * scale + w > x1 + 0.5:
            rows, x = rows + 1, x0
        row_y = y + (rows - 1) * row_h
        mid = row_y + font.get_size_in_points() * DPI / 72 * 0.42
        line = Line2D(
            [x, x + swatch],
            [mid, mid],
            transform=px,
            color=item.colour,
            linewidth=2.2,
            linestyle=item.dash,
            alpha=item.alpha,
            solid_capstyle="round",
        )
        _add(fig, line)
        label = _fit(item.label, font, w)
        _text(fig, px, x + swatch + 10 * scale, row_y, label, font, INK_SOFT, va="top")
        x += swatch + 10 * scale + w + gap
    return rows


@dataclass(frozen=True, slots=True)
class _Frame:
    """The plot area in figure pixels (top-left origin) and its data limits."""

    left: float
    top: float
    right: float
    bottom: float
    xlim: tuple[float, float]
    ylim: tuple[float, float]

    def to_pixels(self, x: float, y: float) -> tuple[float, float]:
        (x0, x1), (y0, y1) = self.xlim, self.ylim
        return (
            self.left + (x - x0) / (x1 - x0) * (self.right - self.left),
            self.bottom - (y - y0) / (y1 - y0) * (self.bottom - self.top),
        )

    def crossings(
        self,
        series: Sequence[tuple[FloatArray, FloatArray, int]],
        x0: float,
        y0: float,
        x1: float,
        y1: float,
    ) -> int:
        """Sample columns of the box (x0, y0)–(x1, y1) that lines pass through, weighted."""
        (d0, d1), (v0, v1) = self.xlim, self.ylim
        columns = np.linspace(x0, x1, 24)
        data_x = d0 + (columns - self.left) / (self.right - self.left) * (d1 - d0)
        total = 0
        for xs, ys, weight in series:
            finite = np.isfinite(ys)
            if finite.sum() < 2:
                continue
            inside = (data_x >= xs[finite][0]) & (data_x <= xs[finite][-1])
            values = np.interp(data_x, xs[finite], ys[finite])
            pixel_y = self.bottom - (values - v0) / (v1 - v0) * (self.bottom - self.top)
            total += weight * int((inside & (pixel_y >= y0) & (pixel_y <= y1)).sum())
        return total


_Placement = tuple[float, float, str, str]  # box left, box top (pixels), ha, va


def place_value_label(
    frame: _Frame,
    series: Sequence[tuple[FloatArray, FloatArray, int]],
    point: tuple[float, float],
    size: tuple[float, float],
    gap: float,
    *,
    rising: bool,
    single: bool = False,
) -> _Placement | None:
    """Where the latest value's label goes: a box beside the point that stays inside the
    plot (never over the axis labels or the legend) and covers neither the point nor the
    current line; None when
    every place would cover a line (the label is dropped, the caption has the value).

    Candidates, in order of preference: above-left of a rising point (below-left of a
    falling one), the other side, then both again twice as far; the first with no
    crossing wins, else the one crossing only the faint previous line least.
    """
    (px_, py_), (w, h) = point, size
    if single:
        offsets = [(-w / 2, -gap - h, "center", "bottom"), (-w / 2, gap, "center", "top")]
    else:
        near = [(-gap - w, -gap - h, "right", "bottom"), (-gap - w, gap, "right", "top")]
        far = [(-gap - w, -3 * gap - h, "right", "bottom"), (-gap - w, 3 * gap, "right", "top")]
        if not rising:
            near, far = near[::-1], far[::-1]
        offsets = near + far
    main = series[:1]
    best: tuple[int, _Placement] | None = None
    for dx, dy, ha, va in offsets:
        # Kept inside the plot: pushed down from under the legend, up off the dates.
        x0, y0 = px_ + dx, min(max(py_ + dy, frame.top), frame.bottom - h)
        if x0 < frame.left or (x0 + w > px_ - gap / 2 and y0 <= py_ <= y0 + h):
            continue  # no room on the left, or it would sit on the point itself
        if frame.crossings(main, x0, y0, x0 + w, y0 + h):
            continue
        crossed = frame.crossings(series, x0, y0, x0 + w, y0 + h)
        if crossed == 0:
            return x0, y0, ha, va
        if best is None or crossed < best[0]:
            best = crossed, (x0, y0, ha, va)
    return best[1] if best else None


def value_label(spec: LineChartSpec) -> str:
    """The label of the latest value: `kpi.numbers.format_value`, as every text shows it."""
    latest = next(v for _, v in reversed(spec.points) if v is not None and math.isfinite(v))
    return numbers.format_value(latest, spec.value_format, spec.lang, spec.currency or None)


def render_line_chart(spec: LineChartSpec) -> bytes:
    """PNG line chart of one KPI (1200×675, or 1000×500 with `small=True`).

    Raises ValueError when there is no value at all: the caller answers in text.
    """
    if not spec.points:
        raise ValueError("a line chart needs at least one point")
    current = _values(spec.points)
    if not np.isfinite(current).any():
        raise ValueError("every value of the series is missing")
    days = [d for d, _ in spec.points]
    xs = np.array([d.toordinal() for d in days], dtype=float)
    previous = _values(spec.previous)
    if spec.previous:
        shift = days[0].toordinal() - spec.previous[0][0].toordinal()
        previous_xs = np.array([d.toordinal() + shift for d, _ in spec.previous], dtype=float)
    else:
        previous_xs = np.array([], dtype=float)
    has_previous = bool(np.isfinite(previous).any())
    # The forecast widens the view to its last bucket and its band joins the value range.
    forecast_days = [f[0] for f in spec.forecast]
    forecast_xs = np.array([d.toordinal() for d in forecast_days], dtype=float)
    forecast = np.array([f[1:] for f in spec.forecast], dtype=float).reshape(-1, 3)
    view_days = days + forecast_days
    view_xs = np.concatenate((xs, forecast_xs))

    width, height = LINE_SMALL_SIZE_PX if spec.small else LINE_SIZE_PX
    scale = width / 1200
    title_pt, label_pt, tick_pt = (20.0, 14.0, 14.0) if spec.small else (22.0, 15.0, 15.0)
    fig = _new_figure(width, height, PAGE)
    px = _pixels(fig, width, height)
    title_font, label_font = _font(title_pt, bold=True), _font(label_pt)
    tick_font, value_font = _font(tick_pt), _font(label_pt, bold=True)

    # --- vertical range and ticks
    in_view = previous[np.isfinite(previous) & (previous_xs >= xs[0]) & (previous_xs <= xs[-1])]
    extra = [v for v in (spec.baseline, spec.threshold) if v is not None]
    pool = np.concatenate(
        (current[np.isfinite(current)], in_view, np.array(extra, dtype=float), forecast.ravel())
    )
    low, high = float(pool.min()), float(pool.max())
    # Headroom for the label of the latest value.
    high += (high - low) * 0.08
    y_ticks = _y_ticks(low, high, spec.value_format)
    y_labels = _tick_labels(y_ticks, spec.value_format, spec.lang, spec.currency)

    # --- frame: margins in pixels, the left one sized to the widest tick label
    margin_x = 36 * scale
    title_y = 30 * scale
    row_y = title_y + title_pt * DPI / 72 + 16 * scale
    label_widths = [_text_width(label, tick_font) for label in y_labels]
    left = margin_x + max(label_widths) + 18 * scale
    right = width - 64 * scale  # room for half of the last date label
    top = row_y + label_pt * DPI / 72 + 22 * scale
    bottom = height - (tick_pt * DPI / 72 + 34 * scale)

    # --- header: title; unit on the left of the second row, legend beside or below it
    title = _fit(spec.title, title_font, width - 2 * margin_x)
    _text(fig, px, margin_x, title_y, title, title_font, INK, va="top")
    if spec.unit_label:
        _text(fig, px, margin_x, row_y, spec.unit_label, label_font, INK_MUTED, va="top")
    legend = [
        _LegendItem(label, colour, dash, alpha)
        for label, colour, dash, alpha, shown in (
            (spec.current_label, MAIN, _SOLID, 1.0, True),
            (spec.previous_label, PREVIOUS, _PREVIOUS_DASH, 0.6, has_previous),
            (spec.baseline_label, BASELINE, _BASELINE_DASH, 1.0, spec.baseline is not None),
            (spec.threshold_label, BAD, _THRESHOLD_DASH, 1.0, spec.threshold is not None),
            (spec.forecast_label, MAIN, _FORECAST_DASH, 0.8, bool(spec.forecast)),
        )
        if label and shown
    ]
    rows = _draw_legend(
        fig,
        px,
        legend,
        label_font,
        margin_x,
        width - margin_x,
        row_y,
        scale,
        reserved=_text_width(spec.unit_label, label_font),
    )
    top += (rows - 1) * (label_pt * DPI / 72 + 14 * scale)
    ax: Axes = fig.add_axes(
        (left / width, 1 - bottom / height, (right - left) / width, (bottom - top) / height)
    )

    # --- axes look: no box, light horizontal grid, labels outside
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color(AXIS)
    ax.spines["bottom"].set_linewidth(1.2)
    ax.set_facecolor(PAGE)
    ax.tick_params(length=0, pad=10 * scale)
    ax.set_yticks(y_ticks, y_labels, fontproperties=tick_font, color=INK_SOFT, parse_math=False)
    ax.yaxis.grid(True, color=GRID, linewidth=1.0)
    ax.set_axisbelow(True)
    ax.set_ylim(y_ticks[0], y_ticks[-1])

    step_days = 7.0 if spec.granularity == "week" else 1.0
    pad = (view_xs[-1] - view_xs[0]) * 0.015 if len(view_xs) > 1 else step_days
    ax.set_xlim(view_xs[0] - pad, view_xs[-1] + pad)
    x_ticks = x_tick_labels(
        spec, view_days, (left, right), (view_xs[0] - pad, view_xs[-1] + pad), tick_font, scale
    )
    ax.set_xticks(
        [t for t, _ in x_ticks],
        [label for _, label in x_ticks],
        fontproperties=tick_font,
        color=INK_SOFT,
        parse_math=False,
    )

    # --- reference lines (named in the legend)
    for value, colour, dash in (
        (spec.baseline, BASELINE, _BASELINE_DASH),
        (spec.threshold, BAD, _THRESHOLD_DASH),
    ):
        if value is not None:
            ax.axhline(value, color=colour, linewidth=1.8, linestyle=dash, zorder=2)

    # --- previous period behind, then the current one
    line_width = 2.4 if spec.small else 2.6
    if has_previous:
        ax.plot(
            previous_xs,
            previous,
            color=PREVIOUS,
            alpha=0.35,
            linewidth=line_width * 0.8,
            linestyle=_PREVIOUS_DASH,
            zorder=3,
        )
    ax.plot(xs, current, color=MAIN, linewidth=line_width, zorder=4, solid_capstyle="round")
    if spec.forecast:
        # From the last value on, so the dashed line continues the solid one.
        known = np.flatnonzero(np.isfinite(current))
        start_x, start_y = xs[known[-1]], current[known[-1]]
        fx = np.concatenate(([start_x], forecast_xs))
        ax.fill_between(
            fx,
            np.concatenate(([start_y], forecast[:, 1])),
            np.concatenate(([start_y], forecast[:, 2])),
            color=MAIN,
            alpha=0.12,
            linewidth=0,
            zorder=2,
        )
        ax.plot(
            fx,
            np.concatenate(([start_y], forecast[:, 0])),
            color=MAIN,
            alpha=0.8,
            linewidth=line_width * 0.9,
            linestyle=_FORECAST_DASH,
            zorder=4,
        )
    lonely = _isolated(current)
    if lonely.any():
        ax.plot(xs[lonely], current[lonely], "o", color=MAIN, markersize=7, zorder=4)

    # --- the latest value: coloured by whether its move is good for this KPI
    finite = np.flatnonzero(np.isfinite(current))
    last = int(finite[-1])
    before = int(finite[-2]) if len(finite) > 1 else None
    latest_value = float(current[last])
    before_value = float(current[before]) if before is not None else None
    colour = (
        trend_colour(before_value, latest_value, spec.higher_is_better)
        if before_value is not None
        else MAIN
    )
    if before == last - 1:
        ax.plot(
            xs[before : last + 1],
            current[before : last + 1],
            color=colour,
            linewidth=line_width + 0.4,
            zorder=5,
            solid_capstyle="round",
        )
    ax.plot(
        [xs[last]],
        [latest_value],
        "o",
        color=colour,
        markersize=10,
        markeredgecolor=PAGE,
        markeredgewidth=2.0,
        zorder=6,
    )
    label = value_label(spec)
    frame = _Frame(
        left, top, right, bottom, (view_xs[0] - pad, view_xs[-1] + pad), (y_ticks[0], y_ticks[-1])
    )
    rising = before_value is None or latest_value >= before_value
    label_w = _text_width(label, value_font) + 12
    label_h = label_pt * DPI / 72 + 12
    point_x, point_y = frame.to_pixels(xs[last], latest_value)
    series = [(xs, current, 3), (previous_xs, previous, 1)]
    placed = place_value_label(
        frame, series, (point_x, point_y), (label_w, label_h), 18 * scale, rising=rising,
        single=len(finite) == 1,
    )  # fmt: skip
    if placed is None:
        return _png(fig)  # no free place: the caption carries the value
    box_x, box_y, ha, va = placed
    ax.annotate(
        label,
        (xs[last], latest_value),
        xytext=(
            {"right": box_x + label_w - 6, "center": point_x}[ha],
            box_y + label_h - 6 if va == "bottom" else box_y + 6,
        ),
        textcoords=px,
        fontproperties=value_font,
        color=colour,
        ha=ha,
        va=va,
        parse_math=False,
        zorder=7,
        annotation_clip=False,
        bbox={"boxstyle": "round,pad=0.25", "facecolor": PAGE, "edgecolor": "none", "alpha": 0.9},
    )
    return _png(fig)


# --------------------------------------------------------------------------- dashboard

_DASH_PAD: Final = 32.0
_DASH_GAP: Final = 16.0
_DASH_HEADER: Final = 132.0
_TILE_HEIGHT: Final = 172.0
_TILE_PAD: Final = 22.0


def dashboard_size(tile_count: int, columns: int | None = None) -> tuple[int, int]:
    """Pixel size of the digest picture for that many tiles."""
    cols = columns or (1 if tile_count <= 1 else 2)
    rows = max(1, math.ceil(tile_count / cols))
    height = _DASH_HEADER + rows * _TILE_HEIGHT + (rows - 1) * _DASH_GAP + _DASH_PAD
    return DASHBOARD_WIDTH_PX, int(height)


def _spark_line(
    values: Sequence[float | None], x0: float, y0: float, x1: float, y1: float
) -> tuple[FloatArray, FloatArray]:
    """Sparkline vertices in pixels inside the box (x0, y0)–(x1, y1), y pointing down."""
    data = np.array([math.nan if v is None else float(v) for v in values], dtype=float)
    finite = data[np.isfinite(data)]
    low, high = float(finite.min()), float(finite.max())
    span = high - low
    norm = (data - low) / span if span > 0 else np.where(np.isfinite(data), 0.5, math.nan)
    count = len(data)
    xs = x0 + (x1 - x0) * (np.arange(count) / (count - 1) if count > 1 else np.array([1.0]))
    ys = y1 - (y1 - y0) * norm
    return xs, ys


class _Strokes:
    """Polylines of one style gathered across tiles and drawn as one `Line2D`.

    NaN separates the pieces; one artist instead of several per tile keeps the
    per-artist overhead of matplotlib out of the dashboard's cost.
    """

    def __init__(self) -> None:
        self.xs: list[float] = []
        self.ys: list[float] = []

    def add(self, xs: Sequence[float], ys: Sequence[float]) -> None:
        if self.xs:
            self.xs.append(math.nan)
            self.ys.append(math.nan)
        self.xs.extend(xs)
        self.ys.extend(ys)


def _draw_tile(
    fig: Figure,
    px: Transform,
    tile: DashboardTile,
    x: float,
    y: float,
    w: float,
    strokes: dict[str, _Strokes],
) -> None:
    h = _TILE_HEIGHT
    _add(
        fig,
        FancyBboxPatch(
            (x, y),
            w,
            h,
            boxstyle="round,pad=0,rounding_size=18",
            transform=px,
            facecolor=TILE,
            edgecolor="none",
        ),
    )
    inner = w - 2 * _TILE_PAD
    name_font = _font(15.0)
    name = _fit(tile.name, name_font, inner)
    _text(fig, px, x + _TILE_PAD, y + _TILE_PAD, name, name_font, INK_SOFT, va="top")

    has_spark = sum(v is not None for v in tile.spark) >= 2
    spark_w = max(150.0, inner * 0.36) if has_spark else 0.0
    value_room = inner - (spark_w + 24 if has_spark else 0)
    size = 28.0
    value_width = _text_width(_clean(tile.value_text, _BOLD), _font(size, bold=True))
    if value_width > value_room:
        # Shrink a long value (big money) before cutting it.
        size = max(16.0, math.floor(size * value_room / value_width))
    value_font = _font(size, bold=True)
    value = _fit(tile.value_text, value_font, value_room)
    _text(fig, px, x + _TILE_PAD, y + 108, value, value_font, INK)

    colour = change_colour(tile.better)
    if tile.change_text:
        arrow = _arrow(tile)
        change = f"{arrow}\u2009{tile.change_text}" if arrow else tile.change_text
        change_font = _font(14.0, bold=True)
        change = _fit(change, change_font, value_room)
        _text(fig, px, x + _TILE_PAD, y + h - _TILE_PAD, change, change_font, colour)

    if has_spark:
        sx1 = x + w - _TILE_PAD - 6
        sx0 = sx1 - spark_w
        sy0, sy1 = y + 62, y + h - _TILE_PAD - 6
        xs, ys = _spark_line(tile.spark, sx0, sy0, sx1, sy1)
        strokes["floor"].add([sx0, sx1], [sy1 + 4, sy1 + 4])
        strokes["spark"].add(list(xs), list(ys))
        lonely = _isolated(ys)
        strokes["lonely"].add(list(xs[lonely]), list(ys[lonely]))
        last = int(np.flatnonzero(np.isfinite(ys))[-1])
        strokes[colour if tile.better is not None else MAIN].add([xs[last]], [ys[last]])


def render_dashboard(spec: DashboardSpec) -> bytes:
    """PNG of the weekly digest: a header and a grid of KPI tiles (1080 px wide)."""
    count = len(spec.tiles)
    if not 1 <= count <= 14:
        raise ValueError(f"a dashboard has 1 to 14 tiles, got {count}")
    cols = spec.columns or (1 if count == 1 else 2)
    width, height = dashboard_size(count, cols)
    fig = _new_figure(width, height, BOARD)
    px = _pixels(fig, width, height)

    title_font = _font(22.0, bold=True)
    brand_px = 0.0
    if spec.brand:  # an agency's name (/brand), top right
        brand_font = _font(15.0, bold=True)
        brand = _fit(spec.brand, brand_font, width / 3)
        _text(fig, px, width - _DASH_PAD, 40, brand, brand_font, spec.brand_colour or INK_MUTED,
              ha="right", va="top")  # fmt: skip
        brand_px = _text_width(brand, brand_font) + _DASH_GAP
    title = _fit(spec.title, title_font, width - 2 * _DASH_PAD - brand_px)
    _text(fig, px, _DASH_PAD, 34, title, title_font, INK, va="top")
    subtitle_font = _font(14.0)
    subtitle = _fit(spec.subtitle, subtitle_font, width - 2 * _DASH_PAD)
    _text(fig, px, _DASH_PAD, 86, subtitle, subtitle_font, INK_MUTED, va="top")

    strokes = {key: _Strokes() for key in ("floor", "spark", "lonely", MAIN, GOOD, BAD, NEUTRAL)}
    tile_w = (width - 2 * _DASH_PAD - (cols - 1) * _DASH_GAP) / cols
    for index, tile in enumerate(spec.tiles):
        row, col = divmod(index, cols)
        x = _DASH_PAD + col * (tile_w + _DASH_GAP)
        y = _DASH_HEADER + row * (_TILE_HEIGHT + _DASH_GAP)
        _draw_tile(fig, px, tile, x, y, tile_w, strokes)

    floor, spark, lonely = strokes["floor"], strokes["spark"], strokes["lonely"]
    if floor.xs:
        _add(fig, Line2D(floor.xs, floor.ys, transform=px, color=GRID, linewidth=1.2))
    if spark.xs:
        line = Line2D(
            spark.xs,
            spark.ys,
            transform=px,
            color=MAIN,
            linewidth=2.2,
            solid_capstyle="round",
            solid_joinstyle="round",
        )
        _add(fig, line)
    if lonely.xs:
        line = Line2D(
            lonely.xs, lonely.ys, transform=px, color=MAIN, marker="o", markersize=4, linestyle=""
        )
        _add(fig, line)
    for colour in (MAIN, GOOD, BAD, NEUTRAL):
        if strokes[colour].xs:
            dots = Line2D(
                strokes[colour].xs,
                strokes[colour].ys,
                transform=px,
                color=colour,
                marker="o",
                markersize=8,
                markeredgecolor=TILE,
                markeredgewidth=1.6,
                linestyle="",
            )
            _add(fig, dots)
    return _png(fig)


# --------------------------------------------------------------------------- bar chart

_BAR_ROW: Final = 50.0
_BAR_HEIGHT: Final = 26.0
_BAR_GROUP_HEAD: Final = 64.0
_BAR_GROUP_GAP: Final = 26.0


def _shares(group: BarGroup, normalize: bool) -> list[tuple[str, float]]:
    if not normalize:
        return [(label, float(value)) for label, value in group.bars]
    total = sum(float(value) for _, value in group.bars)
    if total <= 0:
        return [(label, 0.0) for label, _ in group.bars]
    return [(label, float(value) / total * 100) for label, value in group.bars]


def bar_chart_size(spec: BarChartSpec) -> tuple[int, int]:
    """Pixel size of the audience chart: it grows with the number of buckets."""
    rows = sum(len(group.bars) for group in spec.groups if group.bars)
    groups = sum(1 for group in spec.groups if group.bars)
    header = 120.0 if spec.subtitle else 84.0
    height = (
        header + groups * _BAR_GROUP_HEAD + rows * _BAR_ROW + (groups - 1) * _BAR_GROUP_GAP + 30
    )
    return BAR_WIDTH_PX, int(max(height, 300))


def _bar(x: float, mid: float, length: float, colour: str, px: Transform) -> FancyBboxPatch:
    return FancyBboxPatch(
        (x, mid - _BAR_HEIGHT / 2),
        length,
        _BAR_HEIGHT,
        boxstyle=f"round,pad=0,rounding_size={_BAR_HEIGHT / 2}",
        transform=px,
        facecolor=colour,
        edgecolor="none",
    )


def render_bar_chart(spec: BarChartSpec) -> bytes:
    """PNG of audience shares: horizontal bars per bucket, one block per dimension."""
    groups = [(group, _shares(group, spec.normalize)) for group in spec.groups if group.bars]
    if not groups:
        raise ValueError("an audience chart needs at least one bucket")
    width, height = bar_chart_size(spec)
    fig = _new_figure(width, height, PAGE)
    px = _pixels(fig, width, height)
    pad = 36.0

    title_font = _font(22.0, bold=True)
    _text(
        fig,
        px,
        pad,
        32,
        _fit(spec.title, title_font, width - 2 * pad),
        title_font,
        INK,
        va="top",
    )
    y = 84.0
    if spec.subtitle:
        _text(fig, px, pad, y, spec.subtitle, _font(14.0), INK_MUTED, va="top")
        y += 36

    label_font, value_font, head_font = _font(15.0), _font(15.0, bold=True), _font(17.0, bold=True)
    labels = [label for _, shares in groups for label, _ in shares]
    label_w = min(max(_text_width(label, label_font) for label in labels), width * 0.34)
    value_w = _text_width(numbers.format_percent(100.0, spec.lang), value_font)
    bar_x0 = pad + label_w + 20
    bar_x1 = width - pad - value_w - 16
    # Shares of a whole: the track is 100 %, so bars compare across dimensions.
    top_share = max([100.0, *(share for _, shares in groups for _, share in shares)])

    for index, (group, shares) in enumerate(groups):
        colour = BAR_COLOURS[index % len(BAR_COLOURS)]
        y += 16
        _text(fig, px, pad, y, group.title, head_font, INK, va="top")
        y += _BAR_GROUP_HEAD - 16
        for label, share in shares:
            mid = y + _BAR_ROW / 2
            _text(
                fig,
                px,
                pad,
                mid,
                _fit(label, label_font, label_w),
                label_font,
                INK_SOFT,
                va="center_baseline",
            )
            _add(fig, _bar(bar_x0, mid, bar_x1 - bar_x0, BAR_TRACK, px))
            length = (bar_x1 - bar_x0) * max(0.0, share) / top_share
            if length > 0:
                _add(fig, _bar(bar_x0, mid, max(length, _BAR_HEIGHT), colour, px))
            _text(
                fig,
                px,
                width - pad,
                mid,
                numbers.format_percent(share, spec.lang),
                value_font,
                INK,
                ha="right",
                va="center_baseline",
            )
            y += _BAR_ROW
        y += _BAR_GROUP_GAP
    return _png(fig)


__all__ = [
    "BarChartSpec",
    "BarGroup",
    "DashboardSpec",
    "DashboardTile",
    "LineChartSpec",
    "bar_chart_size",
    "change_colour",
    "dashboard_size",
    "render_bar_chart",
    "render_dashboard",
    "render_line_chart",
    "trend_colour",
    "value_label",
]
