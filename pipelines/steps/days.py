"""Which site-local calendar days a batch touched. Pure."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

from pipelines.steps.base import SiteDay
from pipelines.warehouse.columns import COLUMN, EventRow, event_rows

# Every UTC offset in use is a whole number of quarter hours, so no quarter hour of UTC
# straddles a local midnight: its local day is computed once.
QUARTER_HOUR_MS = 15 * 60 * 1000
_CACHE_LIMIT = 100_000


class SiteDays:
    """``timezone_of(site_id)`` names the site's IANA time zone (read at each batch, so a
    changed registry takes effect at once)."""

    def __init__(self, timezone_of: Callable[[str], str]) -> None:
        self._timezone_of = timezone_of
        self._days: dict[tuple[str, int], date] = {}
        self._zones: dict[str, ZoneInfo] = {}

    def touched(
        self, rows: Iterable[EventRow | Mapping[str, Any]], time_field: str = "derived_ms"
    ) -> frozenset[SiteDay]:
        """The (site, local day) pairs of the rows' ``time_field`` (compact rows, or rows
        keyed by column name)."""
        site_and_time = itemgetter(COLUMN["site_id"], COLUMN[time_field])
        buckets = {
            (site_id, ms // QUARTER_HOUR_MS) for site_id, ms in map(site_and_time, event_rows(rows))
        }
        zones: dict[str, str] = {}
        touched = set()
        for site_id, bucket in buckets:
            zone = zones.get(site_id)
            if zone is None:
                zone = zones[site_id] = self._timezone_of(site_id)
            touched.add((site_id, self._day(zone, bucket)))
        return frozenset(touched)

    def _day(self, zone: str, bucket: int) -> date:
        key = (zone, bucket)
        day = self._days.get(key)
        if day is None:
            if len(self._days) >= _CACHE_LIMIT:
                self._days.clear()
            info = self._zones.get(zone)
            if info is None:
                info = self._zones[zone] = ZoneInfo(zone)
            moment = datetime.fromtimestamp(bucket * QUARTER_HOUR_MS / 1000, UTC)
            day = self._days[key] = moment.astimezone(info).date()
        return day
