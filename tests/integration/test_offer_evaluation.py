"""The offline evaluation holds the engine's state exactly as the pipeline builds it: the same
views through the profile sink (apply.lua in the real profile Redis) and read back through the
store give the profiles and co-views ``personalizer.evaluate`` makes in memory."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator

import pytest
import redis

from clicktrail.settings import Settings
from personalizer.evaluate import View, build_profiles, coview_counts, profile_row, top_coviews
from pipelines.profiles import ProfileConfig, ProfileSink, RedisProfileStore

pytestmark = pytest.mark.redis

T = 1_736_000_000_000
MINUTE = 60_000
CONFIG = ProfileConfig(ttl_ms=3 * 86_400_000)
CATEGORIES = ["Shoes/Running", "Shoes/Trail", "Books/Novels", "Garden"]


def redis_url() -> str:
    # database 14 keeps the tests' profiles away from a running engine's
    return Settings.from_env().profile_url.url.rsplit("/", 1)[0] + "/14"


@pytest.fixture
def site() -> Iterator[str]:
    client = redis.Redis.from_url(redis_url())
    name = f"t{uuid.uuid4().hex[:10]}"
    yield name
    ProfileSink(client, CONFIG).clear_site(name)
    client.close()


def views(seed: int) -> list[View]:
    """Visitors browsing a small shop in bursts (so views fall inside and outside the co-view
    window), with carts and purchases, in time order."""
    rng = random.Random(seed)
    products = {f"p{i}": CATEGORIES[i % len(CATEGORIES)] for i in range(30)}
    made = []
    for v in range(25):
        at = T + rng.randrange(0, 600) * MINUTE
        for _ in range(rng.randrange(1, 25)):
            at += rng.choice([1, 2, 5, 20, 45, 300]) * MINUTE  # some beyond the 30-min window
            sku = rng.choice(list(products))
            kind = rng.choices(["product_view", "add_to_cart", "purchase"], [0.85, 0.1, 0.05])[0]
            made.append(View(f"v{v}", sku, products[sku], at, kind))
    return sorted(made, key=lambda view: view.time_ms)


def test_in_memory_profiles_and_co_views_equal_the_pipelines(site):
    made = views(7)
    sink = ProfileSink.from_url(redis_url(), CONFIG)
    # one record per row, in log order, as a rebuild sends them
    sink.apply([(None, [profile_row(view, site)]) for view in made])
    expected = build_profiles(made, CONFIG)
    counts = coview_counts(made, CONFIG)
    now = made[-1].time_ms + MINUTE
    with RedisProfileStore.from_url(redis_url(), read_timeout_ms=5000) as store:
        stored = store.get_many(site, expected)
        skus = sorted({view.sku for view in made})
        stored_coviews = store.coviews_many(site, skus, limit=20)
    assert len(expected) == 25
    for visitor, profile in expected.items():
        got = stored[visitor]
        assert got.events == profile.events
        assert got.recent_products == profile.recent_products
        assert got.purchased_items == profile.purchased_items
        assert got.recent_categories == profile.recent_categories
        assert got.interests(now) == pytest.approx(profile.interests(now), rel=1e-9)
    pairs = 0
    for sku in skus:
        assert [tuple(c) for c in stored_coviews[sku]] == top_coviews(counts, sku, 20), sku
        pairs += len(stored_coviews[sku])
    assert pairs > 50  # the data really made pairs
