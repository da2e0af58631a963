"""The schema of both engines, as numbered migrations.

One logical schema: the DDL differs only where the 18.16 server lacks a feature (it has no
``LowCardinality``), and every query runs unchanged on both. Choices (docs/warehouse.md):

- ``ReplacingMergeTree`` whose sort key is built only from what the client sets (site, visitor,
  device creation time, ``event_id``): a resent event has the same key and collapses, on both
  engines, with no insert deduplication (the 18.16 server has it only for replicated tables).
  Queries that must count exactly read ``FINAL``.
- Partitions by month of the device creation day, also a client field: a replay lands in the
  partition of the original, where the merge can see both.
- Sort key ``(site_id, day, visitor_id, created_ms, event_id)``: reports filter a site and a
  time range (a prefix of the key); a visitor's timeline is contiguous within a day.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pipelines.warehouse.columns import EVENT_COLUMNS
from pipelines.warehouse.sql import quote_identifier

if TYPE_CHECKING:
    from pipelines.warehouse.base import Warehouse

# On chdb these strings repeat heavily; the server 18.16 lacks LowCardinality.
LOW_CARDINALITY = frozenset(
    {
        "event_type",
        "id_source",
        "host",
        "ref_medium",
        "ref_source",
        "utm_source",
        "utm_medium",
        "click_id_kind",
        "country",
        "region",
        "time_zone",
        "browser",
        "os",
        "device_type",
        "device_brand",
        "language",
        "consent",
        "currency",
    }
)

EVENTS_SORT_KEY = ("site_id", "day", "visitor_id", "created_ms", "event_id")

# The engine of every table the migrations make. Readers need it: an exact read of a
# ReplacingMergeTree says FINAL, and FINAL on a plain MergeTree is an error on both engines.
TABLE_ENGINES = {
    "events": "ReplacingMergeTree",
    "identity_links": "ReplacingMergeTree",
    "schema_migrations": "MergeTree",
    # the reports' rollups (migration 4, rollups.py): replaced by generation, never FINAL
    "rollup_sessions": "MergeTree",
    "rollup_interests": "MergeTree",
    "rollup_products": "MergeTree",
    "rollup_days": "MergeTree",
    "rollup_dirty": "MergeTree",
    # the retention and RFM reports' rollups (migration 7, rollups_visitors.py)
    "rollup_visitor_days": "MergeTree",
    "rollup_segments": "MergeTree",
    # the campaigns report's rollups (migration 6, rollups_campaigns.py)
    "rollup_campaigns": "MergeTree",
    "rollup_orders": "MergeTree",
    "rollup_funnel_events": "MergeTree",  # the funnels report's (migration 6, rollups_funnels.py)
    "rollup_funnel_visitors": "MergeTree",  # the funnels report's fast table (migration 8)
}


def events_table(flavor: str, database: str) -> str:
    columns = []
    for name, kind in EVENT_COLUMNS.items():
        if flavor == "chdb" and name in LOW_CARDINALITY:
            kind = f"LowCardinality({kind})"
        columns.append(f"    {name} {kind}")
    columns.append("    day Date MATERIALIZED toDate(toDateTime(intDiv(created_ms, 1000), 'UTC'))")
    columns.append(
        "    derived_time DateTime('UTC') MATERIALIZED toDateTime(intDiv(derived_ms, 1000), 'UTC')"
    )
    body = ",\n".join(columns)
    return (
        f"CREATE TABLE IF NOT EXISTS {quote_identifier(database)}.events (\n{body}\n)"
        " ENGINE = ReplacingMergeTree"
        " PARTITION BY toYYYYMM(day)"
        f" ORDER BY ({', '.join(EVENTS_SORT_KEY)})"
    )


def identity_links_table(flavor: str, database: str) -> str:
    # visitor -> user (identify) and visitor -> visitor (a cross-domain id replaced another):
    # for profile merges, reports by person, and erasure of everything a person left.
    return (
        f"CREATE TABLE IF NOT EXISTS {quote_identifier(database)}.identity_links (\n"
        "    site_id String,\n"
        "    visitor_id String,\n"
        "    link_kind String,\n"
        "    linked_id String,\n"
        "    created_ms UInt64,\n"
        "    event_id String\n"
        ") ENGINE = ReplacingMergeTree"
        " ORDER BY (site_id, visitor_id, link_kind, linked_id)"
    )


@dataclass(frozen=True)
class Migration:
    """``statements`` run as they are (idempotent DDL); ``add_columns`` (table -> column ->
    type) are added where missing, so a table created by migration 1 of a later release (which
    already has them) and one of an earlier release end up the same."""

    version: int
    description: str
    statements: Callable[[str, str], list[str]]  # (flavor, database) -> DDL
    add_columns: dict[str, dict[str, str]] = field(default_factory=dict)
    # Run after the statements with the warehouse: fills a new table from what is there
    # (idempotent: an interrupted run is run again).
    then: Callable[[Warehouse], None] | None = None


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "events and identity links",
        lambda flavor, db: [events_table(flavor, db), identity_links_table(flavor, db)],
    ),
    Migration(
        2,
        "item categories (purchases feed category interest)",
        lambda flavor, db: [],
        add_columns={"events": {"item_categories": "Array(String)"}},
    ),
    Migration(
        3,
        "attribution: decision, creative, viewable, holdout (event schema 2)",
        lambda flavor, db: [],
        add_columns={
            "events": {
                name: EVENT_COLUMNS[name]
                for name in ("decision_id", "creative_id", "viewable", "holdout")
            }
        },
    ),
    Migration(
        4,
        "rollups: sessions and interests per site-local day, their builds, changed days",
        lambda flavor, db: _rollup_tables(
            flavor, db, ("rollup_sessions", "rollup_interests", "rollup_days", "rollup_dirty")
        ),
    ),
    Migration(
        5,
        "rollups: products per session and site-local day (views, carts, orders, revenue)",
        lambda flavor, db: _rollup_tables(flavor, db, ("rollup_products",)),
    ),
    Migration(
        6,
        "rollups: campaign exposures per visitor and site-local day, orders (campaigns report);"
        " each visitor's events per site-local day reduced for funnels",
        lambda flavor, db: _campaign_tables(flavor, db),
    ),
    Migration(
        7,
        "rollups: visitors per site-local day, RFM segment membership per day (retention, rfm)",
        lambda flavor, db: _visitor_tables(flavor, db),
    ),
    Migration(
        8,
        "rollups: each visitor's day with its times split by event type (funnels' fast table),"
        " filled for the days already built",
        lambda flavor, db: _funnel_visitor_tables(flavor, db),
        then=lambda warehouse: _fill_funnel_visitors(warehouse),
    ),
)


def _funnel_visitor_tables(flavor: str, database: str) -> list[str]:
    from pipelines.warehouse.rollups_funnels import funnel_visitor_tables  # as _rollup_tables

    return funnel_visitor_tables(flavor, database)


def _fill_funnel_visitors(warehouse: Warehouse) -> None:
    from pipelines.warehouse.rollups_funnels import fill_built_days  # as _rollup_tables

    fill_built_days(warehouse)


def _visitor_tables(flavor: str, database: str) -> list[str]:
    from pipelines.warehouse.rollups_visitors import visitor_tables  # as _rollup_tables

    return visitor_tables(flavor, database)


def _rollup_tables(flavor: str, database: str, tables: tuple[str, ...]) -> list[str]:
    from pipelines.warehouse.rollups import rollup_tables  # it reads named queries: not at import

    return rollup_tables(flavor, database, tables)


def _campaign_tables(flavor: str, database: str) -> list[str]:
    from pipelines.warehouse.rollups_campaigns import campaign_tables  # as above
    from pipelines.warehouse.rollups_funnels import funnel_tables

    return campaign_tables(flavor, database) + funnel_tables(flavor, database)


# The event schema version each warehouse schema version stores (additive: a newer warehouse
# schema stores every older event schema).
EVENT_SCHEMA_OF = {1: 1, 2: 1, 3: 2, 4: 2, 5: 2, 6: 2, 7: 2, 8: 2}


def migrations_table(database: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {quote_identifier(database)}.schema_migrations (\n"
        "    version UInt32,\n"
        "    event_schema UInt16,\n"
        "    description String,\n"
        "    applied_ms UInt64\n"
        ") ENGINE = MergeTree ORDER BY version"
    )
