"""The funnels report's rollup (migration 6): each visitor's events of a site-local day,
reduced to what a funnel step can ask of them.

``rollup_funnel_events``: one row per visitor, local day and distinct (event type, URL path,
categories, SKUs, country, device, bot flag), with the times (``derived_ms``, sorted) of the
events that share them. Categories are every level of the event's category path (a purchase:
of its items' "Top/Sub" paths), SKUs the product's or the purchase's items'. A visitor's page
pings on one page, or views of one product, become one row with many times; every event is
still there, by time, so a funnel of any steps and window is evaluated exactly over a period,
across days and builds.

Why not ``windowFunnel`` over raw events: on the 18.16 server it takes times in whole seconds
(``UInt32``/``DateTime``; a ``UInt64`` millisecond time is refused), and over ``events FINAL``
a 30-day funnel reads every event (docs/warehouse.md, "What FINAL costs"). The funnel here is
plain array functions both engines evaluate alike (report_queries_funnels.py).
"""

from __future__ import annotations

from pipelines.warehouse.named import NamedQuery
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
