"""The ClickHouse side: one adapter over two engines, the schema and its migrations, and the
read side (named queries run by an ``EventStore``)."""

from pipelines.warehouse.base import Result, Warehouse, WarehouseError, WarehouseUnavailable
from pipelines.warehouse.factory import open_reader, open_warehouse
from pipelines.warehouse.host import NoOwner
from pipelines.warehouse.named import NamedQuery
from pipelines.warehouse.reader import EventStore

__all__ = [
    "EventStore",
    "NamedQuery",
    "NoOwner",
    "Result",
    "Warehouse",
    "WarehouseError",
    "WarehouseUnavailable",
    "open_reader",
    "open_warehouse",
]
