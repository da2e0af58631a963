"""The decision walks priority tiers top-down against the real state Redis: counters are read
for the tier that can win only, a lower tier is read when the higher one is capped out, the
answer is the one judging every campaign gives, and without counters only uncapped campaigns
are served."""

from __future__ import annotations

import ipaddress
import random
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from bench.decide import PLACEMENTS, make_campaigns
from clicktrail.identity import request_facts
from clicktrail.secrets.keyring import Keyring, SigningKey
from clicktrail.sites.model import Site
from personalizer.campaigns import Campaign, parse_campaign
from personalizer.catalog import Catalog
from personalizer.counters import CounterStore
from personalizer.decide import Decision, DecisionService
from personalizer.offers import Popularity
from personalizer.request import parse_request
from pipelines.enrich import DeviceDetector, GeoLocator
from pipelines.profiles.clients import serving_client
from pipelines.profiles.redis_store import RedisProfileStore

pytestmark = pytest.mark.redis

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
PROXY = (ipaddress.ip_network("127.0.0.0/8"),)
BERLIN_IP = "91.1.2.3"  # DE in the small test database
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"


class Recorded(list):
    def record(self, decision: Decision) -> None:
        self.append(decision)


class CountedReads(CounterStore):
    """The real store, remembering which campaigns each snapshot read."""

    def __init__(self, client) -> None:
        super().__init__(client)
        self.reads: list[tuple[list[str], list[str]]] = []

    def snapshot(self, site_id, campaigns, visitor_id, now, zone, uncounted=()):
        self.reads.append(([c.id for c in campaigns], [c.id for c in uncounted]))
        return super().snapshot(site_id, campaigns, visitor_id, now, zone, uncounted)


def creative(cid: str, placement: str = "top") -> dict:
    return {
        "id": cid,
        "placement": placement,
        "image_url": f"https://cdn.example.test/{cid}.png",
        "alt": cid,
        "landing_url": "https://shop.example.test/",
        "width": 300,
        "height": 250,
    }


DEVICES = DeviceDetector()  # one for the module: building its parser takes a second


def service(site: Site, campaigns: Sequence[Campaign], counters, profiles, geoip_db, seed=1):
    by_id = {c.id: c for c in campaigns}
    keyring = Keyring((SigningKey("k1", "s" * 43, 0, None),), 86_400)
    return DecisionService(
        campaigns=lambda _: by_id,
        counters=counters,
        profiles=profiles,
        geo=GeoLocator(geoip_db),
        devices=DEVICES,
        catalog=lambda _: Catalog(()),
        popularity=lambda _: Popularity(),
        keyring=lambda: keyring,
        salt=lambda: b"salt",
        decisions=Recorded(),
        public_url="https://pz.example.test",
        clock=lambda: NOW.timestamp(),
        rng=random.Random(seed),
    )


def ask(svc: DecisionService, site: Site, visitor: str, explain: bool = False, ip=BERLIN_IP):
    wanted = parse_request(
        {"site_id": site.site_id, "visitor_id": visitor, "placements": ["top"], "explain": explain}
    )
    facts = request_facts(
        site,
        peer="127.0.0.1",
        headers={"X-Forwarded-For": ip, "User-Agent": CHROME},
        cookies={},
        trusted_proxies=PROXY,
    )
    return svc.decide(wanted, site, facts)


@pytest.fixture
def site() -> Site:
    return Site(f"t{uuid.uuid4().hex[:10]}", timezone="Europe/Berlin")


@pytest.fixture
def profiles():
    store = RedisProfileStore.from_url("redis://127.0.0.1:1/0")  # away: geo and page only
    yield store
    store.close()


def tiered(site: Site) -> list[Campaign]:
    def make(cid, priority, **fields):
        data = {"id": cid, "site_id": site.site_id, "name": cid, "priority": priority}
        return parse_campaign({**data, "creatives": [creative(f"{cid}-a")], **fields})

    return [
        make("low", 1),
        make("top", 5, frequency_cap={"impressions": 1, "hours": 24}, rules={"country": ["DE"]}),
        make("top-gb", 5, rules={"country": ["GB"]}),
        make("middle", 3, daily_impressions=1000, pacing="asap"),
        make("world", 0, default=True),
    ]


def test_counters_are_read_for_the_winning_tier_only(state_redis, site, profiles, small_geoip_db):
    counters = CountedReads(state_redis)
    svc = service(site, tiered(site), counters, profiles, small_geoip_db)
    first = ask(svc, site, "v1")
    assert first.placements[0].choice.campaign.id == "top"
    # one MGET: the top tier's campaign that matched (not the GB one), the default's clicks
    assert counters.reads == [(["top"], ["world"])]
    assert first.degraded == ["profiles"]


