"""How good the offers are, measured offline on a stream of product views. Pure: views in,
figures out.

The protocol (``evaluate``):

1. **Time split.** Events before ``at_ms`` are the past; after it, each visitor's events are
   cut into sessions (a pause of more than ``SESSION_GAP_MS`` starts a new one): the held-out
   sessions.
2. **The engine's state, as the pipeline would have built it.** A visitor's profile is made by
   the pipeline's own aggregation (``pipelines.profiles.aggregate``: decayed interests, recent
   products, purchases) from every event of theirs before the moment scored; co-view counts
   follow the pairing rule of the profile script (``apply.lua``) over the past; popularity and
   trending are ranked over the past as ``personalizer.popularity`` ranks them (frozen at the
   split, as a refresh would leave them).
3. **Next item.** At each product view of a held-out session, the offers ``rank_offers`` (the
   decision endpoint's ranking, ``count=k``) would have shown just before it (on the previous
   product's page, or with no page at a session's start) are scored against the product
   viewed: hit rate@k and NDCG@k, beside the same scores of the ``k`` most popular products
   (the baseline). A view of the product whose page the visitor is on is not scored: no strip
   offers the page's own product.

``interest_recovery`` scores profiles against planted interests (the simulator's personas).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import Any

from personalizer.catalog import CATEGORY_SEPARATOR, Catalog, Product
from personalizer.offers import COVIEWS_PER_PRODUCT, RECENT_VIEWS, Offer, Popularity, rank_offers
from personalizer.popularity import TRENDING_DAYS, rank_trending
from pipelines.profiles import recency
from pipelines.profiles.aggregate import aggregate
from pipelines.profiles.config import DAY_MS, ProfileConfig
from pipelines.profiles.profile import Profile

SESSION_GAP_MS = 30 * 60 * 1000  # as the snippet and the simulator cut sessions
KINDS = ("product_view", "add_to_cart", "purchase")
POPULARITY_DAYS = 14  # PopularityCache's default window
POPULARITY_LIMIT = 200  # PopularityCache's default ranking length
_SITE = "eval"


@dataclass(frozen=True)
class View:
    """One product event of a visitor: ``category`` is the product's path (``Shoes/Running``);
    ``kind`` one of ``KINDS`` (only product views are held-out targets)."""

    visitor: str
    sku: str
    category: str
    time_ms: int
    kind: str = "product_view"


@dataclass(frozen=True)
class Split:
    at_ms: int
    train: list[View]  # before at_ms, in time order
    held_out: dict[str, list[list[View]]]  # visitor -> sessions after at_ms, in time order


def time_split(views: Iterable[View], at_ms: int, gap_ms: int = SESSION_GAP_MS) -> Split:
    """The views before ``at_ms``, and each visitor's views from ``at_ms`` on cut into
    sessions at pauses longer than ``gap_ms``."""
    ordered = sorted(views, key=lambda v: v.time_ms)  # stable: equal times keep their order
    train = [v for v in ordered if v.time_ms < at_ms]
    held_out: dict[str, list[list[View]]] = {}
    for view in ordered:
        if view.time_ms < at_ms:
            continue
        sessions = held_out.setdefault(view.visitor, [])
        if not sessions or view.time_ms - sessions[-1][-1].time_ms > gap_ms:
            sessions.append([])
        sessions[-1].append(view)
    return Split(at_ms, train, held_out)


# --- the past, as the engine would hold it ----------------------------------------------------


def profile_row(view: View, site_id: str = _SITE) -> dict[str, Any]:
    """The view as the pipeline's enriched row (the columns profiles read)."""
    row: dict[str, Any] = {
        "site_id": site_id,
        "visitor_id": view.visitor,
        "created_ms": view.time_ms,
        "event_type": view.kind,
        "sku": view.sku,
        "category": view.category.split(CATEGORY_SEPARATOR) if view.category else [],
    }
    if view.kind == "purchase":  # a purchase names its items, not a category of its own
        row.update(category=[], item_skus=[view.sku], item_categories=[view.category])
    return row


