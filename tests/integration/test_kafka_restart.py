"""A Kafka broker restarted under traffic, as an operator does it: the collector (gunicorn, the
production 50 ms bound) and a pipeline worker recover by themselves, and nothing is lost or
doubled.

The outage lasts longer than the producer's delivery timeout, so batches the producer had
already sent expire: that is what wedged kafka-python's idempotent producer for good. make test
runs a 10 s outage over a 6 s delivery timeout; `make bench-faults` the same code with a 60 s
outage over the production 30 s (tests/integration/fault_scale.py)."""

from __future__ import annotations

import random
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

import pytest
from kafka.partitioner.default import murmur2

from clicktrail import ports
from clicktrail.settings import parse_event_log_url
from pipelines.runner import run_worker
from tests.integration.conftest import Engine, own_service
from tests.integration.fault_scale import record, sized
from tests.integration.test_collector_kafka import page_view, post, running_collector
from tests.integration.test_pipeline import (
    count,
    human_events,
    pipeline_engine,
    profile_event_total,
)

pytestmark = [pytest.mark.kafka, pytest.mark.redis]

OFFSET = ports.port_offset() + 620  # a broker of this test's own, above the run's ports
DELIVERY_TIMEOUT_MS = sized(6_000, 30_000)  # the production default at full size
OUTAGE_SECONDS = sized(10, 60)
RECOVERY_BOUND = 10.0
SETTLED_SECONDS = 6.0  # steady traffic watched once every partition is back
PARTITIONS = 4


@dataclass
class Traffic:
    """Single-event requests from many visitors, each resent until accepted, as the snippet
    does. Records every answer with its time."""

    base: str
    answers: list[tuple[float, int, int]] = field(default_factory=list)  # time, status, partition
    sent: set[str] = field(default_factory=set)
    accepted: set[str] = field(default_factory=set)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        rng = random.Random(7)
        pending: list[dict] = []
        give_up = float("inf")
        while not self.stop.is_set() or (pending and time.monotonic() < give_up):
            if self.stop.is_set() and give_up == float("inf"):
                give_up = time.monotonic() + 30
            if not pending and not self.stop.is_set():
                event = page_view(f"v{rng.randrange(500)}")
                self.sent.add(event["event_id"])
                pending.append(event)
            event = pending[0]
            try:
                status = post(self.base, [event], timeout=5)[0]
            except (urllib.error.URLError, OSError):
                status = 0
            self.answers.append((time.monotonic(), status, partition_of(event["visitor_id"])))
            if status == 202:
                self.accepted.add(event["event_id"])
                pending.pop(0)
            else:
                time.sleep(0.05)
            time.sleep(0.01)

    def statuses(self, start: float, end: float = float("inf")) -> list[int]:
        return [status for at, status, _ in self.answers if start <= at < end]

    def first_accepted(self, partition: int, after: float) -> float | None:
        times = [at for at, status, p in self.answers if p == partition and status == 202]
        return min((at - after for at in times if at >= after), default=None)


def partition_of(visitor_id: str) -> int:
    """Kafka's default placement of the collector's record key ``<site>:<visitor>``."""
    return (murmur2(f"shop:{visitor_id}".encode()) & 0x7FFFFFFF) % PARTITIONS


