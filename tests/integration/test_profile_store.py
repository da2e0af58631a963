"""The read side against real Redis: what the sink writes reads back as the pure aggregate says;
merged visitors, batches, co-views; and a Redis that is away, slow, paused or busy makes a read
fail in milliseconds with ``ProfileStoreUnavailable`` instead of blocking a request."""

from __future__ import annotations

import dataclasses
import gc
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis

from clicktrail import ports
from clicktrail.settings import Settings
from pipelines.profiles import recency, stored
from pipelines.profiles.aggregate import VisitorDelta, aggregate
from pipelines.profiles.clients import serving_client
from pipelines.profiles.config import ProfileConfig
from pipelines.profiles.position import Position
from pipelines.profiles.profile import Device, Location, Profile
from pipelines.profiles.redis_store import RedisProfileStore, direct_command
from pipelines.profiles.sink import ProfileSink
from pipelines.profiles.store import (
    Coview,
    ProfileStore,
    ProfileStoreError,
    ProfileStoreUnavailable,
)
from tests.integration.conftest import own_service

pytestmark = pytest.mark.redis

T = 1_736_000_000_000
MINUTE = 60_000
CONFIG = ProfileConfig(ttl_ms=3 * 86_400_000)
# Short lists, so trimming and its tie-breaks matter across batches. (Not fewer scored
# categories: a score dropped early cannot climb back, so those are exact only within the
# bound, docs/profiles.md.)
TIGHT = ProfileConfig(
    ttl_ms=3 * 86_400_000,
    recent_products=3,
    recent_categories=2,
    purchased_items=2,
    coview_neighbours=2,
)
# A profile Redis of this module's own, to pause, stop and keep busy: above the run's ports.
OWN_OFFSET = ports.port_offset() + 647
# Reads that only check values get seconds: the machine is shared; timeouts are tested apart.
PATIENT_MS = 5000


def shared_url() -> str:
    # database 14 keeps the tests' profiles away from a running engine's
    return Settings.from_env().profile_url.url.rsplit("/", 1)[0] + "/14"


@pytest.fixture
def site() -> Iterator[str]:
    name = f"t{uuid.uuid4().hex[:10]}"
    yield name
    with redis.Redis.from_url(shared_url()) as client:
        ProfileSink(client, CONFIG).clear_site(name)


@pytest.fixture
def sink() -> Iterator[ProfileSink]:
    opened = ProfileSink.from_url(shared_url(), CONFIG)
    yield opened
    opened.client.close()


@pytest.fixture
def store() -> Iterator[RedisProfileStore]:
    with RedisProfileStore.from_url(shared_url(), read_timeout_ms=PATIENT_MS) as opened:
        yield opened


def row(site: str, visitor: str, at_ms: int, kind: str = "page_view", **fields: Any) -> dict:
    base = {
        "site_id": site,
        "visitor_id": visitor,
        "created_ms": at_ms,
        "event_type": kind,
        "session_id": "s1",
        "is_bot": 0,
        "country": "DE",
        "city": "Berlin",
        "device_type": "desktop",
        "browser": "Firefox",
        "os": "Linux",
    }
    return base | fields


# --- the stored format: sink and store agree with the pure aggregate --------------------------


