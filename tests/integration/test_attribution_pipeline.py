"""The attribution loop end to end, on both warehouse engines: decisions (holdout ones marked),
a viewable impression and a click go through the personalizer, the real event log (Redis
Streams) and the pipeline worker into ``events``, with one ``decision_id``; impressions and
clicks sent again count once in ``events FINAL``."""

from __future__ import annotations

import ipaddress
import json
import random
import threading
import uuid
from urllib.parse import urlsplit

import pytest

from bench.harness.engine import make_engine
from clicktrail.contract.ids import attribution_event_id, decision_ms
from clicktrail.sites.model import Site
from personalizer.app import create_app
from personalizer.popularity import PopularityCache
from pipelines.runner import run_worker
from pipelines.warehouse.factory import open_warehouse
from pipelines.warehouse.reader import WarehouseEventStore
from tests.integration.conftest import ENGINES, warehouse_target
from tests.sites import site_with_marketer

pytestmark = pytest.mark.redis

ORIGIN = "https://shop.example.test"
BERLIN_IP = "91.1.2.3"  # DE in the small test database
VISITORS = 20


def creative(cid: str) -> dict:
    return {
        "id": cid,
        "placement": "top",
        "image_url": f"https://cdn.example.test/{cid}.png",
        "alt": cid,
        "landing_url": f"https://shop.example.test/landing/{cid}",
        "width": 300,
        "height": 250,
    }


@pytest.mark.parametrize("engine_name", ENGINES)
def test_decision_impression_click_land_with_one_decision_id(
    tmp_path, engine_name, chdb_folder, shared_small_geoip_db
):
    target = warehouse_target(engine_name, chdb_folder)
    engine = make_engine(
        tmp_path,
        "redis",
        geoip_db=shared_small_geoip_db,
        clickhouse_url=target,
        trusted_proxies=(ipaddress.ip_network("127.0.0.0/8"),),
        pipeline_batch_ms=200,
        pipeline_group=f"pipeline-{uuid.uuid4().hex[:8]}",
    )
    site_id = f"s{uuid.uuid4().hex[:10]}"
    secret = site_with_marketer(
        engine.settings, Site(site_id, origins=(ORIGIN,), timezone="Europe/Berlin")
    )
    with open_warehouse(target) as warehouse:
        app = create_app(
            engine.settings,
            popularity=PopularityCache(WarehouseEventStore(warehouse)),
            rng=random.Random(5),
        )
        client = app.test_client()
        for campaign in (
            {"id": "germany", "rules": {"country": ["DE"]}, "holdout_percent": 50},
            {"id": "world", "default": True},
        ):
            name = campaign["id"]
            body = {"site_id": site_id, "name": name, "creatives": [creative(f"{name}-a")]}
            answer = client.put(
                f"/v1/manage/sites/{site_id}/campaigns/{name}",
                data=json.dumps({**body, **campaign}),
                headers={"Authorization": f"Bearer {secret}"},
                content_type="application/json",
            )
            assert answer.status_code == 201, answer.get_json()

        decided = []
        for n in range(VISITORS):
            answer = client.post(
                "/v1/decide",
                data=json.dumps({"site_id": site_id, "visitor_id": f"v{n}", "placements": ["top"]}),
                headers={"Origin": ORIGIN, "X-Forwarded-For": BERLIN_IP},
                content_type="application/json",
            )
            assert answer.status_code == 200, answer.get_json()
            decided.append(answer.get_json())
        shown = next(d for d in decided if not d["placements"]["top"]["holdout"])
        held = next(d for d in decided if d["placements"]["top"]["holdout"])
        assert shown["placements"]["top"]["campaign_id"] == "germany"
        assert held["placements"]["top"]["campaign_id"] == "world"

        # The browser saw the banner (vw=1) and sends the impression twice; the visitor clicks
        # twice (a double click, a reload).
        impression = urlsplit(shown["placements"]["top"]["impression_url"])
        click = urlsplit(shown["placements"]["top"]["click_url"])
        browser = {"X-Forwarded-For": BERLIN_IP, "User-Agent": "Mozilla/5.0 Chrome/120.0"}
        for _ in range(2):
            seen = client.get(f"{impression.path}?{impression.query}&vw=1", headers=browser)
            assert seen.status_code == 200
            clicked = client.get(f"{click.path}?{click.query}", headers=browser)
            assert clicked.status_code == 302
        shared = app.extensions["personalizer"]
        assert shared.attribution.flush(10)
        shared.attribution.close()

        worker = run_worker(engine.settings, threading.Event(), idle_exit_seconds=1.0)
        assert worker.stats.dead_letters == 0

        db = target.database
        decision_id = shown["decision_id"]
        rows = warehouse.query(
            "SELECT event_type, event_id, visitor_id, created_ms, campaign_id, creative_id,"
            " placement, viewable, holdout, country, schema_version"
            f" FROM {db}.events FINAL WHERE decision_id = %(d)s ORDER BY event_type",
            {"d": decision_id},
        ).dicts()
        created = decision_ms(decision_id)
        assert [r["event_type"] for r in rows] == ["banner_click", "banner_impression", "decision"]
        kinds = {"banner_click": "click", "banner_impression": "impression", "decision": "decision"}
        for row in rows:
            assert row["event_id"] == attribution_event_id(
                decision_id, "top", kinds[row["event_type"]]
            )
            assert row["created_ms"] == created
            assert (row["campaign_id"], row["creative_id"], row["placement"]) == (
                "germany",
                "germany-a",
                "top",
            )
            assert row["visitor_id"] == shown["visitor_id"]
            assert row["holdout"] == 0 and row["schema_version"] == 2
        assert [r["viewable"] for r in rows] == [0, 1, 0]
        # all three located by the visitor's address (the decision's as the personalizer saw it)
        assert [r["country"] for r in rows] == ["DE", "DE", "DE"]

        # every decision was logged, holdout ones marked
        decisions = warehouse.query(
            f"SELECT decision_id, holdout, campaign_id FROM {db}.events FINAL"
            " WHERE event_type = 'decision'"
        ).rows
        assert sorted(d for d, _, _ in decisions) == sorted(d["decision_id"] for d in decided)
        marked = {d: (h, c) for d, h, c in decisions}
        assert marked[held["decision_id"]] == (1, "world")
        assert marked[decision_id] == (0, "germany")
        assert sum(h for h, _ in marked.values()) == sum(
            d["placements"]["top"]["holdout"] for d in decided
        )
        warehouse.execute(f"DROP DATABASE IF EXISTS {db}")
