"""The worker's compact rows: the same values as the named rows, in column order, in a form the
cyclic garbage collector stops tracking; what reads them by name; what the warehouse inserts."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from clicktrail.contract.record import LogRecord
from pipelines.enrich import DeviceDetector, GeoLocator
from pipelines.profiles.aggregate import aggregate, event_hash, owner, replaces
from pipelines.profiles.config import ProfileConfig
from pipelines.rows import RowBuilder
from pipelines.steps.base import PreparedBatch
from pipelines.steps.days import SiteDays
from pipelines.warehouse.chdb_format import insert_statement
from pipelines.warehouse.columns import (
    COLUMN,
    EMPTY_ROW,
    EVENT_COLUMN_NAMES,
    EVENT_COLUMNS,
    event_row,
    event_rows,
    row_dict,
)
from pipelines.warehouse.sink import used_columns
from tests.unit.pipelines.test_rows import FIXTURES, SITE


@pytest.fixture
def builder(small_geoip_db: Path):
    with GeoLocator(small_geoip_db) as geo:
        yield RowBuilder(geo, DeviceDetector(), {"shop": SITE}.get)


def records() -> list[LogRecord]:
    data = json.loads((FIXTURES / "records.json").read_text())
    return [LogRecord.decode(json.dumps(record).encode()) for record in data]


def test_compact_rows_hold_the_named_rows_values_in_column_order(builder):
    for record in records():
        compact = builder.build_compact(record)
        named = builder.build(record)
        assert [row_dict(row) for row in compact.events] == named.events
        assert compact.links == named.links
        assert compact.failures == named.failures
        for row in compact.events:
            assert type(row) is tuple and len(row) == len(EVENT_COLUMNS)
            assert event_row(row_dict(row)) == row


def test_the_garbage_collector_stops_tracking_compact_rows(builder):
    rows = [row for record in records() for row in builder.build_compact(record).events]
    assert rows
    gc.collect()  # untracks the tuples inside the rows
    gc.collect()  # then the rows, which hold only untracked values
    assert not any(gc.is_tracked(row) for row in rows)


def test_a_named_row_becomes_compact_with_empty_columns_and_unknown_names_left_out():
    row = event_row({"site_id": "s", "created_ms": 5, "category": ("A",), "derived_time": 1})
    assert row[COLUMN["site_id"]] == "s"
    assert row[COLUMN["created_ms"]] == 5
    assert row[COLUMN["category"]] == ("A",)
    assert row[COLUMN["url"]] == "" and row[COLUMN["price"]] == 0 and row[COLUMN["item_skus"]] == ()
    assert len(row) == len(EMPTY_ROW)
    compact = event_row({"site_id": "t"})
    assert event_rows([compact, {"site_id": "u"}])[0] is compact


def test_steps_read_fields_by_name():
    rows = [event_row({"event_id": "a", "site_id": "s"}), event_row({"event_id": "b"})]
    batch = PreparedBatch([], events=rows)
    assert batch.column("event_id") == ["a", "b"]
    assert batch.column("site_id") == ["s", ""]


def test_site_days_read_compact_and_named_rows_alike():
    days = SiteDays(lambda site_id: "UTC")
    named = [{"site_id": "s", "derived_ms": 86_400_000}]
    assert days.touched(named) == days.touched(event_rows(named)) == {("s", _day(1))}


def test_the_profile_aggregate_reads_compact_and_named_rows_alike(builder):
    config = ProfileConfig()
    compact = [(None, builder.build_compact(record).events) for record in records()]
    named = [(None, builder.build(record).events) for record in records()]
    assert aggregate(compact, config) == aggregate(named, config)
    row = compact[0][1][0]
    assert event_hash(row) == event_hash(row_dict(row))
    assert owner(row) == (row_dict(row)["site_id"], row_dict(row)["visitor_id"])
    linked = event_row({"visitor_id": "v2", "replaced_visitor_id": "v1"})
    assert replaces(linked) and replaces(row_dict(linked))
    assert not replaces(event_row({"visitor_id": "v1", "replaced_visitor_id": "v1"}))


def test_only_the_columns_a_batch_sets_are_inserted():
    rows = [event_row({"site_id": "s", "url": "https://x.test/"}), event_row({"site_id": "s"})]
    columns = used_columns(rows)
    assert "url" in columns and "price" not in columns
    assert {"site_id", "visitor_id", "created_ms", "event_id", "event_type"} <= set(columns)
    assert list(columns) == [name for name in EVENT_COLUMN_NAMES if name in columns]


def test_chdb_inserts_compact_and_named_rows_as_the_same_text():
    columns = ("site_id", "category", "price")
    named = [{"site_id": "s", "category": ("A", "B"), "price": 3, "url": "ignored"}]
    compact = [("s", ("A", "B"), 3)]
    text = insert_statement("db", "events", columns, compact)
    assert text == insert_statement("db", "events", columns, named)
    assert orjson.loads(text.splitlines()[1]) == ["s", ["A", "B"], 3]


def test_the_driver_builds_no_date_table_when_the_warehouse_is_imported():
    # clickhouse-driver's lookup tables of every date 1900-2299 cost ~30 MB a process.
    script = (
        "import pipelines.warehouse.server\n"
        "from clickhouse_driver.columns.datecolumn import _date_lut\n"
        "print(len(_date_lut))"
    )
    root = Path(__file__).parents[3]
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, check=True
    )
    assert int(out.stdout) < 100


def _day(days: int):  # noqa: ANN202
    from datetime import date, timedelta

    return date(1970, 1, 1) + timedelta(days=days)
