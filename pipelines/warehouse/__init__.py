"""The ClickHouse side: one adapter over two engines, the schema and its migrations."""

from pipelines.warehouse.base import Result, Warehouse, WarehouseError, WarehouseUnavailable
from pipelines.warehouse.factory import open_warehouse

__all__ = ["Result", "Warehouse", "WarehouseError", "WarehouseUnavailable", "open_warehouse"]
