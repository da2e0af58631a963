"""Opening the warehouse a setting names, on either engine, for a tool or for a reader.

Who may take the chdb folder is part of the call: only a one-shot ``tool`` (``clicktrail
migrate``, a rebuild, a test) may open the folder when no process owns it. A ``reader``
serves requests for as long as it runs, so it must never hold the folder: the pipeline worker
could then not start (it would wait for the folder, then give up). The worker itself owns the
folder through ``pipelines.runner.owned_warehouse``.
"""

from __future__ import annotations

from typing import Literal

from clicktrail.settings import ChdbTarget, ClickHouseServerTarget, Settings
from pipelines.warehouse.base import Warehouse
from pipelines.warehouse.embedded import ChdbWarehouse, FolderLocked
from pipelines.warehouse.host import ChdbRemote, socket_path
from pipelines.warehouse.reader import EventStore, WarehouseEventStore

Role = Literal["tool", "reader"]


def open_warehouse(
    target: ClickHouseServerTarget | ChdbTarget,
    timeout: float = 30.0,
    *,
    role: Role = "tool",
    connections: int = 4,
) -> Warehouse:
    """A warehouse for a process that is not the pipeline worker. Does not block (connections
    are made by the first statements).

    ``timeout``: seconds a statement may take (and may wait for a free connection).
    ``connections``: statements this process may run at once (server clients, or sockets to
    the chdb owner).

    chdb, ``role="tool"``: through the owner's socket when a process owns the folder, else by
    opening the folder here, for as long as the warehouse stays open. Raises ``FolderLocked``
    when the folder is held but its owner does not answer, and ``WarehouseError`` when this
    process holds another chdb folder.

    chdb, ``role="reader"``: always through the owner's socket, never opening the folder; with
    no owner, each statement raises ``NoOwner`` (a ``WarehouseUnavailable``) and the next one
    tries again, so a reader started before the worker starts serving once the worker runs."""
    if role not in ("tool", "reader"):
        raise ValueError(f"role must be 'tool' or 'reader', got {role!r}")
    if isinstance(target, ClickHouseServerTarget):
        from pipelines.warehouse.server import ServerWarehouse

        return ServerWarehouse(target, timeout, pool_size=connections)
    if role == "reader":
        return ChdbRemote(target.path, target.database, timeout, connections=connections)
    if socket_path(target.path).exists() and (remote := _answering(target, timeout)):
        return remote
    try:
        return ChdbWarehouse(target.path, target.database)
    except FolderLocked:
        # The owner may have opened its socket between the two checks.
        if remote := _answering(target, timeout):
            return remote
        raise


def open_reader(
    target: ClickHouseServerTarget | ChdbTarget, timeout: float = 30.0, connections: int = 4
) -> EventStore:
    """The ``EventStore`` of a serving process (personalizer, reports API, dashboard): thread-
    safe, at most ``connections`` queries at once, and on chdb only ever through the folder's
    owner (``open_warehouse(role="reader")``). Does not block and does not check that the
    engine answers: ``ping()`` does."""
    return WarehouseEventStore(
        open_warehouse(target, timeout, role="reader", connections=connections)
    )


def open_settings_reader(settings: Settings) -> EventStore:
    """``open_reader`` on ``CLICKTRAIL_CLICKHOUSE_URL`` with ``CLICKTRAIL_WAREHOUSE_*``."""
    return open_reader(
        settings.clickhouse_url,
        timeout=settings.warehouse_read_timeout_ms / 1000,
        connections=settings.warehouse_connections,
    )


def _answering(target: ChdbTarget, timeout: float) -> ChdbRemote | None:
    remote = ChdbRemote(target.path, target.database, timeout)
    if remote.ping():
        return remote
    remote.close()
    return None
