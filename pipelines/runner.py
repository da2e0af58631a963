"""Wiring a pipeline worker from the settings: the I/O side of ``clicktrail pipeline``."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from clicktrail.settings import ChdbTarget, Settings
from clicktrail.sites.registry import SiteRegistry
from pipelines.enrich import DeviceDetector, GeoLocator
from pipelines.eventlog.factory import open_event_log
from pipelines.privacy.filter import tombstone_filter
from pipelines.privacy.retention import retention_step
from pipelines.profiles.config import ProfileConfig
from pipelines.profiles.sink import ProfileSink
from pipelines.rows import RowBuilder
from pipelines.steps.base import WriteStep
from pipelines.steps.profiles import ProfileStep
from pipelines.steps.rollups import RollupStep
from pipelines.steps.warehouse import WarehouseStep
from pipelines.warehouse.base import Warehouse, WarehouseUnavailable
from pipelines.warehouse.embedded import ChdbWarehouse, FolderLocked
from pipelines.warehouse.factory import open_warehouse
from pipelines.warehouse.host import ChdbHost
from pipelines.warehouse.migrate import migrate
from pipelines.warehouse.rollups import RollupBuilder
from pipelines.warehouse.sink import WarehouseSink
from pipelines.worker import PipelineWorker, WorkerConfig

log = logging.getLogger("clicktrail.pipeline")

# The worker is not bound by the collector's tens of milliseconds: it waits for the log longer.
WORKER_LOG_TIMEOUT = 10.0


@contextmanager
def owned_warehouse(settings: Settings, wait_seconds: float = 60.0) -> Iterator[Warehouse]:
    """The warehouse as the pipeline worker holds it. On chdb this process owns the folder
    (waiting while a short CLI command holds it) and serves it to other processes."""
    target = settings.clickhouse_url
    if not isinstance(target, ChdbTarget):
        with open_warehouse(target) as warehouse:
            yield warehouse
        return
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            warehouse = ChdbWarehouse(
                target.path, target.database, read_sessions=settings.chdb_read_sessions
            )
            break
        except FolderLocked:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    host = ChdbHost(warehouse)
    try:
        yield warehouse
    finally:
        host.close()
        warehouse.close()


def open_profile_writer(settings: Settings) -> ProfileSink:
    """The profile sink, with a writer's timeouts (seconds) and no resends of its own."""
    return ProfileSink.from_url(settings.profile_url.url, ProfileConfig.from_settings(settings))


# The writer steps, by name, in the order they are listed (``--sinks``); each is built from the
# settings and the warehouse this worker holds. A new store: one module in pipelines/steps/ and
# one line here.
STEPS: dict[str, Callable[[Settings, Warehouse], WriteStep]] = {
    "warehouse": lambda settings, warehouse: WarehouseStep(WarehouseSink(warehouse)),
    "profiles": lambda settings, warehouse: ProfileStep(open_profile_writer(settings)),
    "rollups": lambda settings, warehouse: RollupStep(
        RollupBuilder(warehouse),
        SiteRegistry(settings.sites_file, settings.sites_reload_seconds).get,
    ),
    # each site's retention_days on raw events, at most once per retention interval
    "retention": retention_step,
}


def build_steps(
    settings: Settings, warehouse: Warehouse, names: Sequence[str] | None = None
) -> list[WriteStep]:
    """The steps named (default: all of ``STEPS``), in ``STEPS`` order."""
    chosen = list(STEPS) if names is None else list(names)
    unknown = [name for name in chosen if name not in STEPS]
    if unknown:
        raise ValueError(f"unknown step {', '.join(unknown)}; known: {', '.join(STEPS)}")
    return [STEPS[name](settings, warehouse) for name in STEPS if name in chosen]


def run_worker(
    settings: Settings,
    stop: threading.Event,
    consumer: str | None = None,
    idle_exit_seconds: float | None = None,
    steps: Sequence[str] | None = None,
    config: WorkerConfig | None = None,
    keep_lags: bool = False,
    on_start: Callable[[PipelineWorker], None] | None = None,
) -> PipelineWorker:
    """Run one worker until ``stop`` is set; returns it (with its stats) after a clean stop.
    ``steps``: the writer steps to run, by name (default: every one of ``STEPS``)."""
    consumer = consumer or f"{socket.gethostname()}-{os.getpid()}"
    event_log = open_event_log(settings, ack_timeout=WORKER_LOG_TIMEOUT)
    event_log.ensure_created()
    geo = GeoLocator(settings.geoip_db, check_seconds=settings.geoip_check_seconds)
    registry = SiteRegistry(settings.sites_file, settings.sites_reload_seconds)
    try:
        with owned_warehouse(settings) as warehouse:
            _migrate_with_retry(warehouse, stop)
            writers = build_steps(settings, warehouse, steps)
            reader = event_log.reader(settings.pipeline_group, consumer)
            worker = PipelineWorker(
                event_log,
                reader,
                # forgotten persons' events are dropped (docs/privacy.md)
                tombstone_filter(settings, RowBuilder(geo, DeviceDetector(), registry.get)),
                writers,
                config
                or WorkerConfig(
                    batch_events=settings.pipeline_batch_events,
                    batch_seconds=settings.pipeline_batch_ms / 1000,
                    dead_letter_max_share=settings.dead_letter_max_share,
                    keep_lags=keep_lags,
                ),
                stop,
                timezone_of=lambda site_id: _timezone(registry, site_id),
            )
            log.info(
                "pipeline worker %s reading %s, writing %s",
                consumer,
                event_log.name,
                ", ".join(step.name for step in writers),
            )
            if on_start is not None:
                on_start(worker)
            try:
                worker.run(idle_exit_seconds)
            finally:
                reader.close()
                for step in writers:
                    step.close()
            return worker
    finally:
        geo.close()
        event_log.close()


def _timezone(registry: SiteRegistry, site_id: str) -> str:
    site = registry.get(site_id)
    return site.timezone if site is not None else "UTC"


def _migrate_with_retry(warehouse: Warehouse, stop: threading.Event) -> None:
    delay = 0.5
    while True:
        try:
            report = migrate(warehouse)
        except WarehouseUnavailable as exc:
            log.warning("warehouse unavailable, retrying migrations: %s", exc)
            if stop.wait(delay):
                raise
            delay = min(delay * 2, 5.0)
            continue
        if report.applied:
            log.info("warehouse schema %d -> %d", report.before, report.after)
        return
