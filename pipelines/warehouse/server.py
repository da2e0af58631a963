"""A ClickHouse server over the native protocol, with columnar inserts (``clickhouse-driver``)."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from clickhouse_driver import Client
from clickhouse_driver import errors as ch_errors

from clicktrail.settings import ClickHouseServerTarget
from pipelines.warehouse.base import Result, Warehouse, WarehouseError, WarehouseUnavailable
from pipelines.warehouse.sql import bind, quote_identifier

# Errors that say "the server is away or slow", as opposed to "the server refused this".
_UNAVAILABLE = (
    ch_errors.NetworkError,
    ch_errors.SocketTimeoutError,
    ch_errors.UnexpectedPacketFromServerError,
    EOFError,
    OSError,
)


class ServerWarehouse(Warehouse):
    flavor = "server"

    def __init__(self, target: ClickHouseServerTarget, timeout: float = 10.0) -> None:
        self.database = target.database
        self._target = target
        self._client = Client(
            target.host,
            port=target.port,
            user=target.user,
            password=target.password,
            connect_timeout=min(timeout, 5.0),
            send_receive_timeout=timeout,
            sync_request_timeout=min(timeout, 5.0),
            settings={"use_numpy": False},
        )
        self._lock = threading.Lock()  # one connection: one statement at a time

    def _run(self, sql: str, **kwargs: Any) -> Any:
        with self._lock:
            try:
                return self._client.execute(sql, **kwargs)
            except ch_errors.ServerException as exc:
                raise WarehouseError(f"clickhouse: {exc.message.splitlines()[0]}") from exc
            except _UNAVAILABLE as exc:
                self._client.disconnect()
                raise WarehouseUnavailable(f"clickhouse {self._address}: {exc!r}") from exc
            except ch_errors.Error as exc:
                self._client.disconnect()
                raise WarehouseUnavailable(f"clickhouse {self._address}: {exc!r}") from exc

    @property
    def _address(self) -> str:
        return f"{self._target.host}:{self._target.port}"

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._run(bind(sql, params))

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> Result:
        rows, types = self._run(bind(sql, params), with_column_types=True)
        return Result(tuple(name for name, _ in types), [_utc_row(row) for row in rows])

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        names = ", ".join(quote_identifier(c) for c in columns)
        data = [list(map(itemgetter(column), rows)) for column in columns]  # C speed
        target = f"{quote_identifier(self.database)}.{quote_identifier(table)}"
        self._run(f"INSERT INTO {target} ({names}) VALUES", params=data, columnar=True)

    def ping(self) -> bool:
        try:
            self._run("SELECT 1")
        except (WarehouseUnavailable, WarehouseError):
            return False
        return True

    def close(self) -> None:
        self._client.disconnect()


def _utc_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    # The server runs in UTC (its config); chdb's answers are made timezone-aware the same way.
    if not any(isinstance(value, datetime) for value in row):
        return row
    return tuple(
        value.replace(tzinfo=UTC)
        if isinstance(value, datetime) and value.tzinfo is None
        else value.astimezone(UTC)
        if isinstance(value, datetime)
        else value
        for value in row
    )
