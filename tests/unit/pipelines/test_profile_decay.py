"""Interest decay: halves per half-life, and sums do not depend on grouping or order."""

from __future__ import annotations

import random

import pytest

from pipelines.profiles import decay

DAY = 86_400_000
WEEK = 7 * DAY


def test_a_score_halves_every_half_life():
    assert decay.rescale({"books": 8.0}, 0, WEEK, WEEK) == {"books": 4.0}
    assert decay.rescale({"books": 8.0}, 0, 3 * WEEK, WEEK) == {"books": 1.0}
    assert decay.factor(5 * DAY, 5 * DAY, WEEK) == 1.0


def test_reading_before_the_reference_never_inflates():
    assert decay.rescale({"books": 2.0}, 10 * DAY, 9 * DAY, WEEK) == {"books": 2.0}


def test_scores_at_weights_every_category_of_a_contribution():
    scores = decay.scores_at([(0, 1.0, ["a", "a/b"]), (WEEK, 3.0, ["a"])], WEEK, WEEK)
    assert scores == {"a": 3.5, "a/b": 0.5}


def test_decades_apart_underflow_instead_of_overflowing():
    scores = decay.scores_at([(0, 1.0, ["old"]), (3650 * DAY, 1.0, ["new"])], 3650 * DAY, DAY)
    assert scores == {"old": 0.0, "new": 1.0}


def test_split_and_recombined_equals_whole_in_any_order():
    rng = random.Random(4)
    events = [(rng.randrange(0, 60 * DAY), rng.choice([0.25, 1.0, 3.0]), ["x"]) for _ in range(200)]
    whole_ref = max(t for t, _, _ in events)
    whole = decay.scores_at(events, whole_ref, WEEK)["x"]
    for _ in range(20):
        rng.shuffle(events)
        cut = rng.randrange(1, len(events))
        total = 0.0
        for part in (events[:cut], events[cut:]):
            ref = max(t for t, _, _ in part)
            total += decay.rescale(decay.scores_at(part, ref, WEEK), ref, whole_ref, WEEK)["x"]
        assert total == pytest.approx(whole, rel=1e-12)
