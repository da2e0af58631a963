"""The campaigns report's pure parts: the intervals of two proportions (against published
values), the lift figures, the window parameter and the days the sources are read over."""

from __future__ import annotations

import math
from datetime import date

import pytest

from reports.campaigns import count_figures, lift_figures, parse_window, reach
from reports.proportions import difference_interval, ratio_interval, wilson_interval
from reports.query import Period, ReportError


def test_wilson_interval_matches_newcombe_1998():
    # Newcombe (1998), "Two-sided confidence intervals for the single proportion", table I:
    # 81/263 -> 0.2553 to 0.3662; 15/148 -> 0.0624 to 0.1605; 0/10 -> 0 to 0.2775.
    low, high = wilson_interval(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    low, high = wilson_interval(15, 148)
    assert (round(low, 4), round(high, 4)) == (0.0624, 0.1605)
    low, high = wilson_interval(0, 10)
    assert (round(low, 4), round(high, 4)) == (0.0, 0.2775)


def test_difference_interval_matches_newcombe_1998():
    # Newcombe (1998), "Interval estimation for the difference between independent
    # proportions", method 10: 56/70 - 48/80 -> 0.0524 to 0.3339; 9/10 - 3/10 -> 0.1705 to 0.8090.
    low, high = difference_interval(56, 70, 48, 80)
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)
    low, high = difference_interval(9, 10, 3, 10)
    assert (round(low, 4), round(high, 4)) == (0.1705, 0.8090)
    assert difference_interval(1, 0, 1, 10) is None


def test_ratio_interval_is_the_katz_log_interval():
    # 20/100 over 10/100: ratio 2, se of its log sqrt(1/20 - 1/100 + 1/10 - 1/100) = 0.3606,
    # 2 * exp(+-1.96 * 0.3606) = 0.9866 to 4.0545.
    low, high = ratio_interval(20, 100, 10, 100)
    assert (round(low, 4), round(high, 4)) == (0.9866, 4.0545)
    assert math.isclose(math.sqrt(low * high), 2.0)  # symmetric around the ratio in logs
    assert ratio_interval(0, 100, 10, 100) is None and ratio_interval(5, 100, 0, 100) is None


def test_lift_figures():
    got = lift_figures((100, 20), (50, 5))
    assert got["exposed_rate"] == 0.2 and got["holdout_rate"] == 0.1
    assert math.isclose(got["uplift"], 0.1) and math.isclose(got["lift"], 1.0)
    assert got["uplift_low"] < 0.1 < got["uplift_high"]
    assert got["lift_low"] < 1.0 < got["lift_high"]
    nobody_held_out = lift_figures((100, 20), (0, 0))
    assert nobody_held_out["holdout_rate"] is None and nobody_held_out["lift"] is None
    assert nobody_held_out["uplift_low"] is None
    no_holdout_orders = lift_figures((100, 20), (50, 0))
    assert no_holdout_orders["lift"] is None and no_holdout_orders["lift_low"] is None
    assert no_holdout_orders["uplift"] == 0.2 and no_holdout_orders["uplift_low"] is not None


def test_count_figures():
    assert count_figures((5, 4, 3, 1, 2)) == {
        "decisions": 5,
        "impressions": 4,
        "viewable": 3,
        "clicks": 1,
        "ctr": 0.25,
        "visitors": 2,
    }
    assert count_figures((5, 0, 0, 0, 0))["ctr"] is None


@pytest.mark.parametrize("text", ["0", "91", "-1", "7d", "", "1.5"])
def test_a_bad_window_is_refused(text):
    with pytest.raises(ReportError, match="window"):
        parse_window(text)


def test_reach_widens_the_period_up_to_today():
    period = Period(date(2025, 1, 10), date(2025, 1, 20))
    assert reach(period, 7, date(2025, 3, 1)) == Period(date(2025, 1, 3), date(2025, 1, 27))
    assert reach(period, 7, date(2025, 1, 22)) == Period(date(2025, 1, 3), date(2025, 1, 23))
    assert reach(period, 7, date(2025, 1, 12)).end == date(2025, 1, 20)  # never shorter
