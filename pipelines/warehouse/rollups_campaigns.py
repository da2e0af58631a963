"""Rollups of the campaigns report (migration 6): exposures and orders per site-local day.

- ``rollup_campaigns``: one row per visitor, local day and what the personalizer decided or
  showed (campaign, creative, placement, the campaign a holdout decision kept the visitor
  from, the holdout flag, the events' own country, device and bot flag): decisions,
  impressions, viewable impressions, clicks, the first decision's time and the times of every
  impression and click (``touches``, sorted). Distinct visitors over any period stay exact
  (``uniqExact(visitor_id)`` over the rows), and a conversion days after an exposure is found
  by its time, although the two are in different days' builds.
- ``rollup_orders``: one row per purchase: its time, currency and revenue (its line items'
  price x quantity in minor units, as ``rollup_products`` counts revenue).

A holdout decision names the campaign shown (the default, or none) in ``campaign_id`` and the
campaign it held out in ``properties.held_out_campaign``: that is ``held_out`` here. Its
impressions and clicks (``holdout`` 1) count for the campaign shown.

Both are built with the other rollups (``rollups.DAY_TABLES``), from ``events FINAL`` of one
closed local day, and read for the open day with the same SQL.
"""

from __future__ import annotations

from pipelines.warehouse.named import NamedQuery
from pipelines.warehouse.rollup_ddl import create_rollup_table

CAMPAIGN_COLUMNS: dict[str, str] = {
    "site_id": "String",
    "day": "Date",
    "generation": "UInt64",
    "visitor_id": "String",
    "campaign_id": "String",
    "creative_id": "String",
    "placement": "String",
    "held_out": "String",  # the campaign a holdout decision kept the visitor from
    "holdout": "UInt8",
    "country": "String",
    "device_type": "String",
    "is_bot": "UInt8",
    "decisions": "UInt32",
    "impressions": "UInt32",
    "viewable": "UInt32",
    "clicks": "UInt32",
    "first_decision_ms": "UInt64",  # 0: no decision in this row
    "touches": "Array(UInt64)",  # derived_ms of its impressions and clicks, sorted
}
ORDER_COLUMNS: dict[str, str] = {
    "site_id": "String",
    "day": "Date",
    "generation": "UInt64",
    "visitor_id": "String",
    "order_key": "String",  # the purchase's event id
    "ordered_ms": "UInt64",
    "currency": "String",
    "revenue": "UInt64",  # minor units of ``currency``
    "country": "String",
    "device_type": "String",
    "is_bot": "UInt8",
}
_LOW_CARDINALITY = frozenset({"campaign_id", "creative_id", "placement", "held_out"})
_LOW_CARDINALITY_ORDERS = frozenset({"country", "device_type", "currency"})

TABLES: dict[str, tuple[dict[str, str], tuple[str, ...], frozenset[str]]] = {
    "rollup_campaigns": (
        CAMPAIGN_COLUMNS,
        ("site_id", "day", "generation", "campaign_id", "visitor_id"),
        _LOW_CARDINALITY | _LOW_CARDINALITY_ORDERS,
    ),
    "rollup_orders": (
        ORDER_COLUMNS,
        ("site_id", "day", "generation", "visitor_id", "order_key"),
        _LOW_CARDINALITY_ORDERS,
    ),
}


def campaign_tables(flavor: str, database: str) -> list[str]:
    """``CREATE TABLE IF NOT EXISTS`` of migration 6 (plain MergeTree, as the other rollups:
    replaced by generation, never read with FINAL)."""
    return [
        create_rollup_table(flavor, database, table, columns, key, low)
        for table, (columns, key, low) in TABLES.items()
    ]


_RANGE = (
    " WHERE site_id = %(site_id)s AND day IN %(utc_days)s"
    " AND derived_ms >= %(start_ms)s AND derived_ms < %(end_ms)s"
)
# (Aliases differ from column names: on 18.16 an alias is global to its SELECT, and ``day``
# must stay the table's column in the WHERE.)
_HELD_OUT = (
    "if(event_type = 'decision' AND holdout = 1,"
    " visitParamExtractString(properties, 'held_out_campaign'), '')"
)
RAW_CAMPAIGNS_SQL = (
    "SELECT c_day AS day, visitor_id, campaign_id, creative_id, placement, c_held_out AS"
    " held_out, holdout, country, device_type, is_bot, c_decisions AS decisions,"
    " c_impressions AS impressions, c_viewable AS viewable, c_clicks AS clicks,"
    " c_first AS first_decision_ms, c_touches AS touches FROM ("
    "SELECT toDate(derived_time, %(tz)s) AS c_day, visitor_id, campaign_id, creative_id,"
    f" placement, {_HELD_OUT} AS c_held_out, holdout, country, device_type, is_bot,"
    " toUInt32(countIf(event_type = 'decision')) AS c_decisions,"
    " toUInt32(countIf(event_type = 'banner_impression')) AS c_impressions,"
    " toUInt32(countIf(event_type = 'banner_impression' AND viewable = 1)) AS c_viewable,"
    " toUInt32(countIf(event_type = 'banner_click')) AS c_clicks,"
    " toUInt64(minIf(derived_ms, event_type = 'decision')) AS c_first,"
    " arraySort(groupArrayIf(derived_ms, event_type != 'decision')) AS c_touches"
    " FROM {events}"
    + _RANGE
    + " AND event_type IN ('decision', 'banner_impression', 'banner_click')"
    f" AND (campaign_id != '' OR {_HELD_OUT} != '')"
    " GROUP BY c_day, visitor_id, campaign_id, creative_id, placement, c_held_out, holdout,"
    " country, device_type, is_bot)"
)
RAW_ORDERS_SQL = (
    "SELECT o_day AS day, visitor_id, order_key, ordered_ms, currency, o_revenue AS revenue,"
    " country, device_type, is_bot FROM ("
    "SELECT toDate(derived_time, %(tz)s) AS o_day, visitor_id, event_id AS order_key,"
    " derived_ms AS ordered_ms, currency,"
    " toUInt64(arraySum(arrayMap((p, q) -> p * q, item_prices, item_quantities))) AS o_revenue,"
    " country, device_type, is_bot FROM {events}" + _RANGE + " AND event_type = 'purchase')"
)
_RAW_PARAMS = {"site_id": str, "tz": str, "start_ms": int, "end_ms": int, "utc_days": tuple}
RAW_CAMPAIGNS = NamedQuery("rollup_raw_campaigns", RAW_CAMPAIGNS_SQL, _RAW_PARAMS)
RAW_ORDERS = NamedQuery("rollup_raw_orders", RAW_ORDERS_SQL, _RAW_PARAMS)
