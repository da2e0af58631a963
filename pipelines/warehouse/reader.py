"""The read side of the warehouse: named queries in, ``Result`` values out.

Readers (the personalizer, reports, the dashboard) ask for an ``EventStore``, never for a
ClickHouse client: ``factory.open_reader(target)`` gives one that is safe to share between
threads and, on chdb, only ever reads through the folder's owner. Tests may hand a reader any
other ``EventStore``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from pipelines.warehouse.base import Result, Warehouse, WarehouseError
from pipelines.warehouse.named import NamedQuery


class EventStore(ABC):
    """Runs named queries. Implementations are thread-safe."""

    @abstractmethod
    def run(self, query: NamedQuery, /, **params: Any) -> Result:
        """The answer of ``query`` with ``params`` bound; values are the same Python values on
        both engines (int, float, str, list, date, UTC datetime).

        Blocks for as long as the query runs (up to the store's timeout), and meanwhile for a
        free connection. Raises ``QueryError`` (bad parameters: nothing was sent),
        ``WarehouseUnavailable`` (engine or owner away, or every connection busy: retry later)
        or ``WarehouseError`` (the engine refused the query: retrying will not help)."""

    @abstractmethod
    def ping(self) -> bool:
        """Does the engine answer now? Never raises."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class WarehouseEventStore(EventStore):
    """An ``EventStore`` over a ``Warehouse`` of either engine; it owns (closes) the warehouse."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse

    def run(self, query: NamedQuery, /, **params: Any) -> Result:
        query.check(params)
        sql = query.render(self.warehouse.database)
        try:
            return self.warehouse.query(sql, params)
        except WarehouseError as exc:
            # Name the query: the engine's message quotes SQL the reader never wrote.
            raise WarehouseError(f"{query.name}: {exc}") from exc

    def ping(self) -> bool:
        return self.warehouse.ping()

    def close(self) -> None:
        self.warehouse.close()
