"""Exponentially decayed interest scores.

A score is stored with the reference time it is valid at. One event of weight ``w`` at time
``t`` is worth ``w * 2 ** ((t - ref) / half_life)`` at ``ref``; moving a score to another
reference multiplies it by ``2 ** ((old_ref - new_ref) / half_life)``. Sums of such terms do not
depend on the order they were added in, so a rebuild from the event store equals the result of
incremental updates, and the stored value is decayed to ``now`` only when it is read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def factor(from_ms: int, to_ms: int, half_life_ms: int) -> float:
    """What a score valid at ``from_ms`` is multiplied by to be valid at ``to_ms``."""
    return float(2.0 ** ((from_ms - to_ms) / half_life_ms))


def scores_at(
    contributions: Iterable[tuple[int, float, Iterable[str]]], ref_ms: int, half_life_ms: int
) -> dict[str, float]:
    """Sum ``(time, weight, categories)`` contributions into scores valid at ``ref_ms``.

    ``ref_ms`` should be the latest contribution time: every factor is then at most 1, so no
    span of time overflows a float (an old event just underflows towards 0).
    """
    scores: dict[str, float] = {}
    for at_ms, weight, categories in contributions:
        value = weight * factor(at_ms, ref_ms, half_life_ms)
        for category in categories:
            scores[category] = scores.get(category, 0.0) + value
    return scores


def rescale(
    scores: Mapping[str, float], from_ms: int, to_ms: int, half_life_ms: int
) -> dict[str, float]:
    """The same scores valid at ``to_ms``. Reading at a ``to_ms`` before ``from_ms`` (a clock
    behind the events) returns them unchanged: a read never inflates interest."""
    if to_ms <= from_ms:
        return dict(scores)
    f = factor(from_ms, to_ms, half_life_ms)
    return {category: value * f for category, value in scores.items()}
