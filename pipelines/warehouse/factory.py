"""Opening the warehouse a setting names, on either engine."""

from __future__ import annotations

from clicktrail.settings import ChdbTarget, ClickHouseServerTarget
from pipelines.warehouse.base import Warehouse
from pipelines.warehouse.embedded import ChdbWarehouse, FolderLocked
from pipelines.warehouse.host import ChdbRemote, socket_path


def open_warehouse(target: ClickHouseServerTarget | ChdbTarget, timeout: float = 30.0) -> Warehouse:
    """``timeout``: seconds a statement may take on the server.

    A warehouse for a process that does not own the chdb folder (CLI commands, reports).

    chdb: through the owner's socket when a process owns the folder, else by opening the folder
    here (for as long as this process keeps it open)."""
    if isinstance(target, ClickHouseServerTarget):
        from pipelines.warehouse.server import ServerWarehouse

        return ServerWarehouse(target, timeout)
    if socket_path(target.path).exists() and (remote := _answering(target)):
        return remote
    try:
        return ChdbWarehouse(target.path, target.database)
    except FolderLocked:
        # The owner may have opened its socket between the two checks.
        if remote := _answering(target):
            return remote
        raise


def _answering(target: ChdbTarget) -> ChdbRemote | None:
    remote = ChdbRemote(target.path, target.database)
    if remote.ping():
        return remote
    remote.close()
    return None
