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
from personalizer.select import CreativeStats, Delivery, choose
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


class Clocked(CounterStore):
    """The real store on a hand-set clock, remembering how many keys each MGET asked for."""

    def __init__(self, client, max_age: float) -> None:
        self.at = 0.0
        super().__init__(client, max_age, clock=lambda: self.at)
        self.reads: list[int] = []

    def _mget(self, keys):
        self.reads.append(len(keys))
        return super()._mget(keys)


def test_site_wide_counts_are_kept_for_their_max_age_and_caps_read_every_time(client, site):
    store = Clocked(client, max_age=1.0)
    other = CounterStore(client)  # another worker: its impressions reach Redis only
    capped = campaign(site, frequency_cap={"impressions": 2, "hours": 24}, daily_impressions=10)
    paced = campaign(site, id="paced", daily_impressions=10)
    store.snapshot(site, [capped, paced], "v1", NOW, "UTC")
    assert store.reads == [1 + 2 * (2 + 4)]  # the cap, each one's day, total and 2 creatives
    other.count_impression(site, capped, "a", "top", "v1", "d1", NOW, "UTC")
    other.count_impression(site, paced, "a", "top", "v1", "d2", NOW, "UTC")
    store.at = 0.5
    deliveries, stats = store.snapshot(site, [capped, paced], "v1", NOW, "UTC")
    assert store.reads[1:] == [1]  # the visitor's cap only: exact at once
    assert deliveries["spring"] == Delivery(today=0, total=0, visitor=1)
    assert deliveries["paced"] == Delivery()
    assert store.snapshot(site, [paced], "v1", NOW, "UTC")[0]["paced"] == Delivery()
    assert store.reads[2:] == []  # nothing capped, nothing old: Redis is not asked
    store.at = 1.0  # a second later: read again, in the cap's round trip
    deliveries, stats = store.snapshot(site, [capped, paced], "v1", NOW, "UTC")
    assert store.reads[2:] == [13]
    assert deliveries["spring"] == Delivery(today=1, total=1, visitor=1)
    assert deliveries["paced"] == Delivery(today=1, total=1, visitor=0)
    assert stats[("paced", "a")] == CreativeStats(1, 0)
    # the next day's counts are read at once, whatever their age
    store.snapshot(site, [paced], "v1", NOW + timedelta(hours=3), "UTC")
    assert store.reads[3:] == [6]


def test_impressions_this_process_counts_are_seen_at_once(client, site):
    store = Clocked(client, max_age=60.0)
    paced = campaign(site, daily_impressions=2, pacing="asap")
    visitor = Visitor(site, "v1", NOW)
    shown = 0
    for n in range(5):
        deliveries, stats = store.snapshot(site, [paced], f"v{n}", NOW, "UTC")
        chosen = choose("top", [paced], visitor, deliveries, stats, random.Random(n))
        if chosen.campaign is not None:
            shown += store.count_impression(
                site, paced, chosen.creative.id, "top", f"v{n}", f"d{n}", NOW, "UTC"
            )
    assert shown == 2  # the daily goal, from counts read once
    assert len(store.reads) == 1
    deliveries, stats = store.snapshot(site, [paced], "v9", NOW, "UTC")
    assert deliveries["spring"].today == 2
    assert sum(s.impressions for s in stats.values()) == 2


def test_with_no_max_age_every_snapshot_reads_redis(client, site):
    store = Clocked(client, max_age=0.0)
    paced = campaign(site, daily_impressions=10)
    store.snapshot(site, [paced], "v1", NOW, "UTC")
    store.snapshot(site, [paced], "v1", NOW, "UTC")
    assert store.reads == [6, 6]
