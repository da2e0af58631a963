"""Runs a report in-process for a page, exactly as the API would for the same parameters:
the catalog's ``run`` after the reports' own ``parse_query`` (never HTTP, never new SQL)."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date

from reports.catalog import REPORTS
from reports.query import parse_query
from reports.source import RollupSource
from reports.table import Report

# Filters a report does not take (the API would refuse them): the page runs it without them
# and says so (``ignored``). RFM segments are people: no country or device.
NOT_TAKEN = {"rfm": ("country", "device")}


def filters_taken(name: str, params: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Of the page's filters, those report ``name`` takes, and the names of those it does not.
    Pure."""
    kind = REPORTS[name]
    dropped = set(NOT_TAKEN.get(name, ()))
    if "segment" not in kind.extra:
        dropped.add("segment")
    kept = {key: value for key, value in params.items() if key not in dropped}
    return kept, sorted(key for key in params if key in dropped)


class ReportRunner:
    """One page's reports: the site, its time zone and today there are fixed; ``params`` are
    the filters, each report call adds its own (a breakdown, a sort, a limit). ``options``:
    the page's own parameters from its address (a funnel's steps, ...), checked by the report;
    ``at_once``: how many reports ``run_all`` runs side by side.
    Raises what ``parse_query`` and the reports raise (``ReportError``, warehouse errors)."""

    def __init__(
        self,
        source: RollupSource,
        site_id: str,
        zone: str,
        today: date,
        params: dict[str, str],
        options: dict[str, str] | None = None,
        at_once: int = 1,
    ) -> None:
        self.source, self.site_id, self.zone, self.today = source, site_id, zone, today
        self.params = params
        self.options = dict(options or {})
        self.at_once = at_once  # reports run side by side (the store's connections)
        self.ignored: dict[str, list[str]] = {}  # report -> the filters it was run without

    def run(self, name: str, **own: str) -> Report:
        kind = REPORTS[name]
        params, dropped = filters_taken(name, self.params)
        if dropped:
            self.ignored[name] = dropped
        query = parse_query(
            {**params, **own},
            self.site_id,
            self.zone,
            self.today,
            kind.breakdowns,
            kind.breakdown_name,
            kind.multiple,
            kind.extra,
        )
        return kind.run(self.source, query)

    def run_all(self, calls: Sequence[tuple[str, dict[str, str]]]) -> list[Report]:
        """Several reports side by side (each waits on the warehouse, not on Python), in the
        order given; the first error is raised."""
        if len(calls) < 2 or self.at_once < 2:
            return [self.run(name, **own) for name, own in calls]
        with ThreadPoolExecutor(max_workers=min(self.at_once, len(calls))) as pool:
            futures = [pool.submit(self.run, name, **own) for name, own in calls]
            return [future.result() for future in futures]
