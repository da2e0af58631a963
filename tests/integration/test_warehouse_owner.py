"""Reading a chdb folder through its owner: a long read never stalls ingest, a reader never
takes the folder, and a framing error never leaves a socket out of step."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from clicktrail.settings import ChdbTarget
from pipelines.warehouse.base import WarehouseError, WarehouseUnavailable
from pipelines.warehouse.embedded import ChdbWarehouse
from pipelines.warehouse.factory import open_reader, open_warehouse
from pipelines.warehouse.host import ChdbHost, ChdbRemote, NoOwner
from pipelines.warehouse.migrate import migrate
from pipelines.warehouse.queries import DAILY_EVENTS, DayRange, daily_events
from pipelines.warehouse.sink import LINK_COLUMNS

ROOT = Path(__file__).parents[2]

# About 400 KB of JSONCompact.
BIG_READ = "SELECT number, toString(number) AS text FROM system.numbers LIMIT 20000"
# Four seconds that cost no CPU, so the test measures waiting for a lock, not a busy machine.
LONG_READ = "SELECT sum(sleepEachRow(0.1)) FROM numbers(40) SETTINGS max_block_size = 10"


@contextmanager
def owner(folder: Path, **host_options: int) -> Iterator[tuple[ChdbWarehouse, ChdbTarget]]:
    """This process owns ``folder`` (in a database of the test's own) and serves it, as the
    pipeline worker does."""
    target = ChdbTarget(folder, f"t_{uuid.uuid4().hex[:10]}")
    warehouse = ChdbWarehouse(folder, target.database)
    try:
        migrate(warehouse)
        host = ChdbHost(warehouse, **host_options)
        try:
            yield warehouse, target
        finally:
            host.close()
            warehouse.execute(f"DROP DATABASE IF EXISTS {target.database}")
    finally:
        warehouse.close()


def links(count: int, visitor: str = "v") -> list[dict]:
    return [
        {
            "site_id": "shop",
            "visitor_id": f"{visitor}{n}",
            "link_kind": "user",
            "linked_id": f"u{n}",
            "created_ms": 1_764_000_001_234,
            "event_id": str(uuid.uuid4()),
        }
        for n in range(count)
    ]


# --- framing ----------------------------------------------------------------------------------


def test_an_answer_over_the_readers_limit_does_not_poison_the_next_query(chdb_folder: Path):
    with owner(chdb_folder) as (_, target):
        # One socket: if the failed answer's rest stayed in it, the next query would read it.
        remote = ChdbRemote(target.path, target.database, 10, connections=1, max_message=64_000)
        try:
            for _ in range(2):
                with pytest.raises(WarehouseError, match="over the limit"):
                    remote.query(BIG_READ)
                assert remote.query("SELECT 42 AS answer").rows == [(42,)]
        finally:
            remote.close()


def test_the_owner_refuses_oversized_messages_and_keeps_serving(chdb_folder: Path):
    with owner(chdb_folder, max_message=64_000) as (_, target):
        remote = ChdbRemote(target.path, target.database, 10, connections=1)
        try:
            with pytest.raises(WarehouseError, match="over the limit"):
                remote.query(BIG_READ)  # the answer is too big to send
            assert remote.query("SELECT 42").scalar() == 42
            with pytest.raises(WarehouseError, match="over the limit"):
                remote.insert("identity_links", LINK_COLUMNS, links(2000))  # the request
            assert remote.query(f"SELECT count() FROM {target.database}.identity_links").rows == [
                (0,)
            ]
            remote.insert("identity_links", LINK_COLUMNS, links(3))
            assert remote.query(f"SELECT count() FROM {target.database}.identity_links").rows == [
                (3,)
            ]
        finally:
            remote.close()


# --- a long read and ingest -------------------------------------------------------------------


@pytest.mark.slow
def test_a_long_read_through_the_owner_does_not_stall_ingest(chdb_folder: Path):
    with owner(chdb_folder) as (warehouse, target):
        reader = open_warehouse(target, role="reader")
        second_worker = ChdbRemote(target.path, target.database)  # writes through the socket
        long_read: list[float] = []

        def report() -> None:
            started = time.monotonic()
            reader.query(LONG_READ)
            long_read.append(time.monotonic() - started)

        thread = threading.Thread(target=report)
        try:
            thread.start()
            time.sleep(0.3)  # the long read is running
            inserts: list[float] = []
            short_reads: list[float] = []
            while thread.is_alive():
                for write in (warehouse.insert, second_worker.insert):
                    started = time.monotonic()
                    write("identity_links", LINK_COLUMNS, links(500, f"v{len(inserts)}-"))
                    inserts.append(time.monotonic() - started)
                started = time.monotonic()
                reader.query(f"SELECT count() FROM {target.database}.identity_links")
                short_reads.append(time.monotonic() - started)
                time.sleep(0.05)
            thread.join()
        finally:
            second_worker.close()
            reader.close()
        assert long_read and long_read[0] > 3.5, "the long read did not run"
        assert len(inserts) >= 10, f"only {len(inserts)} inserts while the read ran"
        assert max(inserts) < 1.0, f"an insert waited {max(inserts):.2f} s for the read"
        assert max(short_reads) < 1.0, f"a short read waited {max(short_reads):.2f} s"
        stored = warehouse.query(f"SELECT count() FROM {target.database}.identity_links").scalar()
        assert stored == 500 * len(inserts)


def test_reads_on_the_owner_cannot_write(chdb_folder: Path):
    with owner(chdb_folder) as (warehouse, target):
        for reader in (warehouse, open_warehouse(target, role="reader")):
            with pytest.raises(WarehouseError, match="readonly"):
                reader.query(f"INSERT INTO {target.database}.identity_links (site_id) VALUES ('x')")
        assert warehouse.query(f"SELECT count() FROM {target.database}.identity_links").rows == [
            (0,)
        ]


def test_a_reader_moves_on_to_the_next_owner(chdb_folder: Path):
    reader = ChdbRemote(chdb_folder, "any", 10, connections=1)
    try:
        with owner(chdb_folder):
            assert reader.query("SELECT 1").scalar() == 1
        # The owner closed: its connections are shut, not left to answer from a closed folder.
        with pytest.raises(WarehouseUnavailable):
            reader.query("SELECT 2")
        with owner(chdb_folder):
            assert reader.query("SELECT 3").scalar() == 3
    finally:
        reader.close()


# --- a reader never owns the folder -----------------------------------------------------------

OWNER = textwrap.dedent(
    """
    import sys
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


@contextmanager
def owner_process(folder: Path) -> Iterator[None]:
    """A process that owns ``folder`` and serves it, as the pipeline worker does; it fails to
    start if another process holds the folder."""
    process = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(folder)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stdin and process.stdout and process.stderr
    try:
        ready = process.stdout.readline().strip()
        assert ready == "ready", process.stderr.read()
        yield
    finally:
        process.stdin.close()
        process.wait(timeout=30)
        process.stdout.close()
        process.stderr.close()
    assert process.returncode == 0


@pytest.mark.slow
def test_a_reader_started_before_the_worker_serves_once_it_runs(tmp_path: Path):
    folder = tmp_path / "owned"
    days = DayRange.last(3)
    with open_reader(ChdbTarget(folder, "shared")) as store:
        with pytest.raises(NoOwner, match="no owner"):
            store.run(DAILY_EVENTS, site_id="shop", start=days.start, end=days.end)
        assert not store.ping()
        assert not folder.exists()  # never opened, so never locked
        with owner_process(folder):  # starts: the reader does not hold the folder
            assert store.ping()
            assert daily_events(store, "shop", days) == []
        with pytest.raises(WarehouseUnavailable):  # the owner went away
            daily_events(store, "shop", days)
        with pytest.raises(NoOwner):
            daily_events(store, "shop", days)
        with owner_process(folder):  # a new owner: the same reader serves again
            assert daily_events(store, "shop", days) == []
