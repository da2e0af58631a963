"""Exact daily rollups for the reports: per site and **site-local** day, built from
``events FINAL`` one closed day at a time (docs/warehouse.md, "Rollups").

Two tables of rows per session and day keep every distinct count exact over any period
(visitors in 30 days are ``uniqExact(visitor_id)`` over the period's rows, not a sum of daily
counts), and let a report group by any of their dimensions:

- ``rollup_sessions``: one row per session (visitor id, session id) and local day: the
  dimensions of the session's first event that day (place, device, referrer, campaign), its
  event, page view and product view counts, and its engaged time (per page view the largest
  cumulative ``engaged_ms``, summed).
- ``rollup_interests``: one row per session, local day and top category of the products it
  viewed that day: product views, engaged time on those product pages, and the session's
  dimensions.

A day is replaced whole, without deletes in the read path: each build writes its rows under a
new ``generation`` and then records that generation in ``rollup_days``; readers take only the
latest recorded generation of each day. Rows of older generations are removed afterwards by an
``ALTER TABLE ... DELETE`` (a mutation; asynchronous on 18.16, harmless while it runs), one a
table for every day rebuilt together (``sweep``): on chdb a mutation takes ~0.4 s, and a replay
touching many days made one per table and day. Both
engines accept all of it: plain ``MergeTree`` tables, ``INSERT ... SELECT`` with ``FINAL``,
tuple ``IN`` subqueries, ``argMin`` over a tuple, ``toDate(t, zone)``.

``rollup_dirty`` remembers which days a pipeline batch touched, so a restarted worker still
recomputes what the batches before the restart changed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

from pipelines.warehouse.base import Warehouse
from pipelines.warehouse.generations import delete_superseded
from pipelines.warehouse.named import NamedQuery
from pipelines.warehouse.rollup_ddl import create_rollup_table
from pipelines.warehouse.rollups_campaigns import (
    CAMPAIGN_COLUMNS,
    ORDER_COLUMNS,
    RAW_CAMPAIGNS,
    RAW_ORDERS,
)
from pipelines.warehouse.rollups_funnels import (
    BUILD_FUNNEL_VISITORS,
    FUNNEL_COLUMNS,
    FUNNEL_VISITOR_COLUMNS,
    RAW_FUNNEL,
)
from pipelines.warehouse.rollups_visitors import (
    RAW_VISITOR_DAYS,
    VISITOR_DAY_COLUMNS,
    build_segments,
)
from pipelines.warehouse.sql import quote_identifier

# --- the tables -------------------------------------------------------------------------------

# Dimensions of a session: those of its first event of the day, by (derived_ms, event_id).
SESSION_DIMENSIONS = (
    "country",
    "region",
    "city",
    "device_type",
    "browser",
    "os",
    "ref_medium",
    "ref_source",
    "utm_source",
    "utm_medium",
    "utm_campaign",
)
# The dimensions an interest row keeps (the interests report's breakdowns).
INTEREST_DIMENSIONS = ("country", "region", "city", "device_type", "ref_medium", "ref_source")
_LOW_CARDINALITY = frozenset(
    {"country", "region", "device_type", "browser", "os", "ref_medium", "ref_source"}
    | {"utm_source", "utm_medium", "category", "time_zone"}
)

SESSION_MEASURES = {
    "events": "UInt32",
    "page_views": "UInt32",
    "product_views": "UInt32",
    "engaged_ms": "UInt64",
}
INTEREST_MEASURES = {"product_views": "UInt32", "engaged_ms": "UInt64"}

SESSION_COLUMNS: dict[str, str] = {
    "site_id": "String",
    "day": "Date",
    "generation": "UInt64",
    "visitor_id": "String",
    "session_id": "String",
    "is_bot": "UInt8",
    **dict.fromkeys(SESSION_DIMENSIONS, "String"),
    **SESSION_MEASURES,
}
INTEREST_COLUMNS: dict[str, str] = {
    "site_id": "String",
    "day": "Date",
    "generation": "UInt64",
    "category": "String",
    "visitor_id": "String",
    "session_id": "String",
    "is_bot": "UInt8",
    **dict.fromkeys(INTEREST_DIMENSIONS, "String"),
    **INTEREST_MEASURES,
}
PRODUCT_DIMENSIONS = ("country", "device_type", "ref_medium", "ref_source")
PRODUCT_MEASURES = {
    "views": "UInt32",
    "carts": "UInt32",
    "orders": "UInt32",
    "units": "UInt32",
    "revenue": "UInt64",  # minor units of ``currency``
}
PRODUCT_COLUMNS: dict[str, str] = {
    "site_id": "String",
    "day": "Date",
    "generation": "UInt64",
    "sku": "String",
    "category": "String",
    "currency": "String",
    "visitor_id": "String",
    "session_id": "String",
    "is_bot": "UInt8",
    **dict.fromkeys(PRODUCT_DIMENSIONS, "String"),
    **PRODUCT_MEASURES,
}
DAY_COLUMNS: dict[str, str] = {
    "site_id": "String",
    "day": "Date",
    "generation": "UInt64",
    "computed_ms": "UInt64",
    "sessions": "UInt64",
    "time_zone": "String",
}
DIRTY_COLUMNS: dict[str, str] = {"site_id": "String", "day": "Date", "marked_ms": "UInt64"}

# table -> (columns, sort key); all plain MergeTree, partitioned by month of the local day.
TABLES: dict[str, tuple[dict[str, str], tuple[str, ...]]] = {
    "rollup_sessions": (
        SESSION_COLUMNS,
        ("site_id", "day", "generation", "visitor_id", "session_id"),
    ),
    "rollup_interests": (
        INTEREST_COLUMNS,
        ("site_id", "day", "generation", "category", "visitor_id", "session_id"),
    ),
    "rollup_products": (
        PRODUCT_COLUMNS,
        ("site_id", "day", "generation", "sku", "visitor_id", "session_id"),
    ),
    "rollup_days": (DAY_COLUMNS, ("site_id", "day", "generation")),
    "rollup_dirty": (DIRTY_COLUMNS, ("site_id", "day", "marked_ms")),
}


def rollup_tables(flavor: str, database: str, tables: tuple[str, ...]) -> list[str]:
    """``CREATE TABLE IF NOT EXISTS`` for rollup tables (migrations 4 and 5)."""
    return [
        create_rollup_table(flavor, database, table, *TABLES[table], _LOW_CARDINALITY)
        for table in tables
    ]


# --- site-local days ------------------------------------------------------------------------


def day_bounds(day: date, zone: str) -> tuple[int, int]:
    """The UTC milliseconds ``[start, end)`` of a calendar day in the IANA time zone ``zone``
    (a day of 23 or 25 hours around a daylight saving change)."""
    info = ZoneInfo(zone)
    start = datetime.combine(day, clock_time(), tzinfo=info)
    end = datetime.combine(day + timedelta(days=1), clock_time(), tzinfo=info)
    return _ms(start), _ms(end)


def local_today(zone: str, now: float) -> date:
    """The calendar day in ``zone`` at ``now`` (UTC seconds)."""
    return datetime.fromtimestamp(now, UTC).astimezone(ZoneInfo(zone)).date()


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


# --- the SQL of a day's rows, over raw events ----------------------------------------------------

_FIRST = "(pv_first_ms, pv_first_id)"
# (``local_day``, not ``day``: on 18.16 an alias is global to its SELECT, and ``day`` must stay
# the table's column in the WHERE, where it lets FINAL skip the site's other days.)
# Per page view (and day): the facts of its first event, its counts, its largest cumulative
# engaged time, and the top category of a product it showed.
_PAGE_VIEWS = (
    "SELECT toDate(derived_time, %(tz)s) AS local_day, visitor_id, session_id, page_view_id,"
    " min(derived_ms) AS pv_first_ms,"
    " argMin(event_id, (derived_ms, event_id)) AS pv_first_id,"
    " max(is_bot) AS pv_bot,"
    + "".join(
        f" argMin({name}, (derived_ms, event_id)) AS pv_{name}," for name in SESSION_DIMENSIONS
    )
    + " count() AS pv_events,"
    " countIf(event_type = 'page_view') AS pv_page_views,"
    " countIf(event_type = 'product_view') AS pv_product_views,"
    " max(engaged_ms) AS pv_engaged,"
    " argMinIf(category[1], (derived_ms, event_id), event_type = 'product_view'"
    " AND length(category) > 0) AS pv_category"
    " FROM {events}"
    " WHERE site_id = %(site_id)s AND day IN %(utc_days)s"
    " AND derived_ms >= %(start_ms)s AND derived_ms < %(end_ms)s"
    " GROUP BY local_day, visitor_id, session_id, page_view_id"
)
_SESSION_FIELDS = (
    " local_day AS day, visitor_id, session_id, max(pv_bot) AS is_bot,"
    + "".join(f" argMin(pv_{name}, {_FIRST}) AS {name}," for name in SESSION_DIMENSIONS)
    + " toUInt32(sum(pv_events)) AS events,"
    " toUInt32(sum(pv_page_views)) AS page_views,"
    " toUInt32(sum(pv_product_views)) AS product_views,"
    " toUInt64(sum(pv_engaged)) AS engaged_ms"
)
# One row per session and local day (columns: SESSION_COLUMNS without site and generation).
RAW_SESSIONS_SQL = (
    f"SELECT{_SESSION_FIELDS} FROM ({_PAGE_VIEWS}) GROUP BY day, visitor_id, session_id"
)


# One row per session, local day and viewed top category, with the session's dimensions. (The
# names are unique on both sides of the join: on 18.16 an alias is global to the query.)
def _raw_dimensions(dimensions: tuple[str, ...]) -> str:
    """The sessions' dimensions from raw events (the open day)."""
    return (
        "SELECT local_day AS day, visitor_id, session_id, max(pv_bot) AS is_bot,"
        + ",".join(f" argMin(pv_{name}, {_FIRST}) AS {name}" for name in dimensions)
        + f" FROM ({_PAGE_VIEWS}) GROUP BY day, visitor_id, session_id"
    )


