"""What the snippet sends lands in ClickHouse: a page in Chromium, the real collector and event
log, a pipeline worker of the test's own, and ``events FINAL`` read back on the server."""

from __future__ import annotations

import threading
import uuid

import pytest

from bench.harness.browser import origin
from clicktrail import ports
from clicktrail.settings import ClickHouseServerTarget
from pipelines.runner import run_worker
from pipelines.warehouse.factory import open_warehouse

pytestmark = [pytest.mark.redis, pytest.mark.clickhouse, pytest.mark.browser, pytest.mark.slow]

SHOP = origin("shop.example.test")


def test_screen_viewport_and_language_reach_clickhouse(
    browser, engine, event_log, shared_small_geoip_db
):
    browser.goto(f"{SHOP}/product")
    pairs = event_log.events(
        lambda p: {"page_view", "product_view"} <= {e["event_type"] for _, e in p}
    )
    sent = {e["event_id"]: e["event_type"] for _, e in pairs}
    device = browser.evaluate(
        "[screen.width+'x'+screen.height, innerWidth+'x'+innerHeight, navigator.language]"
    )

    target = ClickHouseServerTarget(
        "127.0.0.1", ports.port("clickhouse_native"), f"t_{uuid.uuid4().hex[:10]}"
    )
    settings = engine.settings.replace(
        clickhouse_url=target,
        geoip_db=shared_small_geoip_db,
        pipeline_group=f"e2e-{uuid.uuid4().hex[:8]}",
    )
    worker = run_worker(settings, threading.Event(), idle_exit_seconds=1.0, steps=["warehouse"])
    assert worker.stats.dead_letters == 0
    ids = ", ".join(f"'{event_id}'" for event_id in sent)  # UUIDs made by the snippet
    with open_warehouse(target) as warehouse:
        try:
            rows = warehouse.query(
                f"SELECT event_id, event_type, screen, viewport, language "
                f"FROM {target.database}.events FINAL WHERE event_id IN ({ids})"
            ).rows
        finally:
            warehouse.execute(f"DROP DATABASE IF EXISTS {target.database}")
    assert {str(row[0]): row[1] for row in rows} == sent
    for row in rows:
        assert list(row[2:]) == device and device[0] != "0x0", row
