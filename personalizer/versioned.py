"""Each site's copy of a store in memory, reloaded when that site's version changes.

Per site, because one site's change must not make every process reload every site's data (a
catalog of 50,000 products takes seconds to validate; a shared store holds many sites). A site
is loaded on its first request, then its version is checked at most every ``poll_seconds`` from
the request path (no thread of its own: safe under gevent and after a fork). While one request
reloads a site the others serve what is there; while the store is away, the last copy stays in
force."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger("clicktrail.personalizer")


@dataclass
class _Copy(Generic[T]):
    value: T
    version: int
    checked: float


class VersionedCache(Generic[T]):
    def __init__(
        self,
        name: str,
        version: Callable[[str], int],
        load: Callable[[str], T],
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
        self._copies: dict[str, _Copy[T]] = {}

    def get(self, site_id: str) -> T | None:
        """The site's copy (``None`` if it was never loaded and the store is away)."""
        copy = self._copies.get(site_id)
        if copy is None or self._clock() - copy.checked >= self._poll:
            self._refresh(site_id, wait=copy is None)
            copy = self._copies.get(site_id)
        return copy.value if copy is not None else None

    def refresh(self, force: bool = False) -> None:
        """Check every loaded site now (``force``: reload them even if unchanged)."""
        for site_id in list(self._copies):
            self._refresh(site_id, wait=True, force=force)

    def _refresh(self, site_id: str, wait: bool, force: bool = False) -> None:
        # A first load waits for a concurrent one (an empty answer would be wrong); a
        # stale copy is served while another request reloads.
        if not self._lock.acquire(blocking=wait):
            return
        try:
            now = self._clock()
            copy = self._copies.get(site_id)
            if copy is not None and not force and now - copy.checked < self._poll:
                return  # reloaded while this request waited for the lock
            version = self._version_of(site_id)
            if copy is not None and copy.version == version and not force:
                copy.checked = now
            else:
                self._copies[site_id] = _Copy(self._load(site_id), version, now)
        except self._unavailable as exc:
            log.warning("%s store unavailable, serving the last copy: %s", self._name, exc)
            if copy is not None:
                copy.checked = now  # try again after the next poll, not on every request
        finally:
            self._lock.release()
