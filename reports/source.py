"""The read layer every report shares: exact rollups for the days that are built, raw
``events FINAL`` for the days that are not (the open day, or a closed day the pipeline has
not built yet), through the warehouse's named queries. A report never knows which it got."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pipelines.warehouse.base import Result
from pipelines.warehouse.reader import EventStore
from pipelines.warehouse.report_queries import NO_DAY, ROLLED_DAYS, SourcedQuery
from pipelines.warehouse.rollups import UTC_DAYS, day_bounds, utc_days_param
from reports.query import Period, ReportQuery

# A report's independent queries run side by side: the engines answer each on a connection
# (or chdb read session) of the warehouse's pool, which bounds how many run at once, and spend
# most of a query's time outside the GIL.
_READS = ThreadPoolExecutor(8, thread_name_prefix="report-read")


@dataclass(frozen=True)
class Read:
    """One query of ``RollupSource.run_many``: ``run``'s arguments."""

    sourced: SourcedQuery
    period: Period | None = None
    window: Window | None = None
    params: Mapping[str, Any] = field(default_factory=dict)


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
        return self.windows(query, period or query.period)[0]

    def windows(self, query: ReportQuery, *periods: Period) -> list[Window]:
        """The window of each period, from one read of the built days they span."""
        start = min(period.start for period in periods)
        end = max(period.end for period in periods)
        result = self.store.run(ROLLED_DAYS, site_id=query.site_id, start=start, end=end)
        rolled = {row[0] for row in result.rows}
        return [plan_window(period, rolled, query.today) for period in periods]

    def run_many(self, query: ReportQuery, reads: Sequence[Read]) -> list[Result]:
        """``run`` of each read, side by side, in their order (the first here, the others on
        the shared threads). The first failure is raised once every read has ended."""

        def run(read: Read) -> Result:
            return self.run(
                read.sourced, query, period=read.period, window=read.window, params=read.params
            )

        others = [_READS.submit(run, read) for read in reads[1:]]
        try:
            first = [run(reads[0])] if reads else []
        finally:
            wait(others)
        return first + [future.result() for future in others]

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
        if values.get("segment") == "" and sourced.unsegmented is not None:
            sourced = sourced.unsegmented
            del values["segment"]
        if not window.raw:
            return self.store.run(sourced.rolled, **values)
        start_ms, end_ms = window.raw_range(query.zone)
        found = self.store.run(UTC_DAYS, site_id=query.site_id, start_ms=start_ms, end_ms=end_ms)
        utc_days = utc_days_param(row[0] for row in found.rows)
        return self.store.run(sourced.raw, **values, **window.raw_params(query.zone, utc_days))
