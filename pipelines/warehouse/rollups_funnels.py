"""The funnels report's rollups (migrations 6 and 8): each visitor's events of a site-local
day, reduced to what a funnel step can ask of them.

``rollup_funnel_events``: one row per visitor, local day and distinct (event type, URL path,
categories, SKUs, country, device, bot flag), with the times (``derived_ms``, sorted) of the
events that share them. Categories are every level of the event's category path (a purchase:
of its items' "Top/Sub" paths), SKUs the product's or the purchase's items'. A visitor's page
pings on one page, or views of one product, become one row with many times; every event is
still there, by time, so a funnel of any steps and window is evaluated exactly over a period,
across days and builds.

``rollup_funnel_visitors`` (migration 8): the same events folded further for the steps that
name an event type alone, one row per visitor, local day, country, device and bot flag with
a sorted times array per event type (``t_<type>``). A build fills it from the rows it has just
written to ``rollup_funnel_events``; migration 8 fills it for the days built before it. At 10
million events a 30-day period has 92,530 such rows where the first table has 1.46 million
rows of a funnel's four types, whose grouping per visitor took about 40 % of the funnel's
CPU on the 18.16 server.

Why not ``windowFunnel`` over raw events: on the 18.16 server it takes times in whole seconds
(``UInt32``/``DateTime``; a ``UInt64`` millisecond time is refused), and over ``events FINAL``
a 30-day funnel reads every event (docs/warehouse.md, "What FINAL costs"). The funnel here is
plain array functions both engines evaluate alike (report_queries_funnels.py).
"""

from __future__ import annotations

from datetime import date

from pipelines.warehouse.base import Warehouse
from pipelines.warehouse.named import NamedQuery
from pipelines.warehouse.rollup_ddl import create_rollup_table
from pipelines.warehouse.sql import quote_identifier

FUNNEL_COLUMNS: dict[str, str] = {
    "site_id": "String",
    "day": "Date",
    "generation": "UInt64",
    "visitor_id": "String",
    "event_type": "String",
    "path": "String",
    "categories": "Array(String)",
    "skus": "Array(String)",
    "country": "String",
    "device_type": "String",
    "is_bot": "UInt8",
    "times": "Array(UInt64)",  # derived_ms of the events, sorted
}
_LOW_CARDINALITY = frozenset({"event_type", "country", "device_type"})
FUNNEL_KEY = ("site_id", "day", "generation", "visitor_id", "event_type")


def funnel_tables(flavor: str, database: str) -> list[str]:
    """``CREATE TABLE IF NOT EXISTS`` of the funnels' table (migration 6)."""
    body = []
    for name, kind in FUNNEL_COLUMNS.items():
        if flavor == "chdb" and name in _LOW_CARDINALITY:
            kind = f"LowCardinality({kind})"
        body.append(f"    {name} {kind}")
    return [
        f"CREATE TABLE IF NOT EXISTS {quote_identifier(database)}.rollup_funnel_events (\n"
        + ",\n".join(body)
        + "\n) ENGINE = MergeTree PARTITION BY toYYYYMM(day)"
        f" ORDER BY ({', '.join(FUNNEL_KEY)})"
    ]


# (Aliases differ from column names: on 18.16 an alias is global to its SELECT.)
RAW_FUNNEL_SQL = (
    "SELECT f_day AS day, visitor_id, event_type, path, f_categories AS categories,"
    " f_skus AS skus, country, device_type, is_bot, f_times AS times FROM ("
    "SELECT toDate(derived_time, %(tz)s) AS f_day, visitor_id, event_type, path,"
    " if(event_type = 'purchase', arraySort(arrayReduce('groupUniqArrayArray',"
    " arrayMap(p -> splitByChar('/', p), item_categories))), category) AS f_categories,"
    " if(event_type = 'purchase', item_skus, if(sku = '', emptyArrayString(), [sku]))"
    " AS f_skus, country, device_type, is_bot, arraySort(groupArray(derived_ms)) AS f_times"
    " FROM {events} WHERE site_id = %(site_id)s AND day IN %(utc_days)s"
    " AND derived_ms >= %(start_ms)s AND derived_ms < %(end_ms)s"
    " GROUP BY f_day, visitor_id, event_type, path, f_categories, f_skus, country,"
    " device_type, is_bot)"
)
RAW_FUNNEL = NamedQuery(
    "rollup_raw_funnel_events",
    RAW_FUNNEL_SQL,
    {"site_id": str, "tz": str, "start_ms": int, "end_ms": int, "utc_days": tuple},
)


