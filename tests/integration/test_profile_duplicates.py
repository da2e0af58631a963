"""An event logged twice, at two log positions, counts once in every part of a profile: a client
resends what the collector answered 503 for, and the first copy may have been written.

Each profile is compared with the one the distinct events make (the same log without the
copies), key for key, and read back against the pure aggregate of the distinct events: through
identity merges, crashes and replays, a rebuild, and up to the documented bound
(``ProfileConfig.event_ids_kept``), past which a copy is counted again."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
import redis

from pipelines.profiles import Position, ProfileConfig, ProfileSink, RedisProfileStore, recency
from pipelines.profiles.aggregate import aggregate
from pipelines.profiles.profile import Profile
from pipelines.profiles.rebuild import rebuild
from pipelines.profiles.sink import ApplyResult
from tests.integration.test_profiles import CONFIG, MINUTE, T, dump, redis_url, row, tolerant

pytestmark = pytest.mark.redis

Record = tuple[Position, list[dict]]


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url())
    yield connection
    connection.close()


@pytest.fixture
def store() -> Iterator[RedisProfileStore]:
    with RedisProfileStore.from_url(redis_url(), read_timeout_ms=5000) as opened:
        yield opened


@pytest.fixture
def sites(client: redis.Redis) -> Iterator[list[str]]:
    """Two fresh sites: one for a log with copies, one for its distinct events."""
    names = [f"t{uuid.uuid4().hex[:10]}", f"t{uuid.uuid4().hex[:10]}"]
    yield names
    for name in names:
        ProfileSink(client, CONFIG).clear_site(name)


def event(site: str, visitor: str, event_id: str, offset_ms: int, kind: str = "page_view",
          **fields: Any) -> dict:  # fmt: skip
    return row(site, visitor, offset_ms, kind, event_id=event_id, **fields)


def numbered(records: Sequence[tuple[str, list[dict]]]) -> list[Record]:
    """``(partition, rows)`` in log order, each at the partition's next offset."""
    offsets: dict[str, int] = {}
    out = []
    for partition, rows in records:
        offsets[partition] = offsets.get(partition, 0) + 1
        out.append((Position(partition, offsets[partition]), rows))
    return out


def shop(site: str, copies: bool) -> list[Record]:
    """Two visitors; with ``copies``, requests sent again whole and events sent again beside
    new ones, at later positions. v2 reuses one of v1's ids and times: another visitor's event
    is never taken for a copy (the warehouse scopes its dedup key the same way)."""
    fiction, poetry = ["Books", "Fiction"], ["Books", "Poetry"]
    e = {
        "e1": event(site, "v1", "e1", 0, category=["Books"]),
        "e2": event(site, "v1", "e2", 1000, "product_view", sku="b1", category=fiction),
        "e3": event(site, "v1", "e3", 2000, "product_view", sku="b2", category=poetry),
        "e4": event(site, "v1", "e4", 3000, "add_to_cart", sku="b2", category=poetry),
        "e5": event(site, "v1", "e5", 4000, "product_view", sku="b3", category=poetry),
        "e6": event(site, "v1", "e6", 90 * MINUTE, "purchase", session_id="s2", order_id="o1",
                    item_skus=["b2", "b3"], item_categories=["Books/Poetry"], city="Hamburg"),
        "e7": event(site, "v1", "e7", 91 * MINUTE, "product_view", sku="b4", session_id="s2",
                    category=["Garden"], device_type="mobile"),
        "g1": event(site, "v2", "e1", 0, "product_view", sku="b1", category=fiction),
        "g2": event(site, "v2", "g2", 500, "product_view", sku="b2", category=["Books"]),
    }  # fmt: skip

    def again(*names: str) -> list[dict]:
        return [dict(e[name]) for name in names]

    log: list[tuple[str, list[dict]]] = [
        ("events:0", [e["e1"]]),
        ("events:1", [e["g1"]]),
        ("events:0", [e["e2"], e["e3"]]),
        ("events:0", [e["e4"], e["e5"]]),
    ]
    if copies:
        log += [("events:0", again("e2", "e3")), ("events:1", again("g1"))]
    log += [("events:0", [e["e6"]])]
    if copies:
        log += [("events:0", again("e4") + [e["e7"]]), ("events:0", again("e6"))]
    else:
        log += [("events:0", [e["e7"]])]
    log += [("events:1", [e["g2"]])]
    if copies:
        log += [("events:1", again("g2", "g1")), ("events:0", again("e1", "e7"))]
    return numbered(log)


