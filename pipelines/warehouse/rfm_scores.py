"""RFM scores and named segments of customers. Pure.

A customer's **recency** is the number of days from their last purchase to the day the
scores are as of (0: bought that day), **frequency** their purchases and **monetary** their
revenue in minor units, over the RFM window (docs/reports.md, "rfm").

Each is scored 1 to 5 by **quintile of the customers' ranks**, ties sharing a score: a value's
score is ``1 + floor(5 * below / n)`` where ``below`` counts the customers with a worse value
(a lower frequency or revenue; a longer recency) and ``n`` all customers. With five distinct
values each gets its own score; when 70 % of customers bought once, they all score 1 in
frequency and the next value scores 4.

The segment is read from the recency and frequency scores by the common R x F grid (the map
used by most RFM write-ups), its two bottom-left cells split into ``hibernating`` (R 2) and
``lost`` (R 1). Monetary is scored and reported, not used for the segment.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

# (segment, recency scores, frequency scores): the R x F grid, every cell named once.
SEGMENT_GRID: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...] = (
    ("champions", (5,), (4, 5)),
    ("loyal", (3, 4), (4, 5)),
    ("potential_loyalist", (4, 5), (2, 3)),
    ("new", (5,), (1,)),
    ("promising", (4,), (1,)),
    ("need_attention", (3,), (3,)),
    ("about_to_sleep", (3,), (1, 2)),
    ("at_risk", (1, 2), (3, 4)),
    ("cant_lose", (1, 2), (5,)),
    ("hibernating", (2,), (1, 2)),
    ("lost", (1,), (1, 2)),
)
SEGMENTS: tuple[str, ...] = tuple(name for name, _, _ in SEGMENT_GRID)
_CELLS = {(r, f): name for name, rs, fs in SEGMENT_GRID for r in rs for f in fs}


def segment_of(recency_score: int, frequency_score: int) -> str:
    """The segment of an R score and an F score (each 1 to 5)."""
    try:
        return _CELLS[recency_score, frequency_score]
    except KeyError:
        raise ValueError(f"scores are 1 to 5, got R {recency_score}, F {frequency_score}") from None


def quintile_scores(values: Sequence[float], higher_is_better: bool = True) -> list[int]:
    """Each value's score 1 to 5: ``1 + floor(5 * worse / n)``, ``worse`` being how many
    values are worse than it (lower when ``higher_is_better``, else higher). Equal values
    score the same."""
    ordered = sorted(values)
    n = len(ordered)
    if higher_is_better:
        return [1 + 5 * bisect_left(ordered, value) // n for value in values]
    return [1 + 5 * (n - bisect_right(ordered, value)) // n for value in values]


@dataclass(frozen=True)
class Customer:
    key: str  # the user id, or the visitor id of a customer who never identified
    recency_days: int
    orders: int
    revenue: int  # minor units


@dataclass(frozen=True)
class Scored:
    customer: Customer
    r: int
    f: int
    m: int
    segment: str


def score_customers(customers: Sequence[Customer]) -> list[Scored]:
    """R, F and M scores and the segment of every customer, in the order given."""
    r = quintile_scores([c.recency_days for c in customers], higher_is_better=False)
    f = quintile_scores([c.orders for c in customers])
    m = quintile_scores([c.revenue for c in customers])
    return [Scored(c, r[i], f[i], m[i], segment_of(r[i], f[i])) for i, c in enumerate(customers)]
