"""The forecast of `/chart`: a dashed line with its band after the last value."""

from __future__ import annotations

import io
from datetime import date, timedelta

import numpy as np
from matplotlib.image import imread

from kpi.charts import MAIN, LineChartSpec, render_line_chart

MONDAY = date(2026, 9, 7)
POINTS = tuple((MONDAY + timedelta(days=7 * k), 1000.0 + 50 * k) for k in range(12))
FORECAST = tuple(
    (MONDAY + timedelta(days=7 * (12 + k)), 1600.0 + 50 * k, 1500.0 - 20 * k, 1700.0 + 80 * k)
    for k in range(4)
)


def _pixels(png: bytes) -> np.ndarray:
    return imread(io.BytesIO(png), format="png")[:, :, :3]


def _blueish(image: np.ndarray) -> np.ndarray:
    """Columns holding the chart's main colour or its faint band."""
    r, g, b = (int(MAIN[i : i + 2], 16) / 255 for i in (1, 3, 5))
    main = np.abs(image - np.array([r, g, b])).sum(axis=2) < 0.25
    band = (image[:, :, 2] > image[:, :, 0] + 0.03) & (image[:, :, 2] > 0.85)
    return (main | band).any(axis=0)


def test_forecast_widens_the_chart_and_draws_beyond_the_last_point() -> None:
    plain = LineChartSpec(points=POINTS, title="Reach", granularity="week", lang="en")
    with_forecast = LineChartSpec(
        points=POINTS,
        title="Reach",
        granularity="week",
        lang="en",
        forecast=FORECAST,
        forecast_label="forecast",
    )
    a, b = _pixels(render_line_chart(plain)), _pixels(render_line_chart(with_forecast))
    assert a.shape == b.shape == (675, 1200, 3)
    # Without a forecast the blue line ends near the right edge of the plot; with one,
    # the last actual point moves left (the view holds 4 more weeks) and blue columns
    # continue to the right of it.
    cols_a, cols_b = np.flatnonzero(_blueish(a)), np.flatnonzero(_blueish(b))
    assert cols_b.max() >= cols_a.max() - 40
    # The band is filled: in the right fifth of the plot many rows are tinted, not one line.
    right = b[150:620, 930:1100]
    tinted = (right[:, :, 2] > right[:, :, 0] + 0.03).sum()
    assert tinted > 2000
    plain_right = a[150:620, 930:1100]
    assert (plain_right[:, :, 2] > plain_right[:, :, 0] + 0.03).sum() < tinted / 4
