"""The pipeline worker: decode → enrich → batch → writer steps → dead letters → commit.

A batch ends at ``batch_events`` events or ``batch_seconds`` after its first record. The writer
steps (``pipelines.steps``: ClickHouse, profiles, ...) write it at once, each on its own
thread; offsets are committed only after every step and the dead-letter log have acknowledged
the whole batch, so a crash at any point replays records instead of losing them, and every step
makes a replay harmless (the warehouse collapses rows by their client-set key, the profile sink
skips positions it has applied). A step whose store is down is retried with backoff, holding the
batch in memory and committing nothing, until it is back.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from array import array
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from clicktrail.contract.deadletter import DeadLetter
from clicktrail.contract.envelope import MAX_EVENTS
from clicktrail.contract.record import LogRecord, RecordError
from pipelines.eventlog.base import EventLog, LogMessage, LogReader, LogUnavailable
from pipelines.positions import position_of
from pipelines.rows import RowBuilder
from pipelines.steps.base import PreparedBatch, WriteStep
from pipelines.steps.days import SiteDays
from pipelines.warehouse.columns import COLUMN

log = logging.getLogger("clicktrail.pipeline")
# While a batch's write is retried, the reader is kept alive this often (a Redis Streams lease
# lapses after 10 s without it).
KEEP_ALIVE_SECONDS = 1.0

BACKLOG_SECONDS = 10.0  # how often the worker asks the log for its backlog
# Steps of the worker's own, timed beside the writer steps.
OWN_STEPS = ("read", "decode", "enrich", "days", "dead_letters", "commit")


class DeadLetterStorm(RuntimeError):
    """Too large a share of records failed: stop loudly rather than dead-letter everything
    (a bad deploy, a schema mismatch). Nothing of the current batch is committed."""


@dataclass
class WorkerConfig:
    batch_events: int = 10_000
    batch_seconds: float = 1.0
    dead_letter_max_share: float = 0.2
    dead_letter_window: int = 1_000  # records
    dead_letter_min: int = 50  # fewer dead letters than this never stop the worker
    retry_initial: float = 0.1
    retry_max: float = 5.0
    keep_lags: bool = False  # keep every event's end-to-end lag (benchmarks)


@dataclass
class WorkerStats:
    batches: int = 0
    records: int = 0
    events: int = 0
    dead_letters: int = 0
    retries: int = 0
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(OWN_STEPS, 0.0))
    lags_ms: array = field(default_factory=lambda: array("d"))
    first_read: float = 0.0  # time.monotonic() of the first record read
    last_commit: float = 0.0  # and of the last commit
    last_commit_unix: float = 0.0  # the last commit's wall-clock time (for /metrics)
    # The oldest event of the last committed batch: its age at the commit (the collector's
    # receipt to stored and committed), ms; None before the first batch with events.
    batch_lag_ms: float | None = None
    backlog: int | None = None  # records of this worker's partitions not read yet (log's count)

    def as_json(self) -> dict[str, Any]:
        lags = sorted(self.lags_ms)

        def quantile(q: float) -> float | None:
            return lags[min(len(lags) - 1, int(q * len(lags)))] if lags else None

        busy = self.last_commit - self.first_read
        return {
            "batches": self.batches,
            "records": self.records,
            "events": self.events,
            "dead_letters": self.dead_letters,
            "retries": self.retries,
            "seconds": self.seconds,
            "busy_seconds": busy,
            "events_per_second": self.events / busy if busy > 0 else None,
            "batch_lag_ms": self.batch_lag_ms,
            "backlog": self.backlog,
            "lag_ms": {
                "p50": quantile(0.5),
                "p95": quantile(0.95),
                "p99": quantile(0.99),
                "max": lags[-1] if lags else None,
                "count": len(lags),
            },
        }


@dataclass
class _Batch:
    """A batch being read. Each record is enriched as soon as it is decoded, so a batch never
    holds its decoded records beside their rows (measured: ~1.2 kB an event)."""

    messages: list[LogMessage] = field(default_factory=list)  # without payloads: to commit
    dead: list[DeadLetter] = field(default_factory=list)  # records that did not decode
    events: int = 0
    rows: PreparedBatch = field(default_factory=lambda: PreparedBatch([]))
    failed: list[DeadLetter] = field(default_factory=list)  # records or events not enriched


class PipelineWorker:
    def __init__(
        self,
        event_log: EventLog,
        reader: LogReader,
        builder: RowBuilder,
        steps: Sequence[WriteStep],
        config: WorkerConfig | None = None,
        stop: threading.Event | None = None,
        clock: Callable[[], float] = time.time,
        timezone_of: Callable[[str], str] = lambda site_id: "UTC",
    ) -> None:
        """``steps`` write each batch (in parallel); ``timezone_of(site_id)`` names a site's
        time zone, for the site-local days a batch touched."""
        names = [step.name for step in steps]
        if len(set(names)) != len(names) or set(names) & set(OWN_STEPS):
            raise ValueError(f"step names must be unique and not {OWN_STEPS}: {names}")
        self.event_log = event_log
        self.reader = reader
        self.builder = builder
        self.steps = tuple(steps)
        self.config = config or WorkerConfig()
        self.stop = stop or threading.Event()
        self.stats = WorkerStats()
        self.stats.seconds.update(dict.fromkeys(names, 0.0))
        self._days = SiteDays(timezone_of)
        self.last_read: float | None = None  # time.monotonic() of the last read that answered
        self._backlog_checked = float("-inf")
        self._clock = clock
        self._recent: deque[bool] = deque(maxlen=self.config.dead_letter_window)
        # Events per record so far, to size log reads. The prior is the fattest record (one
        # request's events, at most MAX_EVENTS), so no read overshoots a batch by much.
        self._records_seen = 1
        self._events_seen = MAX_EVENTS
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="batch-writer")
        self._step_threads = {
            step.name: ThreadPoolExecutor(1, thread_name_prefix=f"step-{step.name}")
            for step in self.steps
        }
        # Only the steps with a schedule of their own (retention): the rest have nothing to
        # poll, and a turn of the loop must not hand each of their threads an empty call.
        self._polling = [
            step
            for step in self.steps
            if getattr(type(step), "poll", WriteStep.poll) is not WriteStep.poll
        ]
        self._polls: dict[str, Future[None]] = {}

    # --- the loop ------------------------------------------------------------------------

    def run(self, idle_exit_seconds: float | None = None) -> None:
        """Process batches until ``stop`` is set (SIGTERM), then return after the current
        batch is written and committed. ``idle_exit_seconds``: also return after that long
        without records (tests, benchmarks, one-off catch-up runs).

        Batch N is written by a writer thread while this thread reads and enriches batch
        N+1; N is committed (here: consumers are not thread-safe) before N+1 is handed over,
        so sinks see batches in log order and nothing is committed before it is written."""
        idle_since = time.monotonic()
        pending: tuple[Future[bool], PreparedBatch] | None = None
        try:
            while not self.stop.is_set():
                self._count_backlog()
                self._poll_steps()  # records or not: a schedule runs on an idle log too
                batch = self._collect()
                if not batch.messages:
                    if pending is not None:
                        self._finish(pending)
                        pending = None
                    if idle_exit_seconds is not None and (
                        time.monotonic() - idle_since > idle_exit_seconds
                    ):
                        return
                    continue
                try:
                    prepared = self._prepare(batch)
                finally:
                    if pending is not None:  # even when this batch stops the worker
                        self._finish(pending)
                        pending = None
                pending = (self._writer.submit(self._write, prepared), prepared)
                idle_since = time.monotonic()
        finally:
            if pending is not None:
                self._finish(pending)
            self._writer.shutdown(wait=True)
            for thread in self._step_threads.values():
                thread.shutdown(wait=True)

    def _count_backlog(self) -> None:
        """Ask the log how far behind this worker is, every ``BACKLOG_SECONDS`` (here: the
        reader is this thread's). A log that cannot say leaves the gauge unknown."""
        now = time.monotonic()
        if now - self._backlog_checked < BACKLOG_SECONDS:
            return
        self._backlog_checked = now
        try:
            self.stats.backlog = self.reader.backlog()
        except LogUnavailable as exc:
            log.debug("backlog unknown: %s", exc)
            self.stats.backlog = None

    def _poll_steps(self) -> None:
        """Each polling step's ``poll`` on its own thread, unless its last one still runs."""
        for step in self._polling:
            last = self._polls.get(step.name)
            if last is not None and not last.done():
                continue
            if last is not None and last.exception() is not None:
                log.warning("step %s: poll failed: %r", step.name, last.exception())
            self._polls[step.name] = self._step_threads[step.name].submit(step.poll)

    def ready(self, now: float | None = None) -> bool:
        """Is this worker in its group and reading? True while its reads of the log answer (a
        read returns at the latest after ``batch_seconds``, records or not); false before the
        first read, while the log is away, and while a step's store is down (the loop waits on
        the unwritten batch instead of reading)."""
        if self.last_read is None or self.stop.is_set():
            return False
        now = time.monotonic() if now is None else now
        return now - self.last_read <= max(5.0, 3 * self.config.batch_seconds)

    def _collect(self) -> _Batch:
        batch = _Batch()
        started = time.perf_counter()
        deadline: float | None = None
        while batch.events < self.config.batch_events and not self.stop.is_set():
            wait = self.config.batch_seconds if deadline is None else deadline - time.monotonic()
            if wait <= 0:
                break
            try:
                # The log counts records, a batch counts events: ask for as many records as
                # should fill the batch at the events per record seen so far.
                remaining = self.config.batch_events - batch.events
                per_record = max(1.0, self._events_seen / max(1, self._records_seen))
                wanted = max(1, int(remaining / per_record))
                messages = self.reader.read(wanted, wait)
                self.last_read = time.monotonic()
            except LogUnavailable as exc:
                log.warning("event log unavailable, retrying: %s", exc)
                self.stop.wait(self.config.retry_initial * 10)
                break
            if not messages:
                if deadline is None:
                    break  # nothing arrived within a whole batch window: report idle
                continue
            if deadline is None:
                deadline = time.monotonic() + self.config.batch_seconds
                if not self.stats.first_read:
                    self.stats.first_read = time.monotonic()
            self._decode(messages, batch)
        self.stats.seconds["read"] += time.perf_counter() - started
        return batch

    def _decode(self, messages: list[LogMessage], batch: _Batch) -> None:
        """Decode each record and enrich it at once (timed apart)."""
        clock = time.perf_counter
        decoding = enriching = 0.0
        events_before = batch.events
        for message in messages:
            started = clock()
            # Committing needs where a record sits, not its bytes: only a dead letter keeps
            # them.
            batch.messages.append(LogMessage(message.partition, message.position, b"", b""))
            try:
                record = LogRecord.decode(message.payload)
            except RecordError as exc:
                batch.dead.append(self._dead_letter(message, str(exc), None, message.payload))
                self._recent.append(True)
                decoding += clock() - started
                continue
            self._recent.append(False)
            batch.events += len(record.events)
            decoded = clock()
            decoding += decoded - started
            self._enrich(message, record, batch)
            enriching += clock() - decoded
        self._records_seen += len(messages)
        self._events_seen += batch.events - events_before
        self.stats.seconds["decode"] += decoding
        self.stats.seconds["enrich"] += enriching

    def _enrich(self, message: LogMessage, record: LogRecord, batch: _Batch) -> None:
        rows = batch.rows
        try:
            built = self.builder.build_compact(record)
        except Exception as exc:  # noqa: BLE001 - one bad record must not stop the partition
            batch.failed.append(
                self._dead_letter(message, f"enrich: {exc!r}", record.site_id, message.payload)
            )
            return
        for failure in built.failures:
            payload = _single_event_record(message.payload, failure.index)
            batch.failed.append(self._dead_letter(message, failure.reason, record.site_id, payload))
        rows.events += built.events
        rows.links += built.links
        if built.events:
            position = position_of(self.event_log.name, message)
            rows.by_position.append((position, built.events))

    # --- one batch -----------------------------------------------------------------------

    def _prepare(self, batch: _Batch) -> PreparedBatch:
        """The batch, enriched while it was read, with its days; raises ``DeadLetterStorm``."""
        started = time.perf_counter()
        prepared = batch.rows
        prepared.messages = batch.messages
        prepared.dead = batch.dead + batch.failed  # as read: records that did not decode first
        prepared.touched_days = self._days.touched(prepared.events)
        self.stats.seconds["days"] += time.perf_counter() - started
        self._check_dead_letter_share()
        return prepared

    def _write(self, prepared: PreparedBatch) -> bool:
        """Every step at once (each waits on its store), then the dead letters. False: the
        worker was stopped before everything was written (nothing may be committed)."""
        writes = [
            self._step_threads[step.name].submit(
                self._retry, step.name, lambda step=step: step.write(prepared)
            )
            for step in self.steps
        ]
        written = all([write.result() for write in writes])  # a list: wait for every one
        if written and prepared.dead:
            written = self._retry(
                "dead_letters",
                lambda: self.event_log.append_dead_letters(prepared.dead, timeout=10.0),
            )
        if written and self.config.keep_lags:
            now_ms = self._clock() * 1000
            received = COLUMN["received_ms"]
            self.stats.lags_ms.extend(now_ms - row[received] for row in prepared.events)
        return written

    def _finish(self, pending: tuple[Future[bool], PreparedBatch]) -> None:
        written, prepared = pending
        while True:  # a store away can keep the write retrying for minutes
            try:
                done = written.result(timeout=KEEP_ALIVE_SECONDS)
                break
            except TimeoutError:
                self.reader.keep_alive()  # this thread owns the reader
        if done:
            self._commit(prepared)

    def _commit(self, prepared: PreparedBatch) -> None:
        committed = time.perf_counter()
        try:
            self.reader.commit(prepared.messages)
        except LogUnavailable as exc:
            # Written but not committed: the records come again and every step skips them.
            log.warning("commit failed, the batch will be replayed harmlessly: %s", exc)
        self.stats.seconds["commit"] += time.perf_counter() - committed
        self.stats.last_commit = time.monotonic()
        self.stats.last_commit_unix = now = self._clock()
        if prepared.events:
            received = COLUMN["received_ms"]
            oldest = min([row[received] for row in prepared.events])
            self.stats.batch_lag_ms = max(0.0, now * 1000 - oldest)
        self.stats.batches += 1
        self.stats.records += len(prepared.messages)
        self.stats.events += len(prepared.events)
        self.stats.dead_letters += len(prepared.dead)

    def _retry(self, step: str, write: Callable[[], Any]) -> bool:
        """Run ``write`` until it succeeds (True) or the worker is stopped (False, nothing
        committed: the batch is read again after the restart)."""
        delay = self.config.retry_initial
        while True:
            started = time.perf_counter()
            try:
                write()
            except Exception as exc:  # noqa: BLE001 - any sink failure: keep the batch, retry
                self.stats.retries += 1
                log.warning("%s failed, retrying in %.1fs: %r", step, delay, exc)
            else:
                self.stats.seconds[step] += time.perf_counter() - started
                return True
            if self.stop.wait(delay):
                log.warning("stopping with an unwritten batch: it will be read again")
                return False
            delay = min(delay * 2, self.config.retry_max)

    def _check_dead_letter_share(self) -> None:
        dead = sum(self._recent)
        share = dead / len(self._recent) if self._recent else 0.0
        if dead >= self.config.dead_letter_min and share > self.config.dead_letter_max_share:
            raise DeadLetterStorm(
                f"{dead} of the last {len(self._recent)} records could not be processed "
                f"({share:.0%} > {self.config.dead_letter_max_share:.0%}): stopping; "
                f"nothing of this batch was committed (see {self.event_log.dead_letter_name})"
            )

    def _dead_letter(
        self, message: LogMessage, reason: str, site_id: str | None, payload: bytes
    ) -> DeadLetter:
        source = f"{self.event_log.name}/{message.partition}@{message.position}"
        return DeadLetter.of(
            "pipeline", reason, int(self._clock() * 1000), payload, site_id, source
        )


def _single_event_record(payload: bytes, index: int) -> bytes:
    """The record with only its ``index``-th event, so a replay tool can resend just it."""
    data = json.loads(payload)
    data["events"] = [data["events"][index]]
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
