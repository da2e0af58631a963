"""The event log on Redis Streams, for one machine.

The Redis server must use append-only persistence and ``maxmemory-policy noeviction`` (the
``redis-state`` service does): eviction would silently delete unacknowledged events. A log with
``partitions`` > 1 spreads keys over ``<stream>:<n>`` streams, so a visitor's records stay in one
stream, in order. Old entries are trimmed by age (``MINID``), like Kafka's retention.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import redis

from clicktrail.contract.deadletter import DeadLetter
from clicktrail.contract.record import LogRecord
from pipelines.eventlog.base import EventLog, LogMessage, LogReader, LogUnavailable, partition_for

_FAILURES = (redis.ConnectionError, redis.TimeoutError, OSError)


class RedisStreamLog(EventLog):
    def __init__(
        self,
        url: str,
        stream: str,
        partitions: int = 1,
        retention_ms: int | None = None,
        ack_timeout: float = 0.05,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = f"redis:{stream}"
        self.dead_letter_name = f"{stream}:deadletter"
        self._url = url
        self._streams = (
            [stream] if partitions == 1 else [f"{stream}:{n}" for n in range(partitions)]
        )
        self._retention_ms = retention_ms
        self._clock = clock
        # One pool for all threads; the socket timeout bounds the wait for the acknowledgement.
        self._redis = redis.Redis.from_url(
            url,
            socket_timeout=ack_timeout,
            socket_connect_timeout=ack_timeout,
            health_check_interval=0,
        )

    @property
    def streams(self) -> list[str]:
        return list(self._streams)

    def append(self, records: Sequence[LogRecord], timeout: float) -> None:
        if not records:
            return
        pipe = self._redis.pipeline(transaction=False)
        min_id = None
        if self._retention_ms is not None:
            min_id = str(int(self._clock() * 1000) - self._retention_ms)
        for record in records:
            stream = self._streams[partition_for(record.key, len(self._streams))]
            pipe.xadd(
                stream, {"k": record.key, "v": record.encode()}, minid=min_id, approximate=True
            )
        try:
            pipe.execute()
        except _FAILURES as exc:
            raise LogUnavailable(f"{self.name}: {exc}") from exc
        except redis.ResponseError as exc:  # e.g. OOM under noeviction: nothing was promised
            raise LogUnavailable(f"{self.name}: {exc}") from exc

    def append_dead_letters(self, letters: Sequence[DeadLetter], timeout: float) -> None:
        if not letters:
            return
        pipe = self._redis.pipeline(transaction=False)
        for letter in letters:
            pipe.xadd(self.dead_letter_name, {"v": letter.encode()})
        try:
            pipe.execute()
        except (*_FAILURES, redis.ResponseError) as exc:
            raise LogUnavailable(f"{self.dead_letter_name}: {exc}") from exc

    def read_dead_letters(self, limit: int, timeout: float) -> list[DeadLetter]:
        try:
            entries = self._redis.xrange(self.dead_letter_name, count=limit)
        except (*_FAILURES, redis.ResponseError) as exc:
            raise LogUnavailable(f"{self.dead_letter_name}: {exc}") from exc
        return [DeadLetter.decode(fields[b"v"]) for _, fields in entries]

    def ensure_created(self) -> None:
        """Streams are created by the first XADD or by a reader's group; nothing to do."""

    def connect(self, timeout: float) -> None:
        if not self.ping(timeout):
            raise LogUnavailable(f"{self.name}: no answer from {self._url}")

    def ping(self, timeout: float) -> bool:
        try:
            return bool(self._redis.ping())
        except (*_FAILURES, redis.ResponseError):
            return False

    def reader(self, group: str, consumer: str) -> RedisStreamReader:
        return RedisStreamReader(self._url, self._streams, group, consumer)

    def close(self) -> None:
        self._redis.close()


