"""Erasure across every store: ``clicktrail forget`` and the collector's privacy routes.

In order, each step's count going into the receipt:

1. resolve the person in the warehouse (every linked visitor id and user id), or, for a
   self-service request (``follow_links=False``), take the subject's own visitor id alone;
2. bury their tombstones in the state Redis, so the pipeline drops their events still in the
   event log; wait ``settle_seconds`` so a batch the pipeline was already writing lands before
   the deletes (a second ``forget`` removes what a longer race left: erasure is idempotent);
3. from their events, still there, compute their co-view pairs and their site-local days;
4. delete their rows from ClickHouse: events, identity links, and every other table with a
   ``visitor_id`` or ``user_id`` column (the rollups, every generation); rebuild the closed days
   they touched within the site's retention through ``RollupBuilder`` (the reports then add up
   for everyone else exactly as before);
5. delete their profile keys, subtract their co-view pairs, delete their frequency caps;
6. search and scrub the dead-letter log.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import redis

from clicktrail.privacy.person import Person, Subject, start
from clicktrail.privacy.receipt import Receipt
from clicktrail.privacy.retention import cut
from clicktrail.sites.model import Site
from pipelines.privacy import counters, coviews, profiles
from pipelines.privacy.deadletters import KafkaDeadLetters, RedisDeadLetters
from pipelines.privacy.tombstones import TombstoneStore
from pipelines.privacy.warehouse import PersonWarehouse
from pipelines.profiles.config import ProfileConfig
from pipelines.warehouse.base import Warehouse
from pipelines.warehouse.rollups import RollupBuilder, local_today


@dataclass
class Stores:
    """What an erasure or an export reaches, as plain clients."""

    warehouse: Warehouse
    profiles: redis.Redis  # the profile Redis
    state: redis.Redis  # the state Redis: tombstones, caps
    dead_letters: RedisDeadLetters | KafkaDeadLetters
    site_of: Callable[[str], Site | None]
    profile_config: ProfileConfig
    tombstone_lifetime_ms: int


class Eraser:
    def __init__(
        self,
        stores: Stores,
        clock: Callable[[], float] = time.time,
        settle_seconds: float = 0.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.stores = stores
        self._clock = clock
        self._settle = settle_seconds
        self._sleep = sleep
        self.person_warehouse = PersonWarehouse(stores.warehouse)

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def resolve(self, subject: Subject) -> Person:
        return self.person_warehouse.resolve(subject)

    def forget(self, subject: Subject, requested_by: str, follow_links: bool = True) -> Receipt:
        """Erase the person of ``subject`` from every store. ``follow_links=False``: only the
        subject's own id and its rows (self-service, which proves only that the request holds
        one browser's cookie: another device, a cross-domain id or a user id linked to it may
        be someone else's, and only an admin erasure reaches them)."""
        stores = self.stores
        requested = self._now_ms()
        person = self.resolve(subject) if follow_links else start(subject)
        receipt = Receipt(person, requested, requested_by)
        if not follow_links:
            receipt.keep(
                f"only the {subject.kind} id {subject.value} was erased: ids linked to it (other"
                " devices, cross-domain ids, user ids) are not, an admin erasure reaches them"
            )
        if person.shared_visitor_ids:
            receipt.keep(
                "shared devices: visitor id(s) "
                + ", ".join(sorted(person.shared_visitor_ids))
                + " identified as more than one user; their events are erased, the other"
                " users they were seen with are not taken for this person"
            )

        tombstones = TombstoneStore(stores.state, self._clock)
        receipt.tombstone_until_ms = tombstones.bury(person, stores.tombstone_lifetime_ms)
        receipt.add("redis-state:tombstones", "ids", len(person.visitor_ids | person.user_ids))
        if self._settle > 0:
            self._sleep(self._settle)

        site = stores.site_of(person.site_id) or Site(person.site_id)
        pw = self.person_warehouse
        pairs = coviews.person_pairs(pw.product_views(person), stores.profile_config)
        days = pw.local_days(person, site.timezone)

        tables = pw.person_tables()
        for table, columns in tables.items():
            found = pw.count(table, person, columns)
            if found:
                pw.delete_person(table, person, columns)
            receipt.add(f"clickhouse:{table}", "rows", found)
        rebuilt = self._rebuild(site, days, [t for t in tables if t.startswith("rollup_")])
        receipt.add(
            "clickhouse:rollups",
            "site-local days rebuilt",
            len(rebuilt),
            ", ".join(day.isoformat() for day in rebuilt),
        )

        erased = profiles.erase_profiles(stores.profiles, person)
        receipt.add("redis-profile:profiles", "keys (profiles, sessions, event ids)", erased.keys)
        for note in erased.kept:
            receipt.keep(note)
        subtracted = profiles.subtract_coviews(stores.profiles, person.site_id, pairs)
        receipt.add(
            "redis-profile:coviews",
            "co-view counts",
            subtracted,
            "recomputed from the person's events in ClickHouse; pairs from events past the"
            " warehouse's retention cannot be",
        )
        receipt.add("redis-state:caps", "keys", counters.erase_caps(stores.state, person))

        scrub = stores.dead_letters.scrub(person)
        receipt.add("event-log:dead-letters", "letters", scrub.removed)
        if scrub.note:
            receipt.keep(scrub.note)
        receipt.keep(
            "event log: the person's records not yet expired stay in the log (it cannot delete"
            " single records) and are dropped by the pipeline through the tombstone"
        )
        return receipt.finish(self._now_ms())

    def _rebuild(self, site: Site, days: list[date], rollups: list[str]) -> list[date]:
        """Rebuild the closed days within retention (an open day is read raw; an expired one
        is never rebuilt, its rollup rows of the person were deleted above)."""
        now = self._clock()
        today = local_today(site.timezone, now)
        first_kept = cut(site.site_id, site.retention_days, site.timezone, now).first_kept_day
        chosen = [day for day in days if first_kept <= day < today]
        RollupBuilder(self.stores.warehouse, self._clock).build_many(
            site.site_id, chosen, site.timezone
        )
        if chosen:
            for table in rollups:  # the builds' deletes of older generations
                self.person_warehouse.wait_for_mutations(table)
        return chosen
