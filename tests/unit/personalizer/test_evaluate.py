"""The offline offer evaluation: metrics by hand, the time split, the engine's state rebuilt in
memory, and a whole evaluation small enough to follow."""

from __future__ import annotations

import math

import pytest

from personalizer.evaluate import (
    Evaluation,
    Scores,
    View,
    build_profiles,
    coview_counts,
    evaluate,
    hit_rank,
    interest_recovery,
    ndcg,
    popularity_until,
    time_split,
    top_coviews,
)
from pipelines.profiles.config import DAY_MS, MINUTE_MS, ProfileConfig

T = 1_736_000_000_000


def view(visitor: str, sku: str, category: str, minutes: float, kind: str = "product_view"):
    return View(visitor, sku, category, T + round(minutes * MINUTE_MS), kind)


# --- metrics ---------------------------------------------------------------------------------


def test_hit_rank_and_ndcg_by_hand():
    ranked = ["a", "b", "c", "d"]
    assert hit_rank(ranked, "a", 3) == 1
    assert hit_rank(ranked, "c", 3) == 3
    assert hit_rank(ranked, "d", 3) is None  # beyond k
    assert hit_rank(ranked, "z", 10) is None
    assert ndcg(1) == 1.0
    assert ndcg(2) == pytest.approx(1 / math.log2(3))  # 0.6309
    assert ndcg(3) == 0.5
    assert ndcg(None) == 0.0


def test_scores_average_over_the_cases():
    scores = Scores()
    for rank in (1, None, 3, None):
        scores.add(rank)
    assert scores.cases == 4 and scores.hits == 2
    assert scores.hit_rate == 0.5
    assert scores.ndcg == pytest.approx((1 + 0 + 0.5 + 0) / 4)
    assert Scores().hit_rate == 0.0 and Scores().ndcg == 0.0


def test_the_ratio_to_popularity():
    evaluation = Evaluation(10, T, 0, 0, 0)
    evaluation.offers.add(1)
    evaluation.offers.add(2)
    evaluation.popularity.add(None)
    evaluation.popularity.add(5)
    assert evaluation.ratio == 2.0
    assert evaluation.figures()["HR@10 ratio to popularity"] == 2.0
    never = Evaluation(10, T, 0, 0, 0)
    never.offers.add(1)
    never.popularity.add(None)
    assert never.ratio == math.inf
    assert Evaluation(10, T, 0, 0, 0).ratio == 0.0


# --- the split -------------------------------------------------------------------------------


def test_the_time_split_cuts_held_out_sessions_at_pauses():
    views = [
        view("v", "b", "A", 31),  # given out of order: sorted by time
        view("v", "a", "A", 0),
        view("v", "c", "A", 60),  # the split
        view("v", "d", "A", 89),  # 29 minutes later: the same session
        view("v", "e", "A", 120),  # 31 minutes later: a new one
        view("w", "f", "B", 70, "purchase"),
    ]
    split = time_split(views, T + 60 * MINUTE_MS)
    assert [v.sku for v in split.train] == ["a", "b"]
    assert [[v.sku for v in s] for s in split.held_out["v"]] == [["c", "d"], ["e"]]
    assert [[v.sku for v in s] for s in split.held_out["w"]] == [["f"]]


# --- the engine's state ----------------------------------------------------------------------


def test_profiles_decay_interests_and_keep_recent_products_and_purchases():
    config = ProfileConfig(half_life_ms=DAY_MS, recent_products=2, coview_neighbours=2)
    day = 24 * 60
    views = [
        view("v", "r1", "Shoes/Running", 0),
        view("v", "r2", "Shoes/Running", day),
        view("v", "b1", "Books", day, "purchase"),
        view("v", "r1", "Shoes/Running", day + 1),
        view("w", "b2", "Books", 5),
    ]
    profiles = build_profiles(views, config)
    profile = profiles["v"]
    scores = profile.interests(T + (day + 1) * MINUTE_MS)
    # a view weighs 1, a purchase 2; the first view is a half-life older
    assert scores["Shoes"] == pytest.approx(0.5 * 2 ** (-1 / day) + 1 * 2 ** (-1 / day) + 1)
    assert scores["Books"] == pytest.approx(2 * 2 ** (-1 / day))
    assert [sku for sku, _ in profile.recent_products] == ["r1", "r2"]  # newest, at most 2
    assert [sku for sku, _ in profile.purchased_items] == ["b1"]
    assert profile.events == 4 and profiles["w"].events == 1