# --- the fast table (migration 8): one row per visitor-day, the times split by event type --------

# The event types with a column of sorted times (migration 8's, written out: a type added to
# the contract later has no column until a migration adds one, and its funnels read the
# general table meanwhile).
FAST_TYPES: tuple[str, ...] = (
    "page_view",
    "page_ping",
    "click",
    "product_view",
    "add_to_cart",
    "purchase",
    "identify",
    "banner_impression",
    "banner_click",
    "decision",
    "custom",
)
FUNNEL_VISITOR_COLUMNS: dict[str, str] = {
    "site_id": "String",
    "day": "Date",
    "generation": "UInt64",
    "visitor_id": "String",
    "country": "String",
    "device_type": "String",
    "is_bot": "UInt8",
    **{f"t_{kind}": "Array(UInt64)" for kind in FAST_TYPES},  # derived_ms, sorted
}
FUNNEL_VISITOR_KEY = ("site_id", "day", "generation", "visitor_id")


def funnel_visitor_tables(flavor: str, database: str) -> list[str]:
    """``CREATE TABLE IF NOT EXISTS`` of ``rollup_funnel_visitors`` (migration 8)."""
    return [
        create_rollup_table(
            flavor,
            database,
            "rollup_funnel_visitors",
            FUNNEL_VISITOR_COLUMNS,
            FUNNEL_VISITOR_KEY,
            _LOW_CARDINALITY,
        )
    ]


def _by_type(rows: str) -> str:
    """``rows`` (``rollup_funnel_events``' columns) folded per visitor, day, country, device
    and bot flag, the times of each event type in a column of their own."""
    split = ", ".join(
        f"arraySort(groupArrayArrayIf(times, event_type = '{kind}')) AS t_{kind}"
        for kind in FAST_TYPES
    )
    return (
        f"SELECT day, visitor_id, country, device_type, is_bot, {split} FROM ({rows})"
        " GROUP BY day, visitor_id, country, device_type, is_bot"
    )


# The open day (and any day not built): from raw events, through the general table's SQL.
RAW_FUNNEL_VISITORS_SQL = _by_type(RAW_FUNNEL_SQL)
# A build: from the rows of ``rollup_funnel_events`` it has just written (no FINAL read more).
BUILD_FUNNEL_VISITORS = NamedQuery(
    "rollup_build_funnel_visitors",
    _by_type(
        "SELECT day, visitor_id, event_type, country, device_type, is_bot, times"
        " FROM {rollup_funnel_events} WHERE site_id = %(site_id)s AND day = toDate(%(day)s)"
        " AND generation = %(generation)s"
    ),
    {"site_id": str, "day": date, "generation": int},
)


def fill_built_days(warehouse: Warehouse) -> int:
    """Fill ``rollup_funnel_visitors`` for every day whose latest build has no rows there yet,
    from that build's ``rollup_funnel_events`` (migration 8: days built before the table
    existed). Idempotent; returns the days filled. A day built later fills it itself
    (``rollups.DAY_TABLES``)."""
    db = quote_identifier(warehouse.database)
    missing = warehouse.query(
        f"SELECT site_id, day, generation FROM (SELECT site_id, day,"
        f" max(generation) AS generation FROM {db}.rollup_days GROUP BY site_id, day)"
        f" WHERE (site_id, day, generation) NOT IN (SELECT DISTINCT site_id, day, generation"
        f" FROM {db}.rollup_funnel_visitors) ORDER BY site_id, day"
    ).rows
    names = ", ".join(FUNNEL_VISITOR_COLUMNS)
    rest = ", ".join(list(FUNNEL_VISITOR_COLUMNS)[3:])
    for site_id, day, generation in missing:
        warehouse.execute(
            f"INSERT INTO {db}.rollup_funnel_visitors ({names})"
            f" SELECT %(site_id)s, day, %(generation)s, {rest}"
            f" FROM ({BUILD_FUNNEL_VISITORS.render(warehouse.database)})",
            {"site_id": site_id, "day": day, "generation": int(generation)},
        )
    return len(missing)
