"""``clicktrail export-person``, ``clicktrail forget`` and ``clicktrail retention run`` as an
operator types them (the ClickHouse server; the erasure itself is tested on both engines in
test_privacy_erasure.py)."""

from __future__ import annotations

import json
import threading

import pytest
from click.testing import CliRunner

from clicktrail.cli import cli
from clicktrail.sites.model import Site
from clicktrail.sites.registry import edit_sites
from pipelines.eventlog import open_event_log
from pipelines.runner import run_worker
from tests.integration.conftest import make_engine, warehouse_target
from tests.integration.privacy_world import ZONE, build_world, new_id

pytestmark = [pytest.mark.redis, pytest.mark.clickhouse, pytest.mark.slow]


def test_the_commands_export_forget_and_enforce_retention(
    tmp_path, chdb_folder, shared_small_geoip_db, monkeypatch
):
    engine = make_engine(
        tmp_path,
        "redis",
        clickhouse_url=warehouse_target("server", chdb_folder),
        geoip_db=shared_small_geoip_db,
        pipeline_batch_ms=200,
        pipeline_group=f"privacy-{new_id()[:8]}",
    )
    site_id = f"pc{new_id()[:10]}"
    with edit_sites(engine.settings.sites_file) as sites:
        sites[site_id] = Site(
            site_id, origins=("https://shop.example.test",), timezone=ZONE, retention_days=2
        )
    world = build_world()
    log = open_event_log(engine.settings, ack_timeout=10)
    log.ensure_created()
    log.append(world.records(site_id), timeout=10)
    log.close()
    run_worker(engine.settings, threading.Event(), idle_exit_seconds=1.0, steps=["warehouse"])
    for name, value in engine.env().items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    visitor = world.person_visitors[1]

    assert runner.invoke(cli, ["forget", "--site", site_id]).exit_code == 2  # whom?
    both = ["forget", "--site", site_id, "--visitor", "v", "--user", "u"]
    assert runner.invoke(cli, both).exit_code == 2
    assert runner.invoke(cli, ["forget", "--site", "bad site", "--user", "u"]).exit_code == 2

    exported = runner.invoke(cli, ["export-person", "--site", site_id, "--visitor", visitor])
    assert exported.exit_code == 0, exported.output
    held = json.loads(exported.output)
    assert set(held["person"]["visitor_ids"]) == set(world.person_visitors)
    assert held["clickhouse"]["events"]

    forgotten = runner.invoke(
        cli, ["forget", "--site", site_id, "--visitor", visitor, "--settle-seconds", "0"]
    )
    assert forgotten.exit_code == 0, forgotten.output
    receipt = json.loads(forgotten.output)
    assert receipt["requested_by"].startswith("cli:")
    removed = {r["store"]: r["removed"] for r in receipt["removed"]}
    assert removed["clickhouse:events"] == sum(len(e) for *_, e in world.person)
    again = json.loads(
        runner.invoke(cli, ["export-person", "--site", site_id, "--user", world.user_id]).output
    )
    assert again["clickhouse"]["events"] == [] and again["clickhouse"]["identity_links"] == []
    assert not any(again["clickhouse"]["rollups"].values())

    # Retention of 2 days: the others' events of the world's first local day go.
    ran = runner.invoke(cli, ["retention", "run"])
    assert ran.exit_code == 0, ran.output
    mine = next(site for site in json.loads(ran.output) if site["site_id"] == site_id)
    assert mine["events_deleted"] > 0
    second = json.loads(runner.invoke(cli, ["retention", "run"]).output)
    assert [site["events_deleted"] for site in second if site["site_id"] == site_id] == [0]
