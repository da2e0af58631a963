from __future__ import annotations

import pytest

from personalizer.catalog import Catalog, Product
from personalizer.offers import (
    Popularity,
    category_cap,
    category_weights,
    rank_offers,
    seed_weights,
)
from pipelines.profiles.profile import Profile

NOW = 1_780_000_000_000
DAY = 86_400_000


def product(sku: str, category: str, **fields) -> Product:
    return Product(
        sku=sku, title=sku, category=category, url=f"https://s.example.test/{sku}", **fields
    )


CATALOG = Catalog(
    [
        product("run1", "Shoes/Running"),
        product("run2", "Shoes/Running"),
        product("run3", "Shoes/Running"),
        product("trail1", "Shoes/Trail"),
        product("book1", "Books"),
        product("book2", "Books"),
        product("tent1", "Outdoor/Tents", regions=frozenset({"DE"})),
        product("gone", "Books", available=False),
        product("hat1", "Hats"),
    ]
)
POPULARITY = Popularity(
    overall=("book1", "hat1", "run3", "book2", "gone"),
    by_country={"DE": ("tent1", "book2"), "FR": ("tent1", "hat1")},
    trending=("trail1",),
)


def offers(profile=None, country="DE", coviews=None, **kwargs):
    profile = profile or Profile()
    return rank_offers(profile, country, CATALOG, POPULARITY, coviews or {}, NOW, **kwargs)


def test_a_visitor_without_history_gets_the_regions_favourites_then_overall():
    result = offers(count=4)
    assert [o.sku for o in result][:2] == ["tent1", "book2"]
    assert result[0].reason == "popular_in_region"
    assert {o.reason for o in result} <= {"popular_in_region", "trending", "fallback"}


def test_co_views_and_interests_come_first_with_their_reasons():
    profile = Profile(
        key="shop:v:v1",
        events=10,
        recent_products=(("run1", NOW - DAY),),
        scores={"Shoes": 3.0, "Shoes/Running": 3.0},
        scores_ref_ms=NOW,
        half_life_ms=7 * DAY,
    )
    result = offers(profile, coviews={"run1": [("trail1", 40), ("hat1", 2)]}, count=5)
    # a pair many visitors made stands beside the best of the visitor's category
    assert [(o.sku, o.reason) for o in result[:2]] == [
        ("run3", "category_affinity"),
        ("trail1", "co_viewed"),
    ]
    reasons = {o.sku: o.reason for o in result}
    assert reasons["run3"] == "category_affinity" or reasons.get("run2") == "category_affinity"


def test_never_bought_out_of_stock_elsewhere_or_on_the_page():
    profile = Profile(
        key="shop:v:v1",
        events=3,
        purchased_items=(("book1", NOW),),
        recent_products=(("run1", NOW),),
    )
    skus = [o.sku for o in offers(profile, country="FR", page_sku="hat1", count=10)]
    assert "book1" not in skus  # bought
    assert "gone" not in skus  # out of stock
    assert "tent1" not in skus  # sold in DE only
    assert "hat1" not in skus  # on the page


def test_at_most_k_per_top_category():
    profile = Profile(
        key="shop:v:v1",
        events=5,
        scores={"Shoes/Running": 5.0, "Shoes": 5.0},
        scores_ref_ms=NOW,
        half_life_ms=7 * DAY,
    )
    result = offers(profile, count=10, per_category=2)
    tops = [CATALOG.get(o.sku).top_category for o in result]
    assert tops.count("Shoes") == 2


def test_without_history_allowed_the_profile_is_ignored():
    profile = Profile(key="shop:v:v1", events=5, recent_products=(("run1", NOW),))
    result = offers(profile, coviews={"run1": [("trail1", 9)]}, use_history=False)
    assert all(o.reason != "co_viewed" for o in result)


