"""Daily sales forecasts: exponential smoothing with a weekly season, its prediction interval,
and the rolling-origin back-test against a seasonal-naive baseline. Pure: values in, values
out (no clock, no warehouse).

**Method.** statsmodels' ETS (``ETSModel``): additive error, additive **damped** trend and an
additive weekly season (period 7), fitted by maximum likelihood with Hyndman's heuristic
initial states, on the daily values themselves. The damped trend keeps a four-week forecast
from running away with a short-lived slope, and the original scale keeps a sparse series
(days without orders) sane: a log-scale model, tried first, beat this one on busy series
but extrapolated wildly on sparse ones (docs/reports.md, "sales"). The interval is the
model's analytic prediction interval (``level``, default 95 %); forecasts and bounds below 0
are 0.

**Back-test.** ``backtest`` makes a forecast from each origin (every ``step`` days once
``min_train`` days are known) for the next ``horizon`` days that are known, and compares its
absolute errors with those of the **seasonal naive** forecast (each day: the same weekday of
the last known week). ``error_ratio`` is the model's mean absolute error over every origin and
horizon divided by the seasonal naive's over the same days (below 1: better than naive; it
equals the ratio of the two MASE figures, whose scale cancels). ``coverage`` is the share of
those days whose actual value fell inside the interval.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

SEASON = 7  # days: the weekly rhythm
HORIZON = 28  # days forecast: four weeks
# The heuristic initial states need 10 + 2 * (SEASON // 2) = 16 days; three whole weeks.
MIN_HISTORY = 3 * SEASON
LEVEL = 0.95
METHOD = "ETS(A,Ad,A): damped trend, weekly season"


class ForecastError(ValueError):
    """No forecast can be made from this history (too short, or the fit failed); the
    message says why, for people."""


@dataclass(frozen=True)
class Forecast:
    mean: tuple[float, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]
    level: float
    method: str


def seasonal_naive(history: Sequence[float], horizon: int = HORIZON) -> tuple[float, ...]:
    """Each future day: the value of the same weekday in the last known week."""
    if len(history) < SEASON:
        raise ForecastError(f"seasonal naive needs {SEASON} days, got {len(history)}")
    last = list(history[-SEASON:])
    return tuple(float(last[h % SEASON]) for h in range(horizon))


def forecast(history: Sequence[float], horizon: int = HORIZON, level: float = LEVEL) -> Forecast:
    """The next ``horizon`` days after ``history`` (daily values, oldest first, no gaps:
    a day without sales is 0). Raises ``ForecastError``."""
    if len(history) < MIN_HISTORY:
        raise ForecastError(
            f"a forecast needs at least {MIN_HISTORY} closed days of history, got {len(history)}"
        )
    if any(value < 0 or not math.isfinite(value) for value in history):
        raise ForecastError("daily values must be finite and not negative")
    if len(set(history)) == 1:  # nothing to fit: the history is its own forecast
        flat = (float(history[0]),) * horizon
        return Forecast(flat, flat, flat, level, "constant history")
    import numpy as np
    import pandas as pd
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    values = pd.Series(np.asarray(history, dtype=float))
    n = len(history)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")  # convergence chatter: the result is checked below
            model = ETSModel(
                values,
                error="add",
                trend="add",
                damped_trend=True,
                seasonal="add",
                seasonal_periods=SEASON,
                initialization_method="heuristic",
            )
            fitted = model.fit(disp=False)
            frame = fitted.get_prediction(start=n, end=n + horizon - 1).summary_frame(
                alpha=1 - level
            )
    except Exception as exc:  # a fit that fails is a report without a forecast, never a 500
        raise ForecastError(f"the model could not be fitted: {exc}") from None
    mean, low, high = (frame[c].to_numpy() for c in ("mean", "pi_lower", "pi_upper"))
    if not (np.isfinite(mean).all() and np.isfinite(low).all() and np.isfinite(high).all()):
        raise ForecastError("the model's forecast is not finite")
    return Forecast(
        tuple(float(max(v, 0.0)) for v in mean),
        tuple(float(max(v, 0.0)) for v in low),
        tuple(float(max(v, 0.0)) for v in high),
        level,
        METHOD,
    )


@dataclass(frozen=True)
class Backtest:
    origins: int
    days: int  # forecast days compared (origins x horizon)
    model_mae: float
    naive_mae: float
    error_ratio: float  # model_mae / naive_mae: below 1 beats the seasonal naive
    coverage: float  # share of actual values inside the model's interval
    level: float


def backtest(
    series: Sequence[float],
    horizon: int = HORIZON,
    step: int = SEASON,
    min_train: int = 4 * SEASON,
    level: float = LEVEL,
) -> Backtest:
    """Rolling-origin back-test over ``series`` (see the module's text). Origins run from
    ``min_train`` in steps of ``step`` while ``horizon`` known days follow."""
    origins = list(range(max(min_train, MIN_HISTORY), len(series) - horizon + 1, step))
    if not origins:
        raise ForecastError(
            f"a back-test needs {max(min_train, MIN_HISTORY) + horizon} days, got {len(series)}"
        )
    model_errors: list[float] = []
    naive_errors: list[float] = []
    inside = 0
    for origin in origins:
        history, actual = series[:origin], series[origin : origin + horizon]
        made = forecast(history, horizon, level)
        naive = seasonal_naive(history, horizon)
        for day, value in enumerate(actual):
            model_errors.append(abs(made.mean[day] - value))
            naive_errors.append(abs(naive[day] - value))
            inside += made.low[day] <= value <= made.high[day]
    model_mae = math.fsum(model_errors) / len(model_errors)
    naive_mae = math.fsum(naive_errors) / len(naive_errors)
    return Backtest(
        origins=len(origins),
        days=len(model_errors),
        model_mae=model_mae,
        naive_mae=naive_mae,
        error_ratio=model_mae / naive_mae if naive_mae else math.inf,
        coverage=inside / len(model_errors),
        level=level,
    )
