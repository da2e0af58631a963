"""Visitor profiles and co-views into Redis."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from pipelines.positions import Position
from pipelines.steps.base import PreparedBatch, WriteStep
from pipelines.warehouse.columns import EventRow


class ProfileWriter(Protocol):
    def apply(self, batch: Sequence[tuple[Position, Sequence[EventRow]]]) -> Any: ...


class ProfileStep(WriteStep):
    """Replays are harmless: the writer skips log positions it has applied."""

    name = "profiles"

    def __init__(self, writer: ProfileWriter) -> None:
        self.writer = writer

    def write(self, batch: PreparedBatch) -> None:
        if batch.by_position:
            self.writer.apply(batch.by_position)
