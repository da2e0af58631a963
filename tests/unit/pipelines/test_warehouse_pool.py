"""The connection pool: bounded, lazy, waits then gives up, never lends a broken connection."""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from pipelines.warehouse.base import WarehouseError, WarehouseUnavailable
from pipelines.warehouse.pool import Pool, PoolClosed, PoolExhausted


class Connections:
    """Numbered fake connections; records which were destroyed."""

    def __init__(self) -> None:
        self.numbers = itertools.count(1)
        self.made: list[int] = []
        self.destroyed: list[int] = []

    def create(self) -> int:
        number = next(self.numbers)
        self.made.append(number)
        return number

    def destroy(self, connection: int) -> None:
        self.destroyed.append(connection)


def make_pool(size: int = 2, wait: float = 1.0, **kwargs) -> tuple[Pool[int], Connections]:
    connections = Connections()
    pool = Pool(connections.create, connections.destroy, size=size, wait=wait, **kwargs)
    return pool, connections


def test_connections_are_made_on_demand_and_reused():
    pool, connections = make_pool(size=3)
    with pool.lease() as first:
        pass
    with pool.lease() as again:
        assert again == first
    assert connections.made == [1]  # one thread at a time needs one connection
    with pool.lease() as a, pool.lease() as b:
        assert {a, b} == {1, 2}
    assert pool.idle == 2 and pool.leased == 0


def test_a_connection_that_failed_is_discarded():
    pool, connections = make_pool(size=1)
    with pytest.raises(WarehouseUnavailable), pool.lease():
        raise WarehouseUnavailable("socket closed mid-answer")
    assert connections.destroyed == [1]
    with pool.lease() as connection:
        assert connection == 2  # a fresh one, never the broken one


def test_an_error_named_reusable_keeps_the_connection():
    pool, connections = make_pool(size=1, reusable_after=(WarehouseError,))
    with pytest.raises(WarehouseError), pool.lease():
        raise WarehouseError("bad SQL: the connection is fine")
    with pool.lease() as connection:
        assert connection == 1
    assert connections.destroyed == []


def test_a_full_pool_waits_for_a_connection_then_gives_up():
    pool, _ = make_pool(size=1, wait=0.2)
    released = threading.Event()

    def hold() -> None:
        with pool.lease():
            time.sleep(0.1)
        released.set()

    holder = threading.Thread(target=hold)
    holder.start()
    time.sleep(0.02)
    with pool.lease() as connection:  # waits for the holder, within the wait
        assert released.is_set() and connection == 1
    holder.join()

    with pool.lease():
        started = time.monotonic()
        with pytest.raises(PoolExhausted), pool.lease():
            pass
        assert 0.15 < time.monotonic() - started < 1.0


def test_the_pool_never_lends_more_than_its_size():
    pool, connections = make_pool(size=3, wait=5.0)
    busy = 0
    most = 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal busy, most
        for _ in range(20):
            with pool.lease():
                with lock:
                    busy += 1
                    most = max(most, busy)
                time.sleep(0.001)
                with lock:
                    busy -= 1

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 3 and len(connections.made) == 3


def test_a_failed_create_gives_its_slot_back():
    attempts = []

    def create() -> int:
        attempts.append(1)
        if len(attempts) == 1:
            raise WarehouseUnavailable("server away")
        return len(attempts)

    pool: Pool[int] = Pool(create, lambda c: None, size=1, wait=0.1)
    with pytest.raises(WarehouseUnavailable), pool.lease():
        pass
    with pool.lease() as connection:
        assert connection == 2


def test_close_ends_idle_connections_now_and_leased_ones_on_return():
    pool, connections = make_pool(size=2)
    with pool.lease() as busy:
        with pool.lease() as idle:
            pass
        pool.close()
        assert connections.destroyed == [idle]
    assert connections.destroyed == [idle, busy]
    with pytest.raises(PoolClosed), pool.lease():
        pass
