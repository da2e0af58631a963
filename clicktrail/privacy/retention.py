"""Which raw events a site's ``retention_days`` expires. Pure.

A site-local day ``d`` is expired once ``d < today - retention_days`` in the site's time zone:
the same rule as the rollup step's (``pipelines/steps/rollups_plan.py``), which never rebuilds
an expired day, so a day's rollup is final exactly when its raw events may go. An event belongs
to the local day of its ``derived_ms`` (the time reports use), so the delete takes the events
before the first kept day's start in the site's zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class RetentionCut:
    site_id: str
    first_kept_day: date  # site-local
    before_ms: int  # events with derived_ms below this are expired (UTC ms)


def cut(site_id: str, retention_days: int, zone: str, now: float) -> RetentionCut:
    """The cut for a site at ``now`` (UTC seconds)."""
    if retention_days < 1:
        raise ValueError("retention_days must be at least 1")
    info = ZoneInfo(zone)
    today = datetime.fromtimestamp(now, UTC).astimezone(info).date()
    first_kept = today - timedelta(days=retention_days)
    start = datetime.combine(first_kept, clock_time(), tzinfo=info)
    return RetentionCut(site_id, first_kept, int(start.timestamp() * 1000))
