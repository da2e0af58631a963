"""One contract, run against both real event logs: Kafka and Redis Streams."""

from __future__ import annotations

import time
import uuid

import pytest

from clicktrail import ports
from clicktrail.contract.record import LogRecord
from pipelines.eventlog import EventLog, LogUnavailable
from pipelines.eventlog.confluent import ConfluentKafkaLog
from pipelines.eventlog.kafka import KafkaLog
from pipelines.eventlog.redis_streams import RedisStreamLog


def _kafka(name: str, **options) -> KafkaLog:
    return KafkaLog([f"127.0.0.1:{ports.port('kafka')}"], name, partitions=3, **options)


def _confluent(name: str, **options) -> ConfluentKafkaLog:
    return ConfluentKafkaLog([f"127.0.0.1:{ports.port('kafka')}"], name, partitions=3, **options)


def _redis(name: str, **options) -> RedisStreamLog:
    url = f"redis://127.0.0.1:{ports.port('redis_state')}/0"
    return RedisStreamLog(url, name, partitions=3, **options)


@pytest.fixture(
    params=[
        pytest.param(_kafka, marks=pytest.mark.kafka, id="kafka"),
        pytest.param(_confluent, marks=pytest.mark.kafka, id="kafka-confluent"),
        pytest.param(_redis, marks=pytest.mark.redis, id="redis"),
    ]
)
def make_log(request):
    made: list[EventLog] = []

    def make(**options) -> EventLog:
        log = request.param(f"test-{uuid.uuid4().hex[:12]}", ack_timeout=5.0, **options)
        log.ensure_created()
        made.append(log)
        return log

    yield make
    for log in made:
        log.close()


def record(visitor: str, n: int) -> LogRecord:
    return LogRecord(
        site_id="shop",
        visitor_id=visitor,
        id_source="cookie",
        received_at=1764000000000 + n,
        events=[{"event_id": str(uuid.uuid4()), "event_type": "page_view", "n": n}],
    )


def read_all(reader, expected: int, seconds: float = 20.0):
    messages = []
    deadline = time.monotonic() + seconds
    while len(messages) < expected and time.monotonic() < deadline:
        messages += reader.read(1000, timeout=0.5)
    return messages


def test_appended_records_read_back_exactly_and_in_order_per_visitor(make_log):
    log = make_log()
    records = [record(f"v{n % 7}", n) for n in range(200)]
    log.append(records, timeout=10)
    reader = log.reader("pipeline", "c1")
    messages = read_all(reader, len(records))
    assert sorted(m.payload for m in messages) == sorted(r.encode() for r in records)
    for visitor in {r.visitor_id for r in records}:
        key = f"shop:{visitor}".encode()
        seen = [LogRecord.decode(m.payload).received_at for m in messages if m.key == key]
        assert seen == sorted(seen)
        assert len({m.partition for m in messages if m.key == key}) == 1
    reader.commit(messages)
    reader.close()


def test_small_reads_over_many_partitions_miss_nothing(make_log):
    # Regression: a read asking for fewer records than the partitions hand out must not drop
    # the rest (they would stay pending, unprocessed, until a restart).
    log = make_log()
    records = [record(f"v{n % 11}", n) for n in range(120)]
    log.append(records, timeout=10)
    reader = log.reader("pipeline", "c1")
    got = []
    deadline = time.monotonic() + 20
    while len(got) < len(records) and time.monotonic() < deadline:
        messages = reader.read(2, timeout=0.5)
        assert len(messages) <= 3  # "up to 2", at least one per partition at most
        got += messages
        reader.commit(messages)
    assert sorted(m.payload for m in got) == sorted(r.encode() for r in records)
    reader.close()


def test_uncommitted_records_are_read_again_after_a_restart(make_log):
    log = make_log()
    records = [record("v1", n) for n in range(10)]
    log.append(records, timeout=10)
    first = log.reader("pipeline", "c1")
    messages = read_all(first, 10)
    first.commit(messages[:4])
    first.close()

    second = log.reader("pipeline", "c1")
    again = read_all(second, 6)
    assert [m.payload for m in again] == [m.payload for m in messages[4:]]
    second.commit(again)
    assert second.read(100, timeout=0.5) == []
    second.close()


def test_consumer_groups_are_independent(make_log):
    log = make_log()
    log.append([record("v1", 1)], timeout=10)
    for group in ("pipeline", "archive"):
        reader = log.reader(group, "c1")
        assert len(read_all(reader, 1)) == 1
        reader.close()


