"""Confidence intervals of two proportions (the campaigns report's lift). Pure.

- ``difference_interval``: Newcombe's hybrid score interval for ``p1 - p2`` (Newcombe 1998,
  method 10: from the two Wilson score intervals, without continuity correction). It stays
  inside [-1, 1] and behaves with small counts and rates near 0, where the Wald interval does
  not.
- ``ratio_interval``: the Katz log interval for ``p1 / p2`` (the normal approximation of
  ``ln(p1 / p2)``); undefined (``None``) when either count is 0.

No statistics library is a dependency of the project (``statistics.NormalDist`` gives the
normal quantile); both are short closed formulas, checked against published values in
``tests/unit/reports/test_campaigns.py``.
"""

from __future__ import annotations

import math
from statistics import NormalDist

CONFIDENCE = 0.95


def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_interval(count: int, total: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The Wilson score interval of ``count / total`` (``total`` > 0)."""
    z = _z(confidence)
    p = count / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def difference_interval(
    count1: int, total1: int, count2: int, total2: int, confidence: float = CONFIDENCE
) -> tuple[float, float] | None:
    """Newcombe's interval of ``count1/total1 - count2/total2``; ``None`` if a total is 0."""
    if total1 <= 0 or total2 <= 0:
        return None
    p1, p2 = count1 / total1, count2 / total2
    low1, high1 = wilson_interval(count1, total1, confidence)
    low2, high2 = wilson_interval(count2, total2, confidence)
    difference = p1 - p2
    return (
        difference - math.sqrt((p1 - low1) ** 2 + (high2 - p2) ** 2),
        difference + math.sqrt((high1 - p1) ** 2 + (p2 - low2) ** 2),
    )


def ratio_interval(
    count1: int, total1: int, count2: int, total2: int, confidence: float = CONFIDENCE
) -> tuple[float, float] | None:
    """The Katz log interval of ``(count1/total1) / (count2/total2)``; ``None`` when a count
    or a total is 0 (the log of 0 has no interval)."""
    if min(count1, total1, count2, total2) <= 0:
        return None
    ratio = (count1 / total1) / (count2 / total2)
    spread = _z(confidence) * math.sqrt(1 / count1 - 1 / total1 + 1 / count2 - 1 / total2)
    return ratio * math.exp(-spread), ratio * math.exp(spread)
