"""The collector as it runs in production: gunicorn processes writing to the real Kafka broker."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

from clicktrail import ports
from clicktrail.contract.record import LogRecord
from tests.integration.conftest import Engine, make_engine, own_service

pytestmark = [pytest.mark.kafka, pytest.mark.redis]

ROOT = Path(__file__).parents[2]
SHOP = "https://shop.example.test"
OWN_KAFKA_OFFSET = ports.port_offset() + 600  # a broker of this module's own, to stop


@pytest.fixture
def kafka_engine(tmp_path: Path) -> Engine:
    # A broker started cold a moment ago (CI) answers its first produces slower than the 50 ms
    # production bound while the JVM warms up. These tests are about the path through gunicorn;
    # the bound has its own test below, on a broker of its own.
    return make_engine(tmp_path, "kafka", ack_timeout_ms=3000)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_collector(engine: Engine, workers: int = 1, extra_env: dict | None = None):
    port = free_port()
    env = {**os.environ, **engine.env(), **(extra_env or {})}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    # A file, not a pipe: a pipe nobody reads fills up during an outage (kafka-python logs
    # every refused connection) and then blocks the workers' writes, freezing the collector.
    output = (engine.data_dir / f"collector-{port}.log").open("w+b")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "clicktrail.cli",
            "collector",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            "4",
        ],
        env=env,
        cwd=ROOT,
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1).read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output.seek(0)
                    raise RuntimeError(output.read().decode()[-5000:]) from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)
        output.close()


def post(base: str, events: list[dict], timeout: float = 5) -> tuple[int, dict, dict]:
    body = json.dumps({"site_id": "shop", "events": events}).encode()
    request = urllib.request.Request(
        base + "/v1/events",
        data=body,
        method="POST",
        headers={"Origin": SHOP, "Content-Type": "text/plain", "User-Agent": "pytest"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), dict(error.headers)


def page_view(visitor: str = "v1") -> dict:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": "page_view",
        "visitor_id": visitor,
        "created_at": int(time.time() * 1000),
        "url": f"{SHOP}/",
    }


def read_event_ids(
    engine: Engine, expected: int, seconds: float = 30, until_idle: bool = False
) -> list[str]:
    """The event ids in the log, read until ``expected`` are found or, ``until_idle``, until a
    read after the first records comes back empty (a log nobody writes to any more)."""
    from pipelines.eventlog import open_event_log

    log = open_event_log(engine.settings)
    reader = log.reader(f"check-{uuid.uuid4().hex[:6]}", "c1")
    ids: list[str] = []
    deadline = time.monotonic() + seconds
    while len(ids) < expected and time.monotonic() < deadline:
        messages = reader.read(1000, timeout=0.5)
        if until_idle and ids and not messages:
            break
        for message in messages:
            ids += [e["event_id"] for e in LogRecord.decode(message.payload).events]
    reader.close()
    log.close()
    return ids


def test_gunicorn_collector_writes_to_kafka(kafka_engine):
    events = [page_view("v1"), page_view("v2"), page_view("v1")]
    with running_collector(kafka_engine) as base:
        status, body, headers = post(base, events)
        assert (status, body) == (202, {"accepted": 3, "rejected": []})
        assert headers["Access-Control-Allow-Origin"] == SHOP
        ready = urllib.request.urlopen(base + "/readyz", timeout=2)
        assert ready.status == 200
    assert sorted(read_event_ids(kafka_engine, 3)) == sorted(e["event_id"] for e in events)


def test_metrics_add_up_across_worker_processes(kafka_engine):
    with running_collector(kafka_engine, workers=2) as base:
        for _ in range(30):
            assert post(base, [page_view()])[0] == 202
        text = urllib.request.urlopen(base + "/metrics", timeout=2).read().decode()
    accepted = [
        line
        for line in text.splitlines()
        if line.startswith("clicktrail_collector_events_accepted_total ")
    ]
    assert accepted == ["clicktrail_collector_events_accepted_total 30.0"]


@pytest.fixture
def own_broker(tmp_path):
    """A Kafka broker of this test's own (port offset 600), so stopping it disturbs no other."""
    yield from own_service(tmp_path, "kafka", OWN_KAFKA_OFFSET)


def test_broker_stopped_means_503_within_the_bound_then_recovery(tmp_path, own_broker):
    from clicktrail.settings import parse_event_log_url

    engine = make_engine(tmp_path / "engine", "kafka")
    topic = engine.settings.event_log_url.topic
    engine = Engine(
        engine.settings.replace(
            event_log_url=parse_event_log_url(
                f"kafka://127.0.0.1:{ports.BASE_PORTS['kafka'] + OWN_KAFKA_OFFSET}/{topic}"
            )
        ),
        engine.write_key,
        engine.data_dir,
    )
    acknowledged: list[str] = []
    with running_collector(engine) as base:
        # A broker started cold a moment ago may miss the 50 ms bound on its first produces
        # (503, as it should); the client sends the same event again until it is accepted.
        before = page_view()
        deadline = time.monotonic() + 30
        while (status := post(base, [before])[0]) != 202 and time.monotonic() < deadline:
            assert status == 503
            time.sleep(0.2)
        assert status == 202
        acknowledged.append(before["event_id"])

        own_broker("stop")
        for _ in range(5):
            started = time.monotonic()
            status, body, headers = post(base, [page_view()])
            elapsed = time.monotonic() - started
            assert status == 503, body
            assert headers["Retry-After"] == "1"
            assert elapsed < 1.0, f"503 took {elapsed:.3f} s"

        own_broker("start")
        deadline = time.monotonic() + 60
        while True:
            event = page_view()
            status, _, _ = post(base, [event])
            if status == 202:
                acknowledged.append(event["event_id"])
                break
            assert status == 503
            assert time.monotonic() < deadline, "the collector did not recover"
            time.sleep(0.5)
    assert set(acknowledged) <= set(read_event_ids(engine, len(acknowledged)))
