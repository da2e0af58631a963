"""The personalizer with Redis servers of its own, stopped and paused for real: a valid request
still gets a 200 within the configured timeouts, a capped campaign is never served while its
counters cannot be read (so no cap is ever exceeded), the visitor's region still chooses the
campaign and the popular products still fill the offers, and everything comes back when Redis
does."""

from __future__ import annotations

import ipaddress
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
from clicktrail.settings import RedisTarget, Settings
from clicktrail.sites.model import Site
from personalizer.app import create_app
from personalizer.popularity import PopularityCache
from pipelines.warehouse.factory import open_warehouse
from pipelines.warehouse.migrate import migrate
from pipelines.warehouse.reader import WarehouseEventStore
from pipelines.warehouse.sink import WarehouseSink
from tests.integration.conftest import own_service, warehouse_target
from tests.sites import site_with_marketer
from tests.warehouse_rows import product_view_row

pytestmark = pytest.mark.redis

OFFSET = ports.port_offset() + 671  # this module's own state and profile Redis, to stop and pause
ORIGIN = "https://shop.example.test"
BERLIN_IP = "91.1.2.3"  # DE in the small test database
LONDON_IP = "81.2.69.160"  # GB
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


def site_on_own_redis(
    tmp_path: Path, geoip_db: Path, site_id: str, **overrides: object
) -> tuple[Settings, str]:
    """Settings whose Redis roles are this module's own servers (short timeouts), with the
    site registered and a marketer token for it (its secret returned)."""
    engine = make_engine(tmp_path, "redis", geoip_db=geoip_db, **overrides)
    settings = engine.settings.replace(
        state_url=RedisTarget(url("redis_state")),
        profile_url=RedisTarget(url("redis_profile")),
        state_timeout_ms=TIMEOUT_MS,
        profile_read_timeout_ms=TIMEOUT_MS,
        profile_connect_timeout_ms=TIMEOUT_MS,
    )
    secret = site_with_marketer(settings, Site(site_id, origins=(ORIGIN,)))
    return settings, secret


@pytest.fixture
def shop(tmp_path, small_geoip_db, own_redis):
    site_id = f"s{uuid.uuid4().hex[:10]}"
    settings, secret = site_on_own_redis(tmp_path, small_geoip_db, site_id)
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


