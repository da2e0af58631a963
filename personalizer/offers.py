"""Which products to offer a visitor, and why. Pure: the catalog, popularity and co-views come
in (from memory and one profile-store round trip).

Sources, each with a reason the answer carries:

- ``co_viewed``: products other visitors viewed near what this visitor viewed lately, each
  scored by its share of the recent product's co-views (how likely it is viewed next after
  it; ``COVIEW_SUPPORT`` is added to the total, so a few pairs make no sure successor),
  times that product's seed weight;
- ``category_affinity``: the most popular products of the top categories the visitor wants
  now: their long-run (decayed) interests, plus the categories of the products viewed last;
- ``popular_in_region``: the most popular products in the visitor's country these days;
- ``trending``: products whose views rose most against the days before;
- ``fallback``: popular overall.

The products viewed last are the seeds of both: the latest weighs most (``SEED_DECAY``), and a
view of the current visit (``SESSION_MS``) ``SESSION_BOOST`` times more than one of an earlier
visit, since people shop for one thing at a time.

Never offered: what the visitor bought or is looking at, what is out of stock or not sold in
the visitor's country. At most ``per_category`` products of one top category (by default 40 %
of the strip, at least 2), so the strip is not all shoes. A visitor without history (or without
consent) gets popular-in-region, then popular overall, then trending.

``make bench-quality`` measures the ranking on simulated traffic (``personalizer.evaluate``).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from personalizer.catalog import CATEGORY_SEPARATOR, Catalog
from pipelines.profiles.profile import Profile

# How much each source's best candidate is worth against the others'. The sources without
# history only fill what the visitor's own history leaves; without history, popular in the
# region comes first, then popular overall, then trending (a rise of a few visitors is a
# weaker guess than what many visitors chose).
WEIGHTS = {
    # a co-view's score is a probability (its share of the seed's co-views), the affinity's
    # a category's share of what the visitor wants: a co-viewed product beats the category's
    # best only when most visitors went on to it (make bench-quality, docs/benchmarks.md)
    "co_viewed": 0.5,
    "category_affinity": 1.0,
    "popular_in_region": 0.1,
    "fallback": 0.05,
    "trending": 0.03,
}
TOP_INTERESTS = 4  # top categories offered from
RECENT_VIEWS = 5
COVIEWS_PER_PRODUCT = 20  # co-viewed products the decision service reads per recent product
# What the categories of the products viewed last weigh against the long-run (decayed)
# interests when choosing categories: people shop for one thing at a time.
RECENT_SHARE = 1.0
# Co-views added to a product's total before sharing it out: a product seen with another
# only a few times has no sure successor (a pair seen once out of one is not a certainty).
COVIEW_SUPPORT = 10
# The seed weight of the n-th product viewed last (0 the latest) is 1 / (1 + n) ** SEED_DECAY,
# times SESSION_BOOST when it was viewed within SESSION_MS of now (the current visit); the
# seeds' weights are then scaled to sum to 1.
SEED_DECAY = 2.0
SESSION_BOOST = 5.0
SESSION_MS = 30 * 60 * 1000  # as the snippet cuts sessions
# At most this share of the strip from one top category (and at least 2 products).
CATEGORY_SHARE = 0.4


@dataclass(frozen=True)
class Offer:
    sku: str
    reason: str
    score: float


@dataclass(frozen=True)
class Popularity:
    """Ranked skus (most popular first), as last computed from the warehouse."""

    overall: Sequence[str] = ()
    by_country: Mapping[str, Sequence[str]] = field(default_factory=dict)
    trending: Sequence[str] = ()
    computed_at_ms: int = 0


def rank_offers(
    profile: Profile,
    country: str,
    catalog: Catalog,
    popularity: Popularity,
    coviews: Mapping[str, Sequence[tuple[str, int]]],
    now_ms: int,
    count: int = 6,
    per_category: int | None = None,
    page_sku: str = "",
    use_history: bool = True,
) -> list[Offer]:
    """At most ``count`` offers, best first. ``coviews``: for each of the visitor's recent
    products, the products viewed near it with their counts. ``per_category``: most offers of
    one top category (default ``category_cap(count)``). ``use_history=False`` (no consent, a
    cookieless id): geography and page context only.

    A product's score is the best any source gives it (the first source on a tie). The
    sources without history are the same for every visitor of a country: merged once per
    (catalog, popularity, country, count) (``region_candidates``); per visitor only the
    history's candidates are scored, each source's already in order, and the runs merged
    until the strip is full (no sort of every candidate)."""
    cap = category_cap(count) if per_category is None else per_category
    # Each source's candidates as a run sorted best first, (-score, sku, source order,
    # reason); merged lazily, the first time a product comes up is its best score (the
    # first source on a tie), and the merge stops once the strip is full.
    runs: list[Iterable[tuple[float, str, int, str]]] = []
    if use_history:
        seeds = seed_weights(profile, now_ms)
        for sku, seed in seeds:
            near = coviews.get(sku, ())
            if near:
                runs.append(_coviewed(near, seed, len(runs)))
        wanted = category_weights(profile, catalog, now_ms, seeds)[:TOP_INTERESTS]
        popular = catalog.ranked_by_top_category(popularity.overall) if wanted else {}
        for category, share in wanted:
            # Its best items: the popular ones (an unranked one is no better a guess); with no
            # popularity yet (a new site), the catalog's own order.
            chosen = popular.get(category, []) if popular else catalog.in_category(category)
            runs.append(_affinity(chosen[: 4 * count], share, len(runs)))
    runs.append(region_candidates(catalog, popularity, country, count))

    excluded = {page_sku}
    if use_history:
        excluded.update(sku for sku, _ in profile.purchased_items)
    offers: list[Offer] = []
    per_top: dict[str, int] = {}
    top_of = catalog.top_of
    by_sku = catalog.by_sku
    seen: set[str] = set()
    for negative, sku, _, reason in heapq.merge(*runs) if len(runs) > 1 else runs[0]:
        if sku in seen:
            continue  # a lower score of a product already taken or refused
        seen.add(sku)
        product = by_sku.get(sku)
        if product is None or not product.available or sku in excluded:
            continue
        if country and not product.sold_in(country):
            continue
        top_category = top_of[sku]
        if top_category and per_top.get(top_category, 0) >= cap:
            continue
        per_top[top_category] = per_top.get(top_category, 0) + 1
        offers.append(Offer(sku, reason, round(-negative, 6)))
        if len(offers) == count:
            break
    return offers


def _coviewed(
    near: Sequence[tuple[str, int]], seed: float, order: int
) -> Iterator[tuple[float, str, int, str]]:
    """The products viewed near a recent product whose seed weight is ``seed``, best first,
    scored as they are pulled (the merge pulls few): ``seed`` times the product's share of the
    recent one's co-views (``near``: the most frequent, with their counts)."""
    ranked = sorted(near, key=_MOST_TIMES_FIRST)  # equal counts by sku, as the merge wants
    weight = WEIGHTS["co_viewed"] * seed / (sum(times for _, times in ranked) + COVIEW_SUPPORT)
    for other, times in ranked:
        score = weight * times
        if score <= 0:
            return
        yield (-score, other, order, "co_viewed")


