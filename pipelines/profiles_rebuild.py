"""Feeding ``profiles.rebuild`` from the warehouse: a site's events, deduplicated, in the order
they were logged, one day at a time so no answer holds the whole history."""

from __future__ import annotations

from collections.abc import Iterator

from pipelines.profiles.rebuild import rebuild
from pipelines.profiles.sink import ApplyResult, ProfileSink
from pipelines.warehouse.base import Warehouse
from pipelines.warehouse.columns import Row
from pipelines.warehouse.sql import quote_identifier


def site_rows(warehouse: Warehouse, site_id: str) -> Iterator[Row]:
    events = f"{quote_identifier(warehouse.database)}.events"
    days = warehouse.query(
        f"SELECT DISTINCT toDate(toDateTime(intDiv(received_ms, 1000), 'UTC')) AS d"
        f" FROM {events} WHERE site_id = %(site)s ORDER BY d",
        {"site": site_id},
    ).rows
    for (day,) in days:
        yield from warehouse.query(
            f"SELECT * FROM {events} FINAL WHERE site_id = %(site)s"
            " AND toDate(toDateTime(intDiv(received_ms, 1000), 'UTC')) = %(day)s"
            " ORDER BY received_ms, created_ms, event_id",
            {"site": site_id, "day": day},
        ).dicts()


def rebuild_from_warehouse(warehouse: Warehouse, sink: ProfileSink, site_id: str) -> ApplyResult:
    return rebuild(site_rows(warehouse, site_id), sink, sites=[site_id])
