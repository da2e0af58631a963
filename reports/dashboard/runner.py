"""Runs a report in-process for a page, exactly as the API would for the same parameters:
the catalog's ``run`` after the reports' own ``parse_query`` (never HTTP, never new SQL)."""

from __future__ import annotations

from datetime import date

from reports.catalog import REPORTS
from reports.query import parse_query
from reports.source import RollupSource
from reports.table import Report


class ReportRunner:
    """One page's reports: the site, its time zone and today there are fixed; ``params`` are
    the filters, each report call adds its own (a breakdown, a sort, a limit). Raises what
    ``parse_query`` and the reports raise (``ReportError``, warehouse errors)."""

    def __init__(
        self, source: RollupSource, site_id: str, zone: str, today: date, params: dict[str, str]
    ) -> None:
        self.source, self.site_id, self.zone, self.today = source, site_id, zone, today
        self.params = params

    def run(self, name: str, **own: str) -> Report:
        kind = REPORTS[name]
        query = parse_query(
            {**self.params, **own},
            self.site_id,
            self.zone,
            self.today,
            kind.breakdowns,
            kind.breakdown_name,
            kind.multiple,
            kind.extra,
        )
        return kind.run(self.source, query)