def decide(client, site_id: str, visitor: str, ip: str = BERLIN_IP) -> tuple[dict, float]:
    started = time.monotonic()
    answer = client.post(
        "/v1/decide",
        data=json.dumps(
            {"site_id": site_id, "visitor_id": visitor, "placements": ["top"], "offers": 3}
        ),
        headers={
            "Origin": ORIGIN,
            "User-Agent": "Mozilla/5.0 Chrome/120",
            "X-Forwarded-For": ip,
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


# --- the region and popularity, with a store away --------------------------------------------

CATALOG = "\n".join(
    [
        "sku,title,category,price,currency,url,available,regions",
        *(
            f"{sku},{sku},{category},1000,EUR,https://shop.example.test/{sku},true,"
            for sku, category in (
                ("boots", "Shoes"),
                ("sandals", "Shoes"),
                ("clogs", "Shoes"),
                ("hat", "Accessories"),
                ("scarf", "Accessories"),
            )
        ),
    ]
)


def product_views(site_id: str, views: dict[tuple[str, str], int]) -> list[dict]:
    """(sku, country) -> that many visitors' views of it, now."""
    now = int(time.time() * 1000)
    return [
        product_view_row(site_id, f"{country}-{sku}-{n}", sku, now, country=country)
        for (sku, country), visitors in views.items()
        for n in range(visitors)
    ]


@pytest.fixture
def regional(tmp_path, small_geoip_db, chdb_folder, own_redis):
    """A site whose German visitors get their own campaign and everyone else the default; a
    catalog; and popularity from the warehouse: Germans view boots, then sandals, then clogs;
    everyone together views the hat most."""
    site_id = f"g{uuid.uuid4().hex[:10]}"
    # The test client is the proxy the personalizer trusts to name the visitor's address.
    trusted = (ipaddress.ip_network("127.0.0.0/8"),)
    settings, secret = site_on_own_redis(tmp_path, small_geoip_db, site_id, trusted_proxies=trusted)
    target = warehouse_target("chdb", chdb_folder)
    with open_warehouse(target) as warehouse:
        migrate(warehouse)
        views = {("boots", "DE"): 4, ("sandals", "DE"): 3, ("clogs", "DE"): 2, ("hat", "US"): 12}
        WarehouseSink(warehouse).write(product_views(site_id, views))
        popularity = PopularityCache(WarehouseEventStore(warehouse))
        ranked = popularity.refresh_now(site_id)
        assert ranked.by_country["DE"] == ("boots", "sandals", "clogs")
        client = create_app(settings, popularity=popularity).test_client()
        headers = {"Authorization": f"Bearer {secret}"}
        for campaign in (
            {"id": "germany", "priority": 5, "rules": {"country": ["DE"]}},
            {"id": "world", "default": True},
        ):
            answer = client.put(
                f"/v1/manage/sites/{site_id}/campaigns/{campaign['id']}",
                data=json.dumps(
                    {
                        "site_id": site_id,
                        "name": campaign["id"],
                        "creatives": [creative(f"{campaign['id']}-a")],
                        **campaign,
                    }
                ),
                headers=headers,
                content_type="application/json",
            )
            assert answer.status_code == 201, answer.get_json()
        imported = client.post(
            f"/v1/manage/sites/{site_id}/catalog?kind=csv", data=CATALOG, headers=headers
        )
        assert imported.get_json()["written"] == 5, imported.get_json()
        yield client, site_id
        warehouse.execute(f"DROP DATABASE IF EXISTS {target.database}")


def offered(decision: dict) -> list[tuple[str, str]]:
    return [(offer["sku"], offer["reason"]) for offer in decision["offers"]]


# Germans: popular in their region first (two shoes at most in a strip of three), then the
# hat, popular overall; nobody in Britain viewed anything: popular overall.
GERMAN_OFFERS = [
    ("boots", "popular_in_region"),
    ("sandals", "popular_in_region"),
    ("hat", "fallback"),
]
LONDON_OFFERS = [("hat", "fallback"), ("boots", "fallback"), ("sandals", "fallback")]
# What each decision says it went without: the visitor's profile; nothing when the state Redis
# is away (campaigns and the catalog are served from memory, and no campaign here is capped,
# so no counter is read).
DEGRADED = {"redis-profile": ["profiles"], "redis-state": []}


@pytest.mark.parametrize("stopped", ["redis-profile", "redis-state"])
def test_a_stopped_redis_still_decides_by_region_and_popularity(regional, own_redis, stopped):
    client, site_id = regional
    visitor = f"v{uuid.uuid4().hex[:8]}"
    up = {ip: decide(client, site_id, visitor, ip)[0] for ip in (BERLIN_IP, LONDON_IP)}
    assert shown(up[BERLIN_IP]) == "germany" and shown(up[LONDON_IP]) == "world"
    assert offered(up[BERLIN_IP]) == GERMAN_OFFERS
    assert offered(up[LONDON_IP]) == LONDON_OFFERS

    own_redis[stopped]("stop")
    try:
        away = {}
        for ip in (BERLIN_IP, LONDON_IP):
            away[ip], elapsed = decide(client, site_id, visitor, ip)
            assert elapsed < BOUND_SECONDS
            assert away[ip].get("degraded", []) == DEGRADED[stopped]
    finally:
        own_redis[stopped]("start")

    # The region still chooses the campaign, the warehouse's popularity still fills the
    # strip: the same campaigns and offers as with every store up.
    assert shown(away[BERLIN_IP]) == "germany" and shown(away[LONDON_IP]) == "world"
    for ip in (BERLIN_IP, LONDON_IP):
        assert offered(away[ip]) == offered(up[ip]), ip
