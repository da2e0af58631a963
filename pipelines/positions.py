"""Where a log message sits in its partition, as the profile sink compares positions."""

from __future__ import annotations

from pipelines.eventlog.base import LogMessage
from pipelines.profiles.position import Position

__all__ = ["Position", "position_of"]


def position_of(log_name: str, message: LogMessage) -> Position:
    """Kafka: (``<log>/<partition>``, offset, 0); Redis Streams: (``<log>/<stream index>``,
    milliseconds, sequence) of the entry id."""
    major, _, minor = message.position.partition("-")
    return Position(f"{log_name}/{message.partition}", int(major), int(minor or 0))