def test_a_pair_seen_once_counts_less_than_the_visitors_own_category():
    profile = Profile(
        key="shop:v:v1",
        events=10,
        recent_products=(("run1", NOW - DAY),),
        scores={"Shoes": 3.0, "Shoes/Running": 3.0},
        scores_ref_ms=NOW,
        half_life_ms=7 * DAY,
    )
    result = offers(profile, coviews={"run1": [("hat1", 1)]}, count=5)
    assert result[0].reason == "category_affinity"
    assert [o.sku for o in result].index("hat1") > [o.sku for o in result].index("run3")


def test_the_categories_viewed_last_weigh_beside_the_long_run_interests():
    profile = Profile(
        key="shop:v:v1",
        events=10,
        recent_products=(("book2", NOW - 1000), ("run1", NOW - DAY)),
        scores={"Shoes": 9.0, "Shoes/Running": 9.0, "Books": 1.0},
        scores_ref_ms=NOW,
        half_life_ms=7 * DAY,
    )
    weights = dict(category_weights(profile, CATALOG, NOW))
    # long run: Shoes 0.9, Books 0.1; seeds: book2 latest and in this visit (1 * 5), run1
    # second and a day ago (1 / 2 ** 2): Books 5 / 5.25, Shoes 0.25 / 5.25; halved
    assert weights["Shoes"] == pytest.approx((0.9 + 0.25 / 5.25) / 2)
    assert weights["Books"] == pytest.approx((0.1 + 5 / 5.25) / 2)
    assert [path for path, _ in category_weights(profile, CATALOG, NOW)] == ["Books", "Shoes"]
    # a day later neither view is of the current visit: the long run leads again
    later = dict(category_weights(profile, CATALOG, NOW + DAY))
    assert later["Shoes"] > later["Books"]
    assert category_weights(Profile(), CATALOG, NOW) == []


def test_seeds_weigh_the_latest_and_the_current_visit_most():
    profile = Profile(
        key="shop:v:v1",
        events=3,
        recent_products=(("a", NOW - 60_000), ("b", NOW - 120_000), ("c", NOW - DAY)),
    )
    seeds = dict(seed_weights(profile, NOW))
    assert sum(seeds.values()) == pytest.approx(1.0)
    assert seeds["a"] > seeds["b"] > seeds["c"]
    # a and b in this visit (x5), c from an earlier one: 5 : 5/4 : 1/9
    assert seeds["b"] / seeds["c"] == pytest.approx((5 / 4) / (1 / 9))
    assert seed_weights(Profile(), NOW) == []


def test_a_co_view_scores_by_its_share_of_the_products_co_views():
    profile = Profile(key="shop:v:v1", events=1, recent_products=(("run1", NOW),))
    # the same count is a sure successor of a product seen with little else, and a weak
    # one of a product seen with many others
    sure = offers(profile, coviews={"run1": [("trail1", 40)]}, count=3)
    diluted = offers(profile, coviews={"run1": [("trail1", 40), ("hat1", 400)]}, count=8)
    score = {o.sku: o.score for o in sure}
    assert score["trail1"] == pytest.approx(0.5 * 40 / (40 + 10), abs=1e-6)
    assert {o.sku: o.score for o in diluted}["trail1"] == pytest.approx(0.5 * 40 / 450, abs=1e-6)


def test_unranked_products_are_not_offered_as_a_categorys_best():
    profile = Profile(
        key="shop:v:v1",
        events=5,
        scores={"Shoes/Running": 5.0, "Shoes": 5.0},
        scores_ref_ms=NOW,
        half_life_ms=7 * DAY,
    )
    result = offers(profile, count=10)
    affinity = [o.sku for o in result if o.reason == "category_affinity"]
    assert affinity == ["run3"]  # the only shoe with a popularity rank
    unranked = rank_offers(profile, "DE", CATALOG, Popularity(), {}, NOW, count=3)
    assert {o.sku for o in unranked} <= {"run1", "run2", "run3", "trail1"}  # a new site


def test_without_history_popular_overall_comes_before_trending():
    result = offers(country="US", count=4)
    assert [o.reason for o in result] == ["fallback", "fallback", "fallback", "trending"]


def test_the_category_cap_grows_with_the_strip():
    assert [category_cap(n) for n in (1, 4, 6, 10, 20)] == [2, 2, 2, 4, 8]