COPIES = 9  # rows above sent a second time


def cut(log: list[Record], how: str) -> list[list[Record]]:
    if how == "one batch":
        return [log]
    if how == "a batch per record":
        return [[record] for record in log]
    if how == "copies in later batches":  # every copy meets its original in Redis
        return [log[:4], log[4:6], log[6:8], log[8:]]
    rng = random.Random(how)
    batches, start = [], 0
    while start < len(log):
        end = start + rng.randrange(1, 5)
        batches.append(log[start:end])
        start = end
    return batches


def apply_all(sink: ProfileSink, batches: list[list[Record]]) -> list[ApplyResult]:
    return [sink.apply(batch) for batch in batches]


def assert_reads_as_pure_aggregate(store: RedisProfileStore, site: str, distinct: list[Record]):
    """Every visitor reads back as the pure aggregate of its distinct events says."""
    for delta in aggregate([(None, rows) for _, rows in distinct], CONFIG):
        [segment] = delta.segments  # no identity links here
        part = segment.fragment
        profile = store.get(site, delta.visitor_id)
        assert (profile.first_seen_ms, profile.last_seen_ms) == (part.first_ms, part.last_ms)
        assert (profile.events, profile.visits, profile.purchases) == (
            part.events,
            len(part.sessions),
            len(part.orders),
        )
        products = recency.merge([part.views], CONFIG.recent_products)
        assert list(profile.recent_products) == products
        assert list(profile.recent_categories) == part.categories
        assert list(profile.purchased_items) == part.purchased
        later = T + 400 * 86_400_000  # after every event: both decay from their reference
        pure = Profile(
            scores=part.scores, scores_ref_ms=part.last_ms, half_life_ms=CONFIG.half_life_ms
        )
        assert profile.interests(later) == pytest.approx(pure.interests(later), rel=1e-9)


# --- (1) the same event at two positions counts once --------------------------------------------


@pytest.mark.parametrize(
    "how", ["one batch", "a batch per record", "copies in later batches", "random 1", "random 2"]
)
def test_an_event_at_two_positions_counts_once_in_every_part(
    client: redis.Redis, store: RedisProfileStore, sites: list[str], how: str
):
    with_copies, distinct = shop(sites[0], copies=True), shop(sites[1], copies=False)
    assert sum(map(len, (rows for _, rows in with_copies))) == (
        sum(map(len, (rows for _, rows in distinct))) + COPIES
    )
    results = apply_all(ProfileSink(client, CONFIG), cut(with_copies, how))
    ProfileSink(client, CONFIG).apply(distinct)

    # counters, lists, interest, location, device, sessions, orders, co-views, remembered ids
    assert dump(client, sites[0], watermarks=False) == tolerant(
        dump(client, sites[1], watermarks=False)
    )
    assert_reads_as_pure_aggregate(store, sites[0], distinct)
    v1 = store.get(sites[0], "v1")
    assert (v1.events, v1.visits, v1.purchases) == (7, 2, 1)
    assert store.get(sites[0], "v2").events == 2  # its "e1" is not v1's
    # b1-b2 by each visitor, b2-b3 once, b4 alone (90 minutes later): copies add no pair
    assert store.coviews(sites[0], "b2") == [("b1", 2), ("b3", 1)]
    assert store.coviews(sites[0], "b4") == []
    assert sum(result.duplicates for result in results) == COPIES


def test_copies_move_the_watermark_past_them(
    client: redis.Redis, store: RedisProfileStore, sites: list[str]
):
    site = sites[0]
    log = shop(site, copies=True)  # events:0 offsets 5, 6, 7: e6; e4 again + e7; e6 again
    sink = ProfileSink(client, CONFIG)
    sink.apply(log[:6])
    sink.apply(log[6:8])  # e4 again, applied in an earlier batch
    assert store.get(site, "v1").events == 7
    # a record holding only a copy: nothing to apply, and its position is passed
    result = sink.apply(log[8:9])
    assert (store.get(site, "v1").events, store.get(site, "v1").purchases) == (7, 1)
    assert client.hget(f"profile:{site}:v:v1", "wm:events:0") == b"7-0"
    assert (result.duplicates, result.events, result.round_trips) == (1, 0, 2)
    # replayed, it is skipped by the watermark alone, in one round trip
    again = sink.apply(log[8:9])
    assert (again.segments_skipped, again.duplicates, again.round_trips) == (1, 0, 1)


