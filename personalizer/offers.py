"""Which products to offer a visitor, and why. Pure: the catalog, popularity and co-views come
in (from memory and one profile-store round trip).

Sources, each with a reason the answer carries:

- ``co_viewed``: products other visitors viewed near what this visitor viewed lately (the most
  recent views weigh most);
- ``category_affinity``: the most popular products of the visitor's highest-interest categories;
- ``popular_in_region``: the most popular products in the visitor's country these days;
- ``trending``: products whose views rose most against the days before;
- ``fallback``: popular overall.

Never offered: what the visitor bought or is looking at, what is out of stock or not sold in
the visitor's country. At most ``per_category`` products of one top category, so the strip is
not all shoes. A visitor without history (or without consent) gets popular-in-region, then
popular overall.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from personalizer.catalog import Catalog
from pipelines.profiles.profile import Profile

# How much each source's best candidate is worth against the others'.
WEIGHTS = {
    "co_viewed": 1.0,
    "category_affinity": 0.8,
    "popular_in_region": 0.5,
    "trending": 0.4,
    "fallback": 0.2,
}
TOP_INTERESTS = 3
RECENT_VIEWS = 5


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
    per_category: int = 2,
    page_sku: str = "",
    use_history: bool = True,
) -> list[Offer]:
    """At most ``count`` offers, best first. ``coviews``: for each of the visitor's recent
    products, the products viewed near it with their counts. ``use_history=False`` (no
    consent, a cookieless id): geography and page context only."""
    scores: dict[str, tuple[float, str]] = {}

    def add(sku: str, score: float, reason: str) -> None:
        if score > scores.get(sku, (0.0, ""))[0]:
            scores[sku] = (score, reason)

    if use_history:
        for position, (sku, _) in enumerate(profile.recent_products[:RECENT_VIEWS]):
            near = coviews.get(sku, ())
            best = max((times for _, times in near), default=0)
            for other, times in near:
                add(other, WEIGHTS["co_viewed"] * (times / best) / (1 + position), "co_viewed")
        interests = _leaf_interests(profile.interests(now_ms))[:TOP_INTERESTS]
        top = interests[0][1] if interests else 0.0
        rank = {sku: i for i, sku in enumerate(popularity.overall)}
        for path, interest in interests:
            in_category = sorted(catalog.in_category(path), key=lambda s: rank.get(s, len(rank)))
            for i, sku in enumerate(in_category[: 4 * count]):
                add(
                    sku,
                    WEIGHTS["category_affinity"] * (interest / top) / (1 + i / 4),
                    "category_affinity",
                )
    for source, ranked in (
        ("popular_in_region", popularity.by_country.get(country.upper(), ())),
        ("trending", popularity.trending),
        ("fallback", popularity.overall),
    ):
        for i, sku in enumerate(ranked[: 4 * count]):
            add(sku, WEIGHTS[source] / (1 + i / 4), source)

    excluded = {page_sku} | ({sku for sku, _ in profile.purchased_items} if use_history else set())
    offers: list[Offer] = []
    per_top: dict[str, int] = {}
    for sku, (score, reason) in sorted(scores.items(), key=lambda item: (-item[1][0], item[0])):
        product = catalog.get(sku)
        if product is None or not product.available or sku in excluded:
            continue
        if country and not product.sold_in(country):
            continue
        top_category = product.top_category
        if top_category and per_top.get(top_category, 0) >= per_category:
            continue
        per_top[top_category] = per_top.get(top_category, 0) + 1
        offers.append(Offer(sku, reason, round(score, 6)))
        if len(offers) == count:
            break
    return offers


def _leaf_interests(interests: Mapping[str, float]) -> list[tuple[str, float]]:
    """The deepest scored paths (``Shoes/Running`` over ``Shoes``), highest first: a parent's
    score includes its children's, and its products are less precise."""
    paths = list(interests)
    leaves = [p for p in paths if not any(q.startswith(p + "/") for q in paths)]
    return sorted(((p, interests[p]) for p in leaves), key=lambda item: (-item[1], item[0]))