def _built_dimensions(dimensions: tuple[str, ...]) -> str:
    """The sessions' dimensions from the sessions rows this build has just written: one
    ``FINAL`` read of the events less per table."""
    return (
        f"SELECT day, visitor_id, session_id, is_bot, {', '.join(dimensions)}"
        " FROM {rollup_sessions} WHERE site_id = %(site_id)s AND day = toDate(%(day)s)"
        " AND generation = %(generation)s"
    )


def _interests_sql(sessions: str) -> str:
    return (
        "SELECT day, category, visitor_id, session_id, is_bot,"
        + "".join(f" {name}," for name in INTEREST_DIMENSIONS)
        + " c_product_views AS product_views, c_engaged_ms AS engaged_ms"
        " FROM (SELECT local_day AS day, visitor_id, session_id, pv_category AS category,"
        " toUInt32(sum(pv_product_views)) AS c_product_views,"
        " toUInt64(sum(pv_engaged)) AS c_engaged_ms"
        f" FROM ({_PAGE_VIEWS}) WHERE pv_category != ''"
        " GROUP BY day, visitor_id, session_id, category) AS c"
        f" ALL INNER JOIN ({sessions}) AS s USING (day, visitor_id, session_id)"
    )


RAW_INTERESTS_SQL = _interests_sql(_raw_dimensions(INTEREST_DIMENSIONS))
# One row per session, local day, product and currency: views and carts of the product page,
# and the purchases' line items (orders, units, revenue in minor units), with the session's
# place, device and referrer. The top category is the product's own (``category[1]``) or, for
# a purchase's item, the first part of its "Top/Sub" path. (``item``, not ``sku``: on 18.16 an
# alias is global, and would replace the ``sku`` column inside the ARRAY JOIN.)
_PRODUCT_LINES = (
    "SELECT toDate(derived_time, %(tz)s) AS local_day, visitor_id, session_id, item, item_top,"
    " currency,"
    " toUInt32(countIf(event_type = 'product_view')) AS p_views,"
    " toUInt32(countIf(event_type = 'add_to_cart')) AS p_carts,"
    " toUInt32(countIf(event_type = 'purchase')) AS p_orders,"
    " toUInt32(sumIf(item_quantity, event_type = 'purchase')) AS p_units,"
    " toUInt64(sumIf(item_price * item_quantity, event_type = 'purchase')) AS p_revenue"
    " FROM {events}"
    " ARRAY JOIN"
    " if(event_type = 'purchase', item_skus, [sku]) AS item,"
    " if(event_type = 'purchase', item_quantities, [toUInt32(1)]) AS item_quantity,"
    " if(event_type = 'purchase', item_prices, [price]) AS item_price,"
    " if(event_type = 'purchase', arrayMap(path -> splitByChar('/', path)[1],"
    " arrayResize(item_categories, length(item_skus), '')), [category[1]]) AS item_top"
    " WHERE site_id = %(site_id)s AND day IN %(utc_days)s"
    " AND derived_ms >= %(start_ms)s AND derived_ms < %(end_ms)s"
    " AND event_type IN ('product_view', 'add_to_cart', 'purchase') AND item != ''"
    " GROUP BY local_day, visitor_id, session_id, item, item_top, currency"
)


