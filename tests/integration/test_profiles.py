"""The profile sink against the real profile Redis, read back through the store: exact values,
replays, merges, TTLs and rebuild equal to incremental updates."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from clicktrail.settings import Settings
from pipelines.profiles import Position, ProfileConfig, ProfileSink, RedisProfileStore
from pipelines.profiles.decay import rescale
from pipelines.profiles.rebuild import rebuild
from pipelines.profiles.stored import site_patterns

pytestmark = pytest.mark.redis

T = 1_736_000_000_000
MINUTE = 60_000
DAY = 86_400_000
CONFIG = ProfileConfig(ttl_ms=3 * 86_400_000)


def redis_url() -> str:
    # database 14 keeps the tests' profiles away from a running engine's
    return Settings.from_env().profile_url.url.rsplit("/", 1)[0] + "/14"


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url())
    yield connection
    connection.close()


@pytest.fixture
def store() -> Iterator[RedisProfileStore]:
    # seconds, not the serving default: these tests check values on a shared, busy machine;
    # test_profile_store.py checks the timeouts
    with RedisProfileStore.from_url(redis_url(), read_timeout_ms=5000) as opened:
        yield opened


@pytest.fixture
def site(client: redis.Redis) -> Iterator[str]:
    name = f"t{uuid.uuid4().hex[:10]}"
    yield name
    ProfileSink(client, CONFIG).clear_site(name)


def row(site: str, visitor: str, offset_ms: int, kind: str = "page_view", **fields: Any) -> dict:
    base = {
        "site_id": site,
        "visitor_id": visitor,
        "created_ms": T + offset_ms,
        "event_type": kind,
        "session_id": "s1",
        "is_bot": 0,
        "country": "DE",
        "region": "BE",
        "city": "Berlin",
        "latitude": 52.52,
        "longitude": 13.405,
        "device_type": "desktop",
        "browser": "Firefox",
        "os": "Linux",
    }
    return base | fields


def shop_batch(site: str) -> list[tuple[Position, list[dict]]]:
    """Two visitors in two partitions: views, a cart, a purchase, a bot, a second session."""
    return with_event_ids(
        [
            (Position("events:0", 10), [row(site, "v1", 0)]),
            (
                Position("events:1", 4),
                [row(site, "v2", 0, "product_view", sku="g1", category=["Garden"])],
            ),
            (
                Position("events:0", 11),
                [
                    row(site, "v1", 1000, "product_view", sku="b1", category=["Books", "Fiction"]),
                    row(site, "v1", 2000, "product_view", sku="b2", category=["Books", "Poetry"]),
                ],
            ),
            (Position("events:0", 12), [row(site, "bot", 0, "product_view", sku="b1", is_bot=1)]),
            (
                Position("events:0", 13),
                [
                    row(site, "v1", 3000, "add_to_cart", sku="b2", category=["Books", "Poetry"]),
                    row(site, "v1", 4000, "product_view", sku="b1", category=["Books", "Fiction"]),
                ],
            ),
            (
                Position("events:0", 14),
                [
                    row(
                        site,
                        "v1",
                        90 * MINUTE,
                        "purchase",
                        session_id="s2",
                        order_id="o1",
                        item_skus=["b2", "b3"],
                        city="Hamburg",
                        device_type="mobile",
                    ),
                ],
            ),  # fmt: skip
        ]
    )


def with_event_ids(
    log: list[tuple[Position, list[dict]]], prefix: str = "e"
) -> list[tuple[Position, list[dict]]]:
    """Every row gets an event id of its own, as the collector requires."""
    numbers = iter(range(1_000_000))
    return [
        (position, [{**r, "event_id": f"{prefix}{next(numbers)}"} for r in rows])
        for position, rows in log
    ]


def dump(client: redis.Redis, site: str, watermarks: bool = True) -> dict[str, Any]:
    """Every key of a site, with the site's name taken out so two sites compare."""
    out: dict[str, Any] = {}
    for pattern in site_patterns(site):
        for key in client.scan_iter(match=pattern):
            name = key.decode().replace(f":{site}:", ":SITE:", 1)
            if client.type(key) == b"hash":
                fields = {k.decode(): v.decode() for k, v in client.hgetall(key).items()}
                for link in ("->", "=>"):
                    if link in fields:
                        fields[link] = fields[link].replace(f":{site}:", ":SITE:", 1)
                if not watermarks:
                    fields = {k: v for k, v in fields.items() if not k.startswith("wm:")}
                if "cs" in fields:  # equal values may be stored at different references
                    scores, ref = json.loads(fields["cs"]), int(fields.pop("cref"))
                    fields["cs"] = rescale(scores, ref, T + 365 * DAY, CONFIG.half_life_ms)
                out[name] = fields
            elif client.type(key) == b"string":  # seen: the event hashes, binary
                out[name] = client.get(key)
            else:
                out[name] = client.zrange(key, 0, -1, withscores=True)
    return out


