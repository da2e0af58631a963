"""Each site's copy of a store in memory, reloaded when that site's version changes.

Per site, because one site's change must not make every process reload every site's data (a
catalog of 50,000 products takes a second or two to load; a shared store holds many sites). A
site is loaded on its first request (or ahead of it: ``preload``), then its version is checked at
most every ``poll_seconds`` from the request path (a GET). A changed site is reloaded by that
request, or, with ``background=True``, by a thread of its own started then (a greenlet under
gevent: the loader should pause now and then) that swaps the new copy in when it is complete;
meanwhile every request serves the last copy. While the store is away, the last copy stays in
force."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
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
        background: bool = False,
        on_reloaded: Callable[[], None] | None = None,
    ) -> None:
        self._name = name
        self._on_reloaded = on_reloaded  # after a background reload swapped a new copy in
        self._background = background
        self._reloading: set[str] = set()
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

    def preload(self, site_ids: Iterable[str]) -> None:
        """Load these sites now, in this thread (a worker before it serves: no first request
        waits for them)."""
        for site_id in site_ids:
            if site_id not in self._copies:
                self._refresh(site_id, wait=True)

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
            elif copy is not None and self._background and not force:
                copy.checked = now  # the last copy serves until the new one is loaded
                self._reload_later(site_id, version)
            else:
                self._copies[site_id] = _Copy(self._load(site_id), version, now)
        except self._unavailable as exc:
            log.warning("%s store unavailable, serving the last copy: %s", self._name, exc)
            if copy is not None:
                copy.checked = now  # try again after the next poll, not on every request
        finally:
            self._lock.release()

    def _reload_later(self, site_id: str, version: int) -> None:
        if site_id in self._reloading:
            return
        self._reloading.add(site_id)
        threading.Thread(
            target=self._reload, args=(site_id, version), name=f"reload-{self._name}", daemon=True
        ).start()

    def _reload(self, site_id: str, version: int) -> None:
        try:
            value = self._load(site_id)
            self._copies[site_id] = _Copy(value, version, self._clock())  # one assignment
            if self._on_reloaded is not None:
                self._on_reloaded()
        except self._unavailable as exc:
            log.warning("%s store unavailable, serving the last copy: %s", self._name, exc)
        except Exception:  # a thread's error would go nowhere: log it, keep the last copy
            log.exception(
                "reloading the %s of %s failed, serving the last copy", self._name, site_id
            )
        finally:
            self._reloading.discard(site_id)
