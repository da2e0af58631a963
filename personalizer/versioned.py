"""Every site's copy of a store in memory, reloaded when the store's version changes.

Checked at most every ``poll_seconds`` from the request path (no thread of its own: safe under
gevent and after a fork); one request reloads while the others serve what is there; while the
store is away, the last copy stays in force."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger("clicktrail.personalizer")


class VersionedCache(Generic[T]):
    def __init__(
        self,
        name: str,
        version: Callable[[], int],
        load: Callable[[], dict[str, T]],
        unavailable: tuple[type[Exception], ...],
        poll_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._name = name
        self._version_of = version
        self._load = load
        self._unavailable = unavailable
        self._poll = poll_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._version = -1
        self._checked = float("-inf")
        self.entries: dict[str, T] = {}

    def get(self, site_id: str) -> T | None:
        self.refresh()
        return self.entries.get(site_id)

    def refresh(self, force: bool = False) -> None:
        now = self._clock()
        if not force and now - self._checked < self._poll:
            return
        if not self._lock.acquire(blocking=False):
            return  # another request is reloading; serve what is there
        try:
            self._checked = now
            version = self._version_of()
            if version != self._version or force:
                self.entries = self._load()
                self._version = version
        except self._unavailable as exc:
            log.warning("%s store unavailable, serving the last copy: %s", self._name, exc)
        finally:
            self._lock.release()
