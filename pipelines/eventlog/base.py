"""The event log interface every implementation honours."""

from __future__ import annotations

import zlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

from clicktrail.contract.deadletter import DeadLetter
from clicktrail.contract.record import LogRecord


class LogUnavailable(Exception):
    """The log did not acknowledge in time, or cannot be reached. Nothing may be assumed
    written: the caller answers 503 and the client sends again (same event ids)."""


@dataclass(frozen=True)
class LogMessage:
    """One record read back from the log, with where it came from (for commits and
    dead letters)."""

    partition: int
    position: str  # Kafka offset or Redis stream entry id, as text
    key: bytes
    payload: bytes


def partition_for(key: bytes, partitions: int) -> int:
    """A stable partition for a key: a visitor's records always land in the same one."""
    return zlib.crc32(key) % partitions


class EventLog(ABC):
    """Write side and read side of the log.

    Ordering: records with the same key are read back in the order they were appended.
    Durability: ``append`` returns only once the log has acknowledged every record (Kafka:
    all in-sync replicas; Redis: the XADD reply of a server with append-only persistence).
    """

    name: str  # "kafka:<topic>" or "redis:<stream>", for logs and metrics
    dead_letter_name: str  # "<topic>.deadletter" or "<stream>:deadletter"

    @abstractmethod
    def append(self, records: Sequence[LogRecord], timeout: float) -> None:
        """Write ``records`` and wait up to ``timeout`` seconds for the acknowledgement.

        Blocks the calling thread only; safe to call from many threads at once. Raises
        ``LogUnavailable`` if the acknowledgement does not come in time (some records may
        still arrive later: downstream deduplicates by event id)."""

    @abstractmethod
    def append_dead_letters(self, letters: Sequence[DeadLetter], timeout: float) -> None:
        """Write records that could not be processed to the dead-letter topic or stream (named
        ``dead_letter_name``) and wait for the acknowledgement. Raises ``LogUnavailable``."""

    @abstractmethod
    def read_dead_letters(self, limit: int, timeout: float) -> list[DeadLetter]:
        """The oldest ``limit`` dead letters, for inspection and replay tools (not a group
        read: nothing is consumed)."""

    @abstractmethod
    def ensure_created(self) -> None:
        """Create the topic or streams if missing (idempotent). Raises ``LogUnavailable``."""

    @abstractmethod
    def connect(self, timeout: float) -> None:
        """Open connections and load metadata now, waiting up to ``timeout`` seconds, so the
        first ``append`` does not pay for it. Raises ``LogUnavailable``."""

    @abstractmethod
    def ping(self, timeout: float) -> bool:
        """Is the log reachable now? Never raises."""

    @abstractmethod
    def reader(self, group: str, consumer: str) -> LogReader:
        """A consumer in ``group``; the group's consumers share the partitions."""

    @abstractmethod
    def close(self) -> None:
        """Release connections (records not yet acknowledged were never promised)."""


class LogReader(ABC):
    """One consumer of a consumer group. Not thread-safe: one thread reads and commits."""

    @abstractmethod
    def read(self, max_records: int, timeout: float) -> list[LogMessage]:
        """Up to ``max_records`` records (with several partitions, at least one each may come)
        not yet committed by the group, waiting up to ``timeout`` seconds for the first.
        Every record returned must be processed or left uncommitted: none is dropped here.
        Raises ``LogUnavailable``."""

    @abstractmethod
    def commit(self, messages: Sequence[LogMessage]) -> None:
        """Mark ``messages`` (read by this reader) processed; after a crash, reading resumes
        after the last commit, so uncommitted records are read again."""

    @abstractmethod
    def close(self) -> None:
        """Leave the group (uncommitted records go to another consumer)."""

    def backlog(self) -> int | None:
        """Records of this reader's partitions (streams) not read yet, as the log counts them
        now; None when the log cannot tell. Asked by the reading thread every few seconds
        (the ``clicktrail_pipeline_backlog_records`` gauge). Raises ``LogUnavailable``."""
        return None

    def keep_alive(self) -> None:  # noqa: B027 - most logs need nothing: a no-op by default
        """Called while a batch read earlier is still being written (a store away, its
        writes retried): keep this consumer's partitions, so they are not handed to another
        consumer, or back to this one as a takeover, and the batch read twice."""
