"""The personalizer over HTTP against the real Redis servers and warehouse: management API with
tokens, catalog import, geo-targeted decisions with explanations and offers, impressions and
clicks counted once, caps, signed-URL tampering, and stores going away."""

from __future__ import annotations

import ipaddress
import json
import random
import uuid
from urllib.parse import urlsplit

import pytest

from bench.harness.engine import make_engine
from clicktrail.settings import RedisTarget
from clicktrail.sites.model import Site
from clicktrail.sites.registry import edit_sites
from clicktrail.tokens.model import new_token
from clicktrail.tokens.registry import edit_tokens
from personalizer.app import create_app
from personalizer.popularity import PopularityCache
from pipelines.profiles.redis_store import RedisProfileStore
from pipelines.warehouse.reader import WarehouseEventStore

pytestmark = pytest.mark.redis

ORIGIN = "https://shop.example.test"
BERLIN_IP = "91.1.2.3"  # DE in the small test database
LONDON_IP = "81.2.69.160"  # GB


def creative(cid: str, placement: str = "top") -> dict:
    return {
        "id": cid,
        "placement": placement,
        "image_url": f"https://cdn.example.test/{cid}.png",
        "alt": cid,
        "landing_url": f"https://shop.example.test/landing/{cid}",
        "width": 300,
        "height": 250,
    }


@pytest.fixture
def world(tmp_path, small_geoip_db, warehouse):
    site_id = f"s{uuid.uuid4().hex[:10]}"
    engine = make_engine(
        tmp_path,
        "redis",
        geoip_db=small_geoip_db,
        trusted_proxies=(ipaddress.ip_network("127.0.0.0/8"),),
    )
    with edit_sites(engine.settings.sites_file) as sites:
        sites[site_id] = Site(site_id, origins=(ORIGIN,), timezone="Europe/Berlin")
    secrets = {}
    with edit_tokens(engine.settings.tokens_file) as tokens:
        for name, site, role in (
            ("marketer", site_id, "marketer"),
            ("elsewhere", "other", "marketer"),
            ("adserver", "*", "adserver"),
            ("reader", site_id, "read"),
        ):
            secret, token = new_token(site, role, 0)
            tokens[token.token_id] = token
            secrets[name] = secret
    app = create_app(
        engine.settings,
        popularity=PopularityCache(WarehouseEventStore(warehouse)),
        rng=random.Random(3),
    )
    return app.test_client(), site_id, secrets, app


