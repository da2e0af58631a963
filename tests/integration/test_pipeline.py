"""The pipeline worker against the real logs and the real warehouses: simulated traffic in,
exact counts and values out; replays, dead letters, a killed worker and a stopped ClickHouse
server change nothing."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from clicktrail import ports
from clicktrail.contract.record import LogRecord
from clicktrail.settings import ClickHouseServerTarget
from clicktrail.simulator.devices import load_user_agents
from clicktrail.simulator.geography import load_network_pool
from clicktrail.simulator.records import records_of
from clicktrail.simulator.simulation import SimulationConfig, run_simulation
from pipelines.eventlog import open_event_log
from pipelines.runner import run_worker
from pipelines.warehouse.factory import open_warehouse
from pipelines.worker import DeadLetterStorm, WorkerConfig
from tests.integration.conftest import (
    ENGINES,
    Engine,
    make_engine,
    own_service,
    warehouse_target,
)
from tests.integration.fault_scale import FULL, record, sized

ROOT = Path(__file__).parents[2]
# A ClickHouse server of this module's own, to stop: ports above the run's own offset.
OWN_CLICKHOUSE_OFFSET = ports.port_offset() + 700
SIMULATION = SimulationConfig(seed=11, visitors=60, days=2, site_id="shop")


@pytest.fixture(scope="module")
def simulation(shared_small_geoip_db: Path):  # noqa: ANN201
    networks = load_network_pool(shared_small_geoip_db, SIMULATION.seed)
    return run_simulation(SIMULATION, networks, load_user_agents())


@pytest.fixture(scope="module")
def simulated(simulation) -> list[LogRecord]:
    from clicktrail.sites.model import Site

    return list(records_of(simulation.batches, Site("shop")))


PROFILE_DB = 7  # a database of the profile Redis of its own, emptied by each test


def profile_target():  # noqa: ANN201
    import redis

    from clicktrail.settings import RedisTarget

    url = f"redis://127.0.0.1:{ports.port('redis_profile')}/{PROFILE_DB}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    return RedisTarget(url)


def pipeline_engine(tmp_path, log, engine_name, chdb_folder, geoip, **overrides) -> Engine:
    target = warehouse_target(engine_name, chdb_folder)
    settings = {
        "pipeline_batch_ms": 200,
        "pipeline_batch_events": 500,
        "profile_url": profile_target(),
        "pipeline_group": f"pipeline-{uuid.uuid4().hex[:8]}",
        **overrides,
    }
    return make_engine(tmp_path, log, clickhouse_url=target, geoip_db=geoip, **settings)


def profile_event_total(engine: Engine) -> int:
    """Events counted over every profile of the site (aliases hold none)."""
    import redis

    client = redis.Redis.from_url(engine.settings.profile_url.url)
    total = 0
    for key in client.scan_iter(match="profile:shop:*", count=1000):
        total += int(client.hget(key, "events") or 0)
    client.close()
    return total


def profile_snapshot(engine: Engine) -> dict[str, dict[str, str]]:
    """Every profile of the site with its counters, lists and location; interest scores as
    they stand at one common time (stored scores are valid at a reference time of their own)
    and rounded; log watermarks left out (a rebuild has none)."""
    import redis

    from pipelines.profiles.profile import decode_profile

    now_ms = 1_900_000_000_000
    client = redis.Redis.from_url(engine.settings.profile_url.url)
    snapshot = {}
    for key in client.scan_iter(match="profile:shop:*", count=1000):
        fields = client.hgetall(key)
        kept = {
            k.decode(): v.decode()
            for k, v in fields.items()
            if not k.startswith(b"wm:") and k not in (b"cs", b"cref")
        }
        if b"cs" in fields:
            interests = decode_profile(key.decode(), fields).interests(now_ms)
            kept["interests"] = json.dumps({k: f"{v:.6e}" for k, v in sorted(interests.items())})
        snapshot[key.decode()] = kept
    client.close()
    return snapshot


def human_events(engine: Engine) -> int:
    target = engine.settings.clickhouse_url
    with open_warehouse(target) as warehouse:
        return warehouse.query(
            f"SELECT count() FROM {target.database}.events FINAL WHERE is_bot = 0"
        ).scalar()


def load(engine: Engine, records: list[LogRecord]) -> None:
    log = open_event_log(engine.settings, ack_timeout=10)
    log.ensure_created()
    for start in range(0, len(records), 500):
        log.append(records[start : start + 500], timeout=10)
    log.close()


def count(engine: Engine, final: bool = True) -> int:
    target = engine.settings.clickhouse_url
    with open_warehouse(target) as warehouse:
        clause = "FINAL" if final else ""
        return warehouse.query(f"SELECT count() FROM {target.database}.events {clause}").scalar()


def event_ids(records: list[LogRecord]) -> set[str]:
    return {event["event_id"] for record in records for event in record.events}


def drain(engine: Engine, **kwargs):  # noqa: ANN201
    return run_worker(engine.settings, threading.Event(), idle_exit_seconds=1.0, **kwargs)


@pytest.mark.redis
@pytest.mark.kafka
@pytest.mark.parametrize("log", ["redis", "kafka"])
@pytest.mark.parametrize("engine_name", ENGINES)
def test_simulated_traffic_lands_exactly(
    tmp_path, log, engine_name, chdb_folder, shared_small_geoip_db, simulated, monkeypatch
):
    engine = pipeline_engine(tmp_path, log, engine_name, chdb_folder, shared_small_geoip_db)
    load(engine, simulated)
    monkeypatch.setattr("pipelines.worker.BACKLOG_SECONDS", 0.0)  # asked before every read
    worker = drain(engine)
    expected = event_ids(simulated)
    assert worker.stats.events == len(expected)
    assert worker.stats.dead_letters == 0
    assert worker.stats.backlog == 0  # the log says: everything read
    oldest = min(record.received_at for record in simulated)
    assert worker.stats.batch_lag_ms is not None
    assert 0 < worker.stats.batch_lag_ms <= time.time() * 1000 - oldest
    database = engine.settings.clickhouse_url.database
    with open_warehouse(engine.settings.clickhouse_url) as warehouse:
        stored = warehouse.query(f"SELECT event_id FROM {database}.events FINAL").rows
        assert sorted(row[0] for row in stored) == sorted(expected)

        # One record checked field by field against what was sent.
        record = next(r for r in simulated if r.ip and r.ip.count(".") == 3 and len(r.events) > 1)
        sent = record.events[0]
        got = warehouse.query(
            f"SELECT * FROM {database}.events FINAL WHERE event_id = %(id)s",
            {"id": sent["event_id"]},
        ).dicts()[0]
    assert got["visitor_id"] == record.visitor_id
    assert got["created_ms"] == sent["created_at"]
    assert got["event_type"] == sent["event_type"]
    assert got["url"] == sent.get("url", "")
    assert got["received_ms"] == record.received_at
    assert got["derived_ms"] == record.received_at - (record.sent_at - sent["created_at"])
    assert got["ip"] == ".".join(record.ip.split(".")[:3] + ["0"])  # truncated to /24
    assert got["ip"] != record.ip or record.ip.endswith(".0")
    assert len(got["country"]) == 2  # the simulator draws addresses from the GeoIP database
    assert got["device_type"] in {"desktop", "mobile", "tablet", "bot", "other"}

    # A second consumer group reads everything again: the warehouse still counts each once.
    replayed = drain(
        engine.__class__(
            engine.settings.replace(pipeline_group="again"), engine.write_key, engine.data_dir
        )
    )
    assert replayed.stats.events == len(expected)
    assert count(engine) == len(expected)
    # ...and the profiles skipped every position they had applied.
    assert profile_event_total(engine) == human_events(engine) > 0

    # Redis holds derived state only: rebuilt from ClickHouse, the profiles are the same.
    from pipelines.profiles_rebuild import rebuild_from_warehouse
    from pipelines.runner import open_profile_writer

    incremental = profile_snapshot(engine)
    with open_warehouse(engine.settings.clickhouse_url) as warehouse:
        rebuild_from_warehouse(warehouse, open_profile_writer(engine.settings), "shop")
    assert profile_snapshot(engine) == incremental
    # The replay was written (background merges may already have collapsed some of it).
    assert len(expected) <= count(engine, final=False) <= 2 * len(expected)


@pytest.mark.kafka
@pytest.mark.redis
@pytest.mark.parametrize("engine_name", ENGINES)
def test_simulator_through_the_collector_into_the_warehouse(
    tmp_path, engine_name, chdb_folder, shared_small_geoip_db, simulation
):
    """The whole path: simulator batches POSTed to the collector (server-side sender with the
    write key), the real Kafka log, a worker, the real warehouse."""
    from tracker.app import create_app

    engine = pipeline_engine(
        tmp_path, "kafka", engine_name, chdb_folder, shared_small_geoip_db, ack_timeout_ms=5000
    )
    client = create_app(engine.settings).test_client()
    accepted: set[str] = set()
    for batch in simulation.batches[:300]:
        response = client.post(
            "/v1/events",
            data=batch.body,
            headers={"X-Clicktrail-Key": engine.write_key, "Content-Type": "application/json"},
        )
        assert response.status_code == 202, response.get_data(as_text=True)
        assert response.json["rejected"] == []
        accepted |= {event["event_id"] for event in json.loads(batch.body)["events"]}
    worker = drain(engine)
    assert worker.stats.events == len(accepted) and worker.stats.dead_letters == 0
    database = engine.settings.clickhouse_url.database
    with open_warehouse(engine.settings.clickhouse_url) as warehouse:
        stored = warehouse.query(
            f"SELECT event_id, id_source, country != '' FROM {database}.events FINAL"
        ).rows
    assert sorted(row[0] for row in stored) == sorted(accepted)
    assert {row[1] for row in stored} == {"server"}  # identity stated by the write-key sender
    assert all(row[2] for row in stored)  # every simulated address is in the GeoIP database
    assert profile_event_total(engine) == human_events(engine) > 0


@pytest.mark.redis
@pytest.mark.kafka
@pytest.mark.clickhouse
@pytest.mark.parametrize("log", ["redis", "kafka"])
def test_two_workers_share_the_load_and_count_exactly(
    tmp_path, log, chdb_folder, shared_small_geoip_db
):
    from clicktrail.sites.model import Site

    bigger = SimulationConfig(seed=12, visitors=400, days=2, site_id="shop")
    networks = load_network_pool(shared_small_geoip_db, bigger.seed)
    result = run_simulation(bigger, networks, load_user_agents())
    simulated = list(records_of(result.batches, Site("shop")))
    engine = pipeline_engine(
        tmp_path, log, "server", chdb_folder, shared_small_geoip_db, pipeline_batch_events=100
    )
    load(engine, simulated)
    workers: dict[str, object] = {}

    def work(name: str) -> None:
        workers[name] = run_worker(
            engine.settings, threading.Event(), consumer=name, idle_exit_seconds=8.0
        )

    threads = [threading.Thread(target=work, args=(name,)) for name in ("w1", "w2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    expected = len(event_ids(simulated))
    assert count(engine) == expected
    assert profile_event_total(engine) == human_events(engine) > 0
    # Between them they read everything (a partition moving between them may be read twice);
    # who reads how much depends on when each joins, so it is not asserted.
    assert sum(worker.stats.events for worker in workers.values()) >= expected


@pytest.mark.redis
def test_a_batch_ends_near_its_event_bound_with_fat_records(
    tmp_path, chdb_folder, shared_small_geoip_db
):
    from pipelines.worker import PipelineWorker

    engine = pipeline_engine(tmp_path, "redis", "chdb", chdb_folder, shared_small_geoip_db)
    fat = LogRecord(
        "shop", "v", "cookie", 1, [{"event_id": str(n), "created_at": 1} for n in range(40)]
    )
    load(engine, [fat] * 500)  # 20,000 events in 500 records
    log = open_event_log(engine.settings, ack_timeout=5)
    reader = log.reader("sizing", "c1")
    worker = PipelineWorker(
        log, reader, None, [], WorkerConfig(batch_events=1000), threading.Event()
    )  # type: ignore[arg-type]
    sizes = [worker._collect().events for _ in range(5)]
    assert all(1000 <= size <= 1100 for size in sizes), sizes  # never all 500 records at once
    reader.close()
    log.close()


@pytest.mark.redis
def test_bad_records_go_to_dead_letters_and_good_neighbours_stay(
    tmp_path, chdb_folder, shared_small_geoip_db, simulated
):
    import redis

    engine = pipeline_engine(tmp_path, "redis", "chdb", chdb_folder, shared_small_geoip_db)
    good = simulated[:20]
    broken = json.loads(good[0].encode())
    broken["events"] = [dict(broken["events"][0], event_id=str(uuid.uuid4())), {"junk": True}]
    load(engine, good)
    log = open_event_log(engine.settings, ack_timeout=5)
    client = redis.Redis.from_url(engine.settings.event_log_url.url)
    stream = log.streams[0]
    client.xadd(stream, {"k": b"x", "v": b"\xff not json"})
    client.xadd(stream, {"k": b"x", "v": json.dumps({"site_id": "shop"}).encode()})
    client.xadd(stream, {"k": b"x", "v": json.dumps(broken).encode()})
    worker = drain(engine)
    assert worker.stats.dead_letters == 3
    letters = log.read_dead_letters(10, timeout=2)
    reasons = sorted(letter.reason.split(":")[0] for letter in letters)
    assert reasons == ["event 1", "not JSON", "visitor_id is missing or not a str"]
    assert all(letter.stage == "pipeline" and letter.source for letter in letters)
    assert count(engine) == len(event_ids(good)) + 1  # the broken record's good event is kept
    log.close()
    client.close()


@pytest.mark.redis
def test_a_flood_of_bad_records_stops_the_worker_loudly(
    tmp_path, chdb_folder, shared_small_geoip_db
):
    import redis

    engine = pipeline_engine(tmp_path, "redis", "chdb", chdb_folder, shared_small_geoip_db)
    log = open_event_log(engine.settings, ack_timeout=5)
    client = redis.Redis.from_url(engine.settings.event_log_url.url)
    for n in range(80):
        client.xadd(log.streams[n % 2], {"k": b"x", "v": b"garbage %d" % n})
    with pytest.raises(DeadLetterStorm, match="could not be processed"):
        drain(engine, config=WorkerConfig(batch_events=100, batch_seconds=0.5))
    assert log.read_dead_letters(10, timeout=1) == []  # nothing of the batch went anywhere
    log.close()
    client.close()


def _worker_process(engine: Engine, extra: list[str] | None = None) -> subprocess.Popen:
    env = {**os.environ, **engine.env()}
    return subprocess.Popen(
        [sys.executable, "-m", "clicktrail.cli", "pipeline", *(extra or [])],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.kafka
@pytest.mark.redis
@pytest.mark.clickhouse
def test_worker_killed_repeatedly_while_events_flow_counts_exactly(
    tmp_path, chdb_folder, shared_small_geoip_db, simulated
):
    engine = pipeline_engine(
        tmp_path, "kafka", "server", chdb_folder, shared_small_geoip_db, pipeline_batch_events=100
    )
    records = simulated if not FULL else big_simulation(shared_small_geoip_db)
    kills = sized(2, 10)
    load(engine, records)
    expected = len(event_ids(records))
    started = time.monotonic()
    worker = _worker_process(engine)
    stalls = []  # seconds from each restart until the warehouse grew again
    for kill in range(1, kills + 1):
        # Spread the kills over the stream: the k-th lands after k/(kills+1) of the events.
        mark = expected * kill // (kills + 1)
        restarted, seen, grown = time.monotonic(), _count_or_zero(engine), None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and worker.poll() is None:
            now = _count_or_zero(engine)
            if grown is None and now > seen:
                grown = time.monotonic() - restarted
            if now >= mark:
                break
            time.sleep(0.05)
        assert worker.poll() is None, worker.stderr.read().decode()[-2000:]
        assert _count_or_zero(engine) < expected, "the kill must land mid-stream"
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        worker.stderr.close()
        stalls.append(None if grown is None else round(grown, 1))
        worker = _worker_process(engine)
    # The killed consumer stays in the group until its session times out (6 s): the new one
    # gets the partitions only then.
    deadline = time.monotonic() + sized(120, 600)
    while time.monotonic() < deadline and worker.poll() is None:
        done = count(engine, final=False) >= expected and count(engine) == expected
        if done and profile_event_total(engine) == human_events(engine):
            break
        time.sleep(0.2)
    worker.send_signal(signal.SIGTERM)
    _, stderr = worker.communicate(timeout=60)
    record(
        "pipeline worker SIGKILLed while events flow",
        events=expected,
        kills=kills,
        seconds=round(time.monotonic() - started, 1),
        max_restart_stall_s=max((s for s in stalls[1:] if s is not None), default=0.0),
        stored=count(engine),
        rows_before_merge=count(engine, final=False),
        rows_inserted=rows_inserted(engine),
    )
    assert count(engine) == expected, stderr.decode()[-3000:]  # none lost, none doubled
    # A kill between a batch's write and its commit has the next worker write that batch
    # again (the replacing table collapses the copy: FINAL, and its background merges, so a
    # count without FINAL hides it too): the rows every insert wrote are counted, and only
    # the batch in flight at each kill may have been written twice (a batch ends near its
    # event bound, test_a_batch_ends_near_its_event_bound_with_fat_records: twice it is safe).
    in_flight = 2 * engine.settings.pipeline_batch_events
    written_again = rows_inserted(engine) - expected
    assert 0 <= written_again <= kills * in_flight, f"{written_again} rows written again"
    stored = stored_event_ids(engine)
    assert stored.final == stored.raw == event_ids(records)
    assert profile_event_total(engine) == human_events(engine) > 0  # each counted once
    # Each visitor id's applied events, as the profiles remember them, are the human events
    # the warehouse holds for it: none skipped, none applied twice, none from elsewhere.
    assert profiled_event_hashes(engine) == stored.profiled


def rows_inserted(engine: Engine) -> int:
    """Rows every insert into the server's ``events`` wrote, merged away since or not: an
    insert makes a level-0 part, a merge a part of a higher level, and the parts it merged
    stay listed (inactive) for the server's ``old_parts_lifetime``, 8 minutes."""
    target = engine.settings.clickhouse_url
    with open_warehouse(target) as warehouse:
        return warehouse.query(
            "SELECT sum(rows) FROM system.parts"
            " WHERE database = %(database)s AND table = 'events' AND level = 0",
            {"database": target.database},
        ).scalar()


