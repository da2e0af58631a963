"""Consent gates what a decision may know: the same visitor, with a rich profile in the real
profile Redis, gets a profile-based decision (an interest-targeted banner, offers from their
interests) with consent, and a decision from geography and page context alone without it:
consent denied, Do Not Track or Global Privacy Control on a site that honours them, an
``opt_in`` site not given consent; its profile is left as it was, and a user id sent without
consent does not make the visitor ``identified``."""

from __future__ import annotations

import ipaddress
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

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
from personalizer.catalog import Product
from personalizer.catalog_store import CatalogStore
from personalizer.popularity import PopularityCache
from pipelines.profiles import ProfileConfig, ProfileSink
from pipelines.profiles.clients import writer_client
from pipelines.warehouse.columns import EVENT_COLUMNS, empty_value
from pipelines.warehouse.reader import WarehouseEventStore
from tests.integration.test_personalizer_app import creative

pytestmark = pytest.mark.redis

PROFILES = f"redis://127.0.0.1:{ports.port('redis_profile')}/13"
ORIGIN = "https://shop.example.test"
BERLIN_IP = "91.1.2.3"  # DE in the small test database
PROFILE_REASONS = {"co_viewed", "category_affinity"}


def view(site: str, visitor: str, sku: str, category: list[str], at: int) -> dict:
    row = {name: empty_value(kind) for name, kind in EVENT_COLUMNS.items()}
    row.update(
        site_id=site,
        visitor_id=visitor,
        event_id=str(uuid.uuid4()),
        event_type="product_view",
        created_ms=at,
        received_ms=at + 200,
        derived_ms=at,
        sku=sku,
        category=category,
        country="DE",
    )
    return row


@dataclass(frozen=True)
class Shop:
    client: object
    site: str
    sites_file: Path
    adserver: str  # an adserver token's secret: it may state the user id


@pytest.fixture
def shop(tmp_path, small_geoip_db, warehouse):
    site = f"c{uuid.uuid4().hex[:10]}"
    engine = make_engine(
        tmp_path,
        "redis",
        geoip_db=small_geoip_db,
        profile_url=RedisTarget(PROFILES),
        trusted_proxies=(ipaddress.ip_network("127.0.0.0/8"),),
    )
    with edit_sites(engine.settings.sites_file) as sites:
        sites[site] = Site(site, origins=(ORIGIN,))
    state = writer_client(engine.settings.state_url.url)
    CatalogStore(state).import_products(
        site,
        [
            Product(
                sku=sku,
                title=f"Title {sku}",
                category=category,
                price=1999,
                currency="EUR",
                url=f"https://shop.example.test/{sku}",
            )
            for sku, category in (
                ("novel-1", "Books/Novels"),
                ("novel-2", "Books/Novels"),
                ("novel-3", "Books/Novels"),
                ("shoe-1", "Shoes/Running"),
            )
        ],
    )
    # The reader: novels, viewed again and again (and novel-1 with novel-2 by others).
    now = int(time.time() * 1000)
    rows = [
        view(site, "reader", "novel-1", ["Books", "Novels"], now - n * 60_000) for n in range(6)
    ]
    rows += [
        view(site, f"o{n}", sku, ["Books", "Novels"], now - 600_000)
        for n in range(3)
        for sku in ("novel-1", "novel-2")
    ]
    ProfileSink.from_url(PROFILES, ProfileConfig()).apply([(None, [row]) for row in rows])
    secret, token = new_token(site, "marketer", 0)
    adserver, adserver_token = new_token(site, "adserver", 0)
    with edit_tokens(engine.settings.tokens_file) as tokens:
        tokens[token.token_id] = token
        tokens[adserver_token.token_id] = adserver_token
    app = create_app(engine.settings, popularity=PopularityCache(WarehouseEventStore(warehouse)))
    client = app.test_client()
    marketer_campaigns = [
        {
            "id": "readers",
            "site_id": site,
            "name": "Readers",
            "priority": 10,
            "rules": {"interest": {"category": "Books", "above": 0.1}},
            "creatives": [creative("readers-a")],
        },
        {
            "id": "members",
            "site_id": site,
            "name": "Members",
            "priority": 20,
            "rules": {"identified": True},
            "creatives": [creative("members-a")],
        },
        {
            "id": "world",
            "site_id": site,
            "name": "World",
            "default": True,
            "creatives": [creative("world-a")],
        },
    ]
    for campaign in marketer_campaigns:
        answer = client.put(
            f"/v1/manage/sites/{site}/campaigns/{campaign['id']}",
            data=json.dumps(campaign),
            headers={"Authorization": f"Bearer {secret}"},
            content_type="application/json",
        )
        assert answer.status_code == 201, answer.get_json()
    yield Shop(client, site, engine.settings.sites_file, adserver)
    profiles = redis.Redis.from_url(PROFILES)
    ProfileSink(profiles, ProfileConfig()).clear_site(site)
    profiles.close()
    state.delete(f"catalog:{site}")


