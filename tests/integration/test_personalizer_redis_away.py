"""The personalizer with Redis servers of its own, stopped and paused for real: a valid request
still gets a 200 within the configured timeouts, a capped campaign is never served while its
counters cannot be read (so no cap is ever exceeded), and everything comes back when Redis does."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis

from bench.harness.engine import make_engine
from clicktrail import ports
from clicktrail.settings import RedisTarget
from clicktrail.sites.model import Site
from clicktrail.sites.registry import edit_sites
from clicktrail.tokens.model import new_token
from clicktrail.tokens.registry import edit_tokens
from personalizer.app import create_app
from tests.integration.conftest import own_service

pytestmark = pytest.mark.redis

OFFSET = ports.port_offset() + 671  # this module's own state and profile Redis, to stop and pause
ORIGIN = "https://shop.example.test"
BERLIN_IP = "91.1.2.3"  # DE in the small test database
TIMEOUT_MS = 100
# Each store a decision reads waits at most its timeout; the bound leaves room for a loaded
# test machine, and is far below what an unbounded wait (redis-py's default: forever) takes.
BOUND_SECONDS = 2.0


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


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    folder: Path = tmp_path_factory.mktemp("personalizer-redis")
    services = {
        name: own_service(folder / name, name, OFFSET) for name in ("redis-state", "redis-profile")
    }
    controls = {name: next(service) for name, service in services.items()}
    try:
        yield controls
    finally:
        for service in services.values():
            next(service, None)


def url(name: str) -> str:
    return f"redis://127.0.0.1:{ports.BASE_PORTS[name] + OFFSET}/0"


@pytest.fixture
def shop(tmp_path, small_geoip_db, own_redis):
    site_id = f"s{uuid.uuid4().hex[:10]}"
    engine = make_engine(tmp_path, "redis", geoip_db=small_geoip_db)
    settings = engine.settings.replace(
        state_url=RedisTarget(url("redis_state")),
        profile_url=RedisTarget(url("redis_profile")),
        state_timeout_ms=TIMEOUT_MS,
        profile_read_timeout_ms=TIMEOUT_MS,
        profile_connect_timeout_ms=TIMEOUT_MS,
    )
    with edit_sites(settings.sites_file) as sites:
        sites[site_id] = Site(site_id, origins=(ORIGIN,))
    secret, token = new_token(site_id, "marketer", 0)
    with edit_tokens(settings.tokens_file) as tokens:
        tokens[token.token_id] = token
    client = create_app(settings).test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    capped = {
        "id": "capped",
        "site_id": site_id,
        "name": "Capped",
        "priority": 10,
        "frequency_cap": {"impressions": 1, "hours": 24},
        "creatives": [creative("capped-a")],
    }
    uncapped = {
        "id": "uncapped",
        "site_id": site_id,
        "name": "Uncapped",
        "priority": 5,
        "creatives": [creative("uncapped-a")],
    }
    for campaign in (capped, uncapped):
        answer = client.put(
            f"/v1/manage/sites/{site_id}/campaigns/{campaign['id']}",
            data=json.dumps(campaign),
            headers=headers,
            content_type="application/json",
        )
        assert answer.status_code == 201, answer.get_json()
    return client, site_id


def decide(client, site_id: str, visitor: str) -> tuple[dict, float]:
    started = time.monotonic()
    answer = client.post(
        "/v1/decide",
        data=json.dumps(
            {"site_id": site_id, "visitor_id": visitor, "placements": ["top"], "offers": 3}
        ),
        headers={
            "Origin": ORIGIN,
            "User-Agent": "Mozilla/5.0 Chrome/120",
            "X-Forwarded-For": BERLIN_IP,
        },
        content_type="application/json",
    )
    elapsed = time.monotonic() - started
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json(), elapsed


def shown(decision: dict) -> str:
    return decision["placements"]["top"]["campaign_id"]


def see(client, decision: dict) -> None:
    impression = urlsplit(decision["placements"]["top"]["impression_url"])
    assert client.get(f"{impression.path}?{impression.query}").status_code == 200


def test_a_stopped_state_redis_serves_only_uncapped_campaigns_and_no_cap_is_passed(shop, own_redis):
    client, site_id = shop
    visitor = f"v{uuid.uuid4().hex[:8]}"
    first, _ = decide(client, site_id, visitor)
    assert shown(first) == "capped"
    see(client, first)  # the visitor's one capped impression
    assert shown(decide(client, site_id, visitor)[0]) == "uncapped"

    own_redis["redis-state"]("stop")
    try:
        fresh = f"v{uuid.uuid4().hex[:8]}"
        for who in (visitor, fresh):  # even a visitor under the cap: the cap cannot be read
            decision, elapsed = decide(client, site_id, who)
            assert shown(decision) == "uncapped"
            assert elapsed < BOUND_SECONDS
    finally:
        own_redis["redis-state"]("start")

    # back: the capped visitor stays capped (the counters are durable), a new one sees it
    assert shown(decide(client, site_id, visitor)[0]) == "uncapped"
    assert shown(decide(client, site_id, f"v{uuid.uuid4().hex[:8]}")[0]) == "capped"


def test_paused_redis_servers_answer_within_the_timeouts(shop, own_redis):
    """A Redis that accepts connections and never answers is worse than a stopped one: only
    the read timeouts keep the decision within its budget."""
    client, site_id = shop
    decide(client, site_id, "warm")  # pooled connections exist before the pause
    admins = [redis.Redis.from_url(url(name)) for name in ("redis_state", "redis_profile")]
    for admin in admins:
        admin.execute_command("CLIENT", "PAUSE", 3000, "ALL")
    try:
        decision, elapsed = decide(client, site_id, f"v{uuid.uuid4().hex[:8]}")
        assert shown(decision) == "uncapped"
        assert "profiles" in decision["degraded"]
        assert elapsed < BOUND_SECONDS
    finally:
        for admin in admins:
            admin.execute_command("CLIENT", "UNPAUSE")
            admin.close()


def test_a_stopped_profile_redis_decides_from_geo_and_popularity(shop, own_redis):
    client, site_id = shop
    own_redis["redis-profile"]("stop")
    try:
        decision, elapsed = decide(client, site_id, f"v{uuid.uuid4().hex[:8]}")
        assert shown(decision) == "capped"  # the state Redis is up: caps are readable
        assert "profiles" in decision["degraded"]
        assert elapsed < BOUND_SECONDS
    finally:
        own_redis["redis-profile"]("start")