@dataclasses.dataclass(frozen=True)
class StoredEventIds:
    final: set[str]  # event ids of the rows read with FINAL
    raw: set[str]  # of the rows in the parts as they stand (before merges)
    profiled: dict[str, set[bytes]]  # visitor id -> its human events, as ``seen:`` hashes them


def stored_event_ids(engine: Engine) -> StoredEventIds:
    from pipelines.profiles.stored import event_id_hash

    target = engine.settings.clickhouse_url
    with open_warehouse(target) as warehouse:
        final = warehouse.query(f"SELECT event_id FROM {target.database}.events FINAL").rows
        raw = warehouse.query(f"SELECT event_id FROM {target.database}.events").rows
        humans = warehouse.query(
            f"SELECT visitor_id, event_id, created_ms FROM {target.database}.events FINAL"
            " WHERE is_bot = 0"
        ).rows
    profiled: dict[str, set[bytes]] = {}
    for visitor_id, event_id, created_ms in humans:
        profiled.setdefault(visitor_id, set()).add(event_id_hash(event_id, created_ms))
    return StoredEventIds({row[0] for row in final}, {row[0] for row in raw}, profiled)


def profiled_event_hashes(engine: Engine) -> dict[str, set[bytes]]:
    """Visitor id -> the hashes of the events the profiles applied for it (``seen:`` keeps
    the last ``event_ids_kept`` of each visitor id: the test's visitors have fewer)."""
    import redis

    from pipelines.profiles.stored import EVENT_ID_BYTES, SEEN

    client = redis.Redis.from_url(engine.settings.profile_url.url)
    prefix = f"{SEEN}shop:v:"
    hashes: dict[str, set[bytes]] = {}
    for key in client.scan_iter(match=f"{prefix}*", count=1000):
        seen = client.get(key) or b""
        kept = [seen[at : at + EVENT_ID_BYTES] for at in range(0, len(seen), EVENT_ID_BYTES)]
        assert len(kept) < engine.settings.profile_event_ids_kept, "older events were let go"
        assert len(set(kept)) == len(kept), f"{key!r} applied an event twice"
        hashes[key.decode().removeprefix(prefix)] = set(kept)
    client.close()
    return hashes


