"""Migration 3 (event schema 2, the attribution loop) on both real engines: a table of the
previous release is upgraded in place, and a decision's events keep their attribution columns
and collapse in ``events FINAL`` when resent."""

from __future__ import annotations

import time

from clicktrail.contract.ids import attribution_event_id, decision_ms, new_decision_id
from pipelines.warehouse.columns import EVENT_COLUMNS, empty_value
from pipelines.warehouse.migrate import migrate
from pipelines.warehouse.sink import WarehouseSink

ATTRIBUTION = ("decision_id", "creative_id", "viewable", "holdout")


def attribution_row(decision_id: str, kind: str, **fields) -> dict:
    created = decision_ms(decision_id)
    row = {name: empty_value(type_) for name, type_ in EVENT_COLUMNS.items()}
    row.update(
        site_id="shop",
        visitor_id="v1",
        created_ms=created,
        event_id=attribution_event_id(decision_id, "top", kind),
        event_type={"decision": "decision", "impression": "banner_impression"}[kind],
        received_ms=created + 500,
        derived_ms=created + 500,
        decision_id=decision_id,
        campaign_id="summer",
        creative_id="hero-1",
        placement="top",
        schema_version=2,
    )
    row.update(fields)
    return row


def columns_of(warehouse) -> dict[str, str]:
    return dict(
        warehouse.query(
            "SELECT name, type FROM system.columns WHERE database = %(db)s AND table = 'events'",
            {"db": warehouse.database},
        ).rows
    )


def test_a_release_2_table_gains_the_attribution_columns(warehouse):
    db = warehouse.database
    for name in ATTRIBUTION:
        warehouse.execute(f"ALTER TABLE {db}.events DROP COLUMN {name}")
    warehouse.execute(f"DROP TABLE {db}.schema_migrations")  # as release 2 recorded it:
    warehouse.execute(
        f"CREATE TABLE {db}.schema_migrations (version UInt32, event_schema UInt16,"
        " description String, applied_ms UInt64) ENGINE = MergeTree ORDER BY version"
    )
    warehouse.insert(
        "schema_migrations",
        ("version", "event_schema", "description", "applied_ms"),
        [{"version": v, "event_schema": 1, "description": "", "applied_ms": 0} for v in (1, 2)],
    )
    old = attribution_row(new_decision_id(int(time.time() * 1000)), "decision")
    warehouse.insert(
        "events",
        tuple(n for n in EVENT_COLUMNS if n not in ATTRIBUTION),
        [{n: v for n, v in old.items() if n not in ATTRIBUTION}],
    )
    assert not set(ATTRIBUTION) & set(columns_of(warehouse))

    report = migrate(warehouse)

    assert report.applied[0] == 3  # and every later migration, in order
    assert list(report.applied) == list(range(3, 3 + len(report.applied)))
    columns = columns_of(warehouse)
    assert {name: columns[name] for name in ATTRIBUTION} == {
        "decision_id": "String",
        "creative_id": "String",
        "viewable": "UInt8",
        "holdout": "UInt8",
    }
    # The row stored before the upgrade reads the new columns' defaults.
    assert warehouse.query(
        f"SELECT decision_id, creative_id, viewable, holdout FROM {db}.events"
    ).rows == [("", "", 0, 0)]
    assert migrate(warehouse).applied == ()


def test_a_decisions_events_keep_their_attribution_and_collapse_when_resent(warehouse):
    decision_id = new_decision_id(int(time.time() * 1000))
    sink = WarehouseSink(warehouse)
    decision = attribution_row(decision_id, "decision", holdout=1)
    impression = attribution_row(decision_id, "impression", viewable=1)
    sink.write([decision, impression])
    resent = dict(impression, received_ms=impression["received_ms"] + 30_000)
    sink.write([resent, dict(decision)])
    db = warehouse.database
    got = warehouse.query(
        f"SELECT event_type, decision_id, creative_id, viewable, holdout, created_ms"
        f" FROM {db}.events FINAL ORDER BY event_type"
    ).rows
    created = decision_ms(decision_id)
    assert got == [
        ("banner_impression", decision_id, "hero-1", 1, 0, created),
        ("decision", decision_id, "hero-1", 0, 1, created),
    ]
