"""The read layer's own logic: a report's reads side by side, answered in order; one read of
the built days for several periods."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from typing import Any

import pytest

from pipelines.warehouse.base import Result, WarehouseError
from pipelines.warehouse.named import NamedQuery
from pipelines.warehouse.reader import EventStore
from pipelines.warehouse.report_queries import AUDIENCE_DAYS, AUDIENCE_TOTALS, ROLLED_DAYS
from reports.query import parse_query
from reports.source import Read, RollupSource

TODAY = date(2025, 3, 10)
BUILT = [date(2025, 2, 1) + timedelta(days=n) for n in range(30)]


class Store(EventStore):
    """Another implementation of the interface: the built days, and for any other query its
    name once ``together`` reads are running at once (so they must run side by side)."""

    def __init__(self, together: int = 1, failing: str = "") -> None:
        self.barrier = threading.Barrier(together, timeout=5)
        self.failing = failing
        self.asked: list[str] = []
        self.ended: list[str] = []

    def run(self, query: NamedQuery, /, **params: Any) -> Result:
        self.asked.append(query.name)
        if query is ROLLED_DAYS:
            days = [d for d in BUILT if params["start"] <= d < params["end"]]
            return Result(("day", "generation"), [(d, 1) for d in days])
        self.barrier.wait()
        self.ended.append(query.name)
        if query.name == self.failing:
            raise WarehouseError("refused")
        return Result(("name",), [(query.name,)])

    def ping(self) -> bool:
        return True

    def close(self) -> None:
        pass


def question():  # noqa: ANN201
    return parse_query({"since": "2025-02-15", "until": "2025-03-01"}, "shop", "UTC", TODAY)


def test_reads_run_side_by_side_and_come_back_in_order():
    store = Store(together=3)
    source = RollupSource(store)
    query = question()
    window = source.window(query)
    reads = [Read(AUDIENCE_DAYS, window=window), Read(AUDIENCE_TOTALS, window=window)] * 2
    found = source.run_many(query, reads[:3])
    assert [result.rows[0][0] for result in found] == [
        AUDIENCE_DAYS.rolled.name,
        AUDIENCE_TOTALS.rolled.name,
        AUDIENCE_DAYS.rolled.name,
    ]


def test_a_failed_read_is_raised_after_the_others_ended():
    store = Store(together=3, failing=AUDIENCE_TOTALS.rolled.name)
    source = RollupSource(store)
    query = question()
    window = source.window(query)
    reads = [Read(AUDIENCE_TOTALS, window=window)] + [Read(AUDIENCE_DAYS, window=window)] * 2
    with pytest.raises(WarehouseError):
        source.run_many(query, reads)
    assert len(store.ended) == 3


def test_windows_of_two_periods_from_one_read_of_the_built_days():
    store = Store()
    source = RollupSource(store)
    query = question()
    previous = query.period.previous()
    current, before = source.windows(query, query.period, previous)
    assert store.asked == [ROLLED_DAYS.name]
    assert current == source.window(query) and not current.raw
    assert before.rolled == frozenset(d for d in BUILT if previous.start <= d < previous.end)
    assert before.raw == tuple(d for d in previous.dates() if d not in BUILT)
