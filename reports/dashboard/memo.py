"""One page's reads, each asked once: a page runs several reports over the same filters, and
each report asks again for what the others asked already (the built days of the period, the
audience's totals and days beside every breakdown). Within one page's request the same named
query with the same parameters gives the same rows, so the second asker gets the first
answer."""

from __future__ import annotations

import threading
from typing import Any

from pipelines.warehouse.base import Result
from pipelines.warehouse.named import NamedQuery
from pipelines.warehouse.reader import EventStore


class PageReads(EventStore):
    """An ``EventStore`` for one page's request over the app's (which it does not close).
    Thread-safe; two threads asking at once may both run the query (the same answer)."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.asked = 0  # queries asked of this page's reads
        self.ran = 0  # of them, run by the app's store
        self._found: dict[tuple[int, str], Result] = {}
        self._lock = threading.Lock()

    def run(self, query: NamedQuery, /, **params: Any) -> Result:
        # Queries are module constants (their identity is stable); parameters are plain
        # values whose repr is exact (dates, numbers, strings, lists of them).
        key = (id(query), repr(sorted(params.items())))
        with self._lock:
            self.asked += 1
            found = self._found.get(key)
        if found is not None:
            return found
        result = self.store.run(query, **params)
        with self._lock:
            self.ran += 1
            self._found[key] = result
        return result

    def ping(self) -> bool:
        return self.store.ping()

    def close(self) -> None:
        """The app's store stays open: it is shared by every request."""
