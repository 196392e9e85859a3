"""Forecast models against hand-computed recurrences; model choice and band on synthetic
series with a known trend or weekday season; the history rule."""

from __future__ import annotations

import math
from itertools import product

import numpy as np
import pytest

from kpi import forecast as fc
from kpi.forecast import Forecast, NotEnoughHistory, forecast


def _arr(values: list[float]) -> np.ndarray:
    return np.array(values, dtype=np.float64)


# --------------------------------------------------------------------------- simple models


def test_naive_drift_seasonal_naive_by_hand() -> None:
    y = _arr([10, 14, 12, 20])
    assert fc.naive(y, 3).tolist() == [20, 20, 20]
    # slope (20 − 10) / 3
    assert fc.drift(y, 2).tolist() == pytest.approx([20 + 10 / 3, 20 + 20 / 3])
    week = _arr([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14])
    # next Monday is the last Monday (index 7 → value 8), and so on.
    assert fc.seasonal_naive(week, 9).tolist() == [8, 9, 10, 11, 12, 13, 14, 8, 9]


def test_damped_sums() -> None:
    assert fc.damped_sums(0.5, 3).tolist() == pytest.approx([0.5, 0.75, 0.875])
    assert fc.damped_sums(1.0, 4).tolist() == [1, 2, 3, 4]


def test_holt_recurrence_against_hand_computed_values() -> None:
    # y = 10, 12, 13, 15; α = β = 0.5, φ = 0.9; ℓ0 = 10, b0 = 2, computed on paper:
    # t=1: ŷ = 11.8, ℓ = 11.9, b = 1.85
    # t=2: ŷ = 13.565, ℓ = 13.2825, b = 1.52375
    # t=3: ŷ = 14.653875, ℓ = 14.8269375, b = 1.45790625
    y = _arr([10, 12, 13, 15])
    one = _arr([0.5])
    level, trend, sse = fc.holt_states(y, one, one, _arr([0.9]))
    assert level[0] == pytest.approx(14.8269375)
    assert trend[0] == pytest.approx(1.45790625)
    assert sse[0] == pytest.approx(0.2**2 + 0.565**2 + 0.346125**2)
    # two steps ahead: ℓ + (0.9 + 0.81) b
    assert level[0] + fc.damped_sums(0.9, 2)[1] * trend[0] == pytest.approx(17.3199571875)


def _holt_reference(y: list[float], a: float, b: float, phi: float) -> tuple[float, float, float]:
    level, trend, sse = y[0], y[1] - y[0], 0.0
    for value in y[1:]:
        prediction = level + phi * trend
        sse += (value - prediction) ** 2
        previous = level
        level = a * value + (1 - a) * prediction
        trend = b * (level - previous) + (1 - b) * phi * trend
    return level, trend, sse


def test_damped_picks_the_grid_point_with_least_one_step_error() -> None:
    rng = np.random.default_rng(3)
    y = list(50 + 2 * np.arange(20) + rng.normal(0, 3, 20))
    best = min(
        product(fc._ALPHAS, fc._BETAS, fc._PHIS),
        key=lambda p: _holt_reference(y, *p)[2],
    )
    level, trend, _ = _holt_reference(y, *best)
    expected = [level + sum(best[2] ** k for k in range(1, h + 1)) * trend for h in (1, 2, 3)]
    assert fc.damped(_arr(y), 3).tolist() == pytest.approx(expected)


def _hw_reference(
    y: list[float], a: float, b: float, g: float, phi: float, m: int, horizon: int
) -> tuple[list[float], float]:
    level = sum(y[:m]) / m
    trend = (sum(y[m : 2 * m]) / m - level) / m
    season = [v - level for v in y[:m]]
    sse = 0.0
    for t in range(m, len(y)):
        s = season[t - m]
        sse += (y[t] - (level + phi * trend + s)) ** 2
        new_level = a * (y[t] - s) + (1 - a) * (level + phi * trend)
        season.append(g * (y[t] - level - phi * trend) + (1 - g) * s)
        trend = b * (new_level - level) + (1 - b) * phi * trend
        level = new_level
    n = len(y)
    out = []
    for h in range(1, horizon + 1):
        k = (h - 1) // m + 1
        out.append(level + sum(phi**j for j in range(1, h + 1)) * trend + season[n + h - 1 - m * k])
    return out, sse


def test_holt_winters_recurrence_against_a_scalar_reference() -> None:
    y = [5.0, 9.0, 4.0, 6.0, 11.0, 5.0, 7.0, 12.0, 7.0, 9.0]
    params = (0.4, 0.2, 0.3, 0.9)
    level, trend, seasonal, sse = fc.holt_winters_states(
        _arr(y), *(_arr([p]) for p in params), season=3
    )
    expected, expected_sse = _hw_reference(y, *params, m=3, horizon=5)
    got = [level[0] + fc.damped_sums(0.9, 5)[h] * trend[0] + seasonal[0, h % 3] for h in range(5)]
    assert got == pytest.approx(expected)
    assert sse[0] == pytest.approx(expected_sse)


def test_holt_winters_by_hand_one_step() -> None:
    # season 2, y = 1, 3, 2, 4; α = β = γ = 0.5, φ = 1:
    # ℓ = 2, b = (3 − 2) / 2 = 0.5, s = (−1, 1)
    # t=2: ŷ = 2.5 − 1 = 1.5; ℓ = 0.5·3 + 0.5·2.5 = 2.75; s0 = 0.5·(2 − 2.5) + 0.5·(−1) = −0.75;
    #      b = 0.5·0.75 + 0.5·0.5 = 0.625
    # t=3: ŷ = 3.375 + 1 = 4.375; ℓ = 0.5·3 + 0.5·3.375 = 3.1875;
    #      s1 = 0.5·(4 − 3.375) + 0.5·1 = 0.8125; b = 0.5·0.4375 + 0.5·0.625 = 0.53125
    half = _arr([0.5])
    level, trend, seasonal, sse = fc.holt_winters_states(
        _arr([1, 3, 2, 4]), half, half, half, _arr([1.0]), season=2
    )
    assert level[0] == pytest.approx(3.1875)
    assert trend[0] == pytest.approx(0.53125)
    assert seasonal[0].tolist() == pytest.approx([-0.75, 0.8125])
    assert sse[0] == pytest.approx(0.5**2 + 0.375**2)