def build_profiles(views: Iterable[View], config: ProfileConfig) -> dict[str, Profile]:
    """Each visitor's profile from their events (in time order), through the pipeline's
    aggregation; the fields a one-batch update stores, trimmed as the profile script trims."""
    rows = [profile_row(view) for view in sorted(views, key=lambda v: v.time_ms)]
    profiles: dict[str, Profile] = {}
    for delta in aggregate([(None, rows)], config):
        # Without identity links a visitor's rows make one segment.
        (segment,) = delta.segments
        part = segment.fragment
        scores = sorted(part.scores.items(), key=lambda item: (-item[1], item[0]))
        profiles[delta.visitor_id] = Profile(
            key=f"{_SITE}:v:{delta.visitor_id}",
            first_seen_ms=part.first_ms,
            last_seen_ms=part.last_ms,
            events=part.events,
            visits=len(part.sessions),
            purchases=len(part.orders),
            recent_products=tuple(recency.merge([part.views], config.recent_products)),
            recent_categories=tuple(part.categories),
            purchased_items=tuple(part.purchased),
            scores=dict(scores[: config.scored_categories]),
            scores_ref_ms=part.last_ms,
            half_life_ms=config.half_life_ms,
        )
    return profiles


Coviews = dict[str, Counter[str]]


def coview_counts(views: Iterable[View], config: ProfileConfig) -> Coviews:
    """Products viewed near each product, with how many times, paired as the profile script
    pairs a visitor's views: a view pairs with at most ``coview_neighbours`` other products
    the visitor viewed in the ``coview_window_ms`` before it (newest first), and a product
    viewed again within the window pairs with nothing. (The script's trimming of a product's
    list to its ``coview_kept`` most frequent is left out: it drops only the rarest pairs.)"""
    counts: Coviews = defaultdict(Counter)
    recent: dict[str, list[tuple[str, int]]] = {}  # visitor -> (sku, ms) newest first
    window = config.coview_window_ms
    for view in sorted(views, key=lambda v: v.time_ms):
        if view.kind != "product_view":
            continue
        history = recent.get(view.visitor, [])
        sku, at = view.sku, view.time_ms
        own = next((item for item in history if item[0] == sku), None)
        if own is None or own[1] < at - window:
            paired = 0
            for other, seen_at in history:
                if paired >= config.coview_neighbours or seen_at < at - window:
                    break
                if other != sku and seen_at <= at:
                    counts[sku][other] += 1
                    counts[other][sku] += 1
                    paired += 1
        recent[view.visitor] = recency.merge([history, [(sku, at)]], config.recent_products)
    return counts


def top_coviews(counts: Coviews, sku: str, limit: int) -> list[tuple[str, int]]:
    """As ``ProfileStore.coviews`` answers: most times first, equal times in reverse code-point
    order of the sku (a sorted set read in reverse)."""
    near = counts.get(sku)
    if not near:
        return []
    ranked = sorted(near.items(), key=lambda item: (item[1], item[0]), reverse=True)
    return ranked[:limit]


class _CoviewReader:
    """``top_coviews`` of frozen counts, each product's list sorted once."""

    def __init__(self, counts: Coviews, limit: int) -> None:
        self._counts = counts
        self._limit = limit
        self._read: dict[str, list[tuple[str, int]]] = {}

    def __call__(self, sku: str) -> list[tuple[str, int]]:
        if sku not in self._read:
            self._read[sku] = top_coviews(self._counts, sku, self._limit)
        return self._read[sku]