def _affinity(
    chosen: Sequence[str], share: float, order: int
) -> Iterator[tuple[float, str, int, str]]:
    weight = WEIGHTS["category_affinity"]
    if weight * share <= 0:
        return
    for i, sku in enumerate(chosen):
        yield (-(weight * share / (1 + i / 4)), sku, order, "category_affinity")


def _MOST_TIMES_FIRST(pair: tuple[str, int]) -> tuple[int, str]:
    return (-pair[1], pair[0])


_NO_HISTORY_SOURCES = ("popular_in_region", "trending", "fallback")
_AFTER_HISTORY = 1 << 30  # their source order: after every source of the visitor's history
_REGION_MEMO_SIZE = 1024
_region_memo: dict[tuple[int, int, str, int], tuple[Catalog, Popularity, list]] = {}


def region_candidates(
    catalog: Catalog, popularity: Popularity, country: str, count: int
) -> list[tuple[float, str, int, str]]:
    """The candidates of the sources without history for a strip of ``count`` in
    ``country``: popular in the region, trending, popular overall (the first ``4 * count`` of
    each), each product once with its best score and that source, as ``rank_offers`` would
    score them one by one, best first as (-score, sku, ``_AFTER_HISTORY``, source); products
    never offered there (unknown, out of stock, not sold in the country) left out. Computed
    once per (catalog, popularity, country, count): popularity is replaced every few
    minutes, the catalog at its next change."""
    key = (id(catalog), id(popularity), country, count)
    memo = _region_memo.get(key)
    if memo is not None and memo[0] is catalog and memo[1] is popularity:
        return memo[2]
    best: dict[str, tuple[float, str]] = {}
    for source, ranked in zip(
        _NO_HISTORY_SOURCES,
        (popularity.by_country.get(country.upper(), ()), popularity.trending, popularity.overall),
        strict=True,
    ):
        weight = WEIGHTS[source]
        for i, sku in enumerate(ranked[: 4 * count]):
            score = weight / (1 + i / 4)
            old = best.get(sku)
            if score > (old[0] if old is not None else 0.0):
                best[sku] = (score, source)
    found = []
    for sku, (score, reason) in best.items():
        product = catalog.get(sku)
        if product is None or not product.available:
            continue
        if country and not product.sold_in(country):
            continue
        found.append((-score, sku, _AFTER_HISTORY, reason))
    found.sort()
    if len(_region_memo) >= _REGION_MEMO_SIZE:
        _region_memo.clear()
    _region_memo[key] = (catalog, popularity, found)
    return found


