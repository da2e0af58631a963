"""Popularity and trending, computed from the warehouse every few minutes and served from
memory.

Why a periodic job in the serving process and not a pipeline step: popularity is a ranking over
days of events, not a per-event update; a few exact queries every ``refresh_seconds`` cost the
warehouse little, and every personalizer process has the answer in memory without another
store. While the warehouse is away, the last ranking stays in force (and is reported stale).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import date

from personalizer.offers import Popularity
from pipelines.warehouse.base import WarehouseError, WarehouseUnavailable
from pipelines.warehouse.named import NamedQuery
from pipelines.warehouse.queries import DayRange, popular_products
from pipelines.warehouse.reader import EventStore

log = logging.getLogger("clicktrail.personalizer")

_PRODUCT_EVENTS = "event_type IN ('product_view', 'add_to_cart', 'purchase') AND sku != ''"
_DAYS = "day >= toDate(%(start)s) AND day < toDate(%(end)s)"

POPULAR_BY_COUNTRY = NamedQuery(
    "popular_by_country",
    "SELECT country, sku, uniqExact(visitor_id) AS visitors"
    " FROM {events}"
    f" WHERE site_id = %(site_id)s AND {_DAYS} AND is_bot = 0 AND {_PRODUCT_EVENTS}"
    " AND country != ''"
    " GROUP BY country, sku"
    " ORDER BY country, visitors DESC, sku"
    " LIMIT %(limit)s BY country",
    params={"site_id": str, "start": date, "end": date, "limit": int},
)

# Visitors who viewed a product on the last day against the days before it: what is rising
# (visitors, not views: one visitor reloading a page is no trend).
VIEWS_RECENT_AND_BEFORE = NamedQuery(
    "views_recent_and_before",
    "SELECT sku, uniqExactIf(visitor_id, day >= toDate(%(recent)s)) AS recent,"
    " uniqExactIf(visitor_id, day < toDate(%(recent)s)) AS before"
    " FROM {events}"
    f" WHERE site_id = %(site_id)s AND {_DAYS} AND is_bot = 0"
    " AND event_type = 'product_view' AND sku != ''"
    " GROUP BY sku",
    params={"site_id": str, "start": date, "end": date, "recent": date},
)


def compute(store: EventStore, site_id: str, days: int, limit: int, today: date) -> Popularity:
    """Exact rankings over the ``days`` UTC days up to ``today``."""
    span = DayRange.last(days, today)
    by_country: dict[str, list[str]] = {}
    for country, sku, _ in store.run(
        POPULAR_BY_COUNTRY, site_id=site_id, start=span.start, end=span.end, limit=limit
    ).rows:
        by_country.setdefault(country, []).append(sku)
    overall = [product.sku for product in popular_products(store, site_id, span, limit)]
    week = DayRange.last(TRENDING_DAYS, today)
    counts = store.run(
        VIEWS_RECENT_AND_BEFORE, site_id=site_id, start=week.start, end=week.end, recent=today
    ).rows
    return Popularity(
        overall=tuple(overall),
        by_country={country: tuple(skus) for country, skus in by_country.items()},
        trending=tuple(rank_trending(counts, limit)),
        computed_at_ms=int(time.time() * 1000),
    )


# Trending compares the last day's visitors of a product with the days before it in a week.
TRENDING_DAYS = 7
TRENDING_MIN_VISITORS = 3  # a few views on the last day are noise, not a trend


def rank_trending(counts: Iterable[tuple[str, int, int]], limit: int) -> list[str]:
    """Skus by how their visitors on the last day rose against the (``TRENDING_DAYS`` - 1)
    days before, from ``(sku, visitors on the last day, visitors before)``; pure, so the
    offline evaluation ranks trending exactly as the service does."""
    rising = []
    for sku, recent, before in counts:
        if recent >= TRENDING_MIN_VISITORS:
            rising.append(((recent + 1) / (before / (TRENDING_DAYS - 1) + 1), sku))
    return [sku for _, sku in sorted(rising, key=lambda item: (-item[0], item[1]))[:limit]]


class PopularityCache:
    """Per site, the last computed ``Popularity``; a stale one is recomputed in a background
    thread, so no request waits for the warehouse (the first request of a site gets an empty
    ranking, and the offers fall back to what else they have)."""

    def __init__(
        self,
        store: EventStore,
        refresh_seconds: float = 300.0,
        days: int = 14,
        limit: int = 200,
        clock: Callable[[], float] = time.monotonic,
        today: Callable[[], date] = lambda: DayRange.last(1).start,
    ) -> None:
        self._store = store
        self._refresh = refresh_seconds
        self._days = days
        self._limit = limit
        self._clock = clock
        self._today = today
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, Popularity]] = {}
        self._running: set[str] = set()

    def get(self, site_id: str) -> Popularity:
        entry = self._entries.get(site_id)
        if entry is None or self._clock() - entry[0] >= self._refresh:
            self._start(site_id)
        return entry[1] if entry is not None else Popularity()

    def refresh_now(self, site_id: str) -> Popularity:
        """Compute in this thread (tools, tests, the first load at start)."""
        popularity = compute(self._store, site_id, self._days, self._limit, self._today())
        self._entries[site_id] = (self._clock(), popularity)
        return popularity

    def _start(self, site_id: str) -> None:
        with self._lock:
            if site_id in self._running:
                return
            self._running.add(site_id)
        threading.Thread(target=self._run, args=(site_id,), daemon=True).start()

    def _run(self, site_id: str) -> None:
        try:
            self.refresh_now(site_id)
        except (WarehouseUnavailable, WarehouseError) as exc:
            log.warning("popularity of %s not refreshed, keeping the last: %s", site_id, exc)
            entry = self._entries.get(site_id)
            if entry is not None:  # try again after another period, not on every request
                self._entries[site_id] = (self._clock(), entry[1])
        finally:
            with self._lock:
                self._running.discard(site_id)
