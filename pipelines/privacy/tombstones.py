"""Tombstones in the state Redis (the pipeline's filter that reads them: ``filter.py``).

Stored as one sorted set, ``privacy:tombstones``: member ``<site>:<digest>``, score the UTC ms
it expires at; and a counter, ``privacy:tombstones:version``, bumped by every change. The
filter keeps the set in memory and reads only the counter, at most once per
``refresh_seconds``: one ``GET`` a second costs the pipeline nothing it could measure, and a
new tombstone is in force within a second (plus the batch being read).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import cast

import redis

from clicktrail.privacy import tombstones as plan
from clicktrail.privacy.person import Person

KEY = "privacy:tombstones"
VERSION_KEY = "privacy:tombstones:version"


class TombstoneStore:
    """The tombstones in the state Redis (noeviction, append-only: a tombstone is never
    evicted). Every call is a round trip or raises redis-py's errors."""

    def __init__(self, client: redis.Redis, clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self._clock = clock

    def bury(self, person: Person, lifetime_ms: int) -> int:
        """Add (or extend) the person's tombstones; returns when they expire (UTC ms)."""
        now = int(self._clock() * 1000)
        until = now + lifetime_ms
        entries = {f"{person.site_id}:{m}": until for m in plan.members(person)}
        pipe = self.client.pipeline(transaction=True)
        pipe.zremrangebyscore(KEY, "-inf", now)  # expired ones go as new ones come
        if entries:
            pipe.zadd(KEY, entries, gt=True)
        pipe.incr(VERSION_KEY)
        pipe.execute()
        return until

    def version(self) -> str:
        value = cast("bytes | None", self.client.get(VERSION_KEY))
        return value.decode() if value else ""

    def load(self) -> plan.Tombstones:
        """Those in force now, with the version they were read at (one transaction)."""
        now = int(self._clock() * 1000)
        pipe = self.client.pipeline(transaction=True)
        pipe.get(VERSION_KEY)
        pipe.zrangebyscore(KEY, now, "+inf")
        version, members = pipe.execute()
        pairs = []
        for member in members:
            site_id, _, entry = member.decode().rpartition(":")
            pairs.append((site_id, entry))
        return plan.Tombstones.of(pairs, version.decode() if version else "")