def tolerant(keys: dict[str, Any]) -> dict[str, Any]:
    """Interest scores compared to 1e-9: a float sum depends on the grouping of its terms."""
    return {
        name: {**value, "cs": pytest.approx(value["cs"], rel=1e-9)}
        if isinstance(value, dict) and "cs" in value
        else value
        for name, value in keys.items()
    }


def test_a_batch_reads_back_exactly(client: redis.Redis, site: str, store: RedisProfileStore):
    sink = ProfileSink(client, CONFIG)
    result = sink.apply(shop_batch(site))
    assert (result.profiles, result.events, result.segments_applied) == (2, 7, 2)
    assert result.round_trips <= 2  # the script is loaded on first use

    profile = store.get(site, "v1")
    assert profile.key == f"{site}:v:v1"
    assert (profile.first_seen_ms, profile.last_seen_ms) == (T, T + 90 * MINUTE)
    assert (profile.events, profile.visits, profile.purchases) == (6, 2, 1)
    assert profile.recent_products == (("b1", T + 4000), ("b2", T + 2000))
    assert profile.recent_categories == (("Books/Fiction", T + 4000), ("Books/Poetry", T + 2000))
    assert profile.purchased_items == (("b2", T + 90 * MINUTE), ("b3", T + 90 * MINUTE))
    assert profile.location is not None and profile.location.city == "Hamburg"
    assert profile.device is not None and profile.device.device_type == "mobile"
    interests = profile.interests(T + 90 * MINUTE)
    assert list(interests) == ["Books", "Books/Poetry", "Books/Fiction"]
    week = CONFIG.half_life_ms
    # product views weigh 1, the add to cart more: each decayed from its time to the purchase's
    cart = CONFIG.weights["add_to_cart"]
    views = [(1000, 1.0), (2000, 1.0), (3000, cart), (4000, 1.0)]
    expected = sum(w * 2 ** ((t - 90 * MINUTE) / week) for t, w in views)
    assert interests["Books"] == pytest.approx(expected, rel=1e-12)
    later = profile.interests(T + 90 * MINUTE + week)
    assert later["Books"] == pytest.approx(interests["Books"] / 2, rel=1e-9)

    # b1 and b2 viewed within 30 minutes: one pair; the bot's view and the re-view of b1 add none
    assert store.coviews(site, "b1") == [("b2", 1)]
    assert store.coviews(site, "b2") == [("b1", 1)]
    assert store.get(site, "v2").recent_products == (("g1", T),)
    assert store.get(site, "bot").events == 0
    assert client.hget(f"profile:{site}:v:v1", "wm:events:0") == b"14-0"
    assert client.hget(f"profile:{site}:v:v2", "wm:events:1") == b"4-0"


def test_the_same_batch_again_changes_nothing(client: redis.Redis, site: str):
    sink = ProfileSink(client, CONFIG)
    sink.apply(shop_batch(site))
    before = dump(client, site)
    again = sink.apply(shop_batch(site))
    assert (again.segments_applied, again.segments_skipped, again.coview_pairs) == (0, 2, 0)
    assert again.round_trips == 1
    assert dump(client, site) == before


@pytest.mark.parametrize("crash_after", [1, 2, 3, 5])
def test_a_crash_after_part_of_a_batch_then_the_whole_batch_counts_exactly(
    client: redis.Redis, site: str, crash_after: int
):
    reference = f"{site}r"
    try:
        ProfileSink(client, CONFIG).apply(shop_batch(reference))
        sink = ProfileSink(client, CONFIG)
        sink.apply(shop_batch(site)[:crash_after])  # applied, then the worker died uncommitted
        replay = sink.apply(shop_batch(site))  # the next worker starts from the last commit
        assert dump(client, site) == tolerant(dump(client, reference))
        # a replay that straddles what was applied costs one more round trip, not a double count
        assert replay.round_trips <= 2
    finally:
        ProfileSink(client, CONFIG).clear_site(reference)


