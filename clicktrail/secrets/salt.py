"""The cookieless daily salt: random, replaced every day at a set hour (UTC), never derived
from the date, and deleted once it is no longer needed.

Each salt lives in the state Redis under the start of its period, created with ``SET NX`` so
every collector process and machine agrees on one value, and expires ``grace`` after its period
ends: the previous salt survives the rotation just long enough to match sessions that span it,
then Redis deletes it. Nothing can recompute a deleted salt, so yesterday's cookieless ids can
no longer be tied to an address.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import redis

KEY_PREFIX = "ct:salt:"
DAY = timedelta(days=1)


def salt_period(now: datetime, rotation_hour: int) -> tuple[datetime, datetime]:
    """The ``[start, end)`` of the salt period holding ``now`` (an aware datetime)."""
    now = now.astimezone(UTC)
    start = now.replace(hour=rotation_hour, minute=0, second=0, microsecond=0)
    if start > now:
        start -= DAY
    return start, start + DAY


class DailySalts:
    """Salts shared through Redis (``CLICKTRAIL_STATE_URL``: must not evict)."""

    def __init__(
        self, client: redis.Redis, rotation_hour: int = 0, grace: timedelta = timedelta(minutes=30)
    ) -> None:
        self._redis = client
        self._rotation_hour = rotation_hour
        self._grace = grace
        self._cached: tuple[datetime, bytes] | None = None

    def ping(self) -> bool:
        """Does the state Redis answer now? Never raises (a readiness probe)."""
        try:
            return bool(self._redis.ping())
        except redis.RedisError:
            return False

    def current(self, now: datetime) -> bytes:
        """The salt of the period holding ``now``, created if this is its first use."""
        start, end = salt_period(now, self._rotation_hour)
        if self._cached and self._cached[0] == start:
            return self._cached[1]
        key = KEY_PREFIX + start.strftime("%Y%m%dT%H")
        expires = int((end + self._grace).timestamp())
        self._redis.set(key, os.urandom(32), nx=True, exat=expires)
        salt = self._redis.get(key)
        if not isinstance(
            salt, bytes
        ):  # pragma: no cover - only if the key expired between the two calls
            raise RuntimeError("the daily salt expired while it was being read")
        self._cached = (start, salt)
        return salt

    def matching(self, now: datetime) -> list[bytes]:
        """Salts an id made now may have been made with: the current one, and the previous one
        while its grace lasts."""
        salts = [self.current(now)]
        start, _ = salt_period(now, self._rotation_hour)
        if now.astimezone(UTC) < start + self._grace:
            previous = self._redis.get(KEY_PREFIX + (start - DAY).strftime("%Y%m%dT%H"))
            if isinstance(previous, bytes):
                salts.append(previous)
        return salts