def _products_sql(sessions: str) -> str:
    return (
        "SELECT day, item AS sku, item_top AS category, currency, visitor_id, session_id,"
        " is_bot,"
        + "".join(f" {name}," for name in PRODUCT_DIMENSIONS)
        + " p_views AS views, p_carts AS carts, p_orders AS orders, p_units AS units,"
        " p_revenue AS revenue"
        " FROM (SELECT local_day AS day, visitor_id, session_id, item, item_top, currency,"
        " p_views, p_carts, p_orders, p_units, p_revenue"
        f" FROM ({_PRODUCT_LINES})) AS p"
        f" ALL INNER JOIN ({sessions}) AS s USING (day, visitor_id, session_id)"
    )


RAW_PRODUCTS_SQL = _products_sql(_raw_dimensions(PRODUCT_DIMENSIONS))
_RAW_PARAMS = {"site_id": str, "tz": str, "start_ms": int, "end_ms": int, "utc_days": tuple}
# The UTC device days (the sort key's second column) holding events of a time range: a cheap
# read without FINAL of two columns, which lets the FINAL reads above skip every other day of
# the site's history. Exact: an event and its replays share their ``day``, whatever their
# device clock says. A range without events gives the sentinel day alone.
UTC_DAYS = NamedQuery(
    "rollup_utc_days",
    "SELECT DISTINCT day FROM {events} WHERE site_id = %(site_id)s"
    " AND derived_ms >= %(start_ms)s AND derived_ms < %(end_ms)s ORDER BY day",
    params={"site_id": str, "start_ms": int, "end_ms": int},
    exact=False,
)
NO_UTC_DAY = "1970-01-01"


