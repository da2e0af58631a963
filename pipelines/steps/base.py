"""What a writer step receives and promises."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from operator import itemgetter
from typing import Any

from clicktrail.contract.deadletter import DeadLetter
from pipelines.eventlog.base import LogMessage
from pipelines.positions import Position
from pipelines.warehouse.columns import COLUMN, EventRow, Row

SiteDay = tuple[str, date]  # (site id, a day in the site's own time zone)


@dataclass
class PreparedBatch:
    """A batch read from the log, enriched and ready to write.

    ``events`` are the warehouse's event rows, compact: each a tuple of values in the order
    of ``pipelines.warehouse.columns.EVENT_COLUMNS``; read a field by name with
    ``row[COLUMN["visitor_id"]]``, a whole column with ``column("visitor_id")``, or a row as a
    dict with ``columns.row_dict(row)``. ``links`` are identity-link rows (dicts).
    ``by_position`` groups the event rows by the log record they came from (for stores that
    skip records they already applied); ``touched_days`` are the site-local days of the
    events' times (``derived_ms`` in each site's time zone), for steps that keep per-day state
    and must recompute what a late or replayed event changed. ``messages`` say where each
    record sits in the log (their payloads are dropped once decoded)."""

    messages: list[LogMessage]
    events: list[EventRow] = field(default_factory=list)
    links: list[Row] = field(default_factory=list)
    by_position: list[tuple[Position, Sequence[EventRow]]] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)
    touched_days: frozenset[SiteDay] = frozenset()

    def column(self, name: str) -> list[Any]:
        """Every event row's value of column ``name``, in row order."""
        return list(map(itemgetter(COLUMN[name]), self.events))


class WriteStep(ABC):
    """One store the worker writes every batch to.

    Contract: ``write`` blocks until the store has acknowledged the whole batch, and raises
    (any exception) if it did not; the worker then retries the same batch with backoff, so a
    write must be idempotent: writing a batch twice (a retry, or a replay after a crash, when
    the batch was written but not committed) leaves the store as writing it once. Batches come
    in log order; ``write`` is called from one thread at a time."""

    name: str  # for logs, ``--sinks`` and ``clicktrail_pipeline_step_seconds{step=...}``

    @abstractmethod
    def write(self, batch: PreparedBatch) -> None: ...

    def poll(self) -> None:  # noqa: B027 - most steps only write batches
        """Work on a schedule of the step's own (retention): called by the worker's loop about
        once per batch window, whether or not records arrived, on the step's thread (never
        during its ``write``), and not again before the last call returned. Should return
        within seconds; an exception is logged, nothing is retried."""

    def close(self) -> None:  # noqa: B027 - most steps hold nothing of their own
        """Release what the step opened itself (called once, after the last batch)."""
