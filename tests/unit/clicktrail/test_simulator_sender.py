"""The HTTP sender against a small local collector stand-in."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from clicktrail.contract.envelope import parse_batch
from clicktrail.contract.protocol import COLLECT_PATH, WRITE_KEY_HEADER
from clicktrail.simulator.batching import Batch, make_batches
from clicktrail.simulator.sender import SenderOptions, check_collector_url, send_batches
from clicktrail.simulator.uuid7 import uuid7

KEY = "wk_test_123"


@dataclass
class Collector:
    """Answers 202 like the collector, after the scripted answers in ``script`` run out."""

    script: list[str] = field(default_factory=list)  # "503", "401", "drop", "reject-first"
    received: list[dict] = field(default_factory=list)  # accepted envelopes, arrival order
    requests: int = 0
    clients: set[int] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""


def _handler(collector: Collector) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive
        disable_nagle_algorithm = True  # headers and body go out in two writes

        def log_message(self, *args) -> None:  # quiet test output
            pass

        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with collector.lock:
                collector.requests += 1
                collector.clients.add(self.client_address[1])
                step = collector.script.pop(0) if collector.script else "ok"
            if step == "drop":
                self.close_connection = True  # hang up without an answer
                return
            if self.path != COLLECT_PATH or self.headers.get(WRITE_KEY_HEADER) != KEY:
                step = "401"
            if step in ("503", "401"):
                headers = {"Retry-After": "2"} if step == "503" else {}
                self._answer(int(step), {"error": step}, headers)
                return
            batch = parse_batch(body)
            with collector.lock:
                collector.received.append(json.loads(body))
            rejected = [{"index": 0, "reason": "test"}] if step == "reject-first" else []
            self._answer(202, {"accepted": len(batch.events) - len(rejected), "rejected": rejected})

        def _answer(self, status: int, document: dict, headers: dict | None = None) -> None:
            payload = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

    return Handler


@pytest.fixture
def collector() -> Iterator[Collector]:
    state = Collector()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _batches(visitors: int = 5, per_visitor: int = 7, batch_size: int = 3) -> list[Batch]:
    rng = random.Random(1)
    batches: list[Batch] = []
    for v in range(visitors):
        events = [
            {
                "event_id": uuid7(1_736_121_600_000 + 1000 * n, rng),
                "event_type": "page_view",
                "created_at": 1_736_121_600_000 + 1000 * n,
                "visitor_id": f"visitor{v}",
                "url": f"https://www.demo.example/p/{n}",
            }
            for n in range(per_visitor)
        ]
        batches.extend(make_batches(events, "demo", rng, batch_size))
    batches.sort(key=lambda batch: batch.sent_at)
    return batches


def _recorder() -> tuple[list[float], Callable[[float], None]]:
    waits: list[float] = []
    return waits, waits.append


def test_sends_every_batch_and_honours_retry_after(collector: Collector):
    collector.script = ["503"]
    batches = _batches()
    waits, sleep = _recorder()
    summary = send_batches(batches, SenderOptions(collector.url, KEY, concurrency=3), sleep=sleep)
    assert (summary.batches, summary.sent) == (len(batches), 35)
    assert (summary.accepted, summary.rejected, summary.failed) == (35, 0, 0)
    assert summary.retries == 1 and waits == [2.0]
    assert collector.requests == len(batches) + 1
    assert len(collector.clients) <= 3  # keep-alive: one connection per worker
    # One visitor's batches go through one worker, so they arrive in order.
    seen: dict[str, list[int]] = {}
    for envelope in collector.received:
        for event in envelope["events"]:
            seen.setdefault(event["visitor_id"], []).append(event["created_at"])
    assert len(seen) == 5
    assert all(times == sorted(times) and len(times) == 7 for times in seen.values())
    assert "35 events" in summary.as_text() and summary.events_per_s > 0


def test_retries_a_dropped_connection(collector: Collector):
    collector.script = ["drop"]
    waits, sleep = _recorder()
    summary = send_batches(_batches(1, 3), SenderOptions(collector.url, KEY, 1), sleep=sleep)
    assert (summary.accepted, summary.failed, summary.retries) == (3, 0, 1)
    assert len(waits) == 1 and 0 < waits[0] <= 0.25
    assert summary.errors and summary.errors[0].startswith("connection:")


def test_a_final_error_is_not_retried(collector: Collector):
    waits, sleep = _recorder()
    options = SenderOptions(collector.url, "wrong-key", concurrency=2)
    summary = send_batches(_batches(2, 2), options, sleep=sleep)
    assert (summary.accepted, summary.failed, summary.retries) == (0, 4, 0)
    assert waits == [] and summary.errors[0].startswith("HTTP 401")


def test_gives_up_after_the_last_attempt(collector: Collector):
    collector.script = ["503"] * 10
    waits, sleep = _recorder()
    options = SenderOptions(collector.url, KEY, concurrency=1, max_attempts=3)
    summary = send_batches(_batches(1, 1), options, sleep=sleep)
    assert (summary.accepted, summary.failed, summary.retries) == (0, 1, 2)
    assert waits == [2.0, 2.0] and collector.requests == 3


def test_counts_rejected_events(collector: Collector):
    collector.script = ["reject-first"]
    _, sleep = _recorder()
    summary = send_batches(_batches(1, 3), SenderOptions(collector.url, KEY, 1), sleep=sleep)
    assert (summary.sent, summary.accepted, summary.rejected, summary.failed) == (3, 2, 1, 0)


@pytest.mark.parametrize("url", ["ftp://host", "127.0.0.1:8080", "http://"])
def test_refuses_unusable_collector_urls(url: str):
    with pytest.raises(ValueError, match="collector URL"):
        check_collector_url(url)
