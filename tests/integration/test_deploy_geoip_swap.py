"""A running pipeline worker picks up a new GeoIP database at the same path without a restart
(docs/deploy.md, "Replacing the GeoIP database"): one worker, two events, the file replaced
between them."""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from pathlib import Path

import pytest

from clicktrail.simulator.devices import load_user_agents
from clicktrail.simulator.geography import load_network_pool
from clicktrail.simulator.records import records_of
from clicktrail.simulator.simulation import SimulationConfig, run_simulation
from clicktrail.sites.model import Site
from pipelines.eventlog import open_event_log
from pipelines.runner import run_worker
from pipelines.warehouse.base import WarehouseError, WarehouseUnavailable
from pipelines.warehouse.factory import open_warehouse
from tests.geoip_db import SMALL_GEOIP_NETWORKS, _city_record, write_small_geoip_db
from tests.integration.conftest import make_engine, warehouse_target

IP = "81.2.69.142"  # London in the first database, Paris in the second
PARIS = _city_record("FR", "France", "EU", "Paris", 48.8566, 2.3522, "Europe/Paris")


def _cities(target) -> dict[str, str]:  # noqa: ANN001
    with open_warehouse(target) as warehouse:
        rows = warehouse.query(f"SELECT visitor_id, city FROM {target.database}.events FINAL").rows
    return {row[0]: row[1] for row in rows}


def _wait_for(target, count: int) -> dict[str, str]:  # noqa: ANN001
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            cities = _cities(target)
        except (WarehouseError, WarehouseUnavailable):  # the worker has not migrated yet
            cities = {}
        if len(cities) >= count:
            return cities
        time.sleep(0.2)
    raise AssertionError(f"fewer than {count} visitors' events arrived")


@pytest.mark.redis
def test_the_worker_swaps_the_database_it_reads(tmp_path: Path, chdb_folder: Path):
    geoip = write_small_geoip_db(tmp_path / "city.mmdb")
    simulation = run_simulation(
        SimulationConfig(seed=3, visitors=4, days=1, site_id="shop"),
        load_network_pool(geoip, 3),
        load_user_agents(),
    )
    records = list(records_of(simulation.batches, Site("shop")))
    first = next(r for r in records if not r.events[0].get("bot"))
    second = next(r for r in records if r.visitor_id != first.visitor_id)
    first, second = (dataclasses.replace(r, ip=IP, events=r.events[:1]) for r in (first, second))

    target = warehouse_target("chdb", chdb_folder)
    engine = make_engine(
        tmp_path,
        "redis",
        clickhouse_url=target,
        geoip_db=geoip,
        geoip_check_seconds=0.2,
        pipeline_batch_ms=100,
    )
    log = open_event_log(engine.settings, ack_timeout=10)
    log.ensure_created()
    stop = threading.Event()
    failure: list[BaseException] = []

    def work() -> None:
        try:
            run_worker(engine.settings, stop)
        except BaseException as exc:  # pragma: no cover - reported below
            failure.append(exc)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    try:
        log.append([first], timeout=10)
        assert _wait_for(target, 1)[first.visitor_id] == "London"

        staged = tmp_path / "city.mmdb.new"
        write_small_geoip_db(staged, {**SMALL_GEOIP_NETWORKS, "81.2.69.0/24": PARIS})
        os.replace(staged, geoip)  # as geoipupdate does
        time.sleep(0.5)  # past the check interval
        log.append([second], timeout=10)
        cities = _wait_for(target, 2)
        assert cities == {first.visitor_id: "London", second.visitor_id: "Paris"}
    finally:
        stop.set()
        worker.join(timeout=60)
        log.close()
        with open_warehouse(target) as warehouse:
            warehouse.execute(f"DROP DATABASE IF EXISTS {target.database}")
    assert not failure, failure
