"""Rows for the warehouse's ``events`` table written straight by a test (no pipeline)."""

from __future__ import annotations

import uuid
from typing import Any

from pipelines.warehouse.columns import EVENT_COLUMNS, empty_value


def product_view_row(site_id: str, visitor_id: str, sku: str, at: int, **fields: Any) -> dict:
    """A product view at ``at`` (ms), every other column empty unless ``fields`` names it."""
    row = {name: empty_value(kind) for name, kind in EVENT_COLUMNS.items()}
    row.update(
        site_id=site_id,
        visitor_id=visitor_id,
        event_id=str(uuid.uuid4()),
        event_type="product_view",
        created_ms=at,
        received_ms=at,
        derived_ms=at,
        sku=sku,
    )
    row.update(fields)
    return row