def auth(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def put(client, site, secret, campaign):
    return client.put(
        f"/v1/manage/sites/{site}/campaigns/{campaign['id']}",
        data=json.dumps(campaign),
        headers=auth(secret),
        content_type="application/json",
    )


def decide(client, site, ip=BERLIN_IP, **fields):
    body = {"site_id": site, "visitor_id": "v1", "placements": ["top"], **fields}
    return client.post(
        "/v1/decide",
        data=json.dumps(body),
        headers={"Origin": ORIGIN, "X-Forwarded-For": ip, "User-Agent": "Mozilla/5.0 Chrome/1"},
        content_type="application/json",
    )


def test_campaigns_by_api_geo_decisions_impressions_clicks_and_caps(world):
    client, site, secrets, _ = world
    germany = {
        "id": "germany",
        "site_id": site,
        "name": "Germany",
        "rules": {"country": ["DE"]},
        "frequency_cap": {"impressions": 2, "hours": 24},
        "creatives": [creative("de-a")],
    }
    fallback = {
        "id": "world",
        "site_id": site,
        "name": "World",
        "default": True,
        "creatives": [creative("world-a")],
    }
    # who may
    assert put(client, site, "", germany).status_code == 401
    assert put(client, site, secrets["elsewhere"], germany).status_code == 403
    assert put(client, site, secrets["reader"], germany).status_code == 403
    bad = put(client, site, secrets["marketer"], {**germany, "holdout_percent": 90})
    assert bad.status_code == 422 and "holdout_percent" in bad.get_json()["error"]
    assert put(client, site, secrets["marketer"], germany).status_code == 201
    assert put(client, site, secrets["marketer"], fallback).status_code == 201
    history = client.get(f"/v1/manage/sites/{site}/history", headers=auth(secrets["marketer"]))
    assert [h["campaign"] for h in history.get_json()["history"]] == ["world", "germany"]

    # a visitor from Berlin sees the German campaign, one from London the default
    berlin = decide(client, site, explain=True)
    assert berlin.status_code == 200, berlin.get_json()
    placed = berlin.get_json()["placements"]["top"]
    assert placed["campaign_id"] == "germany" and placed["source"] == "campaign"
    assert berlin.headers["Access-Control-Allow-Origin"] == ORIGIN
    london = decide(client, site, ip=LONDON_IP, explain=True).get_json()
    assert london["placements"]["top"]["campaign_id"] == "world"
    assert "rules not matched" in london["explain"]["top"]["germany"]

    # the impression counts once however often it is fetched; two fill the cap
    impression = urlsplit(placed["impression_url"])
    for _ in range(3):
        assert client.get(f"{impression.path}?{impression.query}").status_code == 200
    second = decide(client, site).get_json()["placements"]["top"]
    assert second["campaign_id"] == "germany"
    url = urlsplit(second["impression_url"])
    assert client.get(f"{url.path}?{url.query}").status_code == 200
    capped = decide(client, site, explain=True).get_json()
    assert capped["placements"]["top"]["campaign_id"] == "world"
    assert "frequency cap reached (2/2" in capped["explain"]["top"]["germany"]

    # clicks go to the registered landing URL only; tampering gets a 400 and no redirect
    click = urlsplit(placed["click_url"])
    answer = client.get(f"{click.path}?{click.query}")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "https://shop.example.test/landing/de-a"
    tampered = client.get(f"{click.path}?{click.query.replace('r=de-a', 'r=world-a')}")
    assert tampered.status_code == 400 and "Location" not in tampered.headers


def test_offers_from_the_catalog_and_trusted_ad_server_requests(world):
    client, site, secrets, _ = world
    feed = "\n".join(
        [
            "sku,title,category,price,currency,url,available,regions",
            "A,Alpha,Shoes,1000,EUR,https://shop.example.test/a,true,",
            "B,Beta,Books,500,EUR,https://shop.example.test/b,true,DE",
            "C,Gamma,Books,500,EUR,ftp://nope,true,",
        ]
    )
    imported = client.post(
        f"/v1/manage/sites/{site}/catalog?kind=csv",
        data=feed,
        headers=auth(secrets["marketer"]),
    ).get_json()
    assert imported["written"] == 2 and imported["rejected"][0]["sku"] == "C"
    unclear = client.post(
        f"/v1/manage/sites/{site}/catalog?kind=csv&replace=2",
        data=feed,
        headers=auth(secrets["marketer"]),
    )
    assert unclear.status_code == 400 and "replace must be 1" in unclear.get_json()["error"]

    # an ad server states the end user's address; without its token that is refused
    body = {"site_id": site, "user_id": "u1", "ip": LONDON_IP, "offers": 3}
    refused = client.post("/v1/decide", data=json.dumps(body), content_type="application/json")
    assert refused.status_code == 403
    trusted = client.post(
        "/v1/decide",
        data=json.dumps(body),
        headers=auth(secrets["adserver"]),
        content_type="application/json",
    )
    assert trusted.status_code == 200, trusted.get_json()
    assert trusted.get_json()["offers"] == []  # no popularity yet, nothing viewed


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ("{", 400, "not valid JSON"),
        ('{"site_id": "nope"}', 403, "unknown site"),
        ('{"site_id": "%s", "placements": ["top", "top"]}', 400, "unique"),
        ('{"site_id": "%s", "offers": 500}', 400, "offers"),
        ('{"site_id": "%s", "ip": "1.2.3.4"}', 403, "adserver token"),
        ("[" * 5000 + "]" * 5000, 400, "nested deeper"),
    ],
)
def test_bad_requests_get_a_clear_4xx(world, body, status, message):
    client, site, _, _ = world
    text = body % site if "%s" in body else body
    answer = client.post(
        "/v1/decide", data=text, headers={"Origin": ORIGIN}, content_type="application/json"
    )
    assert answer.status_code == status
    assert message in answer.get_json()["error"]


def test_stores_away_degrade_the_answer_never_fail_it(tmp_path, small_geoip_db, warehouse):
    site_id = f"s{uuid.uuid4().hex[:10]}"
    engine = make_engine(tmp_path, "redis", geoip_db=small_geoip_db)
    with edit_sites(engine.settings.sites_file) as sites:
        sites[site_id] = Site(site_id, origins=(ORIGIN,))
    dead = RedisTarget("redis://127.0.0.1:1/0")
    app = create_app(
        engine.settings.replace(state_url=dead),
        profiles=RedisProfileStore.from_url("redis://127.0.0.1:1/0"),
        popularity=PopularityCache(WarehouseEventStore(warehouse)),
    )
    client = app.test_client()
    answer = decide(client, site_id, offers=2)
    assert answer.status_code == 200
    assert "profiles" in answer.get_json()["degraded"]
    assert client.get("/readyz").status_code == 503
