"""The collector's privacy routes against the real services (the ClickHouse server: a serving
process reaches chdb only through the pipeline worker's folder, which no worker holds here):
admin erasure and export need an admin token of the site, and self-service erasure erases only
the visitor id of the request's own collector cookie, a few times an hour per address."""

from __future__ import annotations

import random
import threading
import time

import pytest

from clicktrail.sites.model import Site
from clicktrail.sites.registry import edit_sites
from clicktrail.tokens.model import new_token
from clicktrail.tokens.registry import edit_tokens
from pipelines.eventlog import open_event_log
from pipelines.runner import run_worker
from tests.integration.conftest import make_engine, warehouse_target
from tests.integration.privacy_world import ZONE, build_world, new_id
from tests.integration.test_collector_openapi import conforms
from tracker.app import create_app

pytestmark = [pytest.mark.redis, pytest.mark.clickhouse, pytest.mark.slow]

SHOP = "https://shop.example.test"


@pytest.fixture
def world_app(tmp_path, chdb_folder, shared_small_geoip_db):
    engine = make_engine(
        tmp_path,
        "redis",
        clickhouse_url=warehouse_target("server", chdb_folder),
        geoip_db=shared_small_geoip_db,
        pipeline_batch_ms=200,
        pipeline_group=f"privacy-{new_id()[:8]}",
        privacy_settle_ms=0,
        privacy_forget_me_per_hour=2,
    )
    site_id, other_site = f"ph{new_id()[:10]}", f"po{new_id()[:10]}"
    with edit_sites(engine.settings.sites_file) as sites:
        sites[site_id] = Site(site_id, origins=(SHOP,), timezone=ZONE)
        sites[other_site] = Site(other_site, origins=("https://other.example.test",))
    world = build_world()
    log = open_event_log(engine.settings, ack_timeout=10)
    log.ensure_created()
    log.append(world.records(site_id), timeout=10)
    log.close()
    run_worker(engine.settings, threading.Event(), idle_exit_seconds=1.0)
    secrets = {}
    with edit_tokens(engine.settings.tokens_file) as tokens:
        for name, role, site in (
            ("admin", "admin", site_id),
            ("marketer", "marketer", site_id),
            ("elsewhere", "admin", other_site),
        ):
            secret, token = new_token(site, role, int(time.time()))
            tokens[token.token_id] = token
            secrets[name] = secret
    app = create_app(engine.settings)
    yield app, world, site_id, secrets
    app.extensions["clicktrail"].event_log.close()


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_admin_erasure_and_export_need_an_admin_token_of_the_site(world_app):
    app, world, site_id, secrets = world_app
    client = app.test_client()
    path = "/v1/privacy/forget"
    body = {"site_id": site_id, "user_id": world.user_id}
    for headers, status in (
        ({}, 401),
        (bearer("ctt_00000000_" + "x" * 30), 401),
        (bearer(secrets["marketer"]), 403),
        (bearer(secrets["elsewhere"]), 403),
    ):
        answer = client.post(path, json=body, headers=headers)
        assert answer.status_code == status, answer.get_json()
        conforms(path, "POST", answer)
    admin = bearer(secrets["admin"])
    for bad, status in (
        ({"site_id": site_id}, 400),
        ({"site_id": site_id, "visitor_id": "a", "user_id": "b"}, 400),
        ({"site_id": site_id, "user_id": "x" * 300}, 400),
        ({"site_id": "nosuchsite", "user_id": "u"}, 404),
        ({"site_id": site_id, "user_id": 5}, 400),
        ([1, 2], 400),
    ):
        answer = client.post(path, json=bad, headers=admin)
        assert answer.status_code == status, (bad, answer.get_json())
        conforms(path, "POST", answer)
    assert client.post(path, data=b"{not json", headers=admin).status_code == 400

    export = client.get(
        "/v1/privacy/export",
        query_string={"site_id": site_id, "user_id": world.user_id},
        headers=admin,
    )
    assert export.status_code == 200
    conforms("/v1/privacy/export", "GET", export)
    held = export.get_json()
    assert set(held["person"]["visitor_ids"]) == set(world.person_visitors)
    assert len(held["clickhouse"]["events"]) == sum(len(e) for *_, e in world.person)
    assert {link["link_kind"] for link in held["clickhouse"]["identity_links"]} == {
        "user",
        "visitor",
    }
    assert any(key.endswith(world.user_id) for key in held["profiles"])
    assert held["coview_contributions"]
    assert all(e["ip"] != "81.2.69.160" for e in held["clickhouse"]["events"])  # truncated
    no_token = client.get("/v1/privacy/export", query_string={"site_id": site_id, "user_id": "u"})
    assert no_token.status_code == 401

    answer = client.post(path, json=body, headers=admin)
    assert answer.status_code == 200
    conforms(path, "POST", answer)
    receipt = answer.get_json()
    assert receipt["requested_by"].startswith("token:")
    assert any(r["store"] == "clickhouse:events" and r["removed"] > 0 for r in receipt["removed"])
    again = client.get(
        "/v1/privacy/export",
        query_string={"site_id": site_id, "user_id": world.user_id},
        headers=admin,
    ).get_json()
    assert again["clickhouse"]["events"] == [] and again["profiles"] == {}