def decide(client, site: str, headers: dict | None = None, **fields) -> dict:
    body = {"site_id": site, "visitor_id": "reader", "placements": ["top"], "offers": 3, **fields}
    answer = client.post(
        "/v1/decide",
        data=json.dumps(body),
        headers={
            "Origin": ORIGIN,
            "X-Forwarded-For": BERLIN_IP,
            "User-Agent": "Mozilla/5.0",
            **(headers or {}),
        },
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def profile_dump(site: str) -> dict:
    client = redis.Redis.from_url(PROFILES)
    try:
        return {
            key: client.dump(key) for key in sorted(client.scan_iter(match=f"*{site}*", count=500))
        }
    finally:
        client.close()


def test_with_consent_the_profile_decides(shop):
    client, site = shop.client, shop.site
    decision = decide(client, site, consent=True, explain=True)
    assert decision["placements"]["top"]["campaign_id"] == "readers", decision["explain"]
    reasons = {offer["reason"] for offer in decision["offers"]}
    assert reasons & PROFILE_REASONS, decision["offers"]


def test_without_consent_only_geography_and_the_page_decide(shop):
    client, site = shop.client, shop.site
    before = profile_dump(site)
    assert before, "the reader has a profile"
    denied = decide(client, site, consent=False, explain=True, page={"category": "Shoes/Running"})
    assert denied["placements"]["top"]["campaign_id"] == "world", denied["explain"]
    assert not {offer["reason"] for offer in denied["offers"]} & PROFILE_REASONS
    assert all(
        offer["sku"] != "novel-2" or offer["reason"] not in PROFILE_REASONS
        for offer in denied["offers"]
    )
    assert profile_dump(site) == before  # nothing read into it, nothing written


def assert_no_profile_used(decision: dict) -> None:
    assert decision["placements"]["top"]["campaign_id"] == "world", decision["explain"]
    assert not {offer["reason"] for offer in decision["offers"]} & PROFILE_REASONS


def set_site(sites_file, site: str, **fields) -> None:
    import dataclasses

    with edit_sites(sites_file) as sites:
        sites[site] = dataclasses.replace(sites[site], **fields)
    time.sleep(0.3)  # the registry is re-read every 0.1 s here


@pytest.mark.parametrize("signal", [{"DNT": "1"}, {"Sec-GPC": "1"}])
def test_do_not_track_and_gpc_refuse_the_profile_even_with_consent(shop, signal):
    client, site = shop.client, shop.site
    before = profile_dump(site)
    for consent in ({}, {"consent": True}):  # the signal wins over the snippet's consent
        assert_no_profile_used(decide(client, site, signal, explain=True, **consent))
    assert profile_dump(site) == before


def test_a_site_that_does_not_honour_the_signals_reads_the_profile(shop):
    client, site = shop.client, shop.site
    sites_file = shop.sites_file
    set_site(sites_file, site, honor_dnt=False, honor_gpc=False)
    decision = decide(client, site, {"DNT": "1", "Sec-GPC": "1"}, explain=True)
    assert decision["placements"]["top"]["campaign_id"] == "readers", decision["explain"]


def test_an_opt_in_site_reads_the_profile_only_once_consent_is_granted(shop):
    client, site = shop.client, shop.site
    sites_file = shop.sites_file
    set_site(sites_file, site, consent="opt_in")
    before = profile_dump(site)
    assert_no_profile_used(decide(client, site, explain=True))  # consent not given yet
    assert_no_profile_used(decide(client, site, explain=True, consent=False))
    assert profile_dump(site) == before
    granted = decide(client, site, explain=True, consent=True)
    assert granted["placements"]["top"]["campaign_id"] == "readers", granted["explain"]


def test_a_user_id_without_consent_does_not_make_the_visitor_identified(shop):
    """An ad server states the user id (its token may); without consent it is not used."""
    client, site = shop.client, shop.site
    server = {"Authorization": f"Bearer {shop.adserver}"}
    member = decide(client, site, server, explain=True, consent=True, user_id="u-1")
    assert member["placements"]["top"]["campaign_id"] == "members", member["explain"]
    assert_no_profile_used(decide(client, site, server, explain=True, consent=False, user_id="u-1"))