def big_simulation(geoip: Path) -> list[LogRecord]:
    """About 100,000 events (3,700 visitors over two days) for the benchmark's size."""
    from clicktrail.sites.model import Site

    config = dataclasses.replace(SIMULATION, seed=13, visitors=3700)
    simulation = run_simulation(config, load_network_pool(geoip, 13), load_user_agents())
    return list(records_of(simulation.batches, Site("shop")))


def _count_or_zero(engine: Engine) -> int:
    try:
        return count(engine, final=False)
    except Exception:  # noqa: BLE001 - the worker may not have created the table yet
        return 0


def reports_client(engine):  # noqa: ANN001, ANN201
    """The reports service in process over the engine's warehouse, and a read token's header."""
    from clicktrail.tokens.model import new_token
    from clicktrail.tokens.registry import edit_tokens
    from reports.app import create_app

    secret, token = new_token("shop", "read", 0)
    with edit_tokens(engine.settings.tokens_file) as entries:
        entries[token.token_id] = token
    return create_app(engine.settings).test_client(), {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def own_clickhouse(tmp_path):
    """A ClickHouse server of this test's own (port offset 700), so stopping it disturbs no
    other test."""
    yield from own_service(tmp_path, "clickhouse", OWN_CLICKHOUSE_OFFSET)


@pytest.mark.redis
@pytest.mark.clickhouse
def test_clickhouse_stopped_during_ingest_loses_and_doubles_nothing(
    tmp_path, shared_small_geoip_db, simulated, own_clickhouse
):
    target = ClickHouseServerTarget(
        "127.0.0.1", ports.BASE_PORTS["clickhouse_native"] + OWN_CLICKHOUSE_OFFSET, "outage"
    )
    engine = make_engine(
        tmp_path / "engine",
        "redis",
        clickhouse_url=target,
        geoip_db=shared_small_geoip_db,
        pipeline_batch_ms=100,
        pipeline_batch_events=200,
        profile_url=profile_target(),
    )
    first, second = simulated[: len(simulated) // 2], simulated[len(simulated) // 2 :]
    load(engine, first)
    stop = threading.Event()
    result: dict = {}

    def work() -> None:
        result["worker"] = run_worker(engine.settings, stop)

    thread = threading.Thread(target=work)
    thread.start()
    deadline = time.monotonic() + 60
    while _count_or_zero(engine) < len(event_ids(first)) and time.monotonic() < deadline:
        time.sleep(0.1)
    reports, read_token = reports_client(engine)
    own_clickhouse("stop")
    load(engine, second)  # arrives while the server is down: held, retried
    stopped = time.monotonic()
    # Meanwhile the reports say so, clearly, instead of failing.
    away = reports.get("/v1/reports/audience?site=shop&since=7d", headers=read_token)
    assert away.status_code == 503 and "warehouse is unavailable" in away.json["error"]
    assert away.headers["Retry-After"]
    time.sleep(max(0.0, stopped + sized(1, 60) - time.monotonic()))
    outage = time.monotonic() - stopped
    own_clickhouse("start")
    back = time.monotonic()
    expected = len(event_ids(simulated))
    deadline = time.monotonic() + 60
    while _count_or_zero(engine) < expected and time.monotonic() < deadline:
        time.sleep(0.2)
    caught_up = time.monotonic() - back
    stop.set()
    thread.join(timeout=30)
    record(
        "ClickHouse server stopped during ingest",
        outage_s=round(outage, 1),
        caught_up_s=round(caught_up, 1),
        worker_retries=result["worker"].stats.retries,
        reports_answer_while_stopped=away.status_code,
        events=expected,
        stored=count(engine),
        rows_before_merge=count(engine, final=False),
    )
    assert result["worker"].stats.retries > 0, "the outage must have been noticed"
    assert count(engine) == expected
    assert count(engine, final=False) == expected  # nothing written twice either
    assert profile_event_total(engine) == human_events(engine) > 0
    back = reports.get("/v1/reports/audience?site=shop&since=7d", headers=read_token)
    assert back.status_code == 200, back.json  # and the reports are back by themselves


@pytest.mark.redis
def test_the_chdb_owner_stopped_during_ingest_loses_and_doubles_nothing(
    tmp_path, shared_small_geoip_db, simulated
):
    """On one machine the pipeline worker owns the chdb folder and serves the reports' reads:
    stopped, the reports say so (503) and the log holds what arrives; its successor catches up
    exactly. This process reads through the owner only (opening the folder would take it)."""
    from clicktrail.settings import ChdbTarget
    from pipelines.warehouse.host import ChdbRemote

    target = ChdbTarget(tmp_path / "chdb", "outage")
    engine = make_engine(
        tmp_path / "engine",
        "redis",
        clickhouse_url=target,
        geoip_db=shared_small_geoip_db,
        pipeline_batch_ms=100,
        pipeline_batch_events=200,
        profile_url=profile_target(),
    )
    first, second = simulated[: len(simulated) // 2], simulated[len(simulated) // 2 :]
    reader = ChdbRemote(target.path, target.database, 10)
    reports, read_token = reports_client(engine)

    def stored(final: bool = True) -> int:
        try:
            clause = "FINAL" if final else ""
            return reader.query(f"SELECT count() FROM outage.events {clause}").scalar()
        except Exception:  # noqa: BLE001 - no owner yet, or no table yet
            return 0

    def until(condition, seconds: float = 90) -> None:  # noqa: ANN001
        deadline = time.monotonic() + seconds
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.2)

    try:
        load(engine, first)
        worker = _worker_process(engine)
        until(lambda: stored() >= len(event_ids(first)))
        worker.send_signal(signal.SIGTERM)  # the owner stops (a deploy, a crash's restart)
        worker.communicate(timeout=60)
        stopped = time.monotonic()
        load(engine, second)  # arrives while nobody owns the folder: the log holds it
        away = reports.get("/v1/reports/audience?site=shop&since=7d", headers=read_token)
        assert away.status_code == 503 and away.headers["Retry-After"], away.get_data()
        time.sleep(max(0.0, stopped + sized(1, 60) - time.monotonic()))
        outage = time.monotonic() - stopped
        worker = _worker_process(engine)
        back = time.monotonic()
        expected = len(event_ids(simulated))
        until(lambda: stored() >= expected)
        caught_up = time.monotonic() - back
        final, rows = stored(), stored(final=False)
        humans = reader.query("SELECT count() FROM outage.events FINAL WHERE is_bot = 0").scalar()
        until(lambda: profile_event_total(engine) >= humans, 30)  # its last batch's other step
        again = reports.get("/v1/reports/audience?site=shop&since=7d", headers=read_token)
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=60)
        record(
            "chdb owner (pipeline worker) stopped during ingest",
            outage_s=round(outage, 1),
            caught_up_s=round(caught_up, 1),
            reports_answer_while_stopped=away.status_code,
            events=expected,
            stored=final,
            rows_before_merge=rows,
        )
        assert final == expected, stderr.decode()[-3000:]  # nothing lost
        assert rows == expected  # nothing written twice
        assert again.status_code == 200, again.get_data()  # the reports are back with it
        assert profile_event_total(engine) == humans > 0  # each counted once
    finally:
        reader.close()


class RecordingStep:
    """A third store, wired as a new step is: one line in ``STEPS``. Fails its first two
    writes, to show every step gets the same retries."""

    name = "recording"

    def __init__(self) -> None:
        self.failures = 2
        self.events: list[str] = []
        self.touched: set = set()

    def write(self, batch) -> None:  # noqa: ANN001
        if self.failures:
            self.failures -= 1
            raise ConnectionError("the store is warming up")
        self.events += batch.column("event_id")  # rows are compact: fields by name
        self.touched |= batch.touched_days

    def close(self) -> None:
        pass


@pytest.mark.redis
def test_a_new_writer_step_gets_every_batch_retries_and_site_days(
    tmp_path, chdb_folder, shared_small_geoip_db, simulated, monkeypatch
):
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from clicktrail.sites.registry import edit_sites
    from pipelines import runner

    engine = pipeline_engine(tmp_path, "redis", "chdb", chdb_folder, shared_small_geoip_db)
    with edit_sites(engine.settings.sites_file) as sites:
        sites["shop"] = dataclasses.replace(sites["shop"], timezone="America/New_York")
    step = RecordingStep()
    monkeypatch.setitem(runner.STEPS, "recording", lambda settings, warehouse: step)
    load(engine, simulated)
    worker = drain(engine)
    assert worker.stats.retries >= 2 and worker.stats.seconds["recording"] > 0
    assert sorted(step.events) == sorted(event_ids(simulated))
    assert count(engine) == len(event_ids(simulated))  # the other steps ran as before
    zone = ZoneInfo("America/New_York")
    target = engine.settings.clickhouse_url
    with open_warehouse(target) as warehouse:
        times = warehouse.query(
            f"SELECT toUInt64(derived_time) FROM {target.database}.events FINAL"
        ).rows
    expected = {("shop", datetime.fromtimestamp(t, UTC).astimezone(zone).date()) for (t,) in times}
    assert step.touched == expected