def test_co_views_pair_within_the_window_with_at_most_the_neighbours():
    config = ProfileConfig(coview_window_ms=30 * MINUTE_MS, coview_neighbours=2)
    views = [
        view("v", "a", "X", 0),
        view("v", "b", "X", 1),
        view("v", "c", "X", 2),  # pairs with b and a
        view("v", "d", "X", 3),  # pairs with c and b only: two neighbours
        view("v", "c", "X", 4),  # viewed again within the window: no pair
        view("v", "e", "X", 60),  # the others are out of the window
        view("w", "a", "X", 0),
        view("w", "b", "X", 1),
        view("w", "x", "X", 1, "add_to_cart"),  # only views pair
    ]
    counts = coview_counts(views, config)
    assert dict(counts["a"]) == {"b": 2, "c": 1}
    assert dict(counts["b"]) == {"a": 2, "c": 1, "d": 1}
    assert dict(counts["d"]) == {"c": 1, "b": 1}
    assert "e" not in counts and "x" not in counts
    # most times first, equal times in reverse code-point order (as ZREVRANGE)
    assert top_coviews(counts, "b", 2) == [("a", 2), ("d", 1)]
    assert top_coviews(counts, "nothing", 5) == []


def test_popularity_counts_distinct_visitors_in_the_window():
    until = T + 20 * DAY_MS
    views = [
        View("v", "a", "X", until - 1000),
        View("v", "a", "X", until - 2000),  # one visitor, twice: counts once
        View("w", "b", "X", until - 3000),
        View("x", "b", "X", until - 4000),
        View("y", "c", "X", until - 15 * DAY_MS),  # before the 14 days
        View("z", "d", "X", until),  # at the split: not the past
    ]
    popularity = popularity_until(views, until)
    assert popularity.overall == ("b", "a")


# --- a whole evaluation ----------------------------------------------------------------------


def test_a_small_evaluation_by_hand():
    """Everyone likes the shoes ``s1`` > ``s2``; the books ``b1`` > ``b2`` > ``b3`` are
    niche. Visitor ``v`` reads books: offered the books, they find ``b3`` (and then ``b2``);
    the most popular products (shoes first) miss both."""
    past = [view(f"p{i}", "s1", "Shoes", i) for i in range(6)]
    past += [view(f"p{i}", "s2", "Shoes", 10 + i) for i in range(5)]
    past += [view(f"q{i}", "b1", "Books", 20 + i) for i in range(3)]
    past += [view(f"q{i}", "b2", "Books", 30 + i) for i in range(2)]
    past += [view("q0", "b3", "Books", 40)]
    past += [view("v", "b1", "Books", 50)]
    split_at = T + 100 * MINUTE_MS
    held = [view("v", "b3", "Books", 200), view("v", "b2", "Books", 201)]
    held += [view("n", "s1", "Shoes", 300)]  # a new visitor: popularity for both
    result = evaluate(past + held, split_at, k=3, per_category=3)
    # popularity: s1 (6 visitors), s2 (5), b1 (4), b2 (2), b3 (1)
    # v at b3, no page yet: the books by popularity b1, b2, b3 -> b3 at 3
    # v at b2, on the page of b3: b1, b2, then popular s1 -> b2 at 2
    # n at s1: no history, popular overall first -> s1 at 1
    assert result.offers.cases == 3
    assert result.offers.hits == 3
    assert result.offers.ndcg == pytest.approx((0.5 + 1 / math.log2(3) + 1) / 3)
    assert result.popularity.hits == 1  # s1, s2, b1: only s1
    assert result.popularity.ndcg == pytest.approx(1 / 3)
    assert result.figures()["HR@3 ratio to popularity"] == 3.0
    assert result.sessions == 2 and result.visitors == 2
    assert result.reasons == {"category_affinity": 2, "fallback": 1}
    # v came back (a past before the split); n is new
    assert (result.returning.cases, result.returning.hits) == (2, 2)
    assert result.returning_popularity.hits == 0
    assert result.figures()["HR@3 ratio to popularity, returning visitors"] == math.inf
    # the endpoint's default: at most 2 books in a strip of 3, so b3 is never offered
    capped = evaluate(past + held, split_at, k=3)
    assert capped.offers.hits == 2
    assert capped.offers.ndcg == pytest.approx((0 + 1 / math.log2(3) + 1) / 3)


def test_interest_recovery_counts_visitors_with_enough_views():
    views = [view("v", f"b{i}", "Books/Novels", i) for i in range(4)]
    views += [view("v", "s1", "Shoes", 10)]
    views += [view("w", f"s{i}", "Shoes", i) for i in range(3)]
    views += [view("w", f"b{i}", "Books", 10 + i) for i in range(2)]
    views += [view("x", "s1", "Shoes", 0)]  # too few views
    planted = {"v": {"Books"}, "w": {"Books"}, "x": {"Shoes"}}
    recovery = interest_recovery(views, planted)
    assert (recovery.visitors, recovery.recovered) == (2, 1)
    assert recovery.share == 0.5
