"""Writing enriched rows to the warehouse: one columnar insert per table per batch."""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter

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
        self.warehouse.insert("events", used_columns(events), events)
        self.warehouse.insert("identity_links", LINK_COLUMNS, links)


def used_columns(rows: Sequence[Row]) -> tuple[str, ...]:
    """The columns some row of the batch sets. The others are left out of the insert: the
    engine fills in its default, which is the same empty value, and most batches leave half
    the columns (banners, orders, properties...) empty, which the client would serialize."""
    return tuple(
        name
        for name in EVENT_COLUMN_NAMES
        if name in _ALWAYS or any(map(itemgetter(name), rows))  # C speed, no generator
    )


_ALWAYS = frozenset(("site_id", "visitor_id", "created_ms", "event_id", "event_type"))
