"""Bounded newest-first lists: latest time per item, ties by name, merge order-free."""

from __future__ import annotations

import random

from pipelines.profiles import recency


def test_newest_first_bounded_and_each_item_keeps_its_latest_time():
    latest: dict[str, int] = {}
    for name, at in [("a", 1), ("b", 2), ("a", 5), ("c", 3), ("a", 4), ("d", 0)]:
        recency.note(latest, name, at)
    assert recency.newest(latest, 3) == [("a", 5), ("c", 3), ("b", 2)]


def test_equal_times_are_ordered_by_code_point():
    assert recency.newest({"é": 1, "z": 1, "A": 1}, 3) == [("A", 1), ("z", 1), ("é", 1)]


def test_merging_bounded_lists_equals_bounding_the_union_whatever_the_grouping():
    rng = random.Random(9)
    for _ in range(200):
        items = [(rng.choice("abcdefghij"), rng.randrange(20)) for _ in range(rng.randrange(1, 30))]
        limit = rng.randrange(1, 6)
        whole = recency.merge([items], limit)
        rng.shuffle(items)
        cuts = sorted(rng.sample(range(len(items) + 1), 2))
        parts = [items[: cuts[0]], items[cuts[0] : cuts[1]], items[cuts[1] :]]
        bounded = [recency.merge([part], limit) for part in parts]
        rng.shuffle(bounded)
        assert recency.merge(bounded, limit) == whole
        left = recency.merge([recency.merge(bounded[:2], limit)], limit)
        assert recency.merge([left, bounded[2]], limit) == whole
