"""The event log on Redis Streams, for one machine.

The Redis server must use append-only persistence and ``maxmemory-policy noeviction`` (the
``redis-state`` service does): eviction would silently delete unacknowledged events. A log with
``partitions`` > 1 spreads keys over ``<stream>:<n>`` streams, so a visitor's records stay in one
stream, in order. Old entries are trimmed by age (``MINID``), like Kafka's retention.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

import redis

from clicktrail.contract.deadletter import DeadLetter
from clicktrail.contract.record import LogRecord
from pipelines.eventlog.base import EventLog, LogMessage, LogReader, LogUnavailable, partition_for

_FAILURES = (redis.ConnectionError, redis.TimeoutError, OSError)
log = logging.getLogger(__name__)


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


_EXTEND_IF_MINE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE_IF_MINE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisStreamReader(LogReader):
    """A consumer in a Redis consumer group, owning some of the partition streams.

    Redis hands a stream's entries to whichever consumer of a group asks, so two consumers
    reading one stream would split a visitor's records between them, out of order. Like a
    Kafka partition, each stream is therefore read by one consumer at a time: it holds a lease
    (a key with a time-out, renewed on every read), and the group's live consumers share the
    streams evenly. A consumer that takes a stream over first claims every entry left pending
    there (by a consumer that died, or by itself before a restart) and reads them in order,
    then new ones: nothing is lost, and what is read twice is harmless downstream.
    """

    def __init__(
        self,
        url: str,
        streams: list[str],
        group: str,
        consumer: str,
        lease_ms: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis.Redis.from_url(url, socket_timeout=None, socket_connect_timeout=5)
        self._streams = streams
        self._group = group
        self._consumer = consumer
        self._lease_ms = lease_ms
        self._clock = clock
        base = streams[0].rsplit(":", 1)[0] if len(streams) > 1 else streams[0]
        self._members_key = f"{base}:members:{group}"
        self._owned: list[str] = []
        self._takeover: dict[str, str] = {}  # stream -> XAUTOCLAIM cursor of pending entries
        self._leases_checked = float("-inf")
        self._extend = self._redis.register_script(_EXTEND_IF_MINE)
        self._release = self._redis.register_script(_RELEASE_IF_MINE)
        try:
            for stream in streams:
                try:
                    self._redis.xgroup_create(stream, group, id="0", mkstream=True)
                except redis.ResponseError as exc:
                    if "BUSYGROUP" not in str(exc):
                        raise
        except _FAILURES as exc:
            raise LogUnavailable(f"redis: {exc}") from exc

    def _lease_key(self, stream: str) -> str:
        return f"{stream}:lease:{self._group}"

    def _refresh_leases(self) -> None:
        """Renew the leases held, release extras, take free streams up to a fair share."""
        now_ms = int(self._clock() * 1000)
        pipe = self._redis.pipeline(transaction=False)
        pipe.zadd(self._members_key, {self._consumer: now_ms})
        pipe.zremrangebyscore(self._members_key, "-inf", now_ms - self._lease_ms)
        pipe.zcard(self._members_key)
        pipe.pexpire(self._members_key, self._lease_ms * 10)
        members = max(1, pipe.execute()[2])
        share = -(-len(self._streams) // members)  # ceil: every stream has an owner
        kept = [
            s
            for s in self._owned
            if self._extend(keys=[self._lease_key(s)], args=[self._consumer, self._lease_ms])
        ]
        for stream in kept[share:]:
            self._release(keys=[self._lease_key(stream)], args=[self._consumer])
            self._takeover.pop(stream, None)
        kept = kept[:share]
        for stream in self._streams:
            if len(kept) >= share:
                break
            if stream in kept:
                continue
            if self._redis.set(self._lease_key(stream), self._consumer, nx=True, px=self._lease_ms):
                kept.append(stream)
                self._takeover[stream] = "0-0"
        for stream in set(self._takeover) - set(kept):
            del self._takeover[stream]
        self._owned = [s for s in self._streams if s in kept]
        self._leases_checked = time.monotonic()

    def keep_alive(self) -> None:
        """Renew the leases held (a lease lapses after ``lease_ms`` without a read)."""
        now_ms = int(self._clock() * 1000)
        try:
            self._redis.zadd(self._members_key, {self._consumer: now_ms})
            for stream in self._owned:
                self._extend(keys=[self._lease_key(stream)], args=[self._consumer, self._lease_ms])
        except _FAILURES as exc:  # the next read finds out and says so
            log.debug("keeping the leases failed: %s", exc)

    def read(self, max_records: int, timeout: float) -> list[LogMessage]:
        try:
            if time.monotonic() - self._leases_checked > self._lease_ms / 10_000:
                self._refresh_leases()
            while self._takeover:
                messages = self._claim_pending(max_records)
                if messages:
                    return messages
            if not self._owned:  # every stream has another owner: wait as a read would
                time.sleep(min(timeout, self._lease_ms / 10_000))
                return []
            reply = self._redis.xreadgroup(
                self._group,
                self._consumer,
                dict.fromkeys(self._owned, ">"),
                count=max(1, max_records // len(self._owned)),
                block=max(1, int(min(timeout, self._lease_ms / 10_000) * 1000)),
            )
        except _FAILURES as exc:
            raise LogUnavailable(f"redis: {exc}") from exc
        # Never cut the reply: what Redis handed out is pending for this consumer.
        return self._messages(reply)

    def _claim_pending(self, max_records: int) -> list[LogMessage]:
        """Entries left pending in streams just taken over, oldest first, one stream at a
        time (a stream's order is kept)."""
        stream = next(iter(self._takeover))
        cursor, claimed, *_ = self._redis.xautoclaim(
            stream,
            self._group,
            self._consumer,
            0,
            start_id=self._takeover[stream],
            count=max(1, max_records),
        )
        cursor = cursor.decode() if isinstance(cursor, bytes) else cursor
        if cursor == "0-0":
            del self._takeover[stream]
        else:
            self._takeover[stream] = cursor
        return self._messages([[stream, claimed]])

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

    def backlog(self) -> int | None:
        """The group's ``lag`` (entries not delivered yet, Redis 7) of each stream this
        consumer owns, summed; None when Redis cannot count one (after deletions inside the
        unread range) or has no such field."""
        total = 0
        try:
            for stream in self._owned:
                groups = self._redis.xinfo_groups(stream)
                mine = next((g for g in groups if _text(g.get("name")) == self._group), None)
                lag = None if mine is None else mine.get("lag")
                if lag is None:
                    return None
                total += int(lag)
        except _FAILURES as exc:
            raise LogUnavailable(f"redis: {exc}") from exc
        return total

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
        """Leave the group: give the streams up at once (pending entries go to the next
        owner)."""
        try:
            for stream in self._owned:
                self._release(keys=[self._lease_key(stream)], args=[self._consumer])
            self._redis.zrem(self._members_key, self._consumer)
        except (*_FAILURES, redis.ResponseError):
            pass  # the leases time out by themselves
        self._owned = []
        self._redis.close()


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
