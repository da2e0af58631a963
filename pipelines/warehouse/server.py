"""A ClickHouse server over the native protocol, with columnar inserts (``clickhouse-driver``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from clickhouse_driver import Client  # type: ignore[import-untyped]
from clickhouse_driver import errors as ch_errors

from clicktrail.settings import ClickHouseServerTarget
from pipelines.warehouse.base import (
    InsertRows,
    Result,
    Warehouse,
    WarehouseError,
    WarehouseUnavailable,
)
from pipelines.warehouse.pool import Pool
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
    """A ClickHouse server, safe to share between threads.

    A clickhouse-driver ``Client`` is one connection and not thread-safe, so this keeps a pool
    of up to ``pool_size`` clients, made when concurrent statements need them (a pipeline
    worker alone uses one). A statement waits up to ``pool_wait`` seconds (default:
    ``timeout``) for a free client, then raises ``WarehouseUnavailable``; it may take
    ``timeout`` seconds on the server. A client whose connection failed is discarded.
    """

    flavor = "server"

    def __init__(
        self,
        target: ClickHouseServerTarget,
        timeout: float = 10.0,
        pool_size: int = 4,
        pool_wait: float | None = None,
    ) -> None:
        self.database = target.database
        self._target = target
        self._timeout = timeout
        self._clients: Pool[Client] = Pool(
            self._client,
            _disconnect,
            size=pool_size,
            wait=timeout if pool_wait is None else pool_wait,
            reusable_after=(WarehouseError,),  # the server refused a statement: still connected
            name=f"clickhouse {self._address} connections",
        )

    def _client(self) -> Client:
        # Connects on its first statement; pings before each later one, and reconnects a
        # connection the server closed while it sat in the pool.
        timeout = self._timeout
        return Client(
            self._target.host,
            port=self._target.port,
            user=self._target.user,
            password=self._target.password,
            connect_timeout=min(timeout, 5.0),
            send_receive_timeout=timeout,
            sync_request_timeout=min(timeout, 5.0),
            settings={"use_numpy": False},
        )

    def _run(self, sql: str, **kwargs: Any) -> Any:
        with self._clients.lease() as client:
            try:
                return client.execute(sql, **kwargs)
            except ch_errors.ServerException as exc:
                raise WarehouseError(f"clickhouse: {exc.message.splitlines()[0]}") from exc
            except (*_UNAVAILABLE, ch_errors.Error) as exc:
                # Leaving the lease with this error discards the client and its connection.
                raise WarehouseUnavailable(f"clickhouse {self._address}: {exc!r}") from exc

    @property
    def _address(self) -> str:
        return f"{self._target.host}:{self._target.port}"

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._run(bind(sql, params))

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> Result:
        rows, types = self._run(bind(sql, params), with_column_types=True)
        return Result(tuple(name for name, _ in types), [_utc_row(row) for row in rows])

    def insert(self, table: str, columns: Sequence[str], rows: InsertRows) -> None:
        if not rows:
            return
        names = ", ".join(quote_identifier(c) for c in columns)
        # Column by column, at C speed: by name from dicts, by position from tuples.
        keys: Sequence[str | int] = columns if isinstance(rows[0], Mapping) else range(len(columns))
        data = [list(map(itemgetter(key), rows)) for key in keys]
        target = f"{quote_identifier(self.database)}.{quote_identifier(table)}"
        self._run(f"INSERT INTO {target} ({names}) VALUES", params=data, columnar=True)

    def ping(self) -> bool:
        try:
            self._run("SELECT 1")
        except (WarehouseUnavailable, WarehouseError):
            return False
        return True

    def close(self) -> None:
        """Disconnect idle clients now, busy ones when their statement ends."""
        self._clients.close()


def _disconnect(client: Client) -> None:
    client.disconnect()


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