def utc_days_param(days: Iterable[date]) -> tuple[str, ...]:
    """The ``utc_days`` parameter: ISO days, never empty (an empty tuple is no SQL)."""
    return tuple(day.isoformat() for day in days) or (NO_UTC_DAY,)


RAW_PRODUCTS = NamedQuery("rollup_raw_products", RAW_PRODUCTS_SQL, _RAW_PARAMS)
RAW_SESSIONS = NamedQuery("rollup_raw_sessions", RAW_SESSIONS_SQL, _RAW_PARAMS)
RAW_INTERESTS = NamedQuery("rollup_raw_interests", RAW_INTERESTS_SQL, _RAW_PARAMS)
# What a build inserts after its sessions rows: the same, joined to those rows.
_BUILD_PARAMS = {**_RAW_PARAMS, "day": date, "generation": int}
BUILD_INTERESTS = NamedQuery(
    "rollup_build_interests",
    _interests_sql(_built_dimensions(INTEREST_DIMENSIONS)),
    _BUILD_PARAMS,
)
BUILD_PRODUCTS = NamedQuery(
    "rollup_build_products",
    _products_sql(_built_dimensions(PRODUCT_DIMENSIONS)),
    _BUILD_PARAMS,
)

# The tables a day's build fills: (table, the query of one day's rows, its columns). A
# report adding a rollup table adds its line here (and its DDL through a migration).
DAY_TABLES: tuple[tuple[str, NamedQuery, dict[str, str]], ...] = (
    ("rollup_sessions", RAW_SESSIONS, SESSION_COLUMNS),
    ("rollup_interests", BUILD_INTERESTS, INTEREST_COLUMNS),
    ("rollup_products", BUILD_PRODUCTS, PRODUCT_COLUMNS),
    ("rollup_campaigns", RAW_CAMPAIGNS, CAMPAIGN_COLUMNS),
    ("rollup_orders", RAW_ORDERS, ORDER_COLUMNS),
    ("rollup_funnel_events", RAW_FUNNEL, FUNNEL_COLUMNS),
    # (from the funnel events rows just written: after them)
    ("rollup_funnel_visitors", BUILD_FUNNEL_VISITORS, FUNNEL_VISITOR_COLUMNS),
    ("rollup_visitor_days", RAW_VISITOR_DAYS, VISITOR_DAY_COLUMNS),
)
# The tables a day's build fills after DAY_TABLES, in Python, from what those hold: (table,
# fill(warehouse, site_id, day, generation)), under the build's generation.
DAY_DERIVED: tuple[tuple[str, Callable[[Warehouse, str, date, int], object]], ...] = (
    ("rollup_segments", build_segments),
)


