"""ClickHouse in this process (chdb) on a persistent folder.

chdb locks its folder to one process, and a process can hold one chdb folder (with any number
of sessions on it). The process that owns the folder (in one-machine mode: the pipeline worker)
opens it here and serves everyone else through ``host.ChdbHost``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pipelines.warehouse.base import (
    InsertRows,
    Result,
    Warehouse,
    WarehouseError,
    WarehouseUnavailable,
)
from pipelines.warehouse.chdb_format import insert_statement, parse_result
from pipelines.warehouse.pool import Pool
from pipelines.warehouse.sql import bind

_SESSION_SETTINGS = (
    "SET output_format_json_quote_64bit_integers = 0",
    "SET session_timezone = 'UTC'",
)


class FolderLocked(WarehouseUnavailable):
    """Another process owns the chdb folder."""


class ChdbStatements(Warehouse):
    """execute/query/insert in terms of two primitives: run a statement on the ingest path,
    and run a read (answer in JSONCompact) on the read path."""

    flavor = "chdb"

    def _run(self, sql: str) -> None:
        """A statement (DDL, INSERT, ALTER, OPTIMIZE): the ingest path."""
        raise NotImplementedError

    def _select(self, sql: str) -> bytes:
        """A read: chdb's JSONCompact answer."""
        raise NotImplementedError

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._run(bind(sql, params))

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> Result:
        return parse_result(self._select(bind(sql, params)))

    def insert(self, table: str, columns: Sequence[str], rows: InsertRows) -> None:
        if rows:
            self._run(insert_statement(self.database, table, columns, rows))

    def ping(self) -> bool:
        try:
            self._select("SELECT 1")
        except (WarehouseError, WarehouseUnavailable):
            return False
        return True


class ChdbWarehouse(ChdbStatements):
    """The chdb folder, owned by this process.

    Writes (``execute``, ``insert``) run one at a time on the ingest session. Reads (``query``)
    run on separate read sessions of the same folder, at most ``read_sessions`` at once, each
    waiting up to ``read_wait`` seconds for a free session (then ``WarehouseUnavailable``).
    chdb runs queries of different sessions concurrently, so a long read never delays an
    insert (measured: docs/warehouse.md). Read sessions are read-only: a write sent as a
    query is refused (``WarehouseError``).

    Raises ``FolderLocked`` when another process owns the folder, ``WarehouseError`` when this
    process already holds another chdb folder.
    """

    def __init__(
        self, path: Path, database: str, read_sessions: int = 2, read_wait: float = 30.0
    ) -> None:
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
        self._lock = threading.Lock()  # one statement at a time on the ingest session
        self._closed = False
        for statement in _SESSION_SETTINGS:
            self._run(statement)
        self._readers: Pool[Any] = Pool(
            self._open_read_session,
            _close_session,
            size=read_sessions,
            wait=read_wait,
            reusable_after=(WarehouseError,),  # the engine refused a query: the session is fine
            name=f"chdb read sessions of {self.path}",
        )

    def _open_read_session(self) -> Any:
        import chdb.session

        # Another session on the folder this process holds: chdb opens it in a millisecond.
        session = chdb.session.Session(str(self.path))
        try:
            for statement in (*_SESSION_SETTINGS, _READ_ONLY):
                _call(session, statement, None)
        except BaseException:
            session.close()
            raise
        return session

    def _run(self, sql: str) -> None:
        with self._lock:
            if self._closed:
                raise WarehouseUnavailable(f"chdb folder {self.path} was closed")
            _call(self._session, sql, None)

    def _select(self, sql: str) -> bytes:
        with self._readers.lease() as session:
            return _call(session, sql, "JSONCompact")

    def close(self) -> None:
        """Close the sessions. A read still running keeps its session until it ends."""
        self._readers.close()
        with self._lock:
            if not self._closed:
                self._closed = True
                self._session.close()


# Set after the session settings: readonly 2 still allows per-query settings, never writes.
_READ_ONLY = "SET readonly = 2"


def _call(session: Any, sql: str, output_format: str | None) -> bytes:
    try:
        if output_format is None:
            session.query(sql)
            return b""
        result = session.query(sql, output_format)
    except Exception as exc:  # noqa: BLE001 - chdb raises ChdbError/RuntimeError
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        raise WarehouseError(f"chdb: {message}") from exc
    answer: bytes = result.bytes()
    return answer


def _close_session(session: Any) -> None:
    session.close()
