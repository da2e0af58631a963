"""The rollups step inside a real pipeline worker (``--sinks warehouse,rollups``): simulated
traffic through the event log is built into rollups of the site's own days by the time the
worker exits, exactly as computed from the simulator's JSONL output."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from clicktrail.simulator.devices import load_user_agents
from clicktrail.simulator.geography import load_network_pool
from clicktrail.simulator.output import write_batches
from clicktrail.simulator.records import records_of
from clicktrail.simulator.simulation import SimulationConfig, run_simulation
from clicktrail.sites.model import Site
from clicktrail.sites.registry import edit_sites
from pipelines.eventlog import open_event_log
from pipelines.runner import run_worker
from pipelines.warehouse.factory import open_warehouse
from tests.integration.conftest import ENGINES, make_engine, warehouse_target
from tests.unit.reports import expected

# Recent days: a day older than the site's retention (395 days) is never built.
SIMULATION = SimulationConfig(
    seed=5, visitors=30, days=2, site_id="shop", start=datetime.now(UTC).date() - timedelta(days=4)
)
ZONE = "America/Los_Angeles"


@pytest.mark.redis
@pytest.mark.parametrize("engine_name", ENGINES)
def test_the_worker_builds_the_rollups_of_the_sites_days(
    tmp_path: Path, engine_name, chdb_folder, shared_small_geoip_db
):
    engine = make_engine(
        tmp_path,
        "redis",
        clickhouse_url=warehouse_target(engine_name, chdb_folder),
        geoip_db=shared_small_geoip_db,
        pipeline_batch_ms=200,
        pipeline_batch_events=300,
    )
    site = Site("shop", timezone=ZONE)
    with edit_sites(engine.settings.sites_file) as sites:
        sites["shop"] = Site("shop", origins=sites["shop"].origins, timezone=ZONE)
    simulation = run_simulation(
        SIMULATION, load_network_pool(shared_small_geoip_db, SIMULATION.seed), load_user_agents()
    )
    path = tmp_path / "shop.jsonl"
    write_batches(path, simulation.batches)
    log = open_event_log(engine.settings, ack_timeout=10)
    log.ensure_created()
    records = list(records_of(simulation.batches, site))
    for start in range(0, len(records), 200):
        log.append(records[start : start + 200], timeout=10)
    log.close()

    run_worker(
        engine.settings, threading.Event(), idle_exit_seconds=1.0, steps=["warehouse", "rollups"]
    )

    rows = expected.rows_from_jsonl(path, shared_small_geoip_db, {"shop": site})
    wanted: dict = {}
    for session in expected.sessions(rows, "shop", ZONE):
        wanted[session.day] = wanted.get(session.day, 0) + 1
    target = engine.settings.clickhouse_url
    with open_warehouse(target) as warehouse:
        db = target.database
        built = warehouse.query(
            f"SELECT day, count() FROM {db}.rollup_sessions"
            f" WHERE (site_id, day, generation) IN (SELECT site_id, day, max(generation)"
            f" FROM {db}.rollup_days GROUP BY site_id, day) GROUP BY day ORDER BY day"
        ).rows
        time_zones = warehouse.query(f"SELECT DISTINCT time_zone FROM {db}.rollup_days").rows
    assert dict(built) == wanted and len(wanted) >= 2  # every simulated day is closed
    assert time_zones == [(ZONE,)]