class RedisStreamReader(LogReader):
    """A consumer in a Redis consumer group over every partition stream.

    After a restart it first re-reads its own pending (read, never acknowledged) entries, and
    it claims entries another consumer left pending for longer than ``claim_idle_ms``, so a
    crashed consumer's records are processed, not lost."""

    def __init__(
        self,
        url: str,
        streams: list[str],
        group: str,
        consumer: str,
        claim_idle_ms: int = 30_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis = redis.Redis.from_url(url, socket_timeout=None, socket_connect_timeout=5)
        self._streams = streams
        self._group = group
        self._consumer = consumer
        self._claim_idle_ms = claim_idle_ms
        self._clock = clock
        self._claimed_at = float("-inf")
        # Entries this consumer read before a restart and never acknowledged, read from these
        # cursors until each stream's pending list is exhausted.
        self._pending_cursor = dict.fromkeys(streams, "0")
        try:
            for stream in streams:
                try:
                    self._redis.xgroup_create(stream, group, id="0", mkstream=True)
                except redis.ResponseError as exc:
                    if "BUSYGROUP" not in str(exc):
                        raise
        except _FAILURES as exc:
            raise LogUnavailable(f"redis: {exc}") from exc

    def read(self, max_records: int, timeout: float) -> list[LogMessage]:
        try:
            messages = self._own_pending(max_records) or self._abandoned(max_records)
            if messages:
                return messages
            reply = self._redis.xreadgroup(
                self._group,
                self._consumer,
                dict.fromkeys(self._streams, ">"),
                count=self._per_stream(max_records),
                block=max(1, int(timeout * 1000)),
            )
        except _FAILURES as exc:
            raise LogUnavailable(f"redis: {exc}") from exc
        # Never cut the reply: what Redis handed out is pending for this consumer, and an
        # entry dropped here would be read again only after a restart.
        return self._messages(reply)

    def _per_stream(self, max_records: int) -> int:
        """COUNT applies per stream: split the wanted records over the streams."""
        return max(1, max_records // len(self._streams))

    def _own_pending(self, max_records: int) -> list[LogMessage]:
        if not self._pending_cursor:
            return []
        reply = self._redis.xreadgroup(
            self._group, self._consumer, self._pending_cursor, count=self._per_stream(max_records)
        )
        for stream, entries in reply or ():
            name = stream.decode() if isinstance(stream, bytes) else stream
            if entries:
                self._pending_cursor[name] = entries[-1][0].decode()
            else:
                del self._pending_cursor[name]
        return self._messages(reply)

    def _abandoned(self, max_records: int) -> list[LogMessage]:
        """Entries other consumers read and left unacknowledged for too long (they died)."""
        if self._clock() - self._claimed_at < self._claim_idle_ms / 2000:
            return []
        self._claimed_at = self._clock()
        messages: list[LogMessage] = []
        for stream in self._streams:
            if len(messages) >= max_records:
                break
            _, claimed, _ = self._redis.xautoclaim(
                stream,
                self._group,
                self._consumer,
                self._claim_idle_ms,
                count=max_records - len(messages),
            )
            messages += self._messages([[stream, claimed]])
        return messages

    def _messages(self, reply: list) -> list[LogMessage]:
        messages = []
        for stream, entries in reply or ():
            name = stream.decode() if isinstance(stream, bytes) else stream
            partition = self._streams.index(name)
            for entry_id, fields in entries:
                if not fields:  # trimmed by retention while pending
                    continue
                messages.append(
                    LogMessage(partition, entry_id.decode(), fields[b"k"], fields[b"v"])
                )
        return messages

    def commit(self, messages: Sequence[LogMessage]) -> None:
        by_stream: dict[str, list[str]] = {}
        for message in messages:
            by_stream.setdefault(self._streams[message.partition], []).append(message.position)
        try:
            pipe = self._redis.pipeline(transaction=False)
            for stream, ids in by_stream.items():
                pipe.xack(stream, self._group, *ids)
            pipe.execute()
        except _FAILURES as exc:
            raise LogUnavailable(f"redis: {exc}") from exc

    def close(self) -> None:
        self._redis.close()