def test_identify_merges_visitor_profiles_into_the_users(
    client: redis.Redis, site: str, store: RedisProfileStore
):
    sink = ProfileSink(client, CONFIG)
    sink.apply(
        [
            (Position("p0", 1), [row(site, "laptop", 0, "product_view", sku="a", category=["A"])]),
            (Position("p1", 1), [row(site, "phone", 10, "product_view", sku="b", category=["B"],
                                     session_id="s9", device_type="mobile")]),
        ]
    )  # fmt: skip
    assert store.get(site, "laptop").events == 1
    sink.apply(
        [
            (Position("p0", 2), [row(site, "laptop", 20, "identify", user_id="jane")]),
            (Position("p1", 2), [row(site, "phone", 30, "identify", user_id="jane",
                                     session_id="s9", device_type="mobile")]),
        ]
    )  # fmt: skip
    both = store.get(site, "laptop")
    assert both == store.get(site, "phone")
    assert both.user_id == "jane"
    assert (both.events, both.visits) == (4, 2)
    assert both.recent_products == (("b", T + 10), ("a", T))
    assert set(both.interests(T + 30)) == {"A", "B"}
    assert both.device is not None and both.device.device_type == "mobile"
    # later events of either device go to the user's profile
    sink.apply([(Position("p0", 3), [row(site, "laptop", 40, "product_view", sku="c")])])
    assert store.get(site, "phone").events == 5
    assert client.hget(f"profile:{site}:v:laptop", "->") == f"profile:{site}:u:jane".encode()
    assert client.hget(f"profile:{site}:v:laptop", "wm:p0") == b"3-0"


def test_a_cross_domain_replacement_merges_the_replaced_visitor(
    client: redis.Redis, site: str, store: RedisProfileStore
):
    sink = ProfileSink(client, CONFIG)
    sink.apply([(Position("p0", 1), [row(site, "local", 0, "product_view", sku="a")])])
    sink.apply(
        [
            (
                Position("p1", 1),
                [row(site, "linked", 5, session_id="s2", replaced_visitor_id="local")],
            )
        ]
    )
    merged = store.get(site, "local")
    assert merged.key == f"{site}:v:linked"
    assert (merged.events, merged.visits) == (2, 2)
    assert merged.recent_products == (("a", T),)
    # the replaced visitor's watermark stays with it: its replayed record is still skipped
    again = sink.apply([(Position("p0", 1), [row(site, "local", 0, "product_view", sku="a")])])
    assert again.segments_skipped == 1
    assert store.get(site, "linked").events == 2


def test_every_key_expires_after_inactivity(client: redis.Redis, site: str):
    sink = ProfileSink(client, CONFIG)
    sink.apply(shop_batch(site))
    later = row(site, "v1", 100 * MINUTE, user_id="jane", event_id="later")
    sink.apply([(Position("events:0", 20), [later])])
    keys = [k for p in site_patterns(site) for k in client.scan_iter(match=p)]
    kinds = {k.decode().split(":")[0] for k in keys}
    assert kinds == {"profile", "sessions", "seen", "coview"}
    for key in keys:
        assert 0 < client.pttl(key) <= CONFIG.ttl_ms, key


def test_coviews_are_bounded_per_view(client: redis.Redis, site: str, store: RedisProfileStore):
    config = ProfileConfig(coview_neighbours=3, recent_products=10)
    sink = ProfileSink(client, config)
    views = [row(site, "busy", i * 1000, "product_view", sku=f"p{i}") for i in range(100)]
    result = sink.apply([(Position("p", 1), views)])
    assert result.coview_pairs == 0 + 1 + 2 + 97 * 3  # the first views have fewer neighbours
    assert sorted(store.coviews(site, "p50", limit=20)) == [
        ("p47", 1), ("p48", 1), ("p49", 1), ("p51", 1), ("p52", 1), ("p53", 1),
    ]  # fmt: skip
    # viewing them all again within the window adds nothing
    again = [row(site, "busy", 200_000 + i, "product_view", sku=f"p{i}") for i in range(90, 100)]
    assert sink.apply([(Position("p", 2), again)]).coview_pairs == 0
    # out of the window they pair again
    later = [row(site, "busy", 2 * 3_600_000 + i, "product_view", sku=f"p{i}") for i in (1, 2)]
    assert sink.apply([(Position("p", 3), later)]).coview_pairs == 1


