"""The audience report: visitors, sessions, page views, bounce rate and engaged time, per day
and in all, with a breakdown by place, device, browser, OS, referrer or campaign.

Definitions (docs/reports.md): visitors and sessions are distinct over the whole period; a
session's dimensions are those of its first event of the day; the bounce rate is the share
of sessions (per day) with a single page view among those with a page view; engaged time is
per page view its largest cumulative ``engaged_ms``, summed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from pipelines.warehouse.report_queries import AUDIENCE_BREAKDOWN, AUDIENCE_DAYS, AUDIENCE_TOTALS
from pipelines.warehouse.rollups import SESSION_DIMENSIONS
from reports.query import ReportQuery
from reports.source import Read, RollupSource
from reports.table import Report

# public name -> rollup column
BREAKDOWNS: dict[str, str] = {
    "country": "country",
    "region": "region",
    "city": "city",
    "device": "device_type",
    "browser": "browser",
    "os": "os",
    "medium": "ref_medium",
    "source": "ref_source",
    "utm_source": "utm_source",
    "utm_medium": "utm_medium",
    "utm_campaign": "utm_campaign",
}
FIGURES = ("visitors", "sessions", "page_views", "bounce_rate", "engaged_ms")


def figures(measures: Sequence[Any]) -> dict[str, Any]:
    """From the queries' (visitors, sessions, page views, bounces, sessions with a page
    view, engaged ms) to the report's figures."""
    visitors, sessions, page_views, bounces, landed, engaged_ms = measures
    return {
        "visitors": int(visitors),
        "sessions": int(sessions),
        "page_views": int(page_views),
        "bounce_rate": bounces / landed if landed else 0.0,
        "engaged_ms": int(engaged_ms),
    }


def daily(rows: Sequence[Sequence[Any]], days: Sequence[date]) -> list[tuple[Any, ...]]:
    """One row per day of ``days`` (zeros where nothing happened), in day order."""
    found = {row[0]: figures(row[1:]) for row in rows}
    empty = figures((0, 0, 0, 0, 0, 0))
    return [(day, *found.get(day, empty).values()) for day in days]


def audience(source: RollupSource, query: ReportQuery) -> Report:
    window = source.window(query)
    reads = [Read(AUDIENCE_TOTALS, window=window), Read(AUDIENCE_DAYS, window=window)]
    if query.breakdown:
        column = BREAKDOWNS[query.breakdown[0]]
        flags = {f"by_{d}": int(d == column) for d in SESSION_DIMENSIONS}
        params = {**flags, "limit": query.limit}
        reads.append(Read(AUDIENCE_BREAKDOWN, window=window, params=params))
    found = source.run_many(query, reads)
    totals = figures(found[0].rows[0])
    days = [day for day in query.period.dates() if day <= query.today]
    by_day = daily(found[1].rows, days)
    summary = _summary(query, totals, window.raw)
    if not query.breakdown:
        return Report("audience", ("day", *FIGURES), by_day, summary)
    name = query.breakdown[0]
    result = found[2]
    index = SESSION_DIMENSIONS.index(column)
    width = len(SESSION_DIMENSIONS)
    rows = [(row[index], *figures(row[width:]).values()) for row in result.rows]
    days_table = [dict(zip(("day", *FIGURES), row, strict=True)) for row in by_day]
    return Report("audience", (name, *FIGURES), rows, summary, {"days": days_table})


def _summary(query: ReportQuery, totals: dict[str, Any], raw: Sequence[date]) -> dict[str, Any]:
    return {
        "site": query.site_id,
        "time_zone": query.zone,
        "period": {"since": query.period.start, "until": query.period.dates()[-1]},
        "filters": {"country": query.country, "device": query.device, "bots": query.bots},
        "breakdown": list(query.breakdown),
        "totals": totals,
        "raw_days": list(raw),  # read from raw events (not built yet): exact, slower
    }