_PENDING = NamedQuery(
    "rollup_pending",
    # Days marked after their latest build (or never built): recompute them.
    "SELECT site_id, day FROM"
    " (SELECT site_id, day, max(marked_ms) AS marked FROM {rollup_dirty}"
    " GROUP BY site_id, day) AS d"
    " ANY LEFT JOIN (SELECT site_id, day, max(generation) AS built FROM {rollup_days}"
    " GROUP BY site_id, day) AS b USING (site_id, day)"
    " WHERE marked >= built",
    params={},
)
_LATEST = NamedQuery(
    "rollup_latest_generation",
    "SELECT max(generation) FROM {rollup_days}"
    " WHERE site_id = %(site_id)s AND day = toDate(%(day)s)",
    params={"site_id": str, "day": date},
)


@dataclass(frozen=True)
class DayBuild:
    site_id: str
    day: date
    generation: int
    sessions: int
    replaced: int  # the generation it replaced (0: the day's first build)


class RollupBuilder:
    """Builds and replaces the rollup rows of one site-local day. Writes through the
    warehouse's ingest side (``execute``/``insert``); safe to call again: a second build of a
    day writes a new generation that replaces the first."""

    def __init__(self, warehouse: Warehouse, clock: Callable[[], float] = time.time) -> None:
        self.warehouse = warehouse
        self._clock = clock
        # Days rebuilt whose older generations are still to delete: (site_id, day, generation).
        self._superseded: list[tuple[str, date, int]] = []

    def build_many(self, site_id: str, days: Iterable[date], zone: str) -> list[DayBuild]:
        """Build ``days`` and delete their older generations once for all of them: a mutation
        per table instead of one per table and day (0.4 s each on chdb)."""
        built = [self.build(site_id, day, zone, sweep=False) for day in days]
        self.sweep()
        return built

    def build(self, site_id: str, day: date, zone: str, sweep: bool = True) -> DayBuild:
        """Build one day. ``sweep=False`` leaves the older generations' rows (which readers
        skip) to the next ``sweep``."""
        start_ms, end_ms = day_bounds(day, zone)
        utc_days = [
            row[0]
            for row in self._rows(UTC_DAYS, site_id=site_id, start_ms=start_ms, end_ms=end_ms)
        ]
        params = {
            "site_id": site_id,
            "tz": zone,
            "start_ms": start_ms,
            "end_ms": end_ms,
            "utc_days": utc_days_param(utc_days),
        }
        previous = int(self._scalar(_LATEST, site_id=site_id, day=day) or 0)
        generation = max(int(self._clock() * 1000), previous + 1)
        db = self.warehouse.database
        for table, query, columns in DAY_TABLES:
            names = ", ".join(columns)
            self.warehouse.execute(
                f"INSERT INTO {quote_identifier(db)}.{table} ({names})"
                f" SELECT %(site_id)s, day, %(generation)s, {_after_generation(columns)}"
                f" FROM ({query.render(db)}) WHERE day = toDate(%(day)s)",
                {**params, "generation": generation, "day": day},
            )
        for _, fill in DAY_DERIVED:
            fill(self.warehouse, site_id, day, generation)
        sessions = int(
            self.warehouse.query(
                f"SELECT count() FROM {quote_identifier(db)}.rollup_sessions"
                " WHERE site_id = %(site_id)s AND day = toDate(%(day)s)"
                " AND generation = %(generation)s",
                {"site_id": site_id, "day": day, "generation": generation},
            ).scalar()
            or 0
        )
        self.warehouse.insert(
            "rollup_days",
            tuple(DAY_COLUMNS),
            [
                {
                    "site_id": site_id,
                    "day": day,
                    "generation": generation,
                    "computed_ms": int(self._clock() * 1000),
                    "sessions": sessions,
                    "time_zone": zone,
                }
            ],
        )
        if previous:
            self._superseded.append((site_id, day, generation))
            if sweep:
                self.sweep()
        return DayBuild(site_id, day, generation, sessions, previous)

    def sweep(self) -> None:
        """Delete the rows of generations older than the days' latest builds: one mutation
        a table (asynchronous on 18.16; readers skip those rows meanwhile)."""
        if not self._superseded:
            return
        tables = [t for t, _, _ in DAY_TABLES] + [t for t, _ in DAY_DERIVED]
        delete_superseded(self.warehouse, tables, self._superseded)
        self._superseded.clear()

    def mark(self, days: Iterable[tuple[str, date]]) -> None:
        """Remember that these (site, local day) pairs changed and need a build."""
        now = int(self._clock() * 1000)
        rows = [{"site_id": s, "day": d, "marked_ms": now} for s, d in sorted(set(days))]
        if rows:
            self.warehouse.insert("rollup_dirty", tuple(DIRTY_COLUMNS), rows)

    def pending(self) -> set[tuple[str, date]]:
        """The days marked since their latest build (or never built)."""
        return {(site_id, day) for site_id, day in self._rows(_PENDING)}

    def _rows(self, query: NamedQuery, **params: object) -> list[tuple[Any, ...]]:
        return self.warehouse.query(query.render(self.warehouse.database), params).rows

    def _scalar(self, query: NamedQuery, **params: object) -> Any:
        rows = self._rows(query, **params)
        return rows[0][0] if rows else None


def _after_generation(columns: dict[str, str]) -> str:
    return ", ".join(name for name in columns if name not in ("site_id", "day", "generation"))
