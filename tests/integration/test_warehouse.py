"""The warehouse adapter on both real engines: the same schema, the same queries, the same
answers; replays collapse; chdb is shared between processes through its owner."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from clicktrail.settings import ChdbTarget
from pipelines.warehouse.base import WarehouseError
from pipelines.warehouse.columns import EVENT_COLUMNS, empty_value
from pipelines.warehouse.ddl import EVENT_SCHEMA_OF, MIGRATIONS
from pipelines.warehouse.migrate import current_version, migrate
from pipelines.warehouse.sink import WarehouseSink
from pipelines.warehouse.sql import QueryError

CREATED = 1_764_000_001_234  # 2025-11-24 16:00:01.234 UTC


def row(**fields) -> dict:
    base = {name: empty_value(kind) for name, kind in EVENT_COLUMNS.items()}
    base.update(
        site_id="shop",
        visitor_id="v1",
        created_ms=CREATED,
        event_id=str(uuid.uuid4()),
        event_type="page_view",
        received_ms=CREATED + 500,
        derived_ms=CREATED + 100,
    )
    base.update(fields)
    return base


def test_migrate_is_idempotent_and_records_versions(warehouse):
    assert current_version(warehouse) == MIGRATIONS[-1].version
    again = migrate(warehouse)
    assert again.applied == () and again.before == again.after == MIGRATIONS[-1].version
    recorded = warehouse.query(
        f"SELECT version, event_schema FROM {warehouse.database}.schema_migrations ORDER BY version"
    ).rows
    assert recorded[:5] == [(1, 1), (2, 1), (3, 2), (4, 2), (5, 2)]
    assert recorded == sorted(EVENT_SCHEMA_OF.items())  # every later migration too


def test_an_older_schema_is_upgraded_in_place(warehouse):
    db = warehouse.database
    warehouse.execute(
        f"ALTER TABLE {db}.events DROP COLUMN item_categories"
    )  # as release 1 made it
    warehouse.execute(f"DROP TABLE {db}.schema_migrations")
    report = migrate(warehouse)
    assert report.applied == tuple(migration.version for migration in MIGRATIONS)
    WarehouseSink(warehouse).write([row(item_categories=["Garden/Tools"])])
    got = warehouse.query(f"SELECT item_categories FROM {db}.events").scalar()
    assert got == ["Garden/Tools"]


def test_values_round_trip_exactly(warehouse):
    sent = row(
        title="Ünïcode 🛒 'quotes' \\ back\nslash",
        category=["Shoes", "Running"],
        item_skus=["a", "b"],
        item_prices=[1999, 2**40],
        item_quantities=[1, 3],
        latitude=51.5,
        price=2**63,
        is_bot=1,
    )
    WarehouseSink(warehouse).write([sent])
    got = warehouse.query(
        f"SELECT title, category, item_skus, item_prices, item_quantities, latitude, price,"
        f" is_bot, created_ms, derived_time, day FROM {warehouse.database}.events"
    ).rows
    assert got == [
        (
            sent["title"],
            ["Shoes", "Running"],
            ["a", "b"],
            [1999, 2**40],
            [1, 3],
            51.5,
            2**63,
            1,
            CREATED,
            datetime(2025, 11, 24, 16, 0, 1, tzinfo=UTC),
            date(2025, 11, 24),
        )
    ]


def test_a_replayed_event_counts_once_with_final(warehouse):
    sink = WarehouseSink(warehouse)
    first = [row(), row(visitor_id="v2")]
    sink.write(first)
    replay = [dict(r, received_ms=r["received_ms"] + 60_000) for r in first]  # resent later
    sink.write(replay)
    db = warehouse.database
    assert warehouse.query(f"SELECT count() FROM {db}.events FINAL").scalar() == 2
    warehouse.execute(f"OPTIMIZE TABLE {db}.events FINAL")
    assert warehouse.query(f"SELECT count() FROM {db}.events").scalar() == 2


def test_dedup_is_scoped_by_site_and_visitor(warehouse):
    shared_id = str(uuid.uuid4())  # two clients reusing one id must not suppress each other
    WarehouseSink(warehouse).write(
        [row(event_id=shared_id), row(event_id=shared_id, visitor_id="v2")]
        + [row(event_id=shared_id, site_id="other")]
    )
    assert warehouse.query(f"SELECT count() FROM {warehouse.database}.events FINAL").scalar() == 3


def test_parameters_are_bound_safely(warehouse):
    WarehouseSink(warehouse).write([row(visitor_id="o'brien\\"), row(visitor_id="plain")])
    got = warehouse.query(
        f"SELECT visitor_id FROM {warehouse.database}.events WHERE visitor_id IN %(ids)s",
        {"ids": ("o'brien\\", "nobody' OR 1=1 --")},
    ).rows
    assert got == [("o'brien\\",)]
    with pytest.raises(QueryError):
        warehouse.query("SELECT %(x)s", {"x": datetime.now()})
    with pytest.raises(QueryError):
        warehouse.query("SELECT %(missing)s", {"x": 1})


def test_bad_sql_is_a_warehouse_error(warehouse):
    with pytest.raises(WarehouseError):
        warehouse.query("SELEC 1")
    assert warehouse.ping()


def test_identity_links_collapse_too(warehouse):
    link = {
        "site_id": "shop",
        "visitor_id": "v1",
        "link_kind": "user",
        "linked_id": "u1",
        "created_ms": CREATED,
        "event_id": "e",
    }
    WarehouseSink(warehouse).write([], [link, link])
    count = warehouse.query(f"SELECT count() FROM {warehouse.database}.identity_links FINAL")
    assert count.scalar() == 1


OWNER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from pipelines.warehouse.embedded import ChdbWarehouse
    from pipelines.warehouse.host import ChdbHost
    from pipelines.warehouse.migrate import migrate
    warehouse = ChdbWarehouse(Path(sys.argv[1]), "shared")
    migrate(warehouse)
    host = ChdbHost(warehouse)
    print("ready", flush=True)
    sys.stdin.read()
    host.close()
    warehouse.close()
    """
)


def test_chdb_folder_is_shared_through_its_owner(tmp_path: Path):
    from pipelines.warehouse.factory import open_warehouse
    from pipelines.warehouse.host import ChdbRemote

    folder = tmp_path / "owned"
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(folder)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    try:
        assert owner.stdout.readline().strip() == "ready"
        with open_warehouse(ChdbTarget(folder, "shared")) as remote:
            assert isinstance(remote, ChdbRemote)
            assert migrate(remote).applied == ()  # migrations reach the data through the owner
            WarehouseSink(remote).write([row(), row()])
            assert remote.query("SELECT count() FROM shared.events FINAL").scalar() == 2
            with pytest.raises(WarehouseError):
                remote.query("SELECT nonsense FROM shared.events")
            assert remote.ping()
    finally:
        owner.stdin.close()
        owner.wait(timeout=30)
        owner.stdout.close()
    assert owner.returncode == 0
