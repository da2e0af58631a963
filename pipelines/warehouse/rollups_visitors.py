"""Rollups of the retention and RFM reports (migration 7): visitors per site-local day, and
RFM segment membership per site-local day.

- ``rollup_visitor_days``: one row per visitor and local day: the user id the visitor
  carried that day (its latest non-empty one), the bot flag, the country and device of its
  first event of the day, its sessions, events, page views, product views, carts, orders,
  revenue (purchases' line items, price x quantity in minor units, as ``rollup_products``
  counts it) and the top category of each product view (sorted, one entry a view). A
  visitor's first visit is the first day it has a row: exact over any period, on both
  engines, and again after a late replay, since it is read, not stored.
- ``rollup_segments``: one row per visitor of a customer and local day: the customer's RFM
  scores and segment **as of that day** (pipelines/warehouse/rfm_scores.py), computed by the
  day's build from the visitor days of the RFM window up to it. A segment filter on a past
  period therefore means who was in the segment then.

Both follow the day's build (``rollups.RollupBuilder``): the visitor days are one more
``DAY_TABLES`` query over ``events FINAL``; the segments are scored in Python after them
(``build_segments``, in ``rollups.DAY_DERIVED``), under the same generation. Rebuilding a day
(a late replay) recomputes that day's visitor rows and segments, and scores again every built
day after it within the RFM window (from the visitor days, not the events: cheap), each under
a new generation of its segments; readers take each day's latest segment generation.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from pipelines.warehouse.base import Warehouse
from pipelines.warehouse.generations import delete_superseded
from pipelines.warehouse.named import NamedQuery
from pipelines.warehouse.rfm_scores import Customer, score_customers
from pipelines.warehouse.rollup_ddl import create_rollup_table

RFM_WINDOW_DAYS = 365  # purchases of the last year (the day included) make a customer

VISITOR_DAY_COLUMNS: dict[str, str] = {
    "site_id": "String",
    "day": "Date",
    "generation": "UInt64",
    "visitor_id": "String",
    "user_id": "String",
    "is_bot": "UInt8",
    "country": "String",
    "device_type": "String",
    "sessions": "UInt32",
    "events": "UInt32",
    "page_views": "UInt32",
    "product_views": "UInt32",
    "carts": "UInt32",
    "orders": "UInt32",
    "revenue": "UInt64",
    "categories": "Array(String)",  # the top category of each product view, sorted
}
SEGMENT_COLUMNS: dict[str, str] = {
    "site_id": "String",
    "day": "Date",
    "generation": "UInt64",
    "segment": "String",
    "visitor_id": "String",
    "customer": "String",  # the user id, or the visitor id of a customer never identified
    "user_id": "String",
    "recency_days": "UInt32",
    "orders": "UInt32",
    "revenue": "UInt64",
    "r": "UInt8",
    "f": "UInt8",
    "m": "UInt8",
}
TABLES: dict[str, tuple[dict[str, str], tuple[str, ...]]] = {
    "rollup_visitor_days": (VISITOR_DAY_COLUMNS, ("site_id", "day", "generation", "visitor_id")),
    "rollup_segments": (
        SEGMENT_COLUMNS,
        ("site_id", "day", "generation", "segment", "visitor_id"),
    ),
}
_LOW_CARDINALITY = frozenset({"country", "device_type", "segment"})


def visitor_tables(flavor: str, database: str) -> list[str]:
    """``CREATE TABLE IF NOT EXISTS`` of both tables (migration 7)."""
    return [
        create_rollup_table(flavor, database, table, columns, key, _LOW_CARDINALITY)
        for table, (columns, key) in TABLES.items()
    ]


# --- a day's visitor rows, over raw events ------------------------------------------------------

# (``v_`` names: on 18.16 an alias is global to its SELECT, and ``day`` and ``user_id`` must
# stay the events' columns inside it.)
_FIRST = "(derived_ms, event_id)"
_LINES = (
    "SELECT toDate(derived_time, %(tz)s) AS local_day, visitor_id,"
    f" argMaxIf(user_id, {_FIRST}, user_id != '') AS v_user,"
    " max(is_bot) AS v_bot,"
    f" argMin(country, {_FIRST}) AS v_country,"
    f" argMin(device_type, {_FIRST}) AS v_device,"
    " toUInt32(uniqExact(session_id)) AS v_sessions,"
    " toUInt32(count()) AS v_events,"
    " toUInt32(countIf(event_type = 'page_view')) AS v_page_views,"
    " toUInt32(countIf(event_type = 'product_view')) AS v_product_views,"
    " toUInt32(countIf(event_type = 'add_to_cart')) AS v_carts,"
    " toUInt32(countIf(event_type = 'purchase')) AS v_orders,"
    " toUInt64(sumIf(arraySum(arrayMap((s, p, q) -> if(s = '', 0, p * q),"
    " item_skus, item_prices, item_quantities)), event_type = 'purchase')) AS v_revenue,"
    " arraySort(groupArrayIf(category[1], event_type = 'product_view'"
    " AND length(category) > 0)) AS v_categories"
    " FROM {events}"
    " WHERE site_id = %(site_id)s AND day IN %(utc_days)s"
    " AND derived_ms >= %(start_ms)s AND derived_ms < %(end_ms)s"
    " GROUP BY local_day, visitor_id"
)
# One row per visitor and local day (columns: VISITOR_DAY_COLUMNS without site and generation).
RAW_VISITOR_DAYS_SQL = (
    "SELECT local_day AS day, visitor_id, v_user AS user_id, v_bot AS is_bot,"
    " v_country AS country, v_device AS device_type, v_sessions AS sessions,"
    " v_events AS events, v_page_views AS page_views, v_product_views AS product_views,"
    " v_carts AS carts, v_orders AS orders, v_revenue AS revenue, v_categories AS categories"
    f" FROM ({_LINES})"
)
RAW_VISITOR_DAYS = NamedQuery(
    "rollup_raw_visitor_days",
    RAW_VISITOR_DAYS_SQL,
    {"site_id": str, "tz": str, "start_ms": int, "end_ms": int, "utc_days": tuple},
)

# --- a day's segments, from the visitor days of the RFM window ---------------------------------

# Per visitor of the window up to ``day``: the user it identified as (latest), its last
# purchase day, its purchases and revenue. The day being built (``built``) is read at its new
# generation (not recorded in ``rollup_days`` yet); every other day at its latest recorded one.
_WINDOW_VISITORS = NamedQuery(
    "rollup_segment_window",
    "SELECT visitor_id, argMaxIf(user_id, day, user_id != '') AS w_user,"
    " maxIf(day, orders > 0) AS last_order, toUInt64(sum(orders)) AS w_orders,"
    " toUInt64(sum(revenue)) AS w_revenue"
    " FROM {rollup_visitor_days}"
    " WHERE site_id = %(site_id)s AND day > toDate(%(first)s) AND day <= toDate(%(day)s)"
    # the only rows that can change the answer (most visitor days are none of these)
    " AND (orders > 0 OR user_id != '' OR is_bot = 1)"
    " AND ((day = toDate(%(built)s) AND generation = %(generation)s)"
    " OR (day != toDate(%(built)s) AND (day, generation) IN"
    " (SELECT day, max(generation) FROM {rollup_days} WHERE site_id = %(site_id)s"
    " AND day > toDate(%(first)s) AND day <= toDate(%(day)s) GROUP BY day)))"
    " GROUP BY visitor_id HAVING max(is_bot) = 0 AND (w_orders > 0 OR w_user != '')",
    params={"site_id": str, "day": date, "built": date, "first": date, "generation": int},
)
# The built days after a day, within the RFM window, with the latest generation of their
# segments: a rebuild (a late replay) changes what they were scored from.
_LATER_DAYS = NamedQuery(
    "rollup_segment_later_days",
    "SELECT day, latest FROM (SELECT DISTINCT day FROM {rollup_days}"
    " WHERE site_id = %(site_id)s AND day > toDate(%(day)s) AND day <= toDate(%(last)s)) AS d"
    " ANY LEFT JOIN (SELECT day, max(generation) AS latest FROM {rollup_segments}"
    " WHERE site_id = %(site_id)s AND day > toDate(%(day)s) AND day <= toDate(%(last)s)"
    " GROUP BY day) AS s USING day ORDER BY day",
    params={"site_id": str, "day": date, "last": date},
)


def customers_of(
    visitors: list[tuple[str, str, date, int, int]], day: date
) -> tuple[list[Customer], dict[str, list[tuple[str, str]]]]:
    """Pure: from (visitor, user, last purchase day, purchases, revenue) of the window, the
    customers (a user's visitors together; a visitor that never identified on its own) with a
    purchase, and each customer's (visitor, user) pairs."""
    last: dict[str, date | None] = {}
    orders: dict[str, int] = defaultdict(int)
    revenue: dict[str, int] = defaultdict(int)
    members: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for visitor, user, last_order, count, money in visitors:
        key = user or visitor
        members[key].append((visitor, user))
        orders[key] += count
        revenue[key] += money
        if count:
            known = last.get(key)
            last[key] = last_order if known is None else max(known, last_order)
    customers = [
        Customer(key, (day - last_day).days, orders[key], revenue[key])
        for key, last_day in sorted(last.items())
        if last_day is not None and orders[key] > 0
    ]
    return customers, {c.key: sorted(members[c.key]) for c in customers}


def build_segments(warehouse: Warehouse, site_id: str, day: date, generation: int) -> int:
    """Score the customers as of ``day`` and write their visitors' rows under ``generation``,
    then score again every built day after it within the RFM window (they were scored from
    what this day held before: a late replay changes them), each under a new generation of
    its segments. Returns how many rows were written. Runs in the day's build, after its
    visitor days were written."""
    written = _score_day(warehouse, site_id, day, day, generation, generation)
    later = warehouse.query(
        _LATER_DAYS.render(warehouse.database),
        {"site_id": site_id, "day": day, "last": day + timedelta(days=RFM_WINDOW_DAYS)},
    ).rows
    superseded = []
    for later_day, latest in later:
        renewed = max(int(latest or 0) + 1, generation)
        written += _score_day(warehouse, site_id, later_day, day, generation, renewed)
        superseded.append((site_id, later_day, renewed))
    delete_superseded(warehouse, ["rollup_segments"], superseded)  # one mutation for them all
    return written


def _score_day(
    warehouse: Warehouse,
    site_id: str,
    day: date,
    built: date,
    built_generation: int,
    generation: int,
) -> int:
    found = warehouse.query(
        _WINDOW_VISITORS.render(warehouse.database),
        {
            "site_id": site_id,
            "day": day,
            "built": built,
            "first": day - timedelta(days=RFM_WINDOW_DAYS),
            "generation": built_generation,
        },
    ).rows
    customers, members = customers_of(
        [(str(v), str(u), d, int(o), int(r)) for v, u, d, o, r in found], day
    )
    rows: list[dict[str, Any]] = []
    for scored in score_customers(customers):
        customer = scored.customer
        for visitor, user in members[customer.key]:
            rows.append(
                {
                    "site_id": site_id,
                    "day": day,
                    "generation": generation,
                    "segment": scored.segment,
                    "visitor_id": visitor,
                    "customer": customer.key,
                    "user_id": user,
                    "recency_days": customer.recency_days,
                    "orders": customer.orders,
                    "revenue": customer.revenue,
                    "r": scored.r,
                    "f": scored.f,
                    "m": scored.m,
                }
            )
    if rows:
        warehouse.insert("rollup_segments", tuple(SEGMENT_COLUMNS), rows)
    return len(rows)
