"""Writing enriched rows to the warehouse: one columnar insert per table per batch."""

from __future__ import annotations

from collections.abc import Sequence

from pipelines.warehouse.base import Warehouse
from pipelines.warehouse.columns import EVENT_COLUMNS, Row

EVENT_COLUMN_NAMES = tuple(EVENT_COLUMNS)
LINK_COLUMNS = ("site_id", "visitor_id", "link_kind", "linked_id", "created_ms", "event_id")


class WarehouseSink:
    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse

    def write(self, events: Sequence[Row], links: Sequence[Row] = ()) -> None:
        """Both inserts are idempotent (replacing tables keyed by client fields), so a batch
        written twice after a crash still counts once."""
        self.warehouse.insert("events", EVENT_COLUMN_NAMES, events)
        self.warehouse.insert("identity_links", LINK_COLUMNS, links)
