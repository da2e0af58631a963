"""The decision log against the real event logs (Redis Streams, Kafka): decisions written in
batches off the request path, a log that is away or hangs never holds a decision up (its records are
dropped and counted), and closing writes what is queued."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from bench.harness.engine import make_engine
from clicktrail.contract.ids import new_decision_id
from clicktrail.contract.record import LogRecord
from personalizer.decide import Decision
from personalizer.decision_log import EventLogDecisions
from pipelines.eventlog import open_event_log
from pipelines.eventlog.redis_streams import RedisStreamLog

pytestmark = pytest.mark.redis


def decision(n: int) -> Decision:
    now = int(time.time() * 1000)
    return Decision(new_decision_id(now), "shop", f"v{n}", "cookie", now, True)


def dropped(kind: str, reason: str) -> float:
    labels = {"kind": kind, "reason": reason}
    return REGISTRY.get_sample_value("clicktrail_personalizer_log_dropped_total", labels) or 0.0


def read_all(engine, expected: int, seconds: float = 10.0) -> list[LogRecord]:
    log = open_event_log(engine.settings, ack_timeout=5)
    reader = log.reader("check", "c1")
    got: list[LogRecord] = []
    deadline = time.monotonic() + seconds
    while len(got) < expected and time.monotonic() < deadline:
        messages = reader.read(1000, 0.5)
        got += [LogRecord.decode(m.payload) for m in messages]
        reader.commit(messages)
    reader.close()
    log.close()
    return got


@pytest.fixture
def hung_server() -> Iterator[str]:
    """A TCP server that accepts and never answers: a log that hangs, not one that refuses."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    server.close()


@pytest.mark.parametrize(
    "kind", [pytest.param("redis"), pytest.param("kafka", marks=pytest.mark.kafka)]
)
def test_decisions_reach_the_event_log_in_batches(tmp_path, kind):
    engine = make_engine(tmp_path, kind)
    log = EventLogDecisions(
        open_event_log(engine.settings, ack_timeout=2.0), queue_size=1000, timeout=2.0
    )
    made = [decision(n) for n in range(300)]
    for one in made:
        log.record(one)
    assert log.flush(10)
    log.close()
    records = read_all(engine, 300)
    assert sorted(r.events[0]["decision_id"] for r in records) == sorted(
        d.decision_id for d in made
    )
    assert {r.events[0]["event_type"] for r in records} == {"decision"}


def test_turned_off_it_writes_no_decision(tmp_path):
    engine = make_engine(tmp_path, "redis")
    log = EventLogDecisions(
        open_event_log(engine.settings), queue_size=10, timeout=1.0, log_decisions=False
    )
    log.record(decision(1))
    assert log.flush(5)
    log.close()
    assert read_all(engine, 1, seconds=1.0) == []


def test_a_log_that_is_away_drops_and_counts_without_holding_decisions():
    before = dropped("decision", "log_away")
    log = EventLogDecisions(
        RedisStreamLog("redis://127.0.0.1:1/0", "nowhere", ack_timeout=0.2),
        queue_size=100,
        timeout=0.2,
    )
    for n in range(5):
        log.record(decision(n))
    assert log.flush(10)
    assert dropped("decision", "log_away") - before == 5
    log.close()


def test_a_hung_log_fills_the_queue_then_drops_and_counts(hung_server):
    before = {reason: dropped("decision", reason) for reason in ("queue_full", "shutdown")}
    log = EventLogDecisions(
        RedisStreamLog(hung_server, "hung", ack_timeout=2.0), queue_size=3, timeout=2.0
    )
    log.record(decision(0))  # the flusher takes it and waits on the hung server
    deadline = time.monotonic() + 5
    while log.pending() and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.perf_counter()
    for n in range(1, 6):
        log.record(decision(n))
    assert time.perf_counter() - started < 1.0  # the log hangs for 2 s: nobody waited for it
    assert dropped("decision", "queue_full") - before["queue_full"] == 2  # 3 fit behind the 1st
    log.close(timeout=0.1)  # the flusher still hangs: the 3 queued are counted, not lost
    assert dropped("decision", "shutdown") - before["shutdown"] == 3


def test_closing_writes_what_is_queued(tmp_path):
    engine = make_engine(tmp_path, "redis")
    log = EventLogDecisions(open_event_log(engine.settings), queue_size=1000, timeout=2.0)
    made = [decision(n) for n in range(50)]
    for one in made:
        log.record(one)
    log.close(timeout=10)  # no flush first: close itself writes them
    assert len(read_all(engine, 50)) == 50