def random_log(site: str, seed: int) -> list[tuple[Position, list[dict]]]:
    """Records of visitors without identity links, with names beyond ASCII and equal times, and
    records sent twice (the same events at a later position)."""
    rng = random.Random(seed)
    visitors = [f"v{i}" for i in range(10)] + ["bot-only", "no-consent"]
    skus = ["zelt", "kocher", "matte", "Bücher-1", "ソファ", "a/b"]
    categories = [["Outdoor", "Zelte"], ["Outdoor", "Küche"], ["Bücher"], ["家具", "ソファ"]]
    cities = ["Berlin", "Zürich", "Kraków", "東京"]
    positions: dict[str, int] = {}
    clock = T
    log = []
    visitor = visitors[0]
    for _ in range(150):
        # a visitor's next record often follows at once: equal times across batch boundaries
        visitor = visitor if rng.random() < 0.3 else rng.choice(visitors)
        partition = f"events/{sum(map(ord, visitor)) % 3}"
        rows = []
        for _ in range(rng.randrange(1, 4)):
            clock += rng.choice([0, 0, 1000, 7 * MINUTE, 3 * 3_600_000])  # 0: equal times
            kind = rng.choice(
                ["page_view", "product_view", "product_view", "add_to_cart", "purchase", "ping"]
            )
            sku, category = rng.choice(skus), rng.choice(categories)
            fields: dict[str, Any] = {
                "session_id": f"{visitor}-{clock // (4 * 3_600_000)}",
                "city": rng.choice(cities),
                "country": rng.choice(["DE", "CH", "PL", "JP", ""]),
                "device_type": rng.choice(["desktop", "mobile", ""]),
                "latitude": rng.choice([52.52, 47.376887, 0.0]),
            }
            if kind in ("product_view", "add_to_cart"):
                fields |= {"sku": sku, "category": category}
            if kind == "page_view" and rng.random() < 0.5:
                fields["category"] = category[:1]
            if kind == "purchase":
                fields |= {
                    "order_id": f"o{rng.randrange(8)}",  # some orders resent
                    "item_skus": rng.sample(skus, 2),
                    "item_categories": ["/".join(category)],
                }
            if visitor == "bot-only":
                fields["is_bot"] = 1
            if visitor == "no-consent":
                fields["consent"] = "denied"
            fields["event_id"] = f"{len(log)}.{len(rows)}"
            rows.append(row(site, visitor, clock, kind, **fields))
        positions[partition] = positions.get(partition, 0) + 1
        log.append((Position(partition, positions[partition]), rows))
        if rng.random() < 0.1:  # a recent record of the partition sent again: counts once
            earlier = [r for p, r in log[-10:] if p.partition == partition]
            positions[partition] += 1
            log.append((Position(partition, positions[partition]), rng.choice(earlier)))
    return log


