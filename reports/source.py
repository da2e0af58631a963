"""The read layer every report shares: exact rollups for the days that are built, raw
``events FINAL`` for the days that are not (the open day, or a closed day the pipeline has
not built yet), through the warehouse's named queries. A report never knows which it got."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from pipelines.warehouse.base import Result
from pipelines.warehouse.reader import EventStore
from pipelines.warehouse.report_queries import NO_DAY, ROLLED_DAYS, SourcedQuery
from pipelines.warehouse.rollups import UTC_DAYS, day_bounds, utc_days_param
from reports.query import Period, ReportQuery


@dataclass(frozen=True)
class Window:
    """Which days of a period come from where."""

    rolled: frozenset[date]  # built: read from the rollups
    raw: tuple[date, ...]  # not built and not in the future: read from raw events

    def raw_range(self, zone: str) -> tuple[int, int]:
        """UTC milliseconds from the first raw day's start to the last one's end."""
        return day_bounds(self.raw[0], zone)[0], day_bounds(self.raw[-1], zone)[1]

    def raw_params(self, zone: str, utc_days: tuple[str, ...]) -> dict[str, Any]:
        start_ms, end_ms = self.raw_range(zone)
        rolled = [NO_DAY, *sorted(day.isoformat() for day in self.rolled)]
        return {
            "tz": zone,
            "start_ms": start_ms,
            "end_ms": end_ms,
            "rolled": rolled,
            "utc_days": utc_days,
        }


def plan_window(period: Period, rolled: set[date], today: date) -> Window:
    """Pure: built days from the rollups; the rest up to today from raw events."""
    raw = tuple(day for day in period.dates() if day not in rolled and day <= today)
    return Window(frozenset(day for day in rolled if period.start <= day < period.end), raw)


class RollupSource:
    """Runs a report's ``SourcedQuery`` for a ``ReportQuery``. Raises what
    ``EventStore.run`` raises."""

    def __init__(self, store: EventStore) -> None:
        self.store = store

    def window(self, query: ReportQuery, period: Period | None = None) -> Window:
        period = period or query.period
        result = self.store.run(
            ROLLED_DAYS, site_id=query.site_id, start=period.start, end=period.end
        )
        return plan_window(period, {row[0] for row in result.rows}, query.today)

    def run(
        self,
        sourced: SourcedQuery,
        query: ReportQuery,
        *,
        period: Period | None = None,
        window: Window | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Result:
        period = period or query.period
        window = window or self.window(query, period)
        values = {
            "site_id": query.site_id,
            "start": period.start,
            "end": period.end,
            **query.filters(),
            **(params or {}),
        }
        if not window.raw:
            return self.store.run(sourced.rolled, **values)
        start_ms, end_ms = window.raw_range(query.zone)
        found = self.store.run(UTC_DAYS, site_id=query.site_id, start_ms=start_ms, end_ms=end_ms)
        utc_days = utc_days_param(row[0] for row in found.rows)
        return self.store.run(sourced.raw, **values, **window.raw_params(query.zone, utc_days))