def test_a_flushed_script_cache_is_reloaded(
    client: redis.Redis, site: str, store: RedisProfileStore
):
    sink = ProfileSink(client, CONFIG)
    sink.apply(shop_batch(site)[:1])
    client.script_flush()
    sink.apply(shop_batch(site))
    assert store.get(site, "v1").events == 6


def random_log(site: str, seed: int) -> list[tuple[Position, list[dict]]]:
    """Records in log order over two partitions: identities, replacements, bots, purchases, and
    records sent twice (a client resending after a 503: the same events at a later position)."""
    rng = random.Random(seed)
    visitors = [f"v{i}" for i in range(12)]
    users = ["ann", "bob", "cid"]
    skus = [f"s{i}" for i in range(15)]
    offsets = {"events:0": 0, "events:1": 0}
    clock = 0
    log = []
    for _ in range(160):
        visitor = rng.choice(visitors)
        partition = f"events:{int(visitor[1:]) % 2}"
        rows = []
        for _ in range(rng.randrange(1, 5)):
            clock += rng.randrange(0, 20 * MINUTE)
            kind = rng.choice(["page_view", "product_view", "product_view", "add_to_cart",
                               "page_ping", "purchase", "identify"])  # fmt: skip
            sku = rng.choice(skus)
            fields: dict[str, Any] = {
                "session_id": f"{visitor}-{clock // (4 * 3_600_000)}",
                "city": rng.choice(["Berlin", "Paris", "Rome"]),
                "is_bot": int(rng.random() < 0.05),
            }
            if kind in ("product_view", "add_to_cart"):
                fields |= {"sku": sku, "category": ["C" + sku[-1], "D" + sku[1:]]}
            if kind == "page_view" and rng.random() < 0.5:
                fields["category"] = ["C" + sku[-1]]
            if kind == "purchase":
                fields |= {"order_id": f"o{rng.randrange(40)}", "item_skus": rng.sample(skus, 2)}
            if kind == "identify" or rng.random() < 0.05:
                fields["user_id"] = rng.choice(users)
            if rng.random() < 0.04:
                fields["replaced_visitor_id"] = rng.choice(visitors)
            fields["event_id"] = f"{visitor}-{len(log)}-{len(rows)}"
            rows.append(row(site, visitor, clock, kind, **fields))
        offsets[partition] += 1
        log.append((Position(partition, offsets[partition], rng.randrange(3)), rows))
        same = [i for i, (p, _) in enumerate(log[-12:-1]) if p.partition == partition]
        if same and rng.random() < 0.1:  # one of the partition's recent records, sent again
            earlier = log[-12:-1][rng.choice(same)][1]
            offsets[partition] += 1
            log.append((Position(partition, offsets[partition]), [dict(r) for r in earlier]))
    return log


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rebuild_equals_incremental_updates_with_replays(
    client: redis.Redis, site: str, store: RedisProfileStore, seed: int
):
    rng = random.Random(seed)
    incremental = ProfileSink(client, CONFIG)
    log = random_log(site, seed)
    start = 0
    while start < len(log):
        end = min(len(log), start + rng.randrange(1, 30))
        if rng.random() < 0.3:  # a crash: part applied, then replayed from an earlier commit
            incremental.apply(log[start : rng.randrange(start, end + 1)])
        incremental.apply(log[start:end])
        start = end

    rebuilt = f"{site}b"
    try:
        rows = [{**r, "site_id": rebuilt} for _, record in log for r in record]
        client.hset(f"profile:{rebuilt}:v:stale", "events", 99)  # cleared first
        rebuild(rows, ProfileSink(client, CONFIG), sites=[rebuilt], batch_rows=37)
        assert dump(client, rebuilt) == tolerant(dump(client, site, watermarks=False))
        for visitor in {r["visitor_id"] for _, record in log for r in record}:
            one = store.get(site, visitor)
            two = store.get(rebuilt, visitor)
            later = T + 365 * DAY  # after every event, so both decay from their reference
            assert one.interests(later) == pytest.approx(two.interests(later), rel=1e-9)
            assert one.events == two.events
    finally:
        ProfileSink(client, CONFIG).clear_site(rebuilt)
