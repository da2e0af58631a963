"""ClickHouse in this process (chdb) on a persistent folder.

chdb locks its folder to one process, and a process can hold one chdb session. The process that
owns the folder (in one-machine mode: the pipeline worker) opens it here and serves everyone
else through ``host.ChdbHost``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pipelines.warehouse.base import Result, Warehouse, WarehouseError, WarehouseUnavailable
from pipelines.warehouse.chdb_format import insert_statement, parse_result
from pipelines.warehouse.sql import bind

_SESSION_SETTINGS = (
    "SET output_format_json_quote_64bit_integers = 0",
    "SET session_timezone = 'UTC'",
)


class FolderLocked(WarehouseUnavailable):
    """Another process owns the chdb folder."""


class ChdbStatements(Warehouse):
    """execute/query/insert in terms of one primitive: run SQL text, get chdb's output."""

    flavor = "chdb"

    def _run(self, sql: str, output_format: str | None) -> bytes:
        raise NotImplementedError

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._run(bind(sql, params), None)

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> Result:
        return parse_result(self._run(bind(sql, params), "JSONCompact"))

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            self._run(insert_statement(self.database, table, columns, rows), None)


class ChdbWarehouse(ChdbStatements):
    def __init__(self, path: Path, database: str) -> None:
        import chdb.session

        self.path = Path(path)
        self.database = database
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            self._session = chdb.session.Session(str(self.path))
        except RuntimeError as exc:
            if "already initialized" in str(exc):
                # chdb runs one embedded server per process, on one folder.
                raise WarehouseError(
                    f"this process already holds another chdb folder; cannot open {self.path}"
                ) from exc
            raise FolderLocked(f"chdb folder {self.path} is in use by another process") from exc
        self._lock = threading.Lock()  # one statement at a time in the embedded engine
        for statement in _SESSION_SETTINGS:
            self._run(statement, None)

    def _run(self, sql: str, output_format: str | None) -> bytes:
        with self._lock:
            try:
                if output_format is None:
                    result = self._session.query(sql)
                else:
                    result = self._session.query(sql, output_format)
            except Exception as exc:  # noqa: BLE001 - chdb raises ChdbError/RuntimeError
                message = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                raise WarehouseError(f"chdb: {message}") from exc
        return result.bytes() if output_format else b""

    def ping(self) -> bool:
        try:
            self._run("SELECT 1", "JSONCompact")
        except WarehouseError:
            return False
        return True

    def close(self) -> None:
        with self._lock:
            self._session.close()
