"""Sends batches to a collector over HTTP, as a server-side sender with the site's write key.

Each worker thread keeps one keep-alive connection. A visitor's batches always go through the
same worker, so they arrive in order, as they would from one real sender. A 429 or 5xx answer
and a broken connection are retried with exponential backoff (a ``Retry-After`` wins); any
other answer is final.
"""

from __future__ import annotations

import http.client
import json
import queue
import random
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from clicktrail.contract.protocol import COLLECT_PATH, WRITE_KEY_HEADER
from clicktrail.simulator.batching import Batch

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
QUEUE_DEPTH = 64  # batches waiting per worker: the generator never runs far ahead
MAX_ERRORS_KEPT = 5


@dataclass(frozen=True)
class SenderOptions:
    collector_url: str  # base URL; COLLECT_PATH is appended
    write_key: str
    concurrency: int = 4
    max_attempts: int = 6
    timeout_s: float = 10.0
    backoff_base_s: float = 0.25
    backoff_max_s: float = 10.0
    max_retry_after_s: float = 60.0


@dataclass
class SendSummary:
    batches: int = 0
    sent: int = 0  # events handed to the collector (at least once)
    accepted: int = 0
    rejected: int = 0
    failed: int = 0  # events of batches that never got a final 2xx
    retries: int = 0
    elapsed_s: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def events_per_s(self) -> float:
        return self.sent / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def add(self, other: SendSummary) -> None:
        self.batches += other.batches
        self.sent += other.sent
        self.accepted += other.accepted
        self.rejected += other.rejected
        self.failed += other.failed
        self.retries += other.retries
        for error in other.errors:
            self.note(error)

    def note(self, error: str) -> None:
        if len(self.errors) < MAX_ERRORS_KEPT and error not in self.errors:
            self.errors.append(error)

    def as_text(self) -> str:
        lines = [
            f"sent {self.sent} events in {self.batches} batches in {self.elapsed_s:.2f} s "
            f"({self.events_per_s:.0f} events/s): accepted {self.accepted}, "
            f"rejected {self.rejected}, failed {self.failed}, retries {self.retries}"
        ]
        lines.extend(f"  error: {error}" for error in self.errors)
        return "\n".join(lines)


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int | None
    path: str

    @classmethod
    def parse(cls, base_url: str) -> _Target:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"the collector URL must be http(s)://host[:port], got {base_url!r}")
        return cls(parts.scheme, parts.hostname, parts.port, parts.path.rstrip("/") + COLLECT_PATH)

    def connect(self, timeout_s: float) -> http.client.HTTPConnection:
        if self.scheme == "https":
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout_s)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout_s)


def check_collector_url(base_url: str) -> None:
    """Raises ``ValueError`` for a URL the sender cannot use."""
    _Target.parse(base_url)


def send_batches(
    batches: Iterable[Batch],
    options: SenderOptions,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> SendSummary:
    """POST every batch; returns the totals once all workers are done."""
    target = _Target.parse(options.collector_url)
    workers = [_Worker(index, target, options, sleep) for index in range(options.concurrency)]
    started = clock()
    for worker in workers:
        worker.start()
    try:
        for batch in batches:
            lane = zlib.crc32(batch.visitor_id.encode()) % len(workers)
            workers[lane].inbox.put(batch)
    finally:
        for worker in workers:
            worker.inbox.put(None)
        for worker in workers:
            worker.join()
    summary = SendSummary()
    for worker in workers:
        summary.add(worker.summary)
    summary.elapsed_s = clock() - started
    return summary


class _Worker(threading.Thread):
    def __init__(
        self, index: int, target: _Target, options: SenderOptions, sleep: Callable[[float], None]
    ) -> None:
        super().__init__(name=f"simulate-sender-{index}", daemon=True)
        self.inbox: queue.Queue[Batch | None] = queue.Queue(maxsize=QUEUE_DEPTH)
        self.summary = SendSummary()
        self._target = target
        self._options = options
        self._sleep = sleep
        self._jitter = random.Random(index)  # spreads retries; no need for a real seed here
        self._connection: http.client.HTTPConnection | None = None
        self._headers = {
            "Content-Type": "application/json",
            WRITE_KEY_HEADER: options.write_key,
        }

    def run(self) -> None:
        try:
            while (batch := self.inbox.get()) is not None:
                try:
                    self._send(batch)
                except Exception as exc:  # a worker must not die and leave the queue full
                    self.summary.failed += batch.event_count
                    self.summary.note(f"{type(exc).__name__}: {exc}")
        finally:
            self._close()

    def _send(self, batch: Batch) -> None:
        self.summary.batches += 1
        self.summary.sent += batch.event_count
        options = self._options
        for attempt in range(1, options.max_attempts + 1):
            try:
                status, retry_after, body = self._post(batch.body)
            except (OSError, http.client.HTTPException) as exc:
                self._close()
                self.summary.note(f"connection: {type(exc).__name__}: {exc}")
                wait = self._backoff(attempt)
            else:
                if 200 <= status < 300:
                    self._count_answer(batch, body)
                    return
                if status not in RETRYABLE_STATUSES:
                    self.summary.failed += batch.event_count
                    self.summary.note(f"HTTP {status}: {body[:200].decode('utf-8', 'replace')}")
                    return
                wait = retry_after if retry_after is not None else self._backoff(attempt)
            if attempt == options.max_attempts:
                break
            self.summary.retries += 1
            self._sleep(wait)
        self.summary.failed += batch.event_count

    def _post(self, body: bytes) -> tuple[int, float | None, bytes]:
        if self._connection is None:
            self._connection = self._target.connect(self._options.timeout_s)
        self._connection.request("POST", self._target.path, body=body, headers=self._headers)
        response = self._connection.getresponse()
        answer = response.read()  # read it all, or the connection cannot be reused
        if response.will_close:
            self._close()
        return response.status, self._retry_after(response.getheader("Retry-After")), answer

    def _retry_after(self, value: str | None) -> float | None:
        # Only the seconds form; an HTTP date falls back to the backoff.
        try:
            seconds = float(value) if value is not None else None
        except ValueError:
            return None
        if seconds is None or seconds < 0:
            return None
        return min(seconds, self._options.max_retry_after_s)

    def _backoff(self, attempt: int) -> float:
        ceiling = min(
            self._options.backoff_max_s, self._options.backoff_base_s * 2 ** (attempt - 1)
        )
        return ceiling * (0.5 + 0.5 * self._jitter.random())

    def _count_answer(self, batch: Batch, body: bytes) -> None:
        try:
            answer = json.loads(body)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            self.summary.accepted += batch.event_count  # a 2xx without details took them all
            return
        rejected = answer.get("rejected")
        rejected_count = len(rejected) if isinstance(rejected, list) else 0
        accepted = answer.get("accepted")
        if isinstance(accepted, int) and not isinstance(accepted, bool):
            self.summary.accepted += accepted
        else:
            self.summary.accepted += batch.event_count - rejected_count
        self.summary.rejected += rejected_count

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