def ready(base: str) -> int:
    try:
        with urllib.request.urlopen(base + "/readyz", timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.clickhouse
def test_broker_restarted_under_traffic_collector_and_worker_recover(
    tmp_path, chdb_folder, shared_small_geoip_db
):
    broker = own_service(tmp_path, "kafka", OFFSET)
    control = next(broker)
    stop_worker = threading.Event()
    try:
        engine = pipeline_engine(
            tmp_path / "engine", "kafka", "chdb", chdb_folder, shared_small_geoip_db
        )
        topic = engine.settings.event_log_url.topic
        url = f"kafka://127.0.0.1:{ports.BASE_PORTS['kafka'] + OFFSET}/{topic}"
        engine = Engine(
            engine.settings.replace(
                event_log_url=parse_event_log_url(url),
                kafka_delivery_timeout_ms=DELIVERY_TIMEOUT_MS,
            ),
            engine.write_key,
            engine.data_dir,
        )
        result: dict = {}
        worker = threading.Thread(
            target=lambda: result.setdefault("worker", run_worker(engine.settings, stop_worker)),
            daemon=True,
        )
        worker.start()
        with running_collector(engine, workers=2) as base:
            traffic = Traffic(base)
            sender = threading.Thread(target=traffic.run, daemon=True)
            sender.start()
            try:
                deadline = time.monotonic() + 60
                while len(traffic.accepted) < 50 and time.monotonic() < deadline:
                    time.sleep(0.2)
                assert len(traffic.accepted) >= 50, f"traffic never flowed: {traffic.answers[-5:]}"

                control("stop")
                stopped = time.monotonic()
                readiness_down = []
                while time.monotonic() < stopped + OUTAGE_SECONDS:
                    readiness_down.append(ready(base))
                    time.sleep(1)
                during = traffic.statuses(stopped + 1, time.monotonic())
                print(f"while stopped: {len(during)} answers {set(during)}, ready {readiness_down}")
                assert during and set(during) <= {503}, "only 503 while the broker is away"
                assert readiness_down[-1] == 503, readiness_down

                control("start")  # returns once the broker answers
                back = time.monotonic()
                readiness_up = None
                settled = back + RECOVERY_BOUND  # every partition took a 202 by then
                while time.monotonic() < settled + SETTLED_SECONDS:
                    if readiness_up is None and ready(base) == 200:
                        readiness_up = time.monotonic() - back
                    if settled > time.monotonic() and all(
                        traffic.first_accepted(p, back) is not None for p in range(PARTITIONS)
                    ):
                        settled = time.monotonic()
                    time.sleep(0.5)
            finally:
                traffic.stop.set()
                sender.join(timeout=120)
            after = traffic.statuses(back)
            failures = [
                at - back for at, status, _ in traffic.answers if at >= back and status != 202
            ]
            recovered = {p: traffic.first_accepted(p, back) for p in range(PARTITIONS)}
            print(
                f"after the restart: {len(after)} answers, {len(failures)} not 202 (at"
                f" {[round(at, 1) for at in failures]} s); first 202 per partition"
                f" {recovered}; ready again after {readiness_up} s"
            )
            assert readiness_up is not None and readiness_up <= RECOVERY_BOUND
            assert all(at is not None and at <= RECOVERY_BOUND for at in recovered.values())
            # Once every partition is back, a 503 is only the 50 ms acknowledgement bound missed
            # now and then (a loaded machine right after the restart: CI missed it for 1.5 s on
            # two cores), never a partition that stays stuck: one would hold the sender on its
            # resent event, so answers would stop flowing and that partition would take no 202.
            late = traffic.statuses(settled)
            tail = settled + SETTLED_SECONDS / 2
            assert len(late) > 100 and late.count(202) >= 0.8 * len(late), late
            assert all(traffic.first_accepted(p, tail) is not None for p in range(PARTITIONS))
            assert traffic.accepted == traffic.sent

        expected = len(traffic.accepted)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and count(engine) < expected:
            time.sleep(0.5)
        stop_worker.set()
        worker.join(timeout=60)
        assert "worker" in result, "the worker did not stop cleanly"
        from tests.integration.test_collector_kafka import read_event_ids

        in_log = read_event_ids(engine, 10**9, seconds=30, until_idle=True)
        print(
            f"events: {expected} accepted, {count(engine)} stored,"
            f" {count(engine, final=False)} rows; the log holds {len(in_log)} events,"
            f" {len(set(in_log))} distinct; profiles count {profile_event_total(engine)},"
            f" humans {human_events(engine)}"
        )
        # Resent events are in the log twice (a 503 whose record had landed): the warehouse
        # collapses them (FINAL) and the profiles count each event id once.
        resent = sum(1 for _, status, _ in traffic.answers if status != 202)
        record(
            "Kafka broker stopped during ingest",
            outage_s=OUTAGE_SECONDS,
            answers_503_while_stopped=len(during),
            ready_again_s=round(readiness_up, 1),
            every_partition_202_s=round(max(recovered.values()), 1),
            events_resent=resent,
            accepted=expected,
            stored=count(engine),
        )
        assert count(engine) == expected  # nothing lost, nothing doubled
        assert profile_event_total(engine) == human_events(engine) == expected
    finally:
        stop_worker.set()
        broker.close()