def test_self_service_erases_only_the_cookies_own_visitor(world_app):
    app, world, site_id, secrets = world_app
    address = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(256)}"
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address  # a fresh address: its own hourly count
    path = f"/v1/privacy/forget-me?s={site_id}"
    # The cookie of the shared computer: identified as the person one day, as another user the
    # next. Its own rows go; neither user's other devices nor the users' profiles do.
    mine, someone_else = world.shared_visitor, world.others[0][0]
    origin = {"Origin": SHOP}

    answer = client.post(path, headers=origin)  # no cookie
    assert answer.status_code == 403
    conforms("/v1/privacy/forget-me", "POST", answer)
    client.set_cookie("ct_vid", mine)
    for body in ({"visitor_id": someone_else}, {"user_id": world.user_id}):
        answer = client.post(path, json=body, headers=origin)
        assert answer.status_code == 403, body
        conforms("/v1/privacy/forget-me", "POST", answer)
    assert client.post(path, headers={"Origin": "https://evil.example.test"}).status_code == 403
    assert client.post("/v1/privacy/forget-me?s=nosuchsite", headers=origin).status_code == 404
    preflight = client.options(path, headers=origin)
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == SHOP

    answer = client.post(path, json={"visitor_id": mine}, headers=origin)
    assert answer.status_code == 200, answer.get_json()
    conforms("/v1/privacy/forget-me", "POST", answer)
    receipt = answer.get_json()
    assert receipt["requested_by"] == "self-service"
    # Only the cookie's own visitor id: the links to users and their devices are not followed.
    assert receipt["person"] == {
        "visitor_ids": [mine],
        "user_ids": [],
        "shared_visitor_ids": [],
    }
    assert any(r["store"] == "clickhouse:events" and r["removed"] > 0 for r in receipt["removed"])
    assert any("only the visitor id" in note for note in receipt["not_removed"])
    for user in (world.user_id, world.other_user):
        held = client.get(
            "/v1/privacy/export",
            query_string={"site_id": site_id, "user_id": user},
            headers=bearer(secrets["admin"]),
        ).get_json()
        visitors = {event["visitor_id"] for event in held["clickhouse"]["events"]}
        assert mine not in visitors and len(visitors) >= 1  # their other devices' events stay
        assert any(key.endswith(f":u:{user}") for key in held["profiles"])
    assert (
        "ct_vid=;" in answer.headers["Set-Cookie"] and "Max-Age=0" in answer.headers["Set-Cookie"]
    )
    assert answer.headers["Access-Control-Allow-Origin"] == SHOP
    export = client.get(
        "/v1/privacy/export", query_string={"site_id": site_id, "visitor_id": someone_else}
    )
    assert export.status_code == 401  # and the export is never self-service
    client.set_cookie("ct_vid", mine)
    assert client.post(path, headers=origin).status_code == 200  # the 2nd of 2 this hour
    client.set_cookie("ct_vid", mine)
    limited = client.post(path, headers=origin)
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 3600
    assert limited.headers["Access-Control-Allow-Origin"] == SHOP  # the page can say why
    conforms("/v1/privacy/forget-me", "POST", limited)
