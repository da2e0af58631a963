"""When sessions happen: a daily rhythm in the person's local time, and returns over days."""

from __future__ import annotations

import itertools
import math
import random

from clicktrail.simulator import difficulty

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS

# Relative traffic per local hour (0-23): quiet nights, a lunch bump and an evening peak.
HOURLY_WEIGHTS = (
    1.0,
    0.6,
    0.4,
    0.3,
    0.3,
    0.5,
    1.0,
    2.0,
    3.0,
    4.0,
    4.5,
    5.0,
    5.5,
    5.0,
    4.5,
    4.5,
    5.0,
    5.5,
    6.5,
    7.5,
    8.0,
    7.0,
    5.0,
    2.5,
)
_HOURLY_CUM = tuple(itertools.accumulate(HOURLY_WEIGHTS))


class Calendar:
    """The simulated period: ``days`` UTC days from ``start_ms`` (midnight UTC)."""

    def __init__(self, start_ms: int, days: int) -> None:
        self.start_ms = start_ms
        self.days = days
        self.end_ms = start_ms + days * DAY_MS

    def day_of(self, at_ms: int) -> int:
        return (at_ms - self.start_ms) // DAY_MS

    def local_time_on(self, rng: random.Random, day: int, offset_ms: int) -> int:
        """A moment of local day ``day`` with the daily rhythm, in UTC ms, within the period."""
        hour = rng.choices(range(24), cum_weights=_HOURLY_CUM)[0]
        at = self.start_ms + day * DAY_MS + hour * HOUR_MS + rng.randrange(HOUR_MS) - offset_ms
        # Far from UTC, a local hour can fall outside the period: shift it by a whole day
        # (same local hour) rather than piling visits up on the period's edges.
        if at < self.start_ms:
            at += DAY_MS
        elif at >= self.end_ms:
            at -= DAY_MS
        return at

    def first_session(self, rng: random.Random, rate_per_day: float | None, offset_ms: int) -> int:
        """The first visit in the period. A returning person has been visiting before the
        period began, so the wait for their first visit is exponential (memoryless) rather
        than uniform; otherwise the later days would fill up with returns."""
        if rate_per_day is None:
            day = rng.randrange(self.days)
        else:
            # The exponential wait, conditioned on falling inside the period.
            seen = 1.0 - math.exp(-rate_per_day * self.days)
            day = min(self.days - 1, int(-math.log1p(-rng.random() * seen) / rate_per_day))
        return self.local_time_on(rng, day, offset_ms)

    def next_session(
        self, rng: random.Random, rate_per_day: float, last_end: int, offset_ms: int
    ) -> int | None:
        """The start of the next visit after one that ended at ``last_end``, or None if it
        falls after the period. Gaps are exponential; the hour follows the daily rhythm."""
        target = last_end + rng.expovariate(rate_per_day) * DAY_MS
        day = math.floor((target + offset_ms - self.start_ms) / DAY_MS)
        if day >= self.days:
            return None
        at = self.local_time_on(rng, day, offset_ms)
        at = max(at, last_end + difficulty.MIN_SESSION_GAP_MS + rng.randrange(HOUR_MS))
        return at if at < self.end_ms else None


def return_rate(rng: random.Random) -> float | None:
    """Visits per day of a returning person, or None for a person who comes once."""
    if rng.random() < difficulty.ONE_TIME_SHARE:
        return None
    return rng.lognormvariate(
        math.log(difficulty.RETURN_RATE_PER_DAY), difficulty.RETURN_RATE_SPREAD
    )
