"""One page's reads, each asked once: a page runs several reports over the same filters, and
each report asks again for what the others asked already (the built days of the period, the
audience's totals and days beside every breakdown). Within one page's request the same named
query with the same parameters gives the same rows, so the second asker gets the first
answer."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any

from pipelines.warehouse.base import Result
from pipelines.warehouse.named import NamedQuery
from pipelines.warehouse.reader import EventStore


class PageReads(EventStore):
    """An ``EventStore`` for one page's request over the app's (which it does not close).
    Thread-safe: a query asked while the same one runs waits for its answer (a report's reads
    run side by side, and the page's reports too)."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.asked = 0  # queries asked of this page's reads
        self.ran = 0  # of them, run by the app's store
        self._found: dict[tuple[int, str], Future[Result]] = {}
        self._lock = threading.Lock()

    def run(self, query: NamedQuery, /, **params: Any) -> Result:
        # Queries are module constants (their identity is stable); parameters are plain
        # values whose repr is exact (dates, numbers, strings, lists of them).
        key = (id(query), repr(sorted(params.items())))
        with self._lock:
            self.asked += 1
            found = self._found.get(key)
            if found is None:
                mine: Future[Result] = Future()
                self._found[key] = mine
                self.ran += 1
        if found is not None:
            return found.result()
        try:
            result = self.store.run(query, **params)
        except BaseException as exc:
            with self._lock:
                del self._found[key]  # a later asker tries again
            mine.set_exception(exc)
            raise
        mine.set_result(result)
        return result

    def ping(self) -> bool:
        return self.store.ping()

    def close(self) -> None:
        """The app's store stays open: it is shared by every request."""
