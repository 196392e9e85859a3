"""Forecasts of one KPI series: a few small models, chosen per series by backtest.

Pure numpy, no I/O, no clock. The caller passes the series (weekly or daily KPI
values, oldest first) and gets back either a `Forecast` (the chosen model, its
backtest error, the projected values and a band) or `NotEnoughHistory` saying how
much more history is needed.

Models (Hyndman & Athanasopoulos, *Forecasting: Principles and Practice*, ch. 5 and 8):

* `naive`: every future value is the last one.
* `seasonal_naive` (daily series only): the value of the same weekday a week before.
* `drift`: the line from the first to the last value, carried on.
* `damped`: Holt's linear trend with a damped trend (φ < 1), parameters chosen from a
  small grid by one-step squared error on the training part.
* `holt_winters` (daily series with at least three weeks): additive Holt-Winters with
  a damped trend and a weekday season, parameters from a grid likewise.

Choice: a rolling-origin backtest. From every origin in the last `MAX_ORIGINS` weeks
(`MAX_ORIGINS_DAILY` days), with at least `MIN_TRAIN_WEEKS` weeks before it, each model
is fitted on the data before the origin and forecasts up to `horizon` steps; the errors
at all (origin, step) pairs that fall inside the series are pooled, and the model with
the lowest mean absolute error (MAE) wins. Every model is scored on the same pairs, so `naive`
being in the set means the winner's backtest MAE is never worse than naive's. Ties go
to the simpler model (the order above).

Band: from the winner's backtest errors at each step h (actual − forecast), the
empirical 10th and 90th percentiles are added to the forecast (an 80 % band). Where a
step has fewer than `MIN_ERRORS` errors, the quantiles of the last step that has
enough are widened by √(h / h₀), the random-walk growth of uncertainty. The band never
narrows with the horizon: uncertainty does not shrink the further one looks.

Why not a library: statsmodels (ExponentialSmoothing, ETS) would pull in scipy and
pandas (~150 MB installed), and its optimiser fits each model in tens of milliseconds,
which a backtest multiplies by models × origins on a 2-core machine shared by the bot's
event loop. The five models here are a few lines of recurrence each, vectorised over
a parameter grid, and are tested against hand-computed values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import product
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # numpy loads on the first forecast, not at the bot's start (#16)
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float64]
Frequency = Literal["week", "day"]

MIN_WEEKS = 8  # history needed for a forecast, in weeks (weekly or daily series)
MIN_TRAIN_WEEKS = 4  # a backtest origin has at least this many weeks before it
MAX_ORIGINS = 30  # the most recent origins only: older ones say little about now
MAX_ORIGINS_DAILY = 56  # eight weeks of daily origins (each refits every model)
MIN_ERRORS = 5  # errors needed at a step for its own band
BAND_QUANTILES = (0.1, 0.9)
SEASON = 7  # days in a weekly season

MODEL_ORDER: tuple[str, ...] = ("naive", "seasonal_naive", "drift", "damped", "holt_winters")

_ALPHAS = (0.1, 0.2, 0.3, 0.5, 0.7, 0.9)
_BETAS = (0.05, 0.1, 0.2, 0.4)
_PHIS = (0.8, 0.9, 0.98)
_HW_ALPHAS = (0.1, 0.3, 0.6)
_HW_BETAS = (0.02, 0.1, 0.3)
_HW_GAMMAS = (0.05, 0.2, 0.5)
_HW_PHIS = (0.9, 0.98)


@dataclass(frozen=True, slots=True)
class Forecast:
    """The chosen model's projection of the next `len(values)` steps.

    `mae`: the backtest's mean absolute error (in the series' unit); `smape`: its
    symmetric mean absolute percentage error in % (None where every actual and forecast
    pair is 0); `naive_mae`: the same backtest's MAE of `naive`, for comparison;
    `errors`: the number of backtest (origin, step) pairs; `scores`: MAE per model.
    """

    model: str
    frequency: Frequency
    values: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    mae: float
    smape: float | None
    naive_mae: float
    errors: int
    history: int
    scores: tuple[tuple[str, float], ...]


@dataclass(frozen=True, slots=True)
class NotEnoughHistory:
    """Too little history: `have` and `need` are in weeks (whole weeks for daily series)."""

    have: int
    need: int
    frequency: Frequency

    @property
    def more(self) -> int:
        return max(0, self.need - self.have)


# --------------------------------------------------------------------------- models


def naive(y: FloatArray, horizon: int) -> FloatArray:
    """ŷ(n+h) = y(n)."""
    import numpy as np  # off the start path: the first forecast loads it

    return np.full(horizon, float(y[-1]))


def seasonal_naive(y: FloatArray, horizon: int, season: int = SEASON) -> FloatArray:
    """ŷ(n+h) = y(n + h − season·k), k the smallest whole number that lands in the past."""
    import numpy as np  # off the start path: the first forecast loads it

    if len(y) < season:
        return naive(y, horizon)
    last = y[-season:]
    return np.array([float(last[h % season]) for h in range(horizon)])


def drift(y: FloatArray, horizon: int) -> FloatArray:
    """ŷ(n+h) = y(n) + h · (y(n) − y(1)) / (n − 1)."""
    import numpy as np  # off the start path: the first forecast loads it

    if len(y) < 2:
        return naive(y, horizon)
    slope = (float(y[-1]) - float(y[0])) / (len(y) - 1)
    return float(y[-1]) + slope * np.arange(1, horizon + 1, dtype=np.float64)


def damped_sums(phi: float | FloatArray, horizon: int) -> FloatArray:
    """φ + φ² + … + φʰ for h = 1..horizon (one row per φ when φ is an array)."""
    import numpy as np  # off the start path: the first forecast loads it

    phis = np.atleast_1d(np.asarray(phi, dtype=np.float64))
    powers = phis[:, None] ** np.arange(1, horizon + 1)[None, :]
    sums: FloatArray = np.cumsum(powers, axis=1)
    return sums[0] if np.ndim(phi) == 0 else sums


def holt_states(
    y: FloatArray, alpha: FloatArray, beta: FloatArray, phi: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Holt's damped trend over y for each parameter triple (arrays of equal length).

    ℓ(0) = y(0), b(0) = y(1) − y(0); for t ≥ 1:
    ŷ(t) = ℓ(t−1) + φ b(t−1) (the one-step forecast),
    ℓ(t) = α y(t) + (1 − α)(ℓ(t−1) + φ b(t−1)),
    b(t) = β (ℓ(t) − ℓ(t−1)) + (1 − β) φ b(t−1).
    Returns the final level and trend and the sum of squared one-step errors.
    """
    import numpy as np  # off the start path: the first forecast loads it

    level = np.full(alpha.shape, float(y[0]))
    trend = np.full(alpha.shape, float(y[1] - y[0]))
    sse = np.zeros(alpha.shape)
    for value in y[1:]:
        predicted = level + phi * trend
        sse += (value - predicted) ** 2
        new_level = alpha * value + (1 - alpha) * predicted
        trend = beta * (new_level - level) + (1 - beta) * phi * trend
        level = new_level
    return level, trend, sse