def popularity_until(
    views: Iterable[View],
    until_ms: int,
    days: int = POPULARITY_DAYS,
    limit: int = POPULARITY_LIMIT,
) -> Popularity:
    """Popularity and trending as ``personalizer.popularity.compute`` ranks them, over the
    ``days`` before ``until_ms``: products by distinct visitors (then units bought, then
    views, then sku); trending by the last day's visitors against the days before it."""
    since, last_day, week = (
        until_ms - days * DAY_MS,
        until_ms - DAY_MS,
        until_ms - TRENDING_DAYS * DAY_MS,
    )
    visitors: dict[str, set[str]] = defaultdict(set)
    units: Counter[str] = Counter()
    views_of: Counter[str] = Counter()
    recent: dict[str, set[str]] = defaultdict(set)
    before: dict[str, set[str]] = defaultdict(set)
    for view in views:
        if not since <= view.time_ms < until_ms:
            continue
        visitors[view.sku].add(view.visitor)
        units[view.sku] += view.kind == "purchase"
        views_of[view.sku] += view.kind == "product_view"
        if view.kind == "product_view" and view.time_ms >= week:
            (recent if view.time_ms >= last_day else before)[view.sku].add(view.visitor)
    overall = sorted(
        visitors, key=lambda sku: (-len(visitors[sku]), -units[sku], -views_of[sku], sku)
    )[:limit]
    counts = [(sku, len(recent[sku]), len(before[sku])) for sku in recent.keys() | before.keys()]
    return Popularity(
        overall=tuple(overall),
        trending=tuple(rank_trending(counts, limit)),
        computed_at_ms=until_ms,
    )


def catalog_of(views: Iterable[View]) -> Catalog:
    """Every product the views name, available and sold everywhere (the category of its first
    view)."""
    products: dict[str, Product] = {}
    for view in views:
        if view.sku not in products:
            products[view.sku] = Product(
                sku=view.sku,
                title=view.sku,
                category=view.category,
                url="https://catalog.invalid/product",
            )
    return Catalog(products.values())


# --- metrics ----------------------------------------------------------------------------------


def hit_rank(ranked: Sequence[str], target: str, k: int) -> int | None:
    """The 1-based position of ``target`` among the first ``k``, or None."""
    for position, sku in enumerate(ranked[:k], start=1):
        if sku == target:
            return position
    return None


def ndcg(rank: int | None) -> float:
    """NDCG of one relevant item found at ``rank`` (1-based): the ideal puts it first."""
    return 0.0 if rank is None else 1.0 / math.log2(rank + 1)


@dataclass
class Scores:
    """Hit rate and NDCG over the cases scored so far."""

    cases: int = 0
    hits: int = 0
    gain: float = 0.0

    def add(self, rank: int | None) -> None:
        self.cases += 1
        self.hits += rank is not None
        self.gain += ndcg(rank)

    @property
    def hit_rate(self) -> float:
        return self.hits / self.cases if self.cases else 0.0

    @property
    def ndcg(self) -> float:
        return self.gain / self.cases if self.cases else 0.0


@dataclass
class Evaluation:
    k: int
    at_ms: int
    train_views: int
    visitors: int  # visitors with a held-out session
    sessions: int  # held-out sessions
    offers: Scores = field(default_factory=Scores)
    popularity: Scores = field(default_factory=Scores)
    reasons: Counter[str] = field(default_factory=Counter)  # reasons of the offers that hit
    # the same, only for visitors with events before the split (returning visitors)
    returning: Scores = field(default_factory=Scores)
    returning_popularity: Scores = field(default_factory=Scores)

    @property
    def ratio(self) -> float:
        """Hit rate of the offers over the baseline's (``inf`` when the baseline never hit)."""
        return _ratio(self.offers, self.popularity)

    def figures(self) -> dict[str, float]:
        k = self.k
        return {
            f"HR@{k}": self.offers.hit_rate,
            f"HR@{k} popularity": self.popularity.hit_rate,
            f"HR@{k} ratio to popularity": self.ratio,
            f"NDCG@{k}": self.offers.ndcg,
            f"NDCG@{k} popularity": self.popularity.ndcg,
            f"HR@{k} ratio to popularity, returning visitors": _ratio(
                self.returning, self.returning_popularity
            ),
            "held-out views scored": self.offers.cases,
            "held-out views of returning visitors": self.returning.cases,
            "held-out sessions": self.sessions,
            "visitors evaluated": self.visitors,
            "train views": self.train_views,
        }


