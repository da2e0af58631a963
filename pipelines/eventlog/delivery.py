"""Watching a producer's acknowledgements, partition by partition. Pure: times are passed in.

Why: a client library's producer can stop delivering for good while its broker answers again
(kafka-python 3.0.12 does, after an outage long enough to expire batches it had already sent:
see ``docs/collector.md``). The event log adapter asks this watch whether its producer is
stuck, and replaces it when the broker is reachable.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable


class DeliveryWatch:
    """Since when has each partition gone without an acknowledgement?

    A partition is *failing* from its first failure after its last acknowledgement, once it has
    failed twice (one late acknowledgement under load, with no traffic after it, is not a
    failing partition); one acknowledgement clears it. Thread-safe: request threads report,
    the readiness probe reads."""

    def __init__(self, unready_after: float, stuck_after: float) -> None:
        self.unready_after = unready_after  # failing this long: not ready
        self.stuck_after = stuck_after  # failing this long while the broker answers: replace
        self._failing_since: dict[Hashable, tuple[float, int]] = {}  # first failure, count
        self._lock = threading.Lock()

    def acknowledged(self, partition: Hashable) -> None:
        if partition in self._failing_since:  # the common case reads without the lock
            with self._lock:
                self._failing_since.pop(partition, None)

    def failed(self, partition: Hashable, now: float) -> None:
        with self._lock:
            since, count = self._failing_since.get(partition, (now, 0))
            self._failing_since[partition] = (since, count + 1)

    def failing_for(self, now: float) -> float | None:
        """How long the longest-failing partition has gone without an acknowledgement; None
        when every partition's last send was acknowledged."""
        with self._lock:
            oldest = min(
                (since for since, count in self._failing_since.values() if count >= 2),
                default=None,
            )
        return None if oldest is None else max(0.0, now - oldest)

    def unready(self, now: float) -> bool:
        failing = self.failing_for(now)
        return failing is not None and failing >= self.unready_after

    def stuck(self, now: float) -> bool:
        failing = self.failing_for(now)
        return failing is not None and failing >= self.stuck_after

    def reset(self) -> None:
        with self._lock:
            self._failing_since.clear()
