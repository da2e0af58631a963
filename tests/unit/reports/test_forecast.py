"""The sales forecast (reports/forecast.py) on synthetic series: it beats the seasonal naive
forecast on trend + weekly data, its interval covers most of what follows, and too little
history is a clear error."""

from __future__ import annotations

import math

import numpy as np
import pytest

from reports.forecast import (
    HORIZON,
    MIN_HISTORY,
    ForecastError,
    backtest,
    forecast,
    seasonal_naive,
)

WEEKLY = (1.0, 0.9, 0.95, 1.0, 1.2, 1.6, 1.3)


def planted(days: int, growth: float = 0.012, base: float = 40.0, seed: int = 3) -> list[float]:
    """Poisson daily orders with a planted daily growth and weekly rhythm."""
    rng = np.random.default_rng(seed)
    rates = [base * (1 + growth) ** d * WEEKLY[d % 7] for d in range(days)]
    return [float(v) for v in rng.poisson(rates)]


def test_seasonal_naive_repeats_the_last_week():
    history = [float(v) for v in range(1, 15)]
    assert seasonal_naive(history, 10) == (8, 9, 10, 11, 12, 13, 14, 8, 9, 10)


@pytest.mark.parametrize("seed", [1, 2])
def test_beats_seasonal_naive_on_trend_and_weekly_data(seed):
    result = backtest(planted(84, seed=seed))
    assert result.origins == 5 and result.days == 5 * HORIZON
    assert result.error_ratio < 0.85, result
    # nominal 95 %; the model's interval leaves out parameter uncertainty and the Poisson
    # noise growing with the level, so it covers less (docs/reports.md, "sales")
    assert result.coverage > 0.55, result


def test_forecast_follows_the_trend_and_the_week():
    history = planted(56)
    made = forecast(history)
    assert len(made.mean) == len(made.low) == len(made.high) == HORIZON
    assert all(lo <= m <= hi for lo, m, hi in zip(made.low, made.mean, made.high, strict=True))
    # day 56 is a Monday like day 0; Saturdays (index 5) are the busiest forecast days
    weeks = [made.mean[w * 7 : w * 7 + 7] for w in range(4)]
    assert all(max(range(7), key=week.__getitem__) == 5 for week in weeks)
    assert sum(weeks[3]) > sum(weeks[0])  # still growing
    assert sum(made.mean[:7]) > sum(history[-7:]) * 0.95


def test_too_little_history_is_an_error():
    with pytest.raises(ForecastError, match=f"at least {MIN_HISTORY}"):
        forecast(planted(MIN_HISTORY - 1))
    assert len(forecast(planted(MIN_HISTORY)).mean) == HORIZON


def test_constant_and_empty_sales():
    made = forecast([0.0] * 30)
    assert made.mean == made.low == made.high == (0.0,) * HORIZON
    with pytest.raises(ForecastError, match="negative"):
        forecast([1.0] * 15 + [-1.0] * 15)
    with pytest.raises(ForecastError, match="finite"):
        forecast([1.0] * 29 + [math.nan])


def test_sparse_sales_give_a_sane_forecast():
    values = [0.0] * 30
    values[3] = values[17] = 2.0
    made = forecast(values)
    assert all(math.isfinite(v) and v >= 0 for v in made.mean + made.low + made.high)
    assert max(made.mean) < 2.0 and max(made.high) < 10.0


@pytest.mark.parametrize("seed", [1, 2])
def test_beats_seasonal_naive_on_sparse_orders_and_their_revenue(seed):
    rng = np.random.default_rng(seed)
    orders = planted(84, base=1.0, seed=seed)
    revenue = [float(rng.lognormal(8.3, 0.8, size=int(n)).sum()) for n in orders]
    assert orders.count(0.0) > 5
    assert backtest(orders).error_ratio < 1.0
    assert backtest(revenue).error_ratio < 1.0


def test_backtest_needs_room_for_an_origin():
    with pytest.raises(ForecastError, match="back-test"):
        backtest(planted(40))
