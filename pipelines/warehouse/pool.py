"""A small bounded pool of connections, shared by threads one lease at a time.

Used for what is not safe to share between threads while a statement runs: clickhouse-driver
clients (``server.py``), sockets to the chdb owner (``host.ChdbRemote``) and the owner's read
sessions (``embedded.ChdbWarehouse``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

from pipelines.warehouse.base import WarehouseUnavailable

log = logging.getLogger("clicktrail.warehouse")

T = TypeVar("T")


class PoolExhausted(WarehouseUnavailable):
    """Every connection stayed busy for the whole wait: retry later (nothing was sent)."""


class PoolClosed(WarehouseUnavailable):
    """The pool was closed: its owner is shutting down."""


class Pool(Generic[T]):
    """At most ``size`` connections, made on demand by ``create`` and ended by ``destroy``.

    ``lease()`` lends one connection to one thread for a ``with`` block. A block that raises
    anything other than ``reusable_after`` discards the connection: it may hold half an answer
    or a broken socket, and the next lease gets a fresh one. ``destroy`` must not block for long;
    its errors are logged, never raised.
    """

    def __init__(
        self,
        create: Callable[[], T],
        destroy: Callable[[T], None],
        size: int,
        wait: float,
        reusable_after: tuple[type[BaseException], ...] = (),
        name: str = "pool",
    ) -> None:
        if size < 1:
            raise ValueError(f"{name}: a pool needs at least one connection, got {size}")
        self._create = create
        self._destroy = destroy
        self._size = size
        self._wait = wait
        self._reusable_after = reusable_after
        self._name = name
        self._idle: list[T] = []  # a stack: the most recently used (warmest) goes out first
        self._out = 0  # leased, or being created for a lease
        self._closed = False
        self._changed = threading.Condition()

    @contextmanager
    def lease(self) -> Iterator[T]:
        """One connection for this thread until the block ends.

        Blocks up to ``wait`` seconds while all ``size`` are leased, then raises
        ``PoolExhausted``; raises ``PoolClosed`` after ``close()``, and whatever ``create``
        raises (the slot is given back first)."""
        connection = self._acquire()
        try:
            yield connection
        except self._reusable_after:
            self._release(connection, keep=True)
            raise
        except BaseException:
            self._release(connection, keep=False)
            raise
        self._release(connection, keep=True)

    def _acquire(self) -> T:
        deadline = time.monotonic() + self._wait
        with self._changed:
            while True:
                if self._closed:
                    raise PoolClosed(f"{self._name} is closed")
                if self._idle:
                    self._out += 1
                    return self._idle.pop()
                if self._out < self._size:
                    self._out += 1
                    break  # make one, outside the lock: connecting may take seconds
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PoolExhausted(
                        f"{self._name}: all {self._size} connections stayed busy for "
                        f"{self._wait:g} s"
                    )
                self._changed.wait(remaining)
        try:
            return self._create()
        except BaseException:
            with self._changed:
                self._out -= 1
                self._changed.notify()
            raise

    def _release(self, connection: T, keep: bool) -> None:
        with self._changed:
            self._out -= 1
            self._changed.notify()
            if keep and not self._closed:
                self._idle.append(connection)
                return
        self._end(connection)

    def _end(self, connection: T) -> None:
        try:
            self._destroy(connection)
        except Exception:  # noqa: BLE001 - a connection that fails to close is gone anyway
            log.warning("%s: closing a connection failed", self._name, exc_info=True)

    @property
    def idle(self) -> int:
        """Connections open and free now (for tests and metrics)."""
        with self._changed:
            return len(self._idle)

    @property
    def leased(self) -> int:
        with self._changed:
            return self._out

    def close(self) -> None:
        """End the idle connections now and each leased one when its block ends; later leases
        raise ``PoolClosed``. Does not wait for leased connections."""
        with self._changed:
            self._closed = True
            idle, self._idle = self._idle, []
            self._changed.notify_all()
        for connection in idle:
            self._end(connection)
