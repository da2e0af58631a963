"""A whole simulation run on the small GeoIP database: contract, limits, and realism."""

from __future__ import annotations

import datetime as dt
import json
import re
import statistics
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from clicktrail.contract.envelope import MAX_BODY_BYTES, MAX_EVENTS, parse_batch, parse_event
from clicktrail.simulator import difficulty
from clicktrail.simulator.devices import is_bot_agent, load_user_agents
from clicktrail.simulator.geography import load_network_pool
from clicktrail.simulator.schedule import DAY_MS
from clicktrail.simulator.simulation import SimulationConfig, SimulationResult, run_simulation
from clicktrail.simulator.uuid7 import uuid7_ms

PEOPLE = 500
CONFIG = SimulationConfig(
    seed=3, visitors=PEOPLE, days=5, start=dt.date(2025, 3, 3), site_id="shop"
)
ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@pytest.fixture(scope="module")
def run(shared_small_geoip_db: Path) -> SimulationResult:
    networks = load_network_pool(shared_small_geoip_db, CONFIG.seed)
    return run_simulation(CONFIG, networks, load_user_agents())


@pytest.fixture(scope="module")
def events(run: SimulationResult) -> list[dict[str, Any]]:
    return [event for batch in run.batches for event in json.loads(batch.body)["events"]]


@pytest.fixture(scope="module")
def visitors(run: SimulationResult) -> dict[str, dict[str, Any]]:
    return run.truth["visitors"]


def _is_human(visitors: dict[str, dict[str, Any]], event: dict[str, Any]) -> bool:
    return not visitors[event["visitor_id"]]["is_bot"]


def test_every_event_validates_with_the_contract(events):
    assert len(events) > 5000
    for event in events:
        parsed = parse_event(event, CONFIG.site_id)
        assert parsed.ip and parsed.user_agent
        for name in ("visitor_id", "session_id", "page_view_id"):
            value = event.get(name)
            assert value is None or ID.match(value), (name, value)
    assert Counter(event["event_type"] for event in events).keys() == {
        "page_view", "page_ping", "product_view", "add_to_cart", "purchase", "identify",
        "custom", "click",
    }  # fmt: skip


def test_batches_respect_the_envelope_limits(run):
    assert run.batches
    for batch in run.batches:
        assert len(batch.body) <= MAX_BODY_BYTES
        parsed = parse_batch(batch.body)
        assert not parsed.rejected
        assert 1 <= len(parsed.events) == batch.event_count <= CONFIG.batch_size <= MAX_EVENTS
        assert {event.visitor_id for _, event in parsed.events} == {batch.visitor_id}
        assert parsed.site_id == CONFIG.site_id
        assert parsed.sent_at == batch.sent_at >= max(e.created_at for _, e in parsed.events)
    assert [b.sent_at for b in run.batches] == sorted(b.sent_at for b in run.batches)


def test_events_are_in_time_order_per_visitor_with_unique_uuid7_ids(events):
    last: dict[str, int] = {}
    for event in events:
        assert event["created_at"] >= last.get(event["visitor_id"], 0)
        last[event["visitor_id"]] = event["created_at"]
        assert uuid7_ms(event["event_id"]) == event["created_at"]
    assert len({event["event_id"] for event in events}) == len(events)


def test_events_fall_in_the_simulated_period(events):
    start = CONFIG.start_ms
    session_starts = [e["created_at"] for e in events if e["event_type"] == "page_view"]
    assert min(session_starts) >= start
    # A session started on the last day may run a little past midnight, no further.
    assert max(e["created_at"] for e in events) < start + CONFIG.days * DAY_MS + 3 * 3_600_000


def test_pings_belong_to_a_page_view_and_count_engagement_up(events):
    views = {e["page_view_id"] for e in events if e["event_type"] == "page_view"}
    engaged: dict[str, list[int]] = defaultdict(list)
    for event in events:
        if event["event_type"] == "page_ping":
            assert event["page_view_id"] in views
            engaged[event["page_view_id"]].append(event["engaged_ms"])
    assert engaged
    for series in engaged.values():
        assert series == [difficulty.HEARTBEAT_MS * k for k in range(1, len(series) + 1)]


def test_page_events_follow_their_page_view(events):
    pages: dict[str, list[str]] = defaultdict(list)
    for event in events:
        if "page_view_id" in event:
            pages[event["page_view_id"]].append(event["event_type"])
    for types in pages.values():
        assert types[0] == "page_view" and types.count("page_view") == 1
        if "add_to_cart" in types:
            assert types.index("product_view") < types.index("add_to_cart")
        if "click" in types:
            assert types[-1] == "click"  # the click leaves the page


def test_purchases_add_up(events):
    purchases = [e for e in events if e["event_type"] == "purchase"]
    assert purchases
    for purchase in purchases:
        subtotal = sum(item["price"] * item["quantity"] for item in purchase["items"])
        assert purchase["total"] == subtotal + purchase["shipping"]
        assert purchase["currency"] == "EUR"
    assert len({p["order_id"] for p in purchases}) == len(purchases)


def test_the_truth_covers_every_visitor(events, visitors, run):
    assert {event["visitor_id"] for event in events} == set(visitors)
    assert run.truth["people"] == PEOPLE
    assert run.truth["difficulty"]["difficulty_version"] == difficulty.DIFFICULTY_VERSION
    skus = {product["sku"] for product in run.truth["catalog"]["products"]}
    assert {e["sku"] for e in events if e["event_type"] == "product_view"} <= skus
    for visitor_id, truth in visitors.items():
        assert truth["sessions"] >= 1
        if not truth["is_bot"]:
            assert sum(truth["persona"].values()) == pytest.approx(1.0)
            assert truth["country"] and truth["device"]["class"] in ("desktop", "mobile", "tablet")
        assert visitor_id


