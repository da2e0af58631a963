"""The campaigns' source of truth in the real durable Redis: plans, atomic changes with their
history, and caches in other processes seeing a change quickly."""

from __future__ import annotations

import uuid

import pytest

from personalizer.campaign_store import CampaignCache, CampaignStore, history_key
from personalizer.campaigns import parse_campaign
from pipelines.profiles.clients import serving_client

pytestmark = pytest.mark.redis


@pytest.fixture
def store(state_redis):
    return CampaignStore(state_redis)


@pytest.fixture
def site(store) -> str:
    site_id = f"t{uuid.uuid4().hex[:10]}"
    yield site_id
    store.client.delete(f"pz:campaigns:{site_id}", history_key(site_id))


def campaign(site: str, cid: str, **fields):
    data = {
        "id": cid,
        "site_id": site,
        "name": cid.title(),
        "creatives": [
            {
                "id": f"{cid}-a",
                "placement": "top",
                "image_url": "https://cdn.example.test/a.png",
                "alt": "A",
                "landing_url": "https://shop.example.test/a",
                "width": 300,
                "height": 250,
            }
        ],
    }
    return parse_campaign({**data, **fields})


def test_plan_apply_history_and_a_second_process_sees_it(store, site):
    other_process = CampaignCache(CampaignStore(store.client), poll_seconds=0)
    assert other_process.site(site) == {}
    plan = store.plan(site, [campaign(site, "spring"), campaign(site, "summer")])
    assert plan.lines() == ["+ spring (Spring)", "+ summer (Summer)"]
    store.apply(site, plan, actor="token:ab12")
    assert set(other_process.site(site)) == {"spring", "summer"}

    again = store.plan(site, [campaign(site, "spring", priority=3)], prune=True)
    assert again.lines() == ["~ spring.priority: 0 -> 3", "- summer (Summer)"]
    assert store.plan(site, [campaign(site, "spring")]).empty  # nothing would change
    store.apply(site, again, actor="token:cd34")
    assert other_process.site(site)["spring"].priority == 3
    assert "summer" not in other_process.site(site)

    history = store.history(site)
    assert [(h["action"], h["campaign"], h["actor"]) for h in history] == [
        ("remove", "summer", "token:cd34"),
        ("change", "spring", "token:cd34"),
        ("add", "summer", "token:ab12"),
        ("add", "spring", "token:ab12"),
    ]
    assert '"priority": 0' in history[1]["before"] and '"priority": 3' in history[1]["after"]


def test_a_cache_keeps_its_campaigns_while_the_store_is_away(store, site):
    store.apply(site, store.plan(site, [campaign(site, "spring")]), actor="test")
    cache = CampaignCache(CampaignStore(store.client), poll_seconds=0)
    assert set(cache.site(site)) == {"spring"}
    dead = serving_client(
        "redis://127.0.0.1:1/0", connect_timeout_ms=50, read_timeout_ms=50, max_connections=1
    )
    cache._store = CampaignStore(dead)  # the store goes away
    assert set(cache.site(site)) == {"spring"}


def test_a_campaign_of_another_site_or_listed_twice_is_refused(store, site):
    with pytest.raises(ValueError, match="belongs to"):
        store.plan(site, [campaign("elsewhere", "spring")])
    with pytest.raises(ValueError, match="listed twice"):
        store.plan(site, [campaign(site, "spring"), campaign(site, "spring")])


def test_a_change_reloads_only_its_own_site(store, site):
    other = f"{site}x"
    store.apply(site, store.plan(site, [campaign(site, "spring")]), actor="test")
    store.apply(other, store.plan(other, [campaign(other, "autumn")]), actor="test")
    loads: list[str] = []
    counting = CampaignStore(store.client)
    real_load = counting.load
    counting.load = lambda site_id: loads.append(site_id) or real_load(site_id)  # type: ignore[method-assign]
    cache = CampaignCache(counting, poll_seconds=0)
    assert set(cache.site(site)) == {"spring"} and set(cache.site(other)) == {"autumn"}
    assert loads == [site, other]
    store.apply(other, store.plan(other, [campaign(other, "winter")]), actor="test")
    assert set(cache.site(site)) == {"spring"}  # checked, unchanged: not loaded again
    assert set(cache.site(other)) == {"autumn", "winter"}
    assert loads == [site, other, other]