def category_cap(count: int) -> int:
    """Most offers of one top category in a strip of ``count``: ``CATEGORY_SHARE`` of it, at
    least 2 (4 of 10, 2 of 4)."""
    return max(2, int(count * CATEGORY_SHARE))


def seed_weights(profile: Profile, now_ms: int) -> list[tuple[str, float]]:
    """The products viewed last (``RECENT_VIEWS``, the latest first) with their weights as
    seeds of the offers, summing to 1 (see ``SEED_DECAY``)."""
    seeds = []
    for position, (sku, at_ms) in enumerate(profile.recent_products[:RECENT_VIEWS]):
        weight = 1 / (1 + position) ** SEED_DECAY
        if now_ms - at_ms <= SESSION_MS:
            weight *= SESSION_BOOST
        seeds.append((sku, weight))
    total = sum(weight for _, weight in seeds)
    return [(sku, weight / total) for sku, weight in seeds]


def category_weights(
    profile: Profile,
    catalog: Catalog,
    now_ms: int,
    seeds: Sequence[tuple[str, float]] | None = None,
) -> list[tuple[str, float]]:
    """Top categories by how much the visitor wants them now, highest first (ties by name),
    weights at most 1: the share of the long-run interest (decayed scores of the top-level
    paths), plus ``RECENT_SHARE`` times the seeds' weights of each category (``seeds``: the
    products viewed last with their weights, by default ``seed_weights``)."""
    interests = {p: v for p, v in profile.interests(now_ms).items() if CATEGORY_SEPARATOR not in p}
    total = sum(interests.values())
    weights = {path: value / total for path, value in interests.items()} if total > 0 else {}
    top_of = catalog.top_of
    for sku, seed in seed_weights(profile, now_ms) if seeds is None else seeds:
        top = top_of.get(sku)
        if top:
            weights[top] = weights.get(top, 0.0) + RECENT_SHARE * seed
    ranked = sorted(weights.items(), key=lambda item: (-item[1], item[0]))
    return [(path, value / (1 + RECENT_SHARE)) for path, value in ranked]