def _grid(*axes: Sequence[float]) -> list[FloatArray]:
    import numpy as np  # off the start path: the first forecast loads it

    columns = list(zip(*product(*axes), strict=True))
    return [np.array(c, dtype=np.float64) for c in columns]


@cache
def _grids() -> tuple[list[FloatArray], list[FloatArray]]:
    """The parameter grids of `damped` and `holt_winters`, built on first use."""
    return (
        _grid(_ALPHAS, _BETAS, _PHIS),
        _grid(_HW_ALPHAS, _HW_BETAS, _HW_GAMMAS, _HW_PHIS),
    )


def damped(y: FloatArray, horizon: int) -> FloatArray:
    """Holt's damped trend, parameters by least one-step squared error on y (see module doc):
    ŷ(n+h) = ℓ(n) + (φ + … + φʰ) b(n)."""
    import numpy as np  # off the start path: the first forecast loads it

    if len(y) < 3:
        return drift(y, horizon)
    alpha, beta, phi = _grids()[0]
    level, trend, sse = holt_states(y, alpha, beta, phi)
    best = int(np.argmin(sse))
    out: FloatArray = level[best] + damped_sums(float(phi[best]), horizon) * trend[best]
    return out


def holt_winters_states(
    y: FloatArray,
    alpha: FloatArray,
    beta: FloatArray,
    gamma: FloatArray,
    phi: FloatArray,
    season: int = SEASON,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Additive Holt-Winters with a damped trend for each parameter set.

    Start: ℓ = mean of the first season, b = (mean of the second season − mean of the
    first) / season, s(i) = y(i) − ℓ for the first season's positions. From t = season on:
    ŷ(t) = ℓ + φ b + s(t − season),
    ℓ' = α (y(t) − s(t − season)) + (1 − α)(ℓ + φ b),
    b' = β (ℓ' − ℓ) + (1 − β) φ b,
    s(t) = γ (y(t) − ℓ − φ b) + (1 − γ) s(t − season).
    Returns level, trend, the last `season` seasonal terms (oldest first; one row per
    parameter set) and the sum of squared one-step errors.
    """
    import numpy as np  # off the start path: the first forecast loads it

    first = y[:season]
    level0 = float(first.mean())
    trend0 = (float(y[season : 2 * season].mean()) - level0) / season
    level = np.full(alpha.shape, level0)
    trend = np.full(alpha.shape, trend0)
    seasonal = np.tile(first - level0, (alpha.shape[0], 1))
    sse = np.zeros(alpha.shape)
    for t in range(season, len(y)):
        value = float(y[t])
        s_old = seasonal[:, t % season]
        base = level + phi * trend
        sse += (value - (base + s_old)) ** 2
        new_level = alpha * (value - s_old) + (1 - alpha) * base
        seasonal[:, t % season] = gamma * (value - base) + (1 - gamma) * s_old
        trend = beta * (new_level - level) + (1 - beta) * phi * trend
        level = new_level
    order = [(len(y) + k) % season for k in range(season)]
    return level, trend, seasonal[:, order], sse


def holt_winters(y: FloatArray, horizon: int, season: int = SEASON) -> FloatArray:
    """Additive damped Holt-Winters (see `holt_winters_states`), parameters from a grid:
    ŷ(n+h) = ℓ(n) + (φ + … + φʰ) b(n) + s(n + h − season·k)."""
    import numpy as np  # off the start path: the first forecast loads it

    if len(y) < 2 * season:
        return seasonal_naive(y, horizon, season)
    alpha, beta, gamma, phi = _grids()[1]
    level, trend, seasonal, sse = holt_winters_states(y, alpha, beta, gamma, phi, season)
    best = int(np.argmin(sse))
    steps = damped_sums(float(phi[best]), horizon)
    season_terms = np.array([seasonal[best, h % season] for h in range(horizon)])
    out: FloatArray = level[best] + steps * trend[best] + season_terms
    return out


Model = Callable[["FloatArray", int], "FloatArray"]

MODELS: dict[str, Model] = {
    "naive": naive,
    "seasonal_naive": seasonal_naive,
    "drift": drift,
    "damped": damped,
    "holt_winters": holt_winters,
}


def models_for(frequency: Frequency, length: int) -> tuple[str, ...]:
    """The candidate models: weekday seasons only for daily data, Holt-Winters with
    at least three seasons (two to start it, one to learn from)."""
    names = ["naive", "drift", "damped"]
    if frequency == "day":
        names.insert(1, "seasonal_naive")
        if length >= 3 * SEASON:
            names.append("holt_winters")
    return tuple(n for n in MODEL_ORDER if n in names)


# --------------------------------------------------------------------------- backtest


@dataclass(frozen=True, slots=True)
class Backtest:
    """Per model, the errors (actual − forecast) by step: errors[model][h − 1]."""

    errors: dict[str, list[list[float]]]
    actuals: list[float]
    forecasts: dict[str, list[float]]

    def mae(self, model: str) -> float:
        flat = [abs(e) for step in self.errors[model] for e in step]
        return sum(flat) / len(flat)

    def smape(self, model: str) -> float | None:
        terms = []
        for actual, predicted in zip(self.actuals, self.forecasts[model], strict=True):
            scale = abs(actual) + abs(predicted)
            if scale > 0:
                terms.append(2 * abs(actual - predicted) / scale)
        return sum(terms) / len(terms) * 100 if terms else None

    @property
    def count(self) -> int:
        first = next(iter(self.errors.values()))
        return sum(len(step) for step in first)


def backtest(
    y: FloatArray, horizon: int, models: Sequence[str], min_train: int, max_origins: int
) -> Backtest:
    """Rolling-origin backtest: fit on y[:t], forecast y[t : t + horizon] (see module doc)."""
    n = len(y)
    first_origin = max(min_train, n - max_origins)
    errors: dict[str, list[list[float]]] = {m: [[] for _ in range(horizon)] for m in models}
    forecasts: dict[str, list[float]] = {m: [] for m in models}
    actuals: list[float] = []
    for origin in range(first_origin, n):
        steps = min(horizon, n - origin)
        actual = y[origin : origin + steps]
        actuals.extend(float(a) for a in actual)
        for name in models:
            predicted = MODELS[name](y[:origin], steps)
            forecasts[name].extend(float(p) for p in predicted)
            for h in range(steps):
                errors[name][h].append(float(actual[h] - predicted[h]))
    return Backtest(errors, actuals, forecasts)


def error_band(errors: Sequence[Sequence[float]], horizon: int) -> tuple[list[float], list[float]]:
    """Per step, the (low, high) quantiles of the errors to add to a forecast (module doc)."""
    import numpy as np  # off the start path: the first forecast loads it

    lows: list[float] = []
    highs: list[float] = []
    anchor: tuple[int, float, float] | None = None
    for h in range(1, horizon + 1):
        step = errors[h - 1] if h - 1 < len(errors) else []
        if len(step) >= MIN_ERRORS:
            low, high = (float(q) for q in np.quantile(np.array(step), BAND_QUANTILES))
            anchor = (h, low, high)
        elif anchor is not None:
            h0, low0, high0 = anchor
            widen = math.sqrt(h / h0)
            low, high = low0 * widen, high0 * widen
        else:
            pooled = np.array([e for s in errors for e in s])
            low, high = (float(q) for q in np.quantile(pooled, BAND_QUANTILES))
        if lows:
            low, high = min(low, lows[-1]), max(high, highs[-1])
        lows.append(min(low, 0.0))
        highs.append(max(high, 0.0))
    return lows, highs


def history_weeks(length: int, frequency: Frequency) -> int:
    return length if frequency == "week" else length // SEASON


def forecast(
    series: Sequence[float | None],
    horizon: int,
    frequency: Frequency = "week",
    *,
    lower_bound: float | None = None,
    upper_bound: float | None = None,
) -> Forecast | NotEnoughHistory:
    """Forecast the next `horizon` steps of `series` (oldest first; None = no value).

    Only the trailing run of values without a gap is used: a model cannot bridge a
    missing week without inventing it. Needs `MIN_WEEKS` weeks of that run.
    `lower_bound`/`upper_bound` clip the forecast and the band (a count cannot go below 0,
    a rate not above 100 %).
    """
    import numpy as np  # off the start path: the first forecast loads it

    if horizon < 1:
        raise ValueError("horizon must be at least 1")
    run: list[float] = []
    for value in reversed(series):
        if value is None or not math.isfinite(value):
            break
        run.append(float(value))
    run.reverse()
    need = MIN_WEEKS
    have = history_weeks(len(run), frequency)
    if have < need:
        return NotEnoughHistory(have, need, frequency)
    y = np.array(run, dtype=np.float64)
    per_week = 1 if frequency == "week" else SEASON
    names = models_for(frequency, len(y))
    origins = MAX_ORIGINS if frequency == "week" else MAX_ORIGINS_DAILY
    test = backtest(y, horizon, names, MIN_TRAIN_WEEKS * per_week, origins)
    scores = {name: test.mae(name) for name in names}
    best = min(names, key=lambda m: (scores[m], MODEL_ORDER.index(m)))
    values = MODELS[best](y, horizon)
    lows, highs = error_band(test.errors[best], horizon)
    lower = values + np.array(lows)
    upper = values + np.array(highs)
    if lower_bound is not None or upper_bound is not None:
        values = np.clip(values, lower_bound, upper_bound)
        lower = np.clip(lower, lower_bound, upper_bound)
        upper = np.clip(upper, lower_bound, upper_bound)
    return Forecast(
        model=best,
        frequency=frequency,
        values=tuple(float(v) for v in values),
        lower=tuple(float(v) for v in lower),
        upper=tuple(float(v) for v in upper),
        mae=scores[best],
        smape=test.smape(best),
        naive_mae=scores["naive"],
        errors=test.count,
        history=len(y),
        scores=tuple((name, scores[name]) for name in names),
    )


__all__ = [
    "MIN_WEEKS",
    "MODELS",
    "Forecast",
    "NotEnoughHistory",
    "backtest",
    "damped",
    "damped_sums",
    "drift",
    "error_band",
    "forecast",
    "holt_states",
    "holt_winters",
    "holt_winters_states",
    "models_for",
    "naive",
    "seasonal_naive",
]
