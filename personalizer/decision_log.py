"""The attribution log: decisions, impressions and clicks written to the event log (the one the
collector writes, so the pipeline carries them into ClickHouse like any event).

A decision must not wait for the log. ``record`` (a decision) and ``enqueue`` (a click, whose
redirect must not wait either) only append the item to a bounded in-memory deque (no lock, no
wake-up of another thread: an append is all the request pays); one background thread per
process (a greenlet under gunicorn's gevent workers) looks every ``FLUSH_SECONDS`` (at once
when a batch's worth has gathered), builds the records of what has gathered and appends them
in one batch, waiting at most ``timeout`` for the log's acknowledgement. When the queue is
full, or the log does not acknowledge in time, the items are dropped and counted
(``clicktrail_personalizer_log_dropped_total``): the answer to the visitor never depends on
the log. ``close`` writes what is queued before the process exits
(gunicorn's ``worker_exit`` hook).

An impression is written at once (``write``): its endpoint answers ``503`` when the log is
away, so the browser sends it again, and the copy collapses with the first (same event id).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from typing import Literal

from clicktrail.contract.record import LogRecord
from personalizer import metrics
from personalizer.attribution import decision_record
from personalizer.decide import Decision
from pipelines.eventlog import EventLog, LogUnavailable

log = logging.getLogger("clicktrail.personalizer")

Kind = Literal["decision", "impression", "click"]
_Item = tuple[Kind, Decision | LogRecord]

BATCH_ITEMS = 500  # items per append: a few hundred kB at most
# How often the flusher looks for items: a decision reaches the log within about this, and
# a busy process appends many in one round trip instead of one each.
FLUSH_SECONDS = 0.05
CONNECT_SECONDS = 5.0  # the flusher's first connection (Kafka: topic metadata)


class EventLogDecisions:
    """``DecisionLog`` (personalizer.decide) on the event log, and the impression and click
    writes of the tracking endpoints. Safe to call from many threads or greenlets."""

    def __init__(
        self,
        event_log: EventLog,
        queue_size: int,
        timeout: float,
        log_decisions: bool = True,
        batch_items: int = BATCH_ITEMS,
        flush_seconds: float = FLUSH_SECONDS,
    ) -> None:
        self._log = event_log
        self._queue_size = queue_size
        self._timeout = timeout
        self._log_decisions = log_decisions
        self._batch = batch_items
        self._flush_seconds = flush_seconds
        self._lock = threading.Lock()
        # deque.append and popleft are atomic: the request path takes no lock
        self._pending: deque[_Item] = deque()
        self._in_flight = 0  # items the flusher took and has not written or dropped yet
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._closing = threading.Event()

    # --- the request path ------------------------------------------------------------------

    def record(self, decision: Decision) -> None:
        """Queue a decision's events; never blocks."""
        if self._log_decisions:
            self._put("decision", decision)

    def enqueue(self, kind: Kind, record: LogRecord) -> None:
        """Queue a built record (a click); never blocks."""
        self._put(kind, record)

    def write(self, kind: Kind, record: LogRecord) -> None:
        """Append one record now, waiting at most ``timeout``; raises ``LogUnavailable``."""
        try:
            self._log.append([record], self._timeout)
        except LogUnavailable:
            metrics.LOG_DROPPED.labels(kind, "log_away").inc(len(record.events))
            raise
        metrics.LOGGED.labels(kind).inc(len(record.events))

    def pending(self) -> int:
        """Items queued and not taken by the flusher yet."""
        return len(self._pending)

    # --- the flusher -------------------------------------------------------------------------

    def flush(self, timeout: float) -> bool:
        """Wait until every queued item was written or dropped (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        self._wake.set()
        while self._pending or self._in_flight:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued (waiting at most ``timeout``), stop the flusher, and count
        what is left as dropped."""
        self._closing.set()
        self._wake.set()
        log.info("attribution log closing: %d items queued", len(self._pending))
        thread = self._thread
        if thread is not None and thread.is_alive() and self._pid == os.getpid():
            thread.join(timeout)
        left: dict[Kind, int] = {}
        while True:
            try:
                kind, item = self._pending.popleft()
            except IndexError:
                break
            left[kind] = left.get(kind, 0) + _events_of(kind, item)
        for kind, count in left.items():
            metrics.LOG_DROPPED.labels(kind, "shutdown").inc(count)
            log.warning("%d %s events not written at shutdown", count, kind)
        self._log.close()

    def _put(self, kind: Kind, item: Decision | LogRecord) -> None:
        if self._closing.is_set():  # the process is going: nothing would write it
            metrics.LOG_DROPPED.labels(kind, "shutdown").inc(_events_of(kind, item))
            return
        if self._pid != os.getpid() or self._thread is None:
            self._ensure_flusher()
        pending = self._pending
        if len(pending) >= self._queue_size:
            metrics.LOG_DROPPED.labels(kind, "queue_full").inc(_events_of(kind, item))
            return
        pending.append((kind, item))
        if len(pending) == self._batch:  # a batch's worth: no need to wait for the tick
            self._wake.set()

    def _ensure_flusher(self) -> None:
        with self._lock:
            pid = os.getpid()
            if self._thread is not None and self._pid == pid:
                return
            if self._pid != pid:  # a forked child: the parent's items and thread are not ours
                self._pending = deque()
                self._in_flight = 0
            self._pid = pid
            self._thread = threading.Thread(
                target=self._run, name="clicktrail-decision-log", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        # Here, not at start-up: the app starts (and answers) while the log is still away.
        try:
            self._log.ensure_created()
            self._log.connect(CONNECT_SECONDS)
        except LogUnavailable as exc:
            log.warning("the event log is not reachable yet: %s", exc)
        pending = self._pending
        while True:
            if not pending:
                if self._closing.is_set():
                    return
                self._wake.wait(self._flush_seconds)
                self._wake.clear()
                continue
            batch: list[_Item] = []
            while len(batch) < self._batch:
                try:
                    batch.append(pending.popleft())
                except IndexError:
                    break
            self._in_flight = len(batch)
            try:
                self._append(batch)
            except Exception:  # the flusher must outlive any one batch
                log.exception("attribution batch of %d items dropped", len(batch))
                for kind, item in batch:
                    metrics.LOG_DROPPED.labels(kind, "error").inc(_events_of(kind, item))
            finally:
                self._in_flight = 0
            if len(pending) < self._batch and not self._closing.is_set():
                self._wake.wait(self._flush_seconds)  # let the next batch gather
                self._wake.clear()

    def _append(self, batch: list[_Item]) -> None:
        records: list[LogRecord] = []
        events: dict[Kind, int] = {}
        for kind, item in batch:
            if isinstance(item, LogRecord):
                record = item
            else:
                try:
                    record = decision_record(item, item.created_ms)
                except ValueError as exc:  # e.g. a decision id that is not a UUIDv7
                    log.warning("attribution event not written: %s", exc)
                    metrics.LOG_DROPPED.labels(kind, "invalid").inc()
                    continue
            records.append(record)
            events[kind] = events.get(kind, 0) + len(record.events)
        try:
            self._log.append(records, self._timeout)
        except LogUnavailable as exc:
            log.warning("event log away, %d attribution records dropped: %s", len(records), exc)
            for kind, count in events.items():
                metrics.LOG_DROPPED.labels(kind, "log_away").inc(count)
            return
        for kind, count in events.items():
            metrics.LOGGED.labels(kind).inc(count)


def _events_of(kind: Kind, item: Decision | LogRecord) -> int:
    if isinstance(item, LogRecord):
        return len(item.events)
    return max(1, len(item.placements))
