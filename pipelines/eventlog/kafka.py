"""The event log on Apache Kafka (``kafka-python``).

Records are keyed by ``<site>:<visitor>`` and placed by Kafka's default rule (murmur2 of the
key), so a visitor's records stay in one partition, in order. The producer is idempotent with
``acks=all``: an acknowledged record is on every in-sync replica, and a retry inside the
producer never duplicates it.

A producer that stops delivering while its broker answers is replaced (``DeliveryWatch``):
kafka-python 3.0.12 wedges for good after an outage that expired batches it had already sent.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import socket
import threading
import time
from collections.abc import Sequence

from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError
from kafka.partitioner.default import murmur2
from kafka.structs import OffsetAndMetadata, TopicPartition

from clicktrail.contract.deadletter import DeadLetter
from clicktrail.contract.record import LogRecord
from pipelines.eventlog.base import EventLog, LogMessage, LogReader, LogUnavailable
from pipelines.eventlog.delivery import DeliveryWatch

log = logging.getLogger(__name__)
_BACKLOG_TIMEOUT_MS = 2_000


# kafka-python's murmur2 is a Python loop over the key's bytes (~15 µs a key, ~3 % of a
# collector's single-event request: py-spy 2026-12-03); a visitor's requests repeat its key.
# Keys are "<site>:<visitor>" of bounded length (ids of 64 at most): 4,096 of them took
# 0.97 MB (tracemalloc), as many as the client addresses the collector remembers.
@functools.lru_cache(maxsize=4096)
def key_hash(key: bytes) -> int:
    """Kafka's default partitioner's hash of a record key (murmur2, positive), as the Java
    client computes it: the partition is ``key_hash(key) % partitions``."""
    return murmur2(key) & 0x7FFFFFFF


class KafkaLog(EventLog):
    def __init__(
        self,
        bootstrap_servers: Sequence[str],
        topic: str,
        partitions: int = 4,
        replication: int = 1,
        retention_ms: int | None = None,
        linger_ms: int = 5,
        ack_timeout: float = 0.05,
        client_id: str = "clicktrail",
        unready_after: float = 1.0,
        replace_after: float = 3.0,
        delivery_timeout_ms: int = 30_000,
    ) -> None:
        """``unready_after``: seconds a partition may go without an acknowledgement before
        ``ping`` says the log is not ready; ``replace_after``: seconds before a producer that
        delivers nothing while the broker answers is replaced by a new one."""
        self.name = f"kafka:{topic}"
        self.dead_letter_name = f"{topic}.deadletter"
        self._servers = list(bootstrap_servers)
        self._topic = topic
        self._partitions = partitions
        self._replication = replication
        self._retention_ms = retention_ms
        self._linger_ms = linger_ms
        self._ack_ms = max(1, int(ack_timeout * 1000))
        self._client_id = client_id
        self._delivery_timeout_ms = delivery_timeout_ms
        # A request may not outlast the delivery it serves.
        self._request_timeout_ms = min(10_000, delivery_timeout_ms // 2)
        self._producer: KafkaProducer | None = None
        self._lock = threading.Lock()  # the producer is made on first use: after a fork
        self._watch = DeliveryWatch(unready_after, replace_after)
        self._next_replace_check = 0.0
        self.producers_replaced = 0

    def connect(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        producer = self._get_producer(bootstrap_ms=int(timeout * 1000))
        while True:  # a topic created a moment ago takes a while to show in the metadata
            try:
                producer.partitions_for(self._topic)
                return
            except KafkaError as exc:
                if time.monotonic() >= deadline:
                    raise LogUnavailable(f"{self.name}: {exc!r}") from exc

    def _get_producer(self, bootstrap_ms: int | None = None) -> KafkaProducer:
        with self._lock:
            if self._producer is None:
                try:
                    self._producer = KafkaProducer(
                        bootstrap_servers=self._servers,
                        client_id=self._client_id,
                        acks="all",
                        enable_idempotence=True,
                        linger_ms=self._linger_ms,
                        # send() must not block a request thread for long when the broker is
                        # away: it waits for metadata or buffer space at most this long.
                        max_block_ms=self._ack_ms,
                        bootstrap_timeout_ms=bootstrap_ms or self._ack_ms,
                        # Unacknowledged records give up after this; the client resends them.
                        delivery_timeout_ms=self._delivery_timeout_ms,
                        request_timeout_ms=self._request_timeout_ms,
                        retry_backoff_ms=50,
                        reconnect_backoff_ms=50,
                        reconnect_backoff_max_ms=1000,
                    )
                except KafkaError as exc:
                    raise LogUnavailable(f"{self.name}: {exc}") from exc
            return self._producer

    def append(self, records: Sequence[LogRecord], timeout: float) -> None:
        self._send(self._topic, [(record.key, record.encode()) for record in records], timeout)

    def append_dead_letters(self, letters: Sequence[DeadLetter], timeout: float) -> None:
        messages = [((letter.site_id or "").encode(), letter.encode()) for letter in letters]
        self._send(self.dead_letter_name, messages, timeout)

    def _send(self, topic: str, messages: list[tuple[bytes, bytes]], timeout: float) -> None:
        """Send (key, value) messages and wait for every acknowledgement until ``timeout``."""
        if not messages:
            return
        deadline = time.monotonic() + timeout
        sent: list[tuple[tuple[str, int | None], object]] = []
        try:
            producer = self._get_producer()
            # The partition is chosen here, by Kafka's default rule, so the watch knows it.
            partitions = sorted(producer.partitions_for(topic))
            for key, value in messages:
                partition = partitions[key_hash(key) % len(partitions)]
                future = producer.send(topic, key=key, value=value, partition=partition)
                sent.append(((topic, partition), future))
            for where, future in sent:
                future.get(timeout=max(0.0, deadline - time.monotonic()))  # type: ignore[attr-defined]
                self._watch.acknowledged(where)
            self._watch.acknowledged((topic, None))
        except (KafkaError, LogUnavailable) as exc:
            now = time.monotonic()
            unsent = [where for where, future in sent if not future.succeeded()]  # type: ignore[attr-defined]
            for where in unsent or [(topic, None)]:
                self._watch.failed(where, now)
            self._replace_if_stuck(now)
            if isinstance(exc, LogUnavailable):
                raise
            raise LogUnavailable(f"kafka:{topic}: {exc!r}") from exc

    def _replace_if_stuck(self, now: float) -> None:
        """Replace a producer that has delivered nothing for ``replace_after`` seconds on some
        partition although a broker accepts connections (checked at most once a second)."""
        if not self._watch.stuck(now) or now < self._next_replace_check:
            return
        self._next_replace_check = now + 1.0
        if not self._broker_reachable(timeout=0.2):
            return
        with self._lock:
            old, self._producer = self._producer, None
            self._watch.reset()
            self.producers_replaced += 1
        log.warning(
            "%s: the producer acknowledged nothing for %.1f s while the broker answers;"
            " replaced by a new one",
            self.name,
            self._watch.stuck_after,
        )
        if old is not None:  # its unacknowledged records were answered 503: let them go
            self._discard(old)

    def _discard(self, old: KafkaProducer) -> None:
        threading.Thread(target=old.close, kwargs={"timeout": 0}, daemon=True).start()

    def read_dead_letters(self, limit: int, timeout: float) -> list[DeadLetter]:
        try:
            consumer = KafkaConsumer(
                self.dead_letter_name,
                bootstrap_servers=self._servers,
                group_id=None,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                consumer_timeout_ms=int(timeout * 1000),
            )
        except KafkaError as exc:
            raise LogUnavailable(f"{self.dead_letter_name}: {exc!r}") from exc
        letters: list[DeadLetter] = []
        try:
            for message in consumer:
                letters.append(DeadLetter.decode(message.value))
                if len(letters) >= limit:
                    break
        finally:
            consumer.close()
        return letters

    def ensure_created(self) -> None:
        configs = {"min.insync.replicas": str(max(1, self._replication - 1))}
        if self._retention_ms is not None:
            configs["retention.ms"] = str(self._retention_ms)
        topic = NewTopic(self._topic, self._partitions, self._replication, topic_configs=configs)
        # Dead letters hold raw records too (raw IPs): the same retention.
        dead = NewTopic(self.dead_letter_name, 1, self._replication, topic_configs=configs)
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=self._servers,
                client_id=self._client_id,
                request_timeout_ms=10_000,
            )
        except KafkaError as exc:
            raise LogUnavailable(f"{self.name}: {exc!r}") from exc
        try:
            for new in (topic, dead):
                with contextlib.suppress(TopicAlreadyExistsError):
                    admin.create_topics([new])
        except KafkaError as exc:
            raise LogUnavailable(f"{self.name}: {exc!r}") from exc
        finally:
            admin.close()

    def ping(self, timeout: float) -> bool:
        """A broker accepts connections and no partition has gone ``unready_after`` seconds
        without acknowledging what was sent to it (cheap enough for a readiness probe). A
        stuck producer is replaced here too, so a collector that gets no traffic while it is
        not ready still recovers."""
        if not self._broker_reachable(timeout):
            return False
        now = time.monotonic()
        self._replace_if_stuck(now)
        return not self._watch.unready(now)

    def _broker_reachable(self, timeout: float) -> bool:
        for server in self._servers:
            host, _, port = server.rpartition(":")
            try:
                with socket.create_connection((host, int(port)), timeout=timeout):
                    return True
            except OSError:
                continue
        return False

    def reader(self, group: str, consumer: str) -> KafkaReader:
        return KafkaReader(self._servers, self._topic, group, consumer)

    def close(self) -> None:
        with self._lock:
            if self._producer is not None:
                self._producer.close(timeout=1)
                self._producer = None


class KafkaReader(LogReader):
    def __init__(
        self,
        servers: list[str],
        topic: str,
        group: str,
        consumer: str,
        max_poll_interval_ms: int = 30_000,
    ) -> None:
        try:
            self._consumer = KafkaConsumer(
                topic,
                bootstrap_servers=servers,
                group_id=group,
                client_id=consumer,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                max_poll_records=10_000,
                # A consumer that died keeps its partitions until its session times out, and a
                # rebalance waits up to the poll interval for every member: keep both short so
                # a restarted worker resumes within seconds. A worker retrying a sink for
                # longer keeps its partitions by ``keep_alive`` (paused polls).
                session_timeout_ms=6_000,
                heartbeat_interval_ms=2_000,
                max_poll_interval_ms=max_poll_interval_ms,
            )
        except KafkaError as exc:
            raise LogUnavailable(f"kafka:{topic}: {exc!r}") from exc
        self._topic = topic

    def read(self, max_records: int, timeout: float) -> list[LogMessage]:
        try:
            batches = self._consumer.poll(timeout_ms=int(timeout * 1000), max_records=max_records)
        except KafkaError as exc:
            raise LogUnavailable(f"kafka:{self._topic}: {exc!r}") from exc
        return [
            LogMessage(part.partition, str(item.offset), item.key or b"", item.value)
            for part, items in batches.items()
            for item in items
        ]

    def keep_alive(self) -> None:
        """A poll with every partition paused: it returns nothing (what was fetched meanwhile
        is kept for after the pause) but tells the group this consumer lives, so a batch
        whose store is away for longer than ``max_poll_interval_ms`` keeps its partitions
        instead of being handed back after a rebalance and written twice."""
        assigned = list(self._consumer.assignment())
        try:
            self._consumer.pause(*assigned)
            got = self._consumer.poll(timeout_ms=0)
            # A partition assigned by a rebalance during the poll was not paused: what it
            # handed out is not this call's to keep, so it is read again by the next read.
            for part, items in got.items():
                if items:
                    self._consumer.seek(part, items[0].offset)
        except KafkaError as exc:  # the next read finds out and says so
            log.debug("keeping the partitions failed: %s", exc)
        finally:
            self._consumer.resume(*assigned)

    def backlog(self) -> int | None:
        """Each assigned partition's end offset less this consumer's position, summed (one
        request for the end offsets; positions are the consumer's own). Bounded in time: the
        worker asks between reads, and a broker away must not hold it (None: not known)."""
        try:
            assigned = list(self._consumer.assignment())
            if not assigned:
                return 0
            ends = self._consumer.end_offsets(assigned, timeout_ms=_BACKLOG_TIMEOUT_MS)
            total = 0
            for part in assigned:
                position = self._consumer.position(part, timeout_ms=_BACKLOG_TIMEOUT_MS)
                if position is None or ends.get(part) is None:
                    return None
                total += max(0, ends[part] - position)
            return total
        except KafkaError as exc:
            raise LogUnavailable(f"kafka:{self._topic}: {exc!r}") from exc

    def commit(self, messages: Sequence[LogMessage]) -> None:
        next_offsets: dict[TopicPartition, int] = {}
        for message in messages:
            part = TopicPartition(self._topic, message.partition)
            next_offsets[part] = max(next_offsets.get(part, 0), int(message.position) + 1)
        if not next_offsets:
            return
        try:
            self._consumer.commit(
                {part: OffsetAndMetadata(offset, "", -1) for part, offset in next_offsets.items()}
            )
        except KafkaError as exc:
            raise LogUnavailable(f"kafka:{self._topic}: {exc!r}") from exc

    def close(self) -> None:
        self._consumer.close(autocommit=False)