def _ratio(offers: Scores, popularity: Scores) -> float:
    if not popularity.hit_rate:
        return math.inf if offers.hit_rate else 0.0
    return offers.hit_rate / popularity.hit_rate


def evaluate(
    views: Iterable[View],
    at_ms: int,
    k: int = 10,
    per_category: int | None = None,
    config: ProfileConfig | None = None,
) -> Evaluation:
    """Score the offers on the sessions after ``at_ms`` (see the module's docstring).
    ``per_category``: at most that many offers of one top category (``None``: the decision
    endpoint's default for ``k`` offers)."""
    config = config or ProfileConfig()
    views = list(views)
    split = time_split(views, at_ms)
    coviews = _CoviewReader(coview_counts(split.train, config), COVIEWS_PER_PRODUCT)
    popularity = popularity_until(split.train, at_ms)
    catalog = catalog_of(views)
    baseline = list(popularity.overall[:k])
    past: dict[str, list[View]] = defaultdict(list)
    for view in split.train:
        past[view.visitor].append(view)
    sessions = sum(len(held) for held in split.held_out.values())
    result = Evaluation(k, at_ms, len(split.train), len(split.held_out), sessions)
    for visitor, held in sorted(split.held_out.items()):
        history = past[visitor]
        returning = bool(history)
        for session in held:
            page = ""  # the product page the visitor is on; none when a session starts
            for view in session:
                if view.kind == "product_view" and view.sku != page:
                    profile = build_profiles(history, config).get(visitor, Profile())
                    offers = _offers(
                        profile, catalog, popularity, coviews, view, page, k, per_category
                    )
                    rank = hit_rank([offer.sku for offer in offers], view.sku, k)
                    result.offers.add(rank)
                    if rank is not None:
                        result.reasons[offers[rank - 1].reason] += 1
                    popular_rank = hit_rank(baseline, view.sku, k)
                    result.popularity.add(popular_rank)
                    if returning:
                        result.returning.add(rank)
                        result.returning_popularity.add(popular_rank)
                history.append(view)
                if view.kind == "product_view":
                    page = view.sku
    return result


def _offers(
    profile: Profile,
    catalog: Catalog,
    popularity: Popularity,
    coviews: _CoviewReader,
    view: View,
    page: str,
    k: int,
    per_category: int | None = None,
) -> list[Offer]:
    recent = [sku for sku, _ in profile.recent_products[:RECENT_VIEWS]]
    near = {sku: coviews(sku) for sku in recent}
    return rank_offers(
        profile,
        "",
        catalog,
        popularity,
        near,
        view.time_ms,
        count=k,
        page_sku=page,
        per_category=per_category,
    )


# --- interests ----------------------------------------------------------------------------------


def top_interest(profile: Profile, now_ms: int) -> str:
    """The top-level category the profile is most interested in, or ""."""
    tops = {path: score for path, score in profile.interests(now_ms).items() if "/" not in path}
    return min(tops, key=lambda path: (-tops[path], path)) if tops else ""


@dataclass(frozen=True)
class Recovery:
    visitors: int  # with at least min_views product views and planted interests
    recovered: int

    @property
    def share(self) -> float:
        return self.recovered / self.visitors if self.visitors else 0.0


def interest_recovery(
    views: Iterable[View],
    planted: Mapping[str, Set[str]],
    config: ProfileConfig | None = None,
    min_views: int = 5,
) -> Recovery:
    """Among visitors with at least ``min_views`` product views and an entry in ``planted``
    (visitor -> top-level categories), how many profiles' top interest (at their last event)
    is one of them."""
    views = list(views)
    counts = Counter(view.visitor for view in views if view.kind == "product_view")
    profiles = build_profiles(views, config or ProfileConfig())
    visitors = recovered = 0
    for visitor, profile in profiles.items():
        if counts[visitor] < min_views or visitor not in planted:
            continue
        visitors += 1
        recovered += top_interest(profile, profile.last_seen_ms) in planted[visitor]
    return Recovery(visitors, recovered)
