"""Caps, pacing and click-through counters in the real state Redis: counted once per decision,
every key expiring with its period, nothing served past a cap."""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from personalizer.campaigns import parse_campaign
from personalizer.counters import CounterStore, CountersUnavailable
from personalizer.select import choose
from personalizer.visitor import Visitor
from pipelines.profiles.clients import serving_client

pytestmark = pytest.mark.redis

NOW = datetime(2026, 6, 10, 21, 30, tzinfo=UTC)  # 23:30 in Berlin


@pytest.fixture
def client(state_redis):
    return state_redis


@pytest.fixture
def site() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


def campaign(site: str, **fields):
    data = {
        "id": "spring",
        "site_id": site,
        "name": "Spring",
        "creatives": [
            {
                "id": cid,
                "placement": "top",
                "image_url": f"https://cdn.example.test/{cid}.png",
                "alt": cid,
                "landing_url": "https://shop.example.test/spring",
                "width": 300,
                "height": 250,
            }
            for cid in ("a", "b")
        ],
    }
    return parse_campaign({**data, **fields})


def test_an_impression_counts_once_per_decision_and_placement(client, site):
    store = CounterStore(client)
    ad = campaign(site, frequency_cap={"impressions": 2, "hours": 24}, daily_impressions=10)
    args = (site, ad, "a", "top", "v1")
    assert store.count_impression(*args, "d1", NOW, "Europe/Berlin")
    assert not store.count_impression(*args, "d1", NOW, "Europe/Berlin")  # a retry
    assert store.count_impression(site, ad, "a", "side", "v1", "d1", NOW, "Europe/Berlin")
    assert store.count_click(site, "spring", "a", "top", "d1")
    assert not store.count_click(site, "spring", "a", "top", "d1")
    deliveries, stats = store.snapshot(site, [ad], "v1", NOW, "Europe/Berlin")
    assert deliveries["spring"].today == 2 and deliveries["spring"].total == 2
    assert deliveries["spring"].visitor == 2
    assert stats[("spring", "a")].impressions == 2 and stats[("spring", "a")].clicks == 1
    assert stats[("spring", "b")].impressions == 0
    # the site's day: 23:30 in Berlin is still the 10th; the next day starts afresh
    later, _ = store.snapshot(site, [ad], "v1", NOW + timedelta(hours=1), "Europe/Berlin")
    assert later["spring"].today == 0 and later["spring"].total == 2


def test_every_key_expires_with_its_period(client, site):
    store = CounterStore(client)
    now = datetime.now(UTC)
    end = (now + timedelta(days=20)).replace(microsecond=0)
    ad = campaign(
        site,
        frequency_cap={"impressions": 1, "hours": 6},
        schedule={"end": end.isoformat()},
        daily_impressions=5,
    )
    store.count_impression(site, ad, "a", "top", "v1", "d1", now, "UTC")
    store.count_click(site, "spring", "a", "top", "d1")
    keys = [key.decode() for key in client.scan_iter(match=f"pz:*:{site}:*")]
    assert len(keys) == 7, keys  # day, total, cap, impressions, clicks, and two marks
    for key in keys:
        ttl = client.ttl(key)
        assert ttl > 0, f"{key} never expires"
        if key.startswith("pz:cap:"):
            assert ttl <= 6 * 3600
        if key.startswith("pz:total:"):  # a week after the campaign's end
            assert abs(client.expiretime(key) - (end + timedelta(days=7)).timestamp()) < 2


def test_concurrent_decisions_never_pass_the_cap(client, site):
    """Decide, then count, as the service does, for one visitor many times: the cap holds."""
    store = CounterStore(client)
    ad = campaign(site, frequency_cap={"impressions": 3, "hours": 24})
    visitor = Visitor(site, "v1", NOW)
    shown = 0
    for n in range(10):
        deliveries, stats = store.snapshot(site, [ad], "v1", NOW, "UTC")
        chosen = choose("top", [ad], visitor, deliveries, stats, random.Random(n))
        if chosen.campaign is not None:
            shown += store.count_impression(
                site, ad, chosen.creative.id, "top", "v1", f"d{n}", NOW, "UTC"
            )
    assert shown == 3


def test_an_unreachable_store_says_so_quickly():
    client = serving_client(
        "redis://127.0.0.1:1/0", connect_timeout_ms=50, read_timeout_ms=50, max_connections=2
    )
    store = CounterStore(client)
    started = time.monotonic()
    with pytest.raises(CountersUnavailable):
        store.snapshot("shop", [campaign("shop")], "v1", NOW, "UTC")
    with pytest.raises(CountersUnavailable):
        store.count_click("shop", "spring", "a", "top", "d1")
    assert not store.ping()
    assert time.monotonic() - started < 1.0