def test_observed_interests_follow_the_persona(events, visitors):
    categories = CATEGORY_NAMES
    views: dict[str, Counter[str]] = defaultdict(Counter)
    for event in events:
        if event["event_type"] == "product_view" and _is_human(visitors, event):
            views[visitors[event["visitor_id"]]["person_id"]][event["category"][0]] += 1
    personas = {t["person_id"]: t["persona"] for t in visitors.values() if not t["is_bot"]}
    busy = [person for person, counts in views.items() if sum(counts.values()) >= 8]
    assert len(busy) >= 30

    def correlation(persona: dict[str, float], counts: Counter[str]) -> float:
        expected = [persona.get(_slug(name), 0.0) for name in categories]
        return statistics.correlation(expected, [counts[name] for name in categories])

    own = [correlation(personas[p], views[p]) for p in busy]
    # Someone else's persona is the baseline: it must explain the views far worse.
    other = [correlation(personas[busy[i - 1]], views[p]) for i, p in enumerate(busy)]
    assert statistics.median(own) > 0.8
    assert statistics.median(other) < 0.2


def test_noise_is_off_persona_and_purchases_follow_interests(events, visitors):
    """Issue 12: at least 40 % of product views off-persona (noise the offers must see
    through), while what people buy keeps to their interests."""
    viewed: Counter[bool] = Counter()
    bought: Counter[bool] = Counter()
    for event in events:
        if not _is_human(visitors, event):
            continue
        persona = visitors[event["visitor_id"]]["persona"]
        if event["event_type"] == "product_view":
            viewed[_slug(event["category"][0]) in persona] += 1
        elif event["event_type"] == "purchase":
            for item in event["items"]:
                bought[_slug(item["category"][0]) in persona] += 1
    off_persona = viewed[False] / viewed.total()
    assert off_persona == pytest.approx(difficulty.NOISE_SHARE, abs=0.03)
    assert bought.total() >= 50
    assert bought[True] / bought.total() > (1 - off_persona) + 0.1


def test_bot_share_and_behaviour(events, visitors):
    people = {t["person_id"]: t["is_bot"] for t in visitors.values()}
    bots = sum(people.values())
    assert bots == round(PEOPLE * difficulty.BOT_SHARE)
    bot_events = [e for e in events if not _is_human(visitors, e)]
    assert bot_events
    assert all(is_bot_agent(e["user_agent"]) for e in bot_events)
    assert {e["event_type"] for e in bot_events} <= {"page_view", "product_view"}
    assert all(e["session_index"] == 1 for e in bot_events)  # a fresh cookie every crawl
    human_events = [e for e in events if _is_human(visitors, e)]
    assert not any(is_bot_agent(e["user_agent"]) for e in human_events)
    bot_pages = Counter(e["session_id"] for e in bot_events if e["event_type"] == "page_view")
    human_pages = Counter(e["session_id"] for e in human_events if e["event_type"] == "page_view")
    assert statistics.mean(bot_pages.values()) > 3 * statistics.mean(human_pages.values())


def test_a_few_user_agents_are_very_common(visitors):
    humans = [t for t in visitors.values() if not t["is_bot"]]
    people = {t["person_id"]: t["device"]["user_agent"] for t in humans}
    counts = Counter(people.values())
    assert counts.most_common(1)[0][1] / len(people) > 0.05
    assert len(counts) > len(people) / 10


def test_addresses_are_shared_and_changing(events, visitors):
    sessions = {(e["visitor_id"], e["session_id"]) for e in events}
    addresses = {e["ip"] for e in events}
    # Fewer addresses than sessions (shared and reused), yet far more than a handful.
    assert PEOPLE // 4 < len(addresses) < len(sessions)
    assert any(":" in address for address in addresses)  # some IPv6
    households = Counter(t["household"] for t in visitors.values() if t["household"])
    assert households.most_common(1)[0][1] >= 2
    # Phones on a carrier, and IPv6 homes, show several addresses over several sessions.
    assert any(len(t["ips"]) > 1 for t in visitors.values() if t["sessions"] > 1)


def test_people_return_on_later_days(events, visitors):
    days: dict[str, set[int]] = defaultdict(set)
    for event in events:
        if _is_human(visitors, event):
            days[event["visitor_id"]].add((event["created_at"] - CONFIG.start_ms) // DAY_MS)
    returning = sum(1 for seen in days.values() if len(seen) > 1)
    assert returning > 0.1 * len(days)
    assert max(t["sessions"] for t in visitors.values() if not t["is_bot"]) >= 3


def test_some_visitors_identify_and_keep_their_user_id(events):
    identified = [e for e in events if e["event_type"] == "identify"]
    assert identified
    for event in identified:
        later = [
            e
            for e in events
            if e["session_id"] == event["session_id"] and e["created_at"] > event["created_at"]
        ]
        assert all(e.get("user_id") == event["user_id"] for e in later)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


CATEGORY_NAMES = [
    "Electronics", "Home & Kitchen", "Fashion", "Sports & Outdoors", "Beauty", "Books",
    "Toys & Games", "Garden", "Grocery", "Pet Supplies", "Baby",
]  # fmt: skip
