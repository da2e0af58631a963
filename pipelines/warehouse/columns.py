"""The columns of the ``events`` table: one enriched event is one row, a dict keyed by these
names. This list is the single source for the ClickHouse DDL of both engines, the row builder
and the profile sink.

Times are UTC milliseconds in ``UInt64`` columns on both engines (the 18.16 server has no
``DateTime64``); ``derived_time`` and ``day`` are computed by ClickHouse from them.
"""

from __future__ import annotations

from typing import Any

# name -> ClickHouse type (the subset both engines accept)
EVENT_COLUMNS: dict[str, str] = {
    "site_id": "String",
    "visitor_id": "String",
    "created_ms": "UInt64",  # device clock: part of the dedup key, so a resend collapses
    "event_id": "String",
    "event_type": "String",
    "schema_version": "UInt16",
    "id_source": "String",
    "replaced_visitor_id": "String",
    "user_id": "String",
    "session_id": "String",
    "session_index": "UInt32",
    "page_view_id": "String",
    "sent_ms": "UInt64",
    "received_ms": "UInt64",
    "derived_ms": "UInt64",
    "url": "String",
    "host": "String",
    "path": "String",
    "title": "String",
    "referrer": "String",
    "ref_medium": "String",
    "ref_source": "String",
    "ref_term": "String",
    "utm_source": "String",
    "utm_medium": "String",
    "utm_campaign": "String",
    "utm_term": "String",
    "utm_content": "String",
    "click_id": "String",
    "click_id_kind": "String",
    "ip": "String",  # truncated per site; the raw address never reaches ClickHouse
    "country": "String",
    "region": "String",
    "city": "String",
    "postal": "String",
    "latitude": "Float32",
    "longitude": "Float32",
    "accuracy_km": "UInt16",  # 0: location unknown
    "time_zone": "String",
    "browser": "String",
    "browser_version": "String",
    "os": "String",
    "os_version": "String",
    "device_type": "String",  # desktop, mobile, tablet, bot, other
    "device_brand": "String",
    "device_model": "String",
    "is_bot": "UInt8",
    "screen": "String",
    "viewport": "String",
    "language": "String",
    "engaged_ms": "UInt32",
    "consent": "String",
    "sku": "String",
    "product_name": "String",
    "category": "Array(String)",
    "price": "UInt64",
    "currency": "String",
    "quantity": "UInt32",
    "order_id": "String",
    "total": "UInt64",
    "tax": "UInt64",
    "shipping": "UInt64",
    "item_skus": "Array(String)",
    "item_names": "Array(String)",
    "item_prices": "Array(UInt64)",
    "item_quantities": "Array(UInt32)",
    "item_categories": "Array(String)",  # each item's category path, "Top/Sub" (schema 2)
    "target_url": "String",
    "label": "String",
    "banner_id": "String",
    "campaign_id": "String",
    "placement": "String",
    # schema 2, the attribution loop (migration 3): a decision's events, impressions and clicks
    "decision_id": "String",
    "creative_id": "String",
    "viewable": "UInt8",  # 1: the browser saw at least half of it for a second; 0: not stated
    "holdout": "UInt8",  # 1: a holdout visitor, shown the default so lift can be measured
    "event_name": "String",
    "properties": "String",  # JSON object
    "context": "String",  # JSON object: contexts and fields of newer schemas
}

Row = dict[str, Any]


def empty_value(kind: str) -> Any:
    if kind.startswith("Array("):
        return ()
    if kind == "String":
        return ""
    if kind.startswith("Float"):
        return 0.0
    return 0
