"""Where a record sits in the event log, as an ordered value the profile sink can compare."""

from __future__ import annotations

from typing import NamedTuple

from pipelines.eventlog.base import LogMessage


class Position(NamedTuple):
    """Kafka: (``<log>/<partition>``, offset, 0). Redis Streams: (``<log>/<stream index>``,
    milliseconds, sequence) of the entry id. Positions grow within a partition."""

    partition: str
    major: int
    minor: int


def position_of(log_name: str, message: LogMessage) -> Position:
    major, _, minor = message.position.partition("-")
    return Position(f"{log_name}/{message.partition}", int(major), int(minor or 0))
