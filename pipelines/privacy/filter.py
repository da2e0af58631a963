"""The pipeline's tombstone filter: drops forgotten persons' events before they are written.

Hooked into the worker by ``pipelines.runner`` around its ``RowBuilder``. It keeps the
tombstones in memory and reads only their version counter, at most once per
``refresh_seconds`` (``tombstones.py``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import redis

from clicktrail.contract.record import LogRecord
from clicktrail.privacy import tombstones as plan
from clicktrail.settings import Settings
from pipelines.privacy.tombstones import TombstoneStore
from pipelines.rows import CompactRows
from pipelines.warehouse.columns import COLUMN

log = logging.getLogger("clicktrail.privacy")

_USER = COLUMN["user_id"]


class TombstoneFilter:
    """Wraps the pipeline's ``RowBuilder``: a record of a forgotten visitor id (or replacing
    one) is dropped before it is enriched, an event of a forgotten user id after. A site
    without tombstones costs one dict lookup per record."""

    def __init__(
        self,
        builder: Any,
        store: TombstoneStore,
        refresh_seconds: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._builder = builder
        self._store = store
        self._refresh = refresh_seconds
        self._monotonic = monotonic
        self.tombstones = store.load()  # raises if the state Redis is away at start
        self._checked = monotonic()
        self.dropped_events = 0

    def __getattr__(self, name: str) -> Any:  # the builder's counters and caches
        return getattr(self._builder, name)

    def refresh(self) -> None:
        """Reload when the version moved; keep the last set while the state Redis is away."""
        self._checked = self._monotonic()
        try:
            if self._store.version() != self.tombstones.version:
                self.tombstones = self._store.load()
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            log.warning("tombstones not refreshed (the last %d stay): %s", len(self), exc)

    def __len__(self) -> int:
        return len(self.tombstones)

    def build_compact(self, record: LogRecord) -> Any:
        if self._monotonic() - self._checked >= self._refresh:
            self.refresh()
        found = self.tombstones.site(record.site_id)
        if not found:
            return self._builder.build_compact(record)
        site = record.site_id
        if plan.forgotten(found, site, "v", record.visitor_id) or plan.forgotten(
            found, site, "v", record.replaced_visitor_id
        ):
            self.dropped_events += len(record.events)
            return CompactRows([], [], [])
        built = self._builder.build_compact(record)
        # Each distinct user id of the record hashed once (a record's events mostly share one).
        users = {row[_USER] for row in built.events if row[_USER]}
        gone = {user for user in users if plan.forgotten(found, site, "u", user)}
        if gone:
            kept = [row for row in built.events if row[_USER] not in gone]
            self.dropped_events += len(built.events) - len(kept)
            built.events[:] = kept
            built.links[:] = [
                link
                for link in built.links
                if not (link["link_kind"] == "user" and link["linked_id"] in gone)
            ]
        return built


def tombstone_filter(
    settings: Settings, builder: Any, wait_seconds: float = 60.0
) -> TombstoneFilter:
    """The pipeline runner's hook: ``builder`` behind the tombstones of the state Redis, which
    it waits for up to ``wait_seconds`` (a worker never starts without them)."""
    client = redis.Redis.from_url(
        settings.state_url.url, socket_timeout=2.0, socket_connect_timeout=2.0
    )
    store = TombstoneStore(client)
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return TombstoneFilter(builder, store, settings.privacy_tombstone_refresh_ms / 1000)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            # Without the tombstones a forgotten person's events would be written: wait.
            if time.monotonic() > deadline:
                raise
            log.warning("state redis unavailable, the tombstones are not loaded yet: %s", exc)
            time.sleep(1.0)