# --- (2) identity merges ----------------------------------------------------------------------


def test_a_copy_after_the_visitor_merged_into_a_user_counts_once(
    client: redis.Redis, store: RedisProfileStore, sites: list[str]
):
    def log(site: str, copies: bool) -> list[Record]:
        e1 = event(site, "laptop", "e1", 0, "product_view", sku="a", category=["A"])
        e2 = event(site, "laptop", "e2", 10, "product_view", sku="b", category=["B"])
        e3 = event(site, "laptop", "e3", 20, "identify", user_id="jane")
        e4 = event(site, "laptop", "e4", 30, "add_to_cart", sku="b", category=["B"])
        p1 = event(site, "phone", "p1", 40, "identify", user_id="jane", session_id="s9")
        records = [("p0", [e1, e2]), ("p0", [e3]), ("p1", [p1])]
        if copies:  # the laptop's first request again, with a new event, after the merge
            records.append(("p0", [dict(e1), dict(e2), e4]))
        else:
            records.append(("p0", [e4]))
        if copies:
            records.append(("p1", [dict(p1)]))
        return numbered(records)

    sink = ProfileSink(client, CONFIG)
    for record in log(sites[0], copies=True):
        sink.apply([record])
    ProfileSink(client, CONFIG).apply(log(sites[1], copies=False))

    jane = store.get(sites[0], "laptop")
    assert jane.user_id == "jane" and jane == store.get(sites[0], "phone")
    assert (jane.events, jane.visits) == (5, 2)
    assert store.coviews(sites[0], "a") == [("b", 1)]
    assert dump(client, sites[0], watermarks=False) == tolerant(
        dump(client, sites[1], watermarks=False)
    )


def test_a_resent_identify_does_not_send_the_visitor_back_to_its_first_user(
    client: redis.Redis, store: RedisProfileStore, sites: list[str]
):
    # a shared computer: jane logs in, then bob; jane's login request is resent afterwards
    site = sites[0]
    jane = event(site, "pc", "e1", 0, "identify", user_id="jane")
    bob = event(site, "pc", "e2", 10, "identify", user_id="bob")
    sink = ProfileSink(client, CONFIG)
    sink.apply([(Position("p0", 1), [jane])])
    sink.apply([(Position("p0", 2), [bob])])
    sink.apply([(Position("p0", 3), [dict(jane), event(site, "pc", "e3", 20)])])
    assert store.get(site, "pc").user_id == "bob"
    assert store.get(site, "pc").events == 2  # bob's identify and e3
    assert client.hget(f"profile:{site}:u:jane", "events") == b"1"


def test_a_copy_of_a_replaced_visitors_event_counts_once(
    client: redis.Redis, store: RedisProfileStore, sites: list[str]
):
    site = sites[0]
    local = event(site, "local", "l1", 0, "product_view", sku="a", category=["A"])
    sink = ProfileSink(client, CONFIG)
    sink.apply([(Position("p0", 1), [local])])
    linked = event(site, "linked", "x1", 5, session_id="s2", replaced_visitor_id="local")
    sink.apply([(Position("p1", 1), [linked])])
    # the cross-domain page's first request and the replaced visitor's, both sent again
    result = sink.apply([(Position("p0", 2), [dict(local)]), (Position("p1", 2), [dict(linked)])])
    merged = store.get(site, "local")
    assert merged.key == f"{site}:v:linked"
    assert (merged.events, merged.visits) == (2, 2)
    assert result.duplicates == 2


# --- (3) the bound ------------------------------------------------------------------------------