@pytest.mark.parametrize(
    "make_unreachable",
    [
        pytest.param(lambda: KafkaLog(["127.0.0.1:1"], "t", ack_timeout=0.05), id="kafka"),
        pytest.param(
            lambda: ConfluentKafkaLog(["127.0.0.1:1"], "t", ack_timeout=0.05), id="kafka-confluent"
        ),
        pytest.param(
            lambda: RedisStreamLog("redis://127.0.0.1:1/0", "s", ack_timeout=0.05), id="redis"
        ),
    ],
)
def test_an_unreachable_log_fails_fast(make_unreachable):
    log = make_unreachable()
    started = time.monotonic()
    with pytest.raises(LogUnavailable):
        log.append([record("v1", 1)], timeout=0.05)
    assert time.monotonic() - started < 2.0
    assert log.ping(0.05) is False


@pytest.mark.redis
@pytest.mark.parametrize("kept_alive", [True, False])
def test_a_reader_kept_alive_while_its_batch_is_written_reads_nothing_twice(kept_alive):
    """A worker whose store is away retries its batch for longer than its lease; kept alive
    (the worker calls keep_alive while it waits), it keeps its streams and the batch is not
    handed back to it as a takeover. Without it, the batch comes again (harmless downstream,
    but written twice)."""
    from pipelines.eventlog.redis_streams import RedisStreamReader

    log = _redis(f"test-{uuid.uuid4().hex[:12]}", ack_timeout=5.0)
    log.ensure_created()
    log.append([record("v1", n) for n in range(5)], timeout=10)
    reader = RedisStreamReader(log._url, log._streams, "pipeline", "c1", lease_ms=300)
    try:
        batch = read_all(reader, 5)
        assert len(batch) == 5
        waited = time.monotonic() + 1.0  # over three leases, the batch not yet committed
        while time.monotonic() < waited:
            if kept_alive:
                reader.keep_alive()
            time.sleep(0.05)
        again = reader.read(100, timeout=0.2) + reader.read(100, timeout=0.2)
        if kept_alive:
            assert again == []
        else:
            assert [m.position for m in again] == [m.position for m in batch]
        reader.commit(batch)
    finally:
        reader.close()
        log.close()


def test_backlog_counts_what_the_reader_has_not_read_yet(make_log):
    log = make_log()
    log.append([record(f"v{n % 5}", n) for n in range(30)], timeout=10)
    reader = log.reader("pipeline", "c1")
    got = []
    deadline = time.monotonic() + 20
    while not got and time.monotonic() < deadline:  # joins the group, owns every partition
        got = reader.read(3, timeout=0.5)
    assert reader.backlog() == 30 - len(got)
    got += read_all(reader, 30 - len(got))
    assert len(got) == 30
    assert reader.backlog() == 0
    log.append([record("v9", 99)], timeout=10)
    deadline = time.monotonic() + 10
    while reader.backlog() != 1 and time.monotonic() < deadline:
        time.sleep(0.1)  # Kafka's end offset may show the append a moment later
    assert reader.backlog() == 1
    reader.commit(got)
    reader.close()


@pytest.mark.kafka
@pytest.mark.parametrize("kept_alive", [True, False])
def test_a_kafka_reader_kept_alive_keeps_its_partitions_past_the_poll_interval(kept_alive):
    """Kafka's side of the same promise: a consumer that does not poll for longer than
    ``max_poll_interval_ms`` leaves its group, and its batch's commit then fails (the batch
    comes again). Kept alive (paused polls), it stays, and commits its batch."""
    from pipelines.eventlog.kafka import KafkaReader

    log = _kafka(f"test-{uuid.uuid4().hex[:12]}", ack_timeout=5.0)
    log.ensure_created()
    log.append([record(f"v{n}", n) for n in range(6)], timeout=10)
    log.append([record("v7", 7)], timeout=10)  # another record waits behind the batch
    reader = KafkaReader(log._servers, log._topic, "pipeline", "c1", max_poll_interval_ms=1_500)
    try:
        batch = read_all(reader, 7)
        assert len(batch) == 7
        log.append([record("v8", 8)], timeout=10)  # fetched, perhaps, during the pauses
        waited = time.monotonic() + 4.0  # over twice the poll interval, batch not committed
        while time.monotonic() < waited:
            if kept_alive:
                reader.keep_alive()
            time.sleep(0.2)
        if kept_alive:
            reader.commit(batch)
            after = read_all(reader, 1, seconds=10)
            assert [LogRecord.decode(m.payload).received_at for m in after] == [1764000000008]
        else:
            with pytest.raises(LogUnavailable):
                reader.commit(batch)
    finally:
        reader.close()
        log.close()
