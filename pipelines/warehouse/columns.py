"""The columns of the ``events`` table. This list is the single source for the ClickHouse DDL
of both engines, the row builder and the profile sink.

One enriched event is one row. The pipeline worker holds it compact: an ``EventRow``, a tuple
of the values in column order (672 bytes for 79 columns against 1,584 for a dict, and a tuple
of atomic values is untracked by the cyclic garbage collector). A reader takes a field by name
through ``COLUMN`` (``row[COLUMN["site_id"]]``) or ``row_dict(row)``; tools and tests may hand
the sinks ``Row`` dicts instead, which ``event_row`` turns into the compact form.

Times are UTC milliseconds in ``UInt64`` columns on both engines (the 18.16 server has no
``DateTime64``); ``derived_time`` and ``day`` are computed by ClickHouse from them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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

Row = dict[str, Any]  # a row keyed by column name (identity links, tools, tests)
EventRow = tuple[Any, ...]  # an events row: the values in EVENT_COLUMNS order

EVENT_COLUMN_NAMES: tuple[str, ...] = tuple(EVENT_COLUMNS)
# A column's position in an EventRow: ``row[COLUMN["visitor_id"]]``.
COLUMN: dict[str, int] = {name: index for index, name in enumerate(EVENT_COLUMN_NAMES)}


def empty_value(kind: str) -> Any:
    if kind.startswith("Array("):
        return ()
    if kind == "String":
        return ""
    if kind.startswith("Float"):
        return 0.0
    return 0


EMPTY_ROW: EventRow = tuple(empty_value(kind) for kind in EVENT_COLUMNS.values())


def event_row(values: Mapping[str, Any]) -> EventRow:
    """The compact row of a row keyed by column name: the columns it leaves out are empty, and
    names that are not columns are left out (as an insert of the columns leaves them)."""
    return tuple(
        values.get(name, empty) for name, empty in zip(EVENT_COLUMN_NAMES, EMPTY_ROW, strict=True)
    )


def event_rows(rows: Iterable[EventRow | Mapping[str, Any]]) -> list[EventRow]:
    """Every row compact (rows already compact are kept as they are)."""
    return [row if type(row) is tuple else event_row(row) for row in rows]  # type: ignore[arg-type]


def row_dict(row: EventRow) -> Row:
    """The row keyed by column name."""
    return dict(zip(EVENT_COLUMN_NAMES, row, strict=True))
