"""Each site's ``retention_days`` enforced on raw events, on both engines; the rollups stay.

A per-site period cannot be one table's TTL (and 18.16 has no table TTL): the job deletes, per
site, the events of the site-local days that expired (``clicktrail.privacy.retention``), and
the identity links made by those events' times, with each engine's delete
(``PersonWarehouse.delete``). It runs in the pipeline worker as the ``retention`` step, once
per ``CLICKTRAIL_RETENTION_INTERVAL_MINUTES`` (``RetentionSchedule``, checked by the step's
``poll`` on every turn of the worker's loop, records or not, so an idle deployment purges on
time too; in the background: the worker never waits for the mutation), and on demand as
``clicktrail retention run`` (which waits until the rows are gone). It also trims the Redis
Streams dead-letter log to the event log's retention.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import redis

from clicktrail.privacy.retention import RetentionCut, cut
from clicktrail.settings import Settings
from clicktrail.sites.model import Site
from pipelines.privacy.deadletters import KafkaDeadLetters, RedisDeadLetters
from pipelines.privacy.warehouse import PersonWarehouse
from pipelines.steps.base import PreparedBatch, WriteStep
from pipelines.warehouse.base import Warehouse
from pipelines.warehouse.sql import quote_identifier

log = logging.getLogger("clicktrail.privacy.retention")


@dataclass(frozen=True)
class SiteRetention:
    cut: RetentionCut
    events: int  # rows deleted
    identity_links: int

    def to_json(self) -> dict[str, Any]:
        return {
            "site_id": self.cut.site_id,
            "first_kept_day": self.cut.first_kept_day.isoformat(),
            "events_deleted": self.events,
            "identity_links_deleted": self.identity_links,
        }


class RetentionJob:
    def __init__(
        self,
        warehouse: Warehouse,
        sites: Callable[[], Mapping[str, Site]],
        dead_letters: RedisDeadLetters | KafkaDeadLetters | None = None,
        dead_letter_retention_ms: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.warehouse = warehouse
        self._sites = sites
        self._dead_letters = dead_letters
        self._dead_letter_retention_ms = dead_letter_retention_ms
        self._clock = clock
        self._pw = PersonWarehouse(warehouse)

    def site_ids(self) -> list[str]:
        """Sites of the registry, and sites with events the registry no longer names (they
        keep the default retention)."""
        db = quote_identifier(self.warehouse.database)
        stored = {
            row[0] for row in self.warehouse.query(f"SELECT DISTINCT site_id FROM {db}.events").rows
        }
        return sorted(stored | set(self._sites()))

    def run(self, wait: bool = True) -> list[SiteRetention]:
        now = self._clock()
        sites = self._sites()
        done = []
        for site_id in self.site_ids():
            site = sites.get(site_id) or Site(site_id)
            done.append(self.run_site(cut(site_id, site.retention_days, site.timezone, now), wait))
        if self._dead_letters is not None and self._dead_letter_retention_ms:
            trimmed = self._dead_letters.trim(self._dead_letter_retention_ms, self._clock)
            if trimmed:
                log.info("dead letters older than the event log's retention trimmed: %d", trimmed)
        return done

    def run_site(self, site_cut: RetentionCut, wait: bool = True) -> SiteRetention:
        params = {"site": site_cut.site_id, "before": site_cut.before_ms}
        counts = []
        for table, where in (
            ("events", "site_id = %(site)s AND derived_ms < %(before)s"),
            ("identity_links", "site_id = %(site)s AND created_ms < %(before)s"),
        ):
            db = quote_identifier(self.warehouse.database)
            found = int(
                self.warehouse.query(
                    f"SELECT count() FROM {db}.{table} WHERE {where}", params
                ).scalar()
                or 0
            )
            if found:
                self._pw.delete(table, where, params, wait=wait)
            counts.append(found)
        result = SiteRetention(site_cut, counts[0], counts[1])
        if result.events or result.identity_links:
            log.info("retention: %s", result.to_json())
        return result


class RetentionSchedule:
    """When the job last ran, kept in the state Redis per warehouse, so a worker's restarts and
    several workers keep one schedule: due once ``interval_seconds`` have passed since the last
    run, the first time one interval after the warehouse's first worker started (a fresh
    warehouse, e.g. a test's, is never trimmed behind its writer's back; ``clicktrail retention
    run`` trims at once). Two workers that find it due at the same moment both run it: the
    deletes are idempotent."""

    def __init__(
        self,
        client: redis.Redis,
        warehouse_name: str,
        interval_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        digest = hashlib.blake2b(warehouse_name.encode(), digest_size=8).hexdigest()
        self.key = f"privacy:retention:last:{digest}"
        self.interval = interval_seconds
        # Nothing in the state Redis grows without bound: a schedule nobody kept for two
        # intervals (a test's warehouse, a stopped deployment) goes, and starts over.
        self._ttl = int(2 * interval_seconds) + 60
        self._clock = clock

    def due(self) -> bool:
        now = self._clock()
        last = self.client.get(self.key)
        if last is None:
            self.client.set(self.key, repr(now), nx=True, ex=self._ttl)
            return False
        if now - float(last) < self.interval:
            return False
        self.client.set(self.key, repr(now), ex=self._ttl)
        return True


class RetentionStep(WriteStep):
    """The job inside the pipeline worker, when its schedule says so, in the background (the
    mutations are not waited for). It runs from ``poll``, which the worker calls whether or
    not records arrive (a deployment without traffic still purges), never from a batch's
    write: retention never holds a batch. A failure is logged and tried again after the next
    interval."""

    name = "retention"

    def __init__(self, job: RetentionJob, schedule: RetentionSchedule) -> None:
        self.job = job
        self.schedule = schedule

    def write(self, batch: PreparedBatch) -> None:
        """Nothing: the batch is not retention's (``poll`` runs it)."""

    def poll(self) -> None:
        try:
            if self.schedule.due():
                self.job.run(wait=False)
        except Exception as exc:  # noqa: BLE001 - retention must never stop ingest
            log.warning(
                "retention run failed, trying again in %.0f s: %r", self.schedule.interval, exc
            )


def retention_step(settings: Settings, warehouse: Warehouse) -> RetentionStep:
    """The ``retention`` step of ``pipelines.runner.STEPS``, from the settings."""
    from clicktrail.sites.registry import SiteRegistry
    from pipelines.privacy.factory import dead_letter_log, redis_client

    registry = SiteRegistry(settings.sites_file, settings.sites_reload_seconds)
    state = redis_client(settings.state_url.url)
    job = RetentionJob(
        warehouse,
        registry.all,
        dead_letter_log(settings, state),
        settings.event_log_retention_hours * 3_600_000,
    )
    schedule = RetentionSchedule(
        state, repr(settings.clickhouse_url), settings.retention_interval_minutes * 60
    )
    return RetentionStep(job, schedule)
