"""Where a record sits in the event log, so a sink can tell what it has already applied."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True, slots=True)
class Position:
    """A record's place in its partition: Kafka ``(topic-partition, offset, 0)``, Redis Streams
    ``(stream key, ms, seq)`` of the entry id.

    Positions increase within a partition, and one worker at a time consumes a partition in
    order; comparing positions of different partitions means nothing. ``major`` and ``minor``
    must stay below 2**53: the profile script compares them as Lua numbers (doubles).
    """

    partition: str
    major: int
    minor: int = 0

    def __str__(self) -> str:
        return f"{self.partition}@{self.major}-{self.minor}"
