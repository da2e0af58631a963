"""The warehouse adapter: one small interface over the two ClickHouse engines.

``server``: a ClickHouse server over the native protocol (``clickhouse-driver``), the
production path. ``chdb``: ClickHouse in this process on a folder, for one machine; chdb locks
its folder to one process, so other processes reach it through the owner (``host.py``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Rows to insert: dicts keyed by column name, or tuples of the values in the columns' order.
InsertRows = Sequence[Mapping[str, Any]] | Sequence[tuple[Any, ...]]


class WarehouseUnavailable(Exception):
    """The engine cannot be reached or did not answer: retry later, nothing was committed."""


class WarehouseError(Exception):
    """The engine refused the statement (bad SQL, wrong types): retrying will not help."""


@dataclass(frozen=True)
class Result:
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def scalar(self) -> Any:
        return self.rows[0][0] if self.rows else None


class Warehouse(ABC):
    """Raw SQL on one engine, safe to share between threads (statements may wait for a free
    connection). Readers should use named queries through ``reader.EventStore`` instead."""

    flavor: str  # "server" (ClickHouse 18.16+) or "chdb" (embedded, current ClickHouse)
    database: str

    @abstractmethod
    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Run a statement (DDL, ALTER, OPTIMIZE)."""

    @abstractmethod
    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> Result:
        """Run a read (SELECT); values come back as Python values (int, float, str, list, date,
        datetime in UTC), the same on both engines. Never a write: on chdb reads run on
        read-only sessions, apart from ingest, and a write is refused (``WarehouseError``)."""

    @abstractmethod
    def insert(self, table: str, columns: Sequence[str], rows: InsertRows) -> None:
        """Insert rows in one statement: dicts with every column, or tuples of the values in
        the order of ``columns`` (the pipeline's compact rows), all rows of one kind."""

    @abstractmethod
    def ping(self) -> bool:
        """Does the engine answer now? Never raises."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
