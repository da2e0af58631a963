"""The ClickHouse side: one adapter over two engines, the schema and its migrations, and the
read side (named queries run by an ``EventStore``)."""

import os

# clickhouse-driver builds two lookup tables of every date from 1900 to 2299 when it is first
# imported (~30 MB in each process, measured); its own switch builds each entry when first met
# instead (mymarilyn/clickhouse-driver#430). Here, before any module of this package imports
# the driver; a value already set wins.
os.environ.setdefault("CLICKHOUSE_DRIVER_LASY_DATE_LUT", "1970-01-01:1970-01-01")


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
