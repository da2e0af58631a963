"""The Kafka event log's write side through ``confluent-kafka`` (librdkafka).

Why: kafka-python builds and sends record batches in Python, on the GIL the request handlers
need (~150 µs of CPU a record, measured: docs/benchmarks.md); librdkafka does that in native
threads. Everything else (topics, readers, dead-letter reads) stays ``KafkaLog``'s.

Same promises as ``KafkaLog``: idempotent, ``acks=all``, a visitor's records in one partition
chosen by Kafka's default rule (murmur2 of the key, as kafka-python and the Java client place
them), and ``append`` returns only once the broker acknowledged every record.

How a request waits: librdkafka hands delivery reports to whoever calls ``poll``. One native
thread per producer (never a greenlet: ``poll`` blocks in C) polls and sets each append's
``threading.Event``; under gevent's monkey patching that is gevent's event, which a native
thread may set, and only the waiting greenlet sleeps.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Sequence

from confluent_kafka import KafkaError as NativeKafkaError
from confluent_kafka import KafkaException, Producer
from gevent import monkey

from pipelines.eventlog.base import LogUnavailable
from pipelines.eventlog.kafka import KafkaLog, key_hash

# The real thread primitives, even in a gevent-patched process.
_start_native_thread = monkey.get_original("_thread", "start_new_thread")
_METADATA_REFRESH_S = 30.0
log = logging.getLogger(__name__)


class _Acks:
    """One append's outstanding acknowledgements; counted down by the poller thread."""

    __slots__ = ("done", "error", "failed", "left")

    def __init__(self, count: int) -> None:
        self.left = count
        self.error: str | None = None
        self.failed: list[int] = []  # partitions whose record the broker refused
        self.done = threading.Event()

    def report(self, error: NativeKafkaError | None, message: object) -> None:
        if error is not None:
            self.error = str(error)
            self.failed.append(message.partition())  # type: ignore[attr-defined]
        self.left -= 1
        if self.left == 0:
            self.done.set()


class _NativeProducer:
    """A librdkafka producer and the native thread that polls its delivery reports."""

    def __init__(self, config: dict[str, object]) -> None:
        self.producer = Producer(config)
        self.running = True
        self.partitions: dict[str, tuple[float, list[int]]] = {}  # topic -> (at, partitions)
        _start_native_thread(_poll, (weakref.ref(self), self.producer))

    def partitions_for(self, topic: str, timeout: float) -> list[int]:
        known = self.partitions.get(topic)
        if known is not None and time.monotonic() - known[0] < _METADATA_REFRESH_S:
            return known[1]
        metadata = self.producer.list_topics(topic, timeout=max(timeout, 0.001))
        described = metadata.topics.get(topic)
        if described is None or described.error is not None or not described.partitions:
            if known is not None:
                return known[1]
            reason = described.error if described is not None else "unknown topic"
            raise LogUnavailable(f"kafka:{topic}: no partitions known ({reason})")
        partitions = sorted(described.partitions)
        self.partitions[topic] = (time.monotonic(), partitions)
        return partitions

    def close(self, timeout: float) -> None:
        self.running = False
        self.producer.flush(timeout)


def _poll(owner: weakref.ref[_NativeProducer], producer: Producer) -> None:
    """Serve delivery reports until the producer is closed or its owner is gone (a log that
    was never closed does not keep a thread, nor its connections, for good)."""
    while True:
        native = owner()
        if native is None or not native.running:
            return
        del native
        producer.poll(0.1)


class ConfluentKafkaLog(KafkaLog):
    """``KafkaLog`` whose appends go through librdkafka (``CLICKTRAIL_KAFKA_PRODUCER``)."""

    def connect(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        native = self._native()
        while True:  # a topic created a moment ago takes a while to show in the metadata
            try:
                native.partitions_for(self._topic, max(0.05, deadline - time.monotonic()))
                return
            except (KafkaException, LogUnavailable) as exc:
                if time.monotonic() >= deadline:
                    raise LogUnavailable(f"{self.name}: {exc}") from exc
                time.sleep(0.05)

    def _native(self) -> _NativeProducer:
        with self._lock:
            if self._producer is None:
                try:
                    self._producer = _NativeProducer(self._config())
                except KafkaException as exc:
                    raise LogUnavailable(f"{self.name}: {exc}") from exc
            return self._producer  # type: ignore[return-value]

    def _config(self) -> dict[str, object]:
        return {
            "bootstrap.servers": ",".join(self._servers),
            "client.id": self._client_id,
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": self._linger_ms,
            # Unacknowledged records give up after this; the client resends them.
            "delivery.timeout.ms": self._delivery_timeout_ms,
            "request.timeout.ms": self._request_timeout_ms,
            "retry.backoff.ms": 50,
            "reconnect.backoff.ms": 50,
            "reconnect.backoff.max.ms": 1000,
            # What waits unacknowledged (a broker away: up to the delivery timeout) is bounded
            # as kafka-python bounds it (32 MB); past that produce() refuses and we answer 503.
            "queue.buffering.max.kbytes": 32 * 1024,
            "logger": log,  # librdkafka's own lines, through logging (served by the poller)
        }

    def _send(self, topic: str, messages: list[tuple[bytes, bytes]], timeout: float) -> None:
        if not messages:
            return
        deadline = time.monotonic() + timeout
        acks = _Acks(len(messages))
        placed: list[tuple[str, int]] = []
        try:
            native = self._native()
            partitions = native.partitions_for(topic, timeout)
            for key, value in messages:
                partition = partitions[key_hash(key) % len(partitions)]
                native.producer.produce(
                    topic, value=value, key=key, partition=partition, on_delivery=acks.report
                )
                placed.append((topic, partition))
        except (KafkaException, BufferError, LogUnavailable) as exc:
            self._failed(topic, placed, exc)
        if not acks.done.wait(max(0.0, deadline - time.monotonic())) or acks.error:
            reason = acks.error or f"no acknowledgement within {timeout * 1000:.0f} ms"
            where = [(topic, p) for p in acks.failed] if acks.left == 0 else placed
            self._failed(topic, where, LogUnavailable(f"kafka:{topic}: {reason}"))
        for where in set(placed):
            self._watch.acknowledged(where)
        self._watch.acknowledged((topic, None))

    def _failed(self, topic: str, where: Sequence[tuple[str, int]], exc: Exception) -> None:
        now = time.monotonic()
        for partition in set(where) or {(topic, None)}:
            self._watch.failed(partition, now)
        self._replace_if_stuck(now)
        if isinstance(exc, LogUnavailable):
            raise exc
        raise LogUnavailable(f"kafka:{topic}: {exc!r}") from exc

    def _replace_if_stuck(self, now: float) -> None:
        """Never: the replacement works around kafka-python's wedged producer. librdkafka
        recovers by itself after an outage (it bumps its idempotent epoch once what it had
        sent has drained); a new producer would only start over (a new producer id, while the
        restarted broker's coordinator is still loading) and stretch the outage by seconds,
        as measured. ``ping`` still reports a partition that stops acknowledging."""

    def close(self) -> None:
        with self._lock:
            if self._producer is not None:
                self._producer.close(1)  # type: ignore[call-arg]
                self._producer = None
