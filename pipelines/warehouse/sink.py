"""Writing enriched rows to the warehouse: one columnar insert per table per batch."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any

from pipelines.warehouse.base import Warehouse
from pipelines.warehouse.columns import COLUMN, EVENT_COLUMN_NAMES, EventRow, Row, event_rows

LINK_COLUMNS = ("site_id", "visitor_id", "link_kind", "linked_id", "created_ms", "event_id")

__all__ = ["EVENT_COLUMN_NAMES", "LINK_COLUMNS", "WarehouseSink", "used_columns"]


class WarehouseSink:
    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse

    def write(
        self, events: Sequence[EventRow | Mapping[str, Any]], links: Sequence[Row] = ()
    ) -> None:
        """Both inserts are idempotent (replacing tables keyed by client fields), so a batch
        written twice after a crash still counts once. ``events``: compact rows, or rows keyed
        by column name."""
        rows = event_rows(events)
        columns = used_columns(rows)
        if len(columns) < len(EVENT_COLUMN_NAMES):
            # Only the columns inserted, at C speed; the tuples live until the insert returns.
            rows = list(map(itemgetter(*(COLUMN[name] for name in columns)), rows))
        self.warehouse.insert("events", columns, rows)
        self.warehouse.insert("identity_links", LINK_COLUMNS, links)


def used_columns(rows: Sequence[EventRow]) -> tuple[str, ...]:
    """The columns some (compact) row of the batch sets. The others are left out of the
    insert: the engine fills in its default, which is the same empty value, and most batches
    leave half the columns (banners, orders, properties...) empty, which the client would
    serialize."""
    return tuple(
        name
        for name in EVENT_COLUMN_NAMES
        if name in _ALWAYS or any(map(itemgetter(COLUMN[name]), rows))  # C speed, no generator
    )


_ALWAYS = frozenset(("site_id", "visitor_id", "created_ms", "event_id", "event_type"))