def test_copies_are_caught_within_the_visitors_last_n_events_and_no_further(
    client: redis.Redis, store: RedisProfileStore, sites: list[str]
):
    site = sites[0]
    config = ProfileConfig(ttl_ms=CONFIG.ttl_ms, event_ids_kept=4)
    sink = ProfileSink(client, config)
    offsets = iter(range(1, 1000))

    def send(*rows: dict) -> int:
        """Each row in a batch of its own; the visitor's events counted after them."""
        for one in rows:
            sink.apply([(Position("p0", next(offsets)), [one])])
        return store.get(site, "v").events

    def others(tag: str, count: int) -> list[dict]:
        return [event(site, "v", f"{tag}{i}", 100 + i) for i in range(count)]

    first = event(site, "v", "first", 1)
    # 3 events of the visitor between the copies: caught
    assert send(first, *others("a", 3)) == 4
    assert send(dict(first)) == 4
    # other visitors' events do not push it out of the visitor's own ids
    for i in range(10):
        sink.apply([(Position("p0", next(offsets)), [event(site, f"w{i}", f"w{i}", 1)])])
    assert send(dict(first)) == 4

    # 4 events between: the original is no longer remembered and the copy counts again
    # (documented: docs/profiles.md, "Events sent twice")
    second = event(site, "v", "second", 2)
    assert send(second, *others("b", 4)) == 9
    assert send(dict(second)) == 10
    # ...unless the copy comes in the same batch as its original, whatever lies between
    batch = [event(site, "v", "third", 3), *others("c", 9), event(site, "v", "third", 3)]
    sink.apply([(Position("p0", next(offsets)), batch)])
    assert store.get(site, "v").events == 20
    assert client.strlen(f"seen:{site}:v:v") == 4 * 6  # 4 hashes of 6 bytes

    # a visitor whose remembered ids were lost (evicted, expired) counts a copy again
    client.delete(f"seen:{site}:v:v")
    assert send(dict(batch[-2])) == 21


def test_without_remembered_ids_only_copies_within_a_batch_are_caught(
    client: redis.Redis, store: RedisProfileStore, sites: list[str]
):
    site = sites[0]
    sink = ProfileSink(client, ProfileConfig(ttl_ms=CONFIG.ttl_ms, event_ids_kept=0))
    one = event(site, "v", "one", 1)
    sink.apply([(Position("p0", 1), [one]), (Position("p0", 2), [dict(one)])])
    assert store.get(site, "v").events == 1
    sink.apply([(Position("p0", 3), [dict(one)])])
    assert store.get(site, "v").events == 2
    assert not client.exists(f"seen:{site}:v:v")


# --- (4) replays of positions -----------------------------------------------------------------


def test_a_replayed_batch_with_copies_changes_nothing_even_without_the_ids(
    client: redis.Redis, sites: list[str]
):
    site, reference = sites
    ProfileSink(client, CONFIG).apply(shop(reference, copies=False))
    log = shop(site, copies=True)
    sink = ProfileSink(client, CONFIG)
    sink.apply(log)
    before = dump(client, site)
    assert dump(client, site, watermarks=False) == tolerant(
        dump(client, reference, watermarks=False)
    )
    again = sink.apply(log)
    assert (again.segments_applied, again.coview_pairs, again.round_trips) == (0, 0, 1)
    assert dump(client, site) == before
    # the watermarks alone skip replayed positions: with the remembered ids gone, still nothing
    for key in client.scan_iter(match=f"seen:{site}:*"):
        client.delete(key)
    assert sink.apply(log).segments_applied == 0
    assert {k: v for k, v in dump(client, site).items() if not k.startswith("seen:")} == {
        k: v for k, v in before.items() if not k.startswith("seen:")
    }


@pytest.mark.parametrize("crash_after", [1, 3, 5, 6, 7, 9])
def test_a_crash_then_a_replay_of_a_log_with_copies_counts_each_event_once(
    client: redis.Redis, sites: list[str], crash_after: int
):
    site, reference = sites
    ProfileSink(client, CONFIG).apply(shop(reference, copies=False))
    log = shop(site, copies=True)
    sink = ProfileSink(client, CONFIG)
    sink.apply(log[:crash_after])  # applied, then the worker died before committing
    replay = sink.apply(log)  # the next worker starts from the last commit
    assert replay.round_trips <= 3
    assert dump(client, site, watermarks=False) == tolerant(
        dump(client, reference, watermarks=False)
    )


# --- the rebuild --------------------------------------------------------------------------------


def test_a_rebuild_counts_each_event_once_and_remembers_the_ids(
    client: redis.Redis, store: RedisProfileStore, sites: list[str]
):
    site, reference = sites
    ProfileSink(client, CONFIG).apply(shop(reference, copies=False))
    log = shop(site, copies=True)
    rows = [r for _, record in log for r in record]
    rebuild(rows, ProfileSink(client, CONFIG), sites=[site], batch_rows=3)
    assert dump(client, site, watermarks=False) == tolerant(
        dump(client, reference, watermarks=False)
    )
    # a record the worker replays after the rebuild (committed after ClickHouse had it): its
    # events are remembered, so it counts nothing
    result = ProfileSink(client, CONFIG).apply(log[-1:])
    assert store.get(site, "v1").events == 7
    assert result.duplicates == 2