def test_a_capped_tier_gives_way_to_the_next_one(state_redis, site, profiles, small_geoip_db):
    counters = CountedReads(state_redis)
    campaigns = tiered(site)
    svc = service(site, campaigns, counters, profiles, small_geoip_db)
    first = ask(svc, site, "v1")
    top = next(c for c in campaigns if c.id == "top")
    assert counters.count_impression(
        site.site_id, top, "top-a", "top", "v1", first.decision_id, NOW, site.timezone
    )
    counters.reads.clear()
    second = ask(svc, site, "v1")
    assert second.placements[0].choice.campaign.id == "middle"
    assert counters.reads == [(["top"], ["world"]), (["middle"], [])]
    # another visitor is not capped
    assert ask(svc, site, "v2").placements[0].choice.campaign.id == "top"


def test_without_counters_only_uncapped_campaigns_are_served(site, profiles, small_geoip_db):
    dead = serving_client("redis://127.0.0.1:1/0", connect_timeout_ms=50, read_timeout_ms=50)
    counters = CountedReads(dead)
    svc = service(site, tiered(site), counters, profiles, small_geoip_db)
    decision = ask(svc, site, "v1")
    # "top" is capped and "middle" paced: neither may be served without their counts
    assert decision.placements[0].choice.campaign.id == "low"
    assert "counters" in decision.degraded
    assert len(counters.reads) == 1  # an unreachable store is not asked again per tier


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_tier_walk_answers_as_judging_every_campaign_does(
    state_redis, site, profiles, small_geoip_db, seed
):
    """200 campaigns of every kind: the fast path and the explained path (every campaign
    judged, every matching campaign's counters read) choose the same creatives."""
    campaigns = [
        c.model_copy(update={"site_id": site.site_id})
        for c in make_campaigns(200, NOW)  # the benchmark's world
    ]
    counters = CounterStore(state_redis)
    rng = random.Random(seed)
    ips = [BERLIN_IP, "81.2.69.160", "89.160.20.115", "175.16.199.1", "216.160.83.57"]
    differences = []
    # the same seed: while both choose alike, both draw alike
    fast = service(site, campaigns, counters, profiles, small_geoip_db, seed=seed)
    slow = service(site, campaigns, counters, profiles, small_geoip_db, seed=seed)
    for n in range(60):
        visitor, ip = f"v{rng.randrange(5)}", rng.choice(ips)
        for placement in PLACEMENTS:
            wanted = parse_request(
                {"site_id": site.site_id, "visitor_id": visitor, "placements": [placement]}
            )
            facts = request_facts(
                site,
                peer="127.0.0.1",
                headers={"X-Forwarded-For": ip, "User-Agent": CHROME},
                cookies={},
                trusted_proxies=PROXY,
            )
            one = fast.decide(wanted, site, facts).placements[0].choice
            two = slow.decide(wanted.model_copy(update={"explain": True}), site, facts)
            other = two.placements[0].choice
            if (one.campaign, one.creative, one.holdout) != (
                other.campaign,
                other.creative,
                other.holdout,
            ):
                differences.append((visitor, ip, placement, one, other))
            if one.campaign is not None and not one.campaign.default and n % 3 == 0:
                counters.count_impression(
                    site.site_id, one.campaign, one.creative.id, placement, visitor,
                    uuid.uuid4().hex, NOW, site.timezone,
                )  # fmt: skip
    assert differences == []


def test_a_campaign_is_served_from_its_start_to_its_end_with_the_same_campaigns(
    state_redis, site, profiles, small_geoip_db
):
    """The live campaigns are worked out once per span between schedule edges: the clock
    crossing a start or an end still changes what is served."""
    start, end = NOW.timestamp() + 60, NOW.timestamp() + 120
    spring = parse_campaign(
        {
            "id": "spring", "site_id": site.site_id, "name": "spring", "priority": 9,
            "schedule": {"start": datetime.fromtimestamp(start, UTC).isoformat(),
                         "end": datetime.fromtimestamp(end, UTC).isoformat()},
            "creatives": [creative("spring-a")],
        }
    )  # fmt: skip
    counters = CounterStore(state_redis)
    svc = service(site, [*tiered(site), spring], counters, profiles, small_geoip_db)
    served = []
    for at in (NOW.timestamp(), start - 1, start, end - 1, end, NOW.timestamp()):
        svc.clock = lambda at=at: at
        served.append(ask(svc, site, f"v{int(at)}").placements[0].choice.campaign.id)
    assert served == ["top", "top", "spring", "spring", "top", "top"]
