"""A page's reads: the same named query with the same parameters is run once per page."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import pytest

from pipelines.warehouse.base import Result, WarehouseUnavailable
from pipelines.warehouse.named import NamedQuery
from pipelines.warehouse.reader import EventStore
from reports.dashboard.memo import PageReads

DAYS = NamedQuery(
    "test_days",
    "SELECT %(start)s FROM {events} WHERE site_id = %(site_id)s",
    {"site_id": str, "start": date},
)
OTHER = NamedQuery(
    "test_other",
    "SELECT %(start)s FROM {events} WHERE site_id = %(site_id)s",
    {"site_id": str, "start": date},
)


class Answers(EventStore):
    """Another implementation of the interface: answers with a counter, counts its runs."""

    def __init__(self) -> None:
        self.runs: list[tuple[str, dict[str, Any]]] = []
        self.closed = False

    def run(self, query: NamedQuery, /, **params: Any) -> Result:
        self.runs.append((query.name, params))
        return Result(("n",), [(len(self.runs),)])

    def ping(self) -> bool:
        return True

    def close(self) -> None:
        self.closed = True


def test_a_query_asked_again_with_the_same_parameters_is_answered_once():
    store = Answers()
    reads = PageReads(store)
    first = reads.run(DAYS, site_id="shop", start=date(2025, 1, 1))
    assert reads.run(DAYS, start=date(2025, 1, 1), site_id="shop") is first
    assert reads.run(DAYS, site_id="shop", start=date(2025, 1, 2)).rows == [(2,)]
    assert reads.run(OTHER, site_id="shop", start=date(2025, 1, 1)).rows == [(3,)]
    assert len(store.runs) == 3 and (reads.asked, reads.ran) == (4, 3)
    # Another page's reads ask again; closing a page's reads leaves the app's store open.
    assert PageReads(store).run(DAYS, site_id="shop", start=date(2025, 1, 1)).rows == [(4,)]
    reads.close()
    assert not store.closed


class Slow(Answers):
    """Answers after ``gate`` opens; fails its first run when ``fail_first``."""

    def __init__(self, fail_first: bool = False) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.fail_first = fail_first

    def run(self, query: NamedQuery, /, **params: Any) -> Result:
        self.gate.wait(5)
        if self.fail_first and not self.runs:
            self.runs.append((query.name, params))
            raise WarehouseUnavailable("away")
        return super().run(query, **params)


def test_a_query_asked_while_it_runs_waits_for_that_answer():
    store = Slow()
    reads = PageReads(store)
    with ThreadPoolExecutor(4) as pool:
        asks = [
            pool.submit(reads.run, DAYS, site_id="shop", start=date(2025, 1, 1)) for _ in "abcd"
        ]
        time.sleep(0.05)
        store.gate.set()
        answers = [ask.result() for ask in asks]
    assert len(store.runs) == 1 and all(answer is answers[0] for answer in answers)


def test_a_failed_read_is_raised_to_its_waiters_and_asked_again_later():
    store = Slow(fail_first=True)
    reads = PageReads(store)
    with ThreadPoolExecutor(2) as pool:
        asks = [pool.submit(reads.run, DAYS, site_id="shop", start=date(2025, 1, 1)) for _ in "ab"]
        time.sleep(0.05)
        store.gate.set()
        for ask in asks:
            with pytest.raises(WarehouseUnavailable):
                ask.result()
    assert reads.run(DAYS, site_id="shop", start=date(2025, 1, 1)).rows == [(2,)]
