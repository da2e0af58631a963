"""Events and identity links into ClickHouse."""

from __future__ import annotations

from pipelines.steps.base import PreparedBatch, WriteStep
from pipelines.warehouse.sink import WarehouseSink


class WarehouseStep(WriteStep):
    name = "warehouse"

    def __init__(self, sink: WarehouseSink) -> None:
        self.sink = sink

    def write(self, batch: PreparedBatch) -> None:
        self.sink.write(batch.events, batch.links)
