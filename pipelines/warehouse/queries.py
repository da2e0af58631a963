"""The named reads the product needs, each a query and a small typed function over it.

Days are UTC ``day`` values of the device creation time (the sort key's second column, so a
site and a day range read a prefix of the key). Reads are exact (``FINAL``): a replayed event
counts once. Bots (``is_bot = 1``) are left out of counts.

At report scale these raw reads are the current day only; closed days come from rollups (see
docs/warehouse.md). The personalizer's popularity reads a few days of one site.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from pipelines.warehouse.named import NamedQuery
from pipelines.warehouse.reader import EventStore

_DAYS = "day >= toDate(%(start)s) AND day < toDate(%(end)s)"


@dataclass(frozen=True)
class DayRange:
    """UTC days from ``start`` up to, not including, ``end``."""

    start: date
    end: date

    @classmethod
    def last(cls, days: int, today: date | None = None) -> DayRange:
        """The ``days`` days ending with ``today`` (default: the current UTC day)."""
        if days < 1:
            raise ValueError(f"a range of at least one day, got {days}")
        today = today or datetime.now(UTC).date()
        return cls(today - timedelta(days=days - 1), today + timedelta(days=1))


# --- popular products -----------------------------------------------------------------------

POPULAR_PRODUCTS = NamedQuery(
    "popular_products",
    # One pass: a purchase fans out to its items (with their quantities), a view or cart
    # counts its own sku once. Ranked by distinct visitors, so one visitor reloading a page
    # cannot make a product popular. (``item`` is not renamed ``sku``: on 18.16 an alias is
    # global, and would replace the ``sku`` column inside the ARRAY JOIN.)
    "SELECT item,"
    " uniqExact(visitor_id) AS visitors,"
    " countIf(event_type = 'product_view') AS views,"
    " countIf(event_type = 'add_to_cart') AS carts,"
    " sumIf(quantity_of_item, event_type = 'purchase') AS units"
    " FROM {events}"
    " ARRAY JOIN"
    " if(event_type = 'purchase', item_skus, [sku]) AS item,"
    " if(event_type = 'purchase', item_quantities, [toUInt32(1)]) AS quantity_of_item"
    f" WHERE site_id = %(site_id)s AND {_DAYS} AND is_bot = 0"
    " AND event_type IN ('product_view', 'add_to_cart', 'purchase') AND item != ''"
    " GROUP BY item"
    " ORDER BY visitors DESC, units DESC, views DESC, item"
    " LIMIT %(limit)s",
    params={"site_id": str, "start": date, "end": date, "limit": int},
)


@dataclass(frozen=True)
class ProductPopularity:
    sku: str
    visitors: int  # distinct visitors who viewed, carted or bought it
    views: int
    carts: int
    units: int  # quantities bought


def popular_products(
    store: EventStore, site_id: str, days: DayRange, limit: int = 20
) -> list[ProductPopularity]:
    """The ``limit`` products of ``site_id`` that most visitors viewed, carted or bought in
    ``days``, most popular first. Raises what ``EventStore.run`` raises."""
    result = store.run(
        POPULAR_PRODUCTS, site_id=site_id, start=days.start, end=days.end, limit=limit
    )
    return [ProductPopularity(*row) for row in result.rows]


# --- events per day -------------------------------------------------------------------------

DAILY_EVENTS = NamedQuery(
    "daily_events",
    "SELECT day,"
    " count() AS events,"
    " uniqExact(visitor_id) AS visitors,"
    " countIf(event_type = 'page_view') AS page_views"
    " FROM {events}"
    f" WHERE site_id = %(site_id)s AND {_DAYS} AND is_bot = 0"
    " GROUP BY day ORDER BY day",
    params={"site_id": str, "start": date, "end": date},
)


@dataclass(frozen=True)
class DailyEvents:
    day: date
    events: int
    visitors: int
    page_views: int


def daily_events(store: EventStore, site_id: str, days: DayRange) -> list[DailyEvents]:
    """Per UTC day of ``days`` that has events: counts for ``site_id``, in day order (days
    without events are absent). Raises what ``EventStore.run`` raises."""
    result = store.run(DAILY_EVENTS, site_id=site_id, start=days.start, end=days.end)
    return [DailyEvents(*row) for row in result.rows]


# --- one visitor's timeline -----------------------------------------------------------------

VISITOR_TIMELINE = NamedQuery(
    "visitor_timeline",
    "SELECT created_ms, event_type, event_id, sku, url"
    " FROM {events}"
    f" WHERE site_id = %(site_id)s AND visitor_id = %(visitor_id)s AND {_DAYS}"
    " ORDER BY created_ms, event_id"
    " LIMIT %(limit)s",
    params={"site_id": str, "visitor_id": str, "start": date, "end": date, "limit": int},
)


@dataclass(frozen=True)
class TimelineEvent:
    created_ms: int
    event_type: str
    event_id: str
    sku: str
    url: str


def visitor_timeline(
    store: EventStore, site_id: str, visitor_id: str, days: DayRange, limit: int = 1000
) -> list[TimelineEvent]:
    """The first ``limit`` events of one visitor in ``days``, in device time order (bots
    included: this is the visitor's record, not a count). Raises what ``EventStore.run``
    raises."""
    result = store.run(
        VISITOR_TIMELINE,
        site_id=site_id,
        visitor_id=visitor_id,
        start=days.start,
        end=days.end,
        limit=limit,
    )
    return [TimelineEvent(*row) for row in result.rows]