# --------------------------------------------------------------------------- choice and band


def _trend_series(n: int = 30, noise: float = 4.0, seed: int = 1) -> list[float]:
    rng = np.random.default_rng(seed)
    return [float(v) for v in 1000 + 40 * np.arange(n) + rng.normal(0, noise, n)]


def test_a_linear_trend_is_not_forecast_flat() -> None:
    result = forecast(_trend_series(), 4)
    assert isinstance(result, Forecast)
    assert result.model in ("drift", "damped")
    assert result.mae < result.naive_mae / 3
    # The next week continues the line: 1000 + 40·30 = 2200 (± noise and damping).
    assert result.values[0] == pytest.approx(2200, abs=30)
    assert result.values[3] > result.values[0]


def test_a_weekday_season_picks_a_seasonal_model() -> None:
    rng = np.random.default_rng(7)
    pattern = np.array([100, 120, 130, 125, 110, 40, 30], dtype=np.float64)
    days = 10 * 7
    y = np.tile(pattern, 10) + rng.normal(0, 3, days)
    result = forecast(list(y), 7, "day")
    assert isinstance(result, Forecast)
    assert result.model in ("seasonal_naive", "holt_winters")
    assert result.mae < result.naive_mae / 2
    # The next day is a Monday (the series starts on one and holds whole weeks).
    assert result.values[0] == pytest.approx(100, abs=10)
    assert result.values[5] == pytest.approx(40, abs=10)


@pytest.mark.parametrize("seed", range(5))
def test_chosen_model_is_never_worse_than_naive_in_its_backtest(seed: int) -> None:
    rng = np.random.default_rng(seed)
    walk = list(500 + np.cumsum(rng.normal(0, 10, 26)))
    for series, freq in ((walk, "week"), (_trend_series(seed=seed), "week")):
        result = forecast(series, 3, freq)  # type: ignore[arg-type]
        assert isinstance(result, Forecast)
        scores = dict(result.scores)
        assert result.mae == min(scores.values())
        assert result.mae <= scores["naive"]


def test_band_width_matches_the_noise() -> None:
    # White noise around a level: naive's one-step errors are differences of two noise
    # draws (σ√2), the smoothed models' close to σ. An 80 % band is 2·1.2816·σ' wide.
    sigma = 10.0
    rng = np.random.default_rng(11)
    y = list(300 + rng.normal(0, sigma, 40))
    result = forecast(y, 2)
    assert isinstance(result, Forecast)
    width = result.upper[0] - result.lower[0]
    assert 2 * 1.2816 * sigma * 0.6 < width < 2 * 1.2816 * sigma * math.sqrt(2) * 1.4
    assert result.lower[0] <= result.values[0] <= result.upper[0]
    assert result.upper[1] - result.lower[1] >= width


def test_band_comes_from_backtest_error_quantiles() -> None:
    errors = [[-3.0, -1.0, 0.0, 1.0, 2.0, 4.0], [-6.0, 8.0], []]
    lows, highs = fc.error_band(errors, 3)
    low1, high1 = np.quantile([-3, -1, 0, 1, 2, 4], [0.1, 0.9])
    assert lows[0] == pytest.approx(low1) and highs[0] == pytest.approx(high1)
    # Too few errors at steps 2 and 3: step 1's quantiles widened by √h.
    assert lows[1] == pytest.approx(low1 * math.sqrt(2))
    assert highs[2] == pytest.approx(high1 * math.sqrt(3))


def test_bounds_clip_a_falling_count_at_zero() -> None:
    y = [float(v) for v in range(100, 0, -10)]  # 100, 90, … 10
    result = forecast(y, 4, lower_bound=0.0)
    assert isinstance(result, Forecast)
    assert min(result.lower) >= 0.0 and min(result.values) >= 0.0
    assert result.values[0] == pytest.approx(0.0, abs=5)


# --------------------------------------------------------------------------- history


def test_not_enough_history_says_how_much_more() -> None:
    short = forecast([1.0, 2.0, 3.0, 4.0, 5.0], 4)
    assert short == NotEnoughHistory(have=5, need=8, frequency="week")
    assert short.more == 3
    # A gap cuts the run: only the last 3 weeks count.
    gapped = forecast([1.0] * 10 + [None] + [2.0, 3.0, 4.0], 2)
    assert isinstance(gapped, NotEnoughHistory) and gapped.have == 3
    daily = forecast([5.0] * 50, 7, "day")  # 7 whole weeks
    assert daily == NotEnoughHistory(have=7, need=8, frequency="day")
    assert isinstance(forecast([5.0] * 8, 1), Forecast)


def test_constant_series_forecast_is_the_constant_with_a_zero_band() -> None:
    result = forecast([42.0] * 12, 3)
    assert isinstance(result, Forecast)
    assert result.model == "naive"
    assert result.values == (42.0, 42.0, 42.0)
    assert result.lower == result.upper == (42.0, 42.0, 42.0)
    assert result.mae == 0.0 and result.smape == 0.0


def test_horizon_must_be_positive() -> None:
    with pytest.raises(ValueError):
        forecast([1.0] * 10, 0)