def expected_profile(delta: VisitorDelta) -> Profile:
    """A visitor's profile as the pure aggregate of all its rows says, interest aside."""
    (segment,) = delta.segments  # no identity links: one segment
    part = segment.fragment
    return Profile(
        key=f"{delta.site_id}:v:{delta.visitor_id}",
        first_seen_ms=part.first_ms,
        last_seen_ms=part.last_ms,
        events=part.events,
        visits=len(part.sessions),
        purchases=len(part.orders),
        recent_products=tuple(recency.merge([part.views], TIGHT.recent_products)),
        recent_categories=tuple(part.categories),
        purchased_items=tuple(part.purchased),
        location=Location(*stored.decode_location(part.location)) if part.location else None,
        device=Device(*stored.decode_device(part.device)) if part.device else None,
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_what_the_sink_stores_reads_back_as_the_pure_aggregate(
    site: str, store: RedisProfileStore, seed: int
):
    log = random_log(site, seed)
    rng = random.Random(seed)
    sink = ProfileSink.from_url(shared_url(), TIGHT)
    start = 0
    while start < len(log):  # batches of any size, in log order
        end = start + rng.randrange(1, 25)
        sink.apply(log[start:end])
        start = end
    sink.client.close()

    whole = aggregate([(None, rows) for _, rows in log], TIGHT)
    expected = {delta.visitor_id: delta for delta in whole}
    visitors = {r["visitor_id"] for _, rows in log for r in rows}
    read = store.get_many(site, sorted(visitors))
    assert set(read) == visitors
    assert read["bot-only"] == read["no-consent"] == Profile()
    later = T + 400 * 86_400_000  # after every event: both decay from their reference
    for visitor, delta in expected.items():
        profile = read[visitor]
        plain = dataclasses.replace(profile, scores={}, scores_ref_ms=0, half_life_ms=1)
        assert plain == expected_profile(delta), visitor
        part = delta.segments[0].fragment
        pure = Profile(
            scores=part.scores, scores_ref_ms=part.last_ms, half_life_ms=TIGHT.half_life_ms
        )
        assert profile.interests(later) == pytest.approx(pure.interests(later), rel=1e-9)
        assert profile.half_life_ms == (TIGHT.half_life_ms if part.scores else 1)


@pytest.mark.parametrize("first", ["Zürich", "Berlin"])
def test_equal_times_in_two_batches_keep_the_location_the_aggregate_keeps(
    site: str, sink: ProfileSink, store: RedisProfileStore, first: str
):
    # the script compares the stored strings, so both sides must encode them alike
    cities = [first, "Berlin" if first == "Zürich" else "Zürich"]
    records = [(Position("p", i), [row(site, "v", T, city=city)]) for i, city in enumerate(cities)]
    for record in records:
        sink.apply([record])
    (delta,) = aggregate(records, CONFIG)
    assert store.get(site, "v") == expected_profile(delta)
    assert store.get(site, "v").location == Location(T, "DE", "", "Zürich", 0.0, 0.0)


def test_merged_visitors_read_as_their_users_profile_in_one_batch(
    site: str, sink: ProfileSink, store: RedisProfileStore
):
    sink.apply(
        [
            (Position("p0", 1), [row(site, "laptop", T, "product_view", sku="a")]),
            (Position("p1", 1), [row(site, "phone", T + 5, "product_view", sku="b")]),
            (Position("p0", 2), [row(site, "laptop", T + 9, "identify", user_id="jane")]),
            (Position("p1", 2), [row(site, "phone", T + 9, "identify", user_id="jane")]),
        ]
    )
    read = store.get_many(site, ["laptop", "phone", "stranger", "laptop"])
    assert list(read) == ["laptop", "phone", "stranger"]  # each id once, in the order asked
    assert read["laptop"] == read["phone"] == store.get(site, "phone")
    assert read["laptop"].key == f"{site}:u:jane" and read["laptop"].events == 4
    assert read["stranger"] == Profile() and not read["stranger"].known
    assert store.get_many(site, []) == {}
    assert store.get_user(site, "jane") == read["laptop"]  # e-mail, push: no visitor at hand
    assert store.get_user(site, "nobody") == Profile()


def test_coviews_one_and_many(site: str, sink: ProfileSink, store: RedisProfileStore):
    views = [("a", 0), ("b", 1), ("c", 2), ("a", 3 * 3_600_000), ("c", 3 * 3_600_000 + 1)]
    for number, (sku, offset) in enumerate(views):
        sink.apply([(Position("p", number), [row(site, "v", T + offset, "product_view", sku=sku)])])
    assert store.coviews(site, "a") == [Coview("c", 2), Coview("b", 1)]
    assert store.coviews(site, "a", limit=1) == [("c", 2)]
    assert store.coviews_many(site, ["c", "nothing", "c"], limit=5) == {
        "c": [("a", 2), ("b", 1)],
        "nothing": [],
    }
    assert store.coviews(site, "a", limit=0) == []


class _TwoCalls(RedisProfileStore):
    """The interface's own ``get_with_coviews`` (two calls) over the Redis store's reads."""

    get_with_coviews = ProfileStore.get_with_coviews


def test_a_profile_with_the_coviews_of_its_recent_products_in_one_call(
    site: str, sink: ProfileSink, store: RedisProfileStore
):
    views = [("a", 0), ("b", 1), ("c", 2), ("d", 3), ("a", 3 * 3_600_000), ("c", 3 * 3_600_000 + 1)]
    for number, (sku, offset) in enumerate(views):
        sink.apply([(Position("p", number), [row(site, "v", T + offset, "product_view", sku=sku)])])
    sink.apply([(Position("p", 9), [row(site, "w", T, "identify", user_id="jane")])])
    profile = store.get(site, "v")
    recent = [sku for sku, _ in profile.recent_products[:2]]
    for reader in (store, _TwoCalls(store.client)):
        read, near = reader.get_with_coviews(site, "v", recent=2, limit=2)
        assert read == profile
        assert near == store.coviews_many(site, recent, limit=2) and list(near) == recent
        assert reader.get_with_coviews(site, "v", recent=0, limit=2) == (profile, {})
        assert reader.get_with_coviews(site, "nobody", recent=5, limit=5) == (Profile(), {})
        assert reader.get_with_coviews(site, user_id="jane", recent=5, limit=5) == (
            store.get_user(site, "jane"),
            {},
        )


def test_a_value_that_does_not_decode_is_a_store_error(site: str, store: RedisProfileStore):
    key = stored.visitor_key(site, "broken")
    with redis.Redis.from_url(shared_url()) as client:
        client.hset(key, mapping={stored.EVENTS: "1", stored.RECENT_PRODUCTS: "[not json"})
    with pytest.raises(ProfileStoreError, match=key) as raised:
        store.get(site, "broken")
    assert not isinstance(raised.value, ProfileStoreUnavailable)  # a bug, not an outage


def test_arguments_that_cannot_name_a_key_fail_before_any_io():
    nobody = RedisProfileStore.from_url(f"redis://127.0.0.1:{closed_port()}/0")
    for bad in ("", "a:v:b", "s*", "x" * 65):
        with pytest.raises(ValueError, match="not a site id"):
            nobody.get(bad, "v")
    with pytest.raises(ValueError, match="limit"):
        nobody.coviews("shop", "a", limit=-1)
    assert nobody.coviews_many("shop", ["a"], limit=0) == {"a": []}
    with pytest.raises(ProfileStoreUnavailable):  # the same store does reach for Redis
        nobody.get("shop", "v")


# --- one round trip per call -----------------------------------------------------------------


@contextmanager
def delaying_proxy(upstream_port: int, delay_s: float) -> Iterator[int]:
    """A TCP proxy to a local port that holds every chunk of the answers for ``delay_s``:
    a network with that round trip. Yields its port."""
    server = socket.create_server(("127.0.0.1", 0))
    sockets: list[socket.socket] = [server]

    def pump(source: socket.socket, target: socket.socket, delay: float) -> None:
        try:
            while data := source.recv(65536):
                time.sleep(delay)
                target.sendall(data)
        except OSError:
            pass  # closed at the end of the test

    def accept() -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", upstream_port))
            sockets.extend((client, upstream))
            threading.Thread(target=pump, args=(client, upstream, 0.0), daemon=True).start()
            threading.Thread(target=pump, args=(upstream, client, delay_s), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield server.getsockname()[1]
    finally:
        for opened in sockets:
            opened.close()


def test_batch_reads_cost_one_round_trip(site: str, sink: ProfileSink):
    visitors = [f"v{i}" for i in range(30)]
    sink.apply(
        [
            (Position("p", i), [row(site, v, T, "product_view", sku=v)])
            for i, v in enumerate(visitors)
        ]
    )
    delay = 0.2
    with (
        delaying_proxy(ports.port("redis_profile"), delay) as port,
        RedisProfileStore.from_url(
            f"redis://127.0.0.1:{port}/14",
            connect_timeout_ms=PATIENT_MS,
            read_timeout_ms=PATIENT_MS,
        ) as slow,
    ):
        slow.get(site, "v0")  # connects and makes sure Redis has the script
        started = time.monotonic()
        profiles = slow.get_many(site, visitors)
        coviews = slow.coviews_many(site, visitors)
        elapsed = time.monotonic() - started
    assert all(p.events == 1 for p in profiles.values()) and len(coviews) == 30
    # two calls, one round trip each; one per visitor would take 60 round trips (12 s)
    assert 2 * delay <= elapsed < 6 * delay


# --- a Redis that is away or slow --------------------------------------------------------------


def closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return int(probe.getsockname()[1])


@contextmanager
def silent_server() -> Iterator[tuple[int, list[socket.socket]]]:
    """A port that accepts connections and never answers; yields it and the accepted ones."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield server.getsockname()[1], accepted
    finally:
        server.close()
        for connection in accepted:
            connection.close()


def timed(call: Callable[[], object]) -> tuple[BaseException | None, float]:
    started = time.monotonic()
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - the test looks at what was raised
        return exc, time.monotonic() - started
    return None, time.monotonic() - started


def test_a_redis_that_never_answers_fails_in_milliseconds_without_retrying():
    with (
        silent_server() as (port, accepted),
        RedisProfileStore.from_url(
            f"redis://127.0.0.1:{port}/0", connect_timeout_ms=50, read_timeout_ms=50
        ) as store,
    ):
        for call in (
            lambda: store.get("shop", "v"),
            lambda: store.get_many("shop", ["v", "w"]),
            lambda: store.coviews("shop", "a"),
        ):
            error, elapsed = timed(call)
            assert isinstance(error, ProfileStoreUnavailable), error
            # 50 ms and some scheduling; redis-py's default retries would take ~5 s
            assert 0.05 <= elapsed < 0.75
        assert len(accepted) == 3  # one connection per call: nothing was retried


def test_readers_beyond_the_pool_fail_fast_instead_of_queueing():
    with (
        silent_server() as (port, _),
        RedisProfileStore.from_url(
            f"redis://127.0.0.1:{port}/0",
            connect_timeout_ms=50,
            read_timeout_ms=1000,
            max_connections=1,
        ) as store,
    ):
        first: list[tuple[BaseException | None, float]] = []
        holder = threading.Thread(target=lambda: first.append(timed(lambda: store.get("s", "a"))))
        holder.start()
        time.sleep(0.2)  # the only connection now waits for an answer that never comes
        error, elapsed = timed(lambda: store.get("s", "b"))
        still_waiting = holder.is_alive()
        holder.join()
    assert isinstance(error, ProfileStoreUnavailable) and "No connection available" in str(error)
    assert elapsed < 0.5 and still_waiting
    assert isinstance(first[0][0], ProfileStoreUnavailable) and first[0][1] >= 1.0


def test_the_writer_client_does_not_resend_a_batch_either():
    # a rebuild has no watermark: a resent script call that had run would count twice
    with silent_server() as (port, accepted):
        sink = ProfileSink.from_url(
            f"redis://127.0.0.1:{port}/0", CONFIG, timeout_s=0.05, connect_timeout_s=0.05
        )
        error, elapsed = timed(lambda: sink.apply([(None, [row("shop", "v", T)])]))
        sink.client.close()
        assert isinstance(error, redis.RedisError) and elapsed < 0.75
        assert len(accepted) == 1


@dataclasses.dataclass
class OwnRedis:
    url: str
    control: Callable[[str], None]

    def admin(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=10)


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnRedis]:
    folder: Path = tmp_path_factory.mktemp("profile-redis")
    service = own_service(folder, "redis-profile", OWN_OFFSET)
    control = next(service)
    try:
        port = ports.BASE_PORTS["redis_profile"] + OWN_OFFSET
        yield OwnRedis(f"redis://127.0.0.1:{port}/0", control)
    finally:
        next(service, None)  # own_service stops it on its way out


def two_visitors(url: str, site: str) -> None:
    sink = ProfileSink.from_url(url, CONFIG)
    sink.apply(
        [
            (Position("p", 1), [row(site, "a", T, "product_view", sku="x")]),
            (Position("p", 2), [row(site, "b", T, "product_view", sku="y"), row(site, "b", T)]),
        ]
    )
    sink.client.close()


def test_a_paused_redis_is_unavailable_and_its_late_answer_never_reaches_a_later_read(
    own_redis: OwnRedis, site: str
):
    two_visitors(own_redis.url, site)
    with (
        own_redis.admin() as admin,
        RedisProfileStore.from_url(own_redis.url, read_timeout_ms=200) as store,
    ):
        assert store.get(site, "a").events == 1
        admin.client_pause(1500, all=True)
        error, elapsed = timed(lambda: store.get(site, "a"))
        assert isinstance(error, ProfileStoreUnavailable) and "Timeout" in str(error)
        assert 0.2 <= elapsed < 1.0
        admin.ping()  # waits for the pause to end
        # a's reply, answered late, must not be taken for b's
        assert store.get(site, "b").key == f"{site}:v:b"
        assert store.get(site, "b").events == 2


def test_a_stopped_redis_is_unavailable_and_a_restarted_one_serves_again(
    own_redis: OwnRedis, site: str
):
    two_visitors(own_redis.url, site)
    with own_redis.admin() as admin:
        admin.save()  # so the restarted server has the profiles back
    with RedisProfileStore.from_url(own_redis.url, read_timeout_ms=PATIENT_MS) as store:
        assert store.get(site, "b").events == 2
        own_redis.control("stop")
        try:
            error, elapsed = timed(lambda: store.get(site, "b"))
            assert isinstance(error, ProfileStoreUnavailable) and elapsed < 0.5
        finally:
            own_redis.control("start")
        # a new server: the pooled connections are dead and the script cache is empty
        assert store.get(site, "b").events == 2
        assert store.get_many(site, ["a", "b"])["a"].recent_products == (("x", T),)


def test_a_redis_busy_with_a_long_script_is_unavailable(own_redis: OwnRedis, site: str):
    two_visitors(own_redis.url, site)
    with (
        own_redis.admin() as admin,
        RedisProfileStore.from_url(own_redis.url, read_timeout_ms=PATIENT_MS) as store,
    ):
        assert store.get(site, "a").events == 1
        admin.config_set("busy-reply-threshold", 50)
        runner = redis.Redis.from_url(own_redis.url, socket_timeout=30)
        loop = threading.Thread(
            target=lambda: timed(lambda: runner.eval("while true do end", 0)), daemon=True
        )
        loop.start()
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:  # until Redis answers BUSY
                try:
                    admin.get("probe")
                    time.sleep(0.02)
                except redis.ResponseError:
                    break
            error, elapsed = timed(lambda: store.get(site, "a"))
            assert isinstance(error, ProfileStoreUnavailable) and "busy" in str(error), error
            assert elapsed < 0.5  # the answer came at once, not after the read timeout
        finally:
            admin.script_kill()
            loop.join(10)
            runner.close()
            admin.config_set("busy-reply-threshold", 5000)
        assert store.get(site, "a").events == 1


# --- direct_command: the decision path's commands -------------------------------------------


def test_direct_commands_keep_a_connection_per_thread_within_half_the_pool():
    client = serving_client(shared_url(), read_timeout_ms=2000, max_connections=4)
    pool = client.connection_pool
    answers: list[Any] = []
    threads = [
        threading.Thread(target=lambda: answers.append(direct_command(client, "PING")))
        for _ in range(6)  # more threads than the pool serves kept: the rest check out
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [b"PONG"] * 6 or answers == [True] * 6
    gc.collect()  # ended threads give their connections back
    taken = [pool.get_connection() for _ in range(4)]  # would wait, then raise, if kept
    for connection in taken:
        pool.release(connection)
    client.close()


def test_a_kept_connection_that_failed_is_given_back_and_replaced():
    client = serving_client(shared_url(), read_timeout_ms=2000, max_connections=4)
    pool = client.connection_pool
    elsewhere = pool.get_connection()  # in use by another caller: the pool has room to spare
    assert direct_command(client, "CLIENT", "SETNAME", "kept-probe")
    killer = redis.Redis.from_url(shared_url())
    killer.execute_command("CLIENT", "KILL", "SKIPME", "yes", "TYPE", "normal")
    with pytest.raises(redis.ConnectionError):
        direct_command(client, "PING")
    taken = [pool.get_connection(), pool.get_connection()]  # given back once, not twice
    assert taken[0] is not taken[1]
    for connection in [*taken, elsewhere]:
        pool.release(connection)
    assert direct_command(client, "PING") in (b"PONG", True)  # a fresh connection
    killer.close()
    client.close()
