"""kpi.charts: valid PNGs of the promised size, gaps, colours, Cyrillic, pickling."""

from __future__ import annotations

import io
import itertools
import pickle
import struct
import warnings
from collections.abc import Sequence
from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from kpi.charts import (
    BAD,
    GOOD,
    MAIN,
    NEUTRAL,
    BarChartSpec,
    BarGroup,
    DashboardSpec,
    DashboardTile,
    LineChartSpec,
    _Frame,
    _tick_labels,
    _y_ticks,
    bar_chart_size,
    change_colour,
    dashboard_size,
    place_value_label,
    render_bar_chart,
    render_dashboard,
    render_line_chart,
    trend_colour,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
START = date(2025, 2, 3)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, after checking the signature."""
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def decoded(data: bytes) -> np.ndarray:
    """The picture as an RGB array; Pillow checks every chunk's CRC on the way."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return np.asarray(image.convert("RGB"))


def has_colour(pixels: np.ndarray, colour: str) -> bool:
    rgb = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return bool((pixels == rgb).all(axis=-1).any())


def daily(
    values: Sequence[float | None], start: date = START
) -> tuple[tuple[date, float | None], ...]:
    return tuple((start + timedelta(days=i), v) for i, v in enumerate(values))


def line(values: Sequence[float | None], **overrides: object) -> LineChartSpec:
    fields: dict[str, object] = {
        "points": daily(values),
        "title": "Показатель отказов",
        "unit_label": "%, по дням",
        "current_label": "Текущий период",
        "previous_label": "Прошлый период",
        "value_format": "percent",
    }
    fields.update(overrides)
    return LineChartSpec(**fields)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- line chart


def test_line_chart_with_gaps_and_previous_period() -> None:
    values: list[float | None] = [40.0 + i % 5 for i in range(30)]
    values[10] = values[11] = values[20] = values[22] = None  # 21 stands alone
    spec = line(values, previous=daily([38.0 + i % 4 for i in range(30)], START - timedelta(30)))
    data = render_line_chart(spec)
    assert png_size(data) == (1200, 675)
    assert decoded(data).shape == (675, 1200, 3)


def test_small_variant_for_alerts_has_a_baseline() -> None:
    spec = line(
        [410.0, 395.0, 430.0, 420.0, 560.0],
        value_format="money",
        currency="RUB",
        higher_is_better=False,
        baseline=420.0,
        baseline_label="медиана 4 недель: 420 ₽",
        threshold=500.0,
        threshold_label="порог 500 ₽",
        small=True,
    )
    assert png_size(render_line_chart(spec)) == (1000, 500)


def test_single_point_is_drawn_as_a_marker() -> None:
    pixels = decoded(render_line_chart(line([12.5])))
    assert has_colour(pixels, MAIN)


def test_weekly_series_of_26_points() -> None:
    weeks = tuple((date(2024, 9, 2) + timedelta(weeks=i), 1000.0 + 37 * i) for i in range(26))
    spec = line([], points=weeks, granularity="week", value_format="count", lang="en")
    assert png_size(render_line_chart(spec)) == (1200, 675)


@pytest.mark.parametrize("values", [[None, None, None], []])
def test_nothing_to_draw_raises(values: list[float | None]) -> None:
    with pytest.raises(ValueError):
        render_line_chart(line(values))


def test_lower_is_better_rise_is_painted_red() -> None:
    rising = [30.0, 31.0, 32.0, 40.0]
    bad = decoded(render_line_chart(line(rising, higher_is_better=False)))
    assert has_colour(bad, BAD)
    assert not has_colour(bad, GOOD)
    good = decoded(render_line_chart(line(rising, higher_is_better=True)))
    assert has_colour(good, GOOD)
    assert not has_colour(good, BAD)


@pytest.mark.parametrize(
    ("before", "latest", "higher_is_better", "expected"),
    [
        (40.0, 45.0, True, GOOD),  # reach up
        (40.0, 45.0, False, BAD),  # bounce rate / CAC up
        (45.0, 40.0, False, GOOD),
        (45.0, 40.0, True, BAD),
        (40.0, 40.0, False, NEUTRAL),
        (None, 40.0, True, NEUTRAL),
    ],
)
def test_trend_colour(
    before: float | None, latest: float, higher_is_better: bool, expected: str
) -> None:
    assert trend_colour(before, latest, higher_is_better) == expected


def test_change_colour() -> None:
    assert (change_colour(True), change_colour(False), change_colour(None)) == (GOOD, BAD, NEUTRAL)


# --------------------------------------------------------------------------- dashboard


def tiles(count: int) -> tuple[DashboardTile, ...]:
    return tuple(
        DashboardTile(
            name=f"Показатель {i}",
            value_text=f"{1000 + i * 37}\u00a0₽",
            change_text=None if i == 2 else ("+" if i % 2 else "\u2212") + f"{i},5 %",
            better=None if i == 3 else bool(i % 2),
            spark=tuple(None if j == 5 else float((i + j) % 7) for j in range(12)),
        )
        for i in range(count)
    )


@pytest.mark.parametrize("count", [1, 6, 12])
def test_dashboard_size(count: int) -> None:
    spec = DashboardSpec(
        title="Команда · неделя 10", subtitle="данные на 9 марта", tiles=tiles(count)
    )
    data = render_dashboard(spec)
    width, height = png_size(data)
    assert (width, height) == dashboard_size(count)
    assert width >= 1000
    if count > 1:
        pixels = decoded(data)
        assert has_colour(pixels, GOOD)
        assert has_colour(pixels, BAD)


@pytest.mark.parametrize("count", [0, 15])
def test_dashboard_tile_count_is_bounded(count: int) -> None:
    with pytest.raises(ValueError):
        render_dashboard(DashboardSpec(title="t", subtitle="s", tiles=tiles(count)))


def test_dashboard_tile_without_sparkline_or_change() -> None:
    spec = DashboardSpec(
        title="Workspace · week 10",
        subtitle="data as of 9 Mar",
        tiles=(DashboardTile("ROI", "148%"), DashboardTile("CAC", "$12.50", spark=(1.0, None))),
    )
    assert png_size(render_dashboard(spec)) == dashboard_size(2)


# --------------------------------------------------------------------------- bar chart


def test_bar_chart_of_several_dimensions() -> None:
    spec = BarChartSpec(
        title="Аудитория",
        subtitle="срез на 1 марта",
        groups=(
            BarGroup("Возраст", (("18–24", 21.5), ("25–34", 38.1), ("35+", 40.4))),
            BarGroup("Пол", (("женщины", 640.0), ("мужчины", 360.0))),
            BarGroup("Город", ()),
        ),
        normalize=True,
    )
    data = render_bar_chart(spec)
    assert png_size(data) == bar_chart_size(spec)
    assert png_size(data)[0] >= 1000


def test_bar_chart_needs_a_bucket() -> None:
    with pytest.raises(ValueError):
        render_bar_chart(BarChartSpec(title="Аудитория", groups=(BarGroup("Пол", ()),)))


# --------------------------------------------------------------------------- text


def test_cyrillic_arrows_and_minus_render_without_warnings() -> None:
    spec = DashboardSpec(
        title="Ёжики и ещё 🚀 команда\nвторая строка",  # the emoji has no glyph: dropped
        subtitle="данные на 9 марта · ↑↓ −5 %",
        tiles=(DashboardTile("Охват ↑↓", "−1 234 ₽", "↓ −12,3 %", better=False, spark=(1.0, 2.0)),),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        render_dashboard(spec)
        render_line_chart(line([-5.0, 3.0, -1.0], title="Рост аудитории ↑↓ −", lang="ru"))


def test_dollar_signs_are_not_mathtext() -> None:
    spec = line([10.0, 12.0], title="$10 and $12", value_format="money", currency="USD", lang="en")
    assert png_size(render_line_chart(spec)) == (1200, 675)


@pytest.mark.parametrize(
    ("ticks", "kind", "lang", "currency", "expected"),
    [
        ([0.0, 5e5, 1e6], "count", "ru", "", ["0,0\u00a0млн", "0,5\u00a0млн", "1,0\u00a0млн"]),
        ([0.0, 5e5, 1e6], "count", "en", "", ["0.0M", "0.5M", "1.0M"]),
        ([0.0, 1e4, 2e4], "money", "ru", "RUB", ["0\u00a0тыс.\u00a0₽", "10\u00a0тыс.\u00a0₽",
                                                "20\u00a0тыс.\u00a0₽"]),
        ([-10.0, 0.0, 10.0], "money", "en", "USD", ["\u2212$10", "$0", "$10"]),
        # German writes thousands in full (CLDR has no short form): no "K" invented.
        ([0.0, 1e4, 2e4], "count", "de", "", ["0", "10.000", "20.000"]),
        ([60.0, 120.0], "duration", "ru", "", ["1:00", "2:00"]),
    ],
)  # fmt: skip
def test_tick_labels_from_the_locale(
    ticks: list[float], kind: str, lang: str, currency: str, expected: list[str]
) -> None:
    assert _tick_labels(ticks, kind, lang, currency) == expected  # type: ignore[arg-type]


# --------------------------------------------------------------------------- process pool


def test_specs_and_functions_pickle_for_a_process_pool() -> None:
    spec = DashboardSpec(title="t", subtitle="s", tiles=tiles(2))
    assert pickle.loads(pickle.dumps(spec)) == spec
    assert pickle.loads(pickle.dumps(line([1.0, None]))) == line([1.0, None])
    assert pickle.loads(pickle.dumps(render_dashboard)) is render_dashboard


# --- round ticks and value labels that never overlap (issue #14) ---------------------


@given(
    low=st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    span=st.floats(min_value=1e-3, max_value=1e6, allow_nan=False),
    kind=st.sampled_from(["number", "percent", "money"]),
)
def test_ticks_step_by_1_2_or_5_and_labels_tell_them_apart(
    low: float, span: float, kind: str
) -> None:
    ticks = _y_ticks(low, low + span, kind)  # type: ignore[arg-type]
    assert len(ticks) >= 2
    slack = span * 1e-6  # a sub-pixel overhang (-6e-8 below a 0 tick) is not worth a tick
    assert ticks[0] <= low + slack and ticks[-1] >= low + span - slack
    steps = [b - a for a, b in itertools.pairwise(ticks)]
    assert max(steps) - min(steps) <= 1e-9 * max(1.0, abs(ticks[-1]))
    leading = f"{steps[0]:.2e}"  # 3 digits: ticks near 1e6 apart by 1e-3 lose the rest
    assert leading[0] in "125" and float(leading[1:].split("e")[0] or 0) == 0, steps[0]
    labels = _tick_labels(ticks, kind, "en", "")  # type: ignore[arg-type]
    assert len(set(labels)) == len(labels)


def test_percent_ticks_from_the_issue_are_round() -> None:
    # Before: steps of 2.5 with whole-number labels read 38 / 40 / 42 / 45 / 48 %.
    ticks = _y_ticks(37.2, 47.9, "percent")
    assert _tick_labels(ticks, "percent", "en", "") == ["35%", "40%", "45%", "50%"]
    assert _tick_labels(_y_ticks(1.5, 2.5, "percent"), "percent", "ru", "") == [
        "1,5\u00a0%", "2,0\u00a0%", "2,5\u00a0%",
    ]  # fmt: skip


# A 1000 × 500 px plot area: days 0..10 across, values 0..100 up.
FRAME = _Frame(100.0, 50.0, 1100.0, 550.0, (0.0, 10.0), (0.0, 100.0))


def test_value_label_stays_inside_the_plot_and_off_the_line() -> None:
    xs = np.arange(11, dtype=float)
    rising = np.linspace(10.0, 90.0, 11)
    point = FRAME.to_pixels(10.0, 90.0)
    placed = place_value_label(FRAME, [(xs, rising, 3)], point, (120.0, 40.0), 18.0, rising=True)
    assert placed is not None
    x0, y0, _ha, va = placed
    # Above the point there is little room: the label is pushed down to the plot's top.
    assert va == "bottom" and y0 == FRAME.top and y0 + 40.0 <= FRAME.bottom
    assert FRAME.crossings([(xs, rising, 3)], x0, y0, x0 + 120.0, y0 + 40.0) == 0


def test_value_label_is_dropped_when_every_place_covers_the_line() -> None:
    xs = np.linspace(0.0, 10.0, 201)
    zigzag = np.where(np.arange(201) % 2 == 0, 20.0, 80.0)  # fills the band on both sides
    point = FRAME.to_pixels(10.0, 50.0)
    placed = place_value_label(FRAME, [(xs, zigzag, 3)], point, (300.0, 60.0), 18.0, rising=True)
    assert placed is None


# --- date ticks never overlap (issue #14) -------------------------------------------


@pytest.mark.parametrize("lang", ["ru", "en"])
@pytest.mark.parametrize("small", [False, True])
@pytest.mark.parametrize("granularity", ["day", "week"])
def test_date_tick_labels_never_overlap(lang: str, small: bool, granularity: str) -> None:
    from kpi.charts import _font, _text_width, x_tick_labels

    width = 1000 if small else 1200
    scale = width / 1200
    font = _font(14.0 if small else 15.0)
    # The narrowest plot: a wide money axis label on the left, as render_line_chart lays out.
    left = 36 * scale + _text_width("−1 234 567 ₽", font) + 18 * scale
    right = width - 64 * scale
    first = date(2025, 12, 29)
    step = 7 if granularity == "week" else 1
    for span in [*range(1, 70), 90, 120, 180, 365, 400, 730]:
        days = [first + timedelta(days=k) for k in range(0, span + 1, step)]
        lo, hi = days[0].toordinal(), days[-1].toordinal()
        pad = (hi - lo) * 0.015 if hi > lo else step
        spec = LineChartSpec(
            points=tuple((d, 1.0) for d in days), title="t", lang=lang, small=small,
            granularity=granularity, week_label="нед {week}",  # type: ignore[arg-type]
        )  # fmt: skip
        ticks = x_tick_labels(spec, days, (left, right), (lo - pad, hi + pad), font, scale)
        assert len(ticks) >= min(2, len(days)), (lang, span)
        boxes = []
        for t, label in ticks:
            middle = left + (t - lo + pad) / (hi - lo + 2 * pad) * (right - left)
            boxes.append(
                (middle - _text_width(label, font) / 2, middle + _text_width(label, font) / 2)
            )
        for (_, end), (start, _) in itertools.pairwise(boxes):
            assert start - end >= 8 * scale, (lang, span, ticks)
