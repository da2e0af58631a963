"""The retention report: weekly cohorts by first visit, and acquire -> enhance -> retain per
week (docs/reports.md, "retention").

Weeks are the site's calendar weeks, Monday first; the period is widened to start on a
Monday. A visitor's **cohort** is the week of its first visit ever (its first day with a
visit, over the site's whole history, not only the period). ``view=cohorts`` (the default)
gives a row per cohort week of the period: its ``visitors`` (exact), and ``week_1`` ...
``week_N``, the share of them who visited again 1 ... N weeks later (empty for weeks not
reached yet). ``view=lifecycle`` gives a row per week: ``active`` visitors, ``acquired``
(first visit that week), ``enhanced`` (viewed a product or carted that week), ``retained``
(visited that week having bought before it: returning customers) and ``buyers``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from pipelines.warehouse.report_queries_visitors import LIFECYCLE_WEEKS, RETENTION_COHORTS
from reports.audience import _summary
from reports.query import Period, ReportError, ReportQuery
from reports.source import RollupSource, Window
from reports.table import Report

VIEWS = ("cohorts", "lifecycle")
LIFECYCLE = ("active", "acquired", "enhanced", "retained", "buyers")
_EPOCH = date(1970, 1, 2)


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def weeks_of(period: Period) -> list[date]:
    """The Mondays of the weeks the period touches."""
    first, last = monday(period.start), monday(period.dates()[-1])
    return [first + timedelta(weeks=n) for n in range((last - first).days // 7 + 1)]


def cohort_rows(
    counts: Sequence[Sequence[Any]], weeks: Sequence[date]
) -> tuple[list[tuple[Any, ...]], list[dict[str, Any]]]:
    """Pure: from (cohort, week, visitors) to a row per cohort week (size and the share
    returning 1..N weeks later, None where the week is not reached or the cohort is empty),
    and the same as counts."""
    found = {(row[0], row[1]): int(row[2]) for row in counts}
    later = len(weeks) - 1
    rows, returning = [], []
    for cohort in weeks:
        size = found.get((cohort, cohort), 0)
        shares: list[float | None] = []
        numbers: dict[str, Any] = {"cohort": cohort, "visitors": size}
        for k in range(1, later + 1):
            week = cohort + timedelta(weeks=k)
            reached = week <= weeks[-1]
            back = found.get((cohort, week), 0)
            shares.append(back / size if size and reached else None)
            numbers[f"week_{k}"] = back if reached else None
        rows.append((cohort, size, *shares))
        returning.append(numbers)
    return rows, returning


def history_window(source: RollupSource, query: ReportQuery, first: date) -> tuple[Period, Window]:
    """The days a first visit is looked for: every built day up to the period's end (from the
    rollups), and the period's days not built yet (from raw events). An unbuilt day before
    the period is taken as empty: the pipeline builds every closed day with events."""
    end = query.period.end
    rolled = source.window(query, Period(_EPOCH, end)).rolled
    start = min([first, *rolled])
    raw = tuple(
        day for day in Period(first, end).dates() if day not in rolled and day <= query.today
    )
    return Period(start, end), Window(frozenset(rolled), raw)


def retention(source: RollupSource, query: ReportQuery) -> Report:
    view = query.option("view", "cohorts")
    if view not in VIEWS:
        raise ReportError(f"view must be one of {', '.join(VIEWS)}, got {view!r}")
    weeks = weeks_of(query.period)
    history, window = history_window(source, query, weeks[0])
    params = {"first": weeks[0]}
    summary = _summary(query, {}, window.raw)
    summary["weeks"] = {"first": weeks[0], "count": len(weeks)}
    summary["view"] = view
    if view == "lifecycle":
        result = source.run(LIFECYCLE_WEEKS, query, period=history, window=window, params=params)
        found = {row[0]: tuple(int(value) for value in row[1:]) for row in result.rows}
        rows = [(week, *found.get(week, (0,) * len(LIFECYCLE))) for week in weeks]
        summary["totals"] = {"acquired": sum(row[2] for row in rows)}
        return Report("retention", ("week", *LIFECYCLE), rows, summary)
    result = source.run(RETENTION_COHORTS, query, period=history, window=window, params=params)
    rows, returning = cohort_rows(result.rows, weeks)
    summary["totals"] = {"visitors": sum(row[1] for row in rows)}
    columns = ("cohort", "visitors", *(f"week_{k}" for k in range(1, len(weeks))))
    return Report("retention", columns, rows, summary, {"returning": returning})
