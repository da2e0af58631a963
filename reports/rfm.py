"""The RFM report: customers by recency, frequency and monetary score (quintiles, 1 to 5) and
named segment, as of a day (docs/reports.md, "rfm"; pipelines/warehouse/rfm_scores.py).

As of ``until`` (default today): the membership of the latest built day on or before it. A
row per segment (``segment=`` keeps one): ``customers``, their ``share``, ``visitors`` (their
visitor ids), ``orders`` and ``revenue`` (minor units) over the RFM window, the mean
``recency_days`` and mean scores. ``members=1`` gives a row per customer instead (user id,
visitor ids, scores, top categories): the segment export without offers.
"""

from __future__ import annotations

from typing import Any

from pipelines.warehouse.rfm_scores import SEGMENTS
from pipelines.warehouse.rollups_visitors import RFM_WINDOW_DAYS
from pipelines.warehouse.segments import SEGMENT_SIZES, Member, segment_day, segment_members
from reports.query import ReportError, ReportQuery
from reports.source import RollupSource
from reports.table import Report

FIGURES = (
    "segment",
    "customers",
    "share",
    "visitors",
    "orders",
    "revenue",
    "recency_days",
    "r",
    "f",
    "m",
)
MEMBER_COLUMNS = (
    "user_id",
    "visitor_ids",
    "segment",
    "r",
    "f",
    "m",
    "recency_days",
    "orders",
    "revenue",
    "top_categories",
)


def segment_rows(found: list[tuple[Any, ...]], only: str = "") -> list[tuple[Any, ...]]:
    """Pure: a row per segment (every one, in the grid's order; zeros where empty) from the
    query's (segment, customers, visitors, orders, revenue, recency, r, f, m sums)."""
    by_name = {row[0]: [int(value) for value in row[1:]] for row in found}
    everyone = sum(values[0] for values in by_name.values())
    rows = []
    for name in SEGMENTS:
        if only and name != only:
            continue
        customers, visitors, orders, revenue, recency, r, f, m = by_name.get(name, [0] * 8)

        def mean(total: int, customers: int = customers) -> float | None:
            return total / customers if customers else None

        rows.append(
            (
                name,
                customers,
                customers / everyone if everyone else None,
                visitors,
                orders,
                revenue,
                mean(recency),
                mean(r),
                mean(f),
                mean(m),
            )
        )
    return rows


def member_row(member: Member) -> tuple[Any, ...]:
    return (
        member.user_id,
        " ".join(member.visitor_ids),
        member.segment,
        member.r,
        member.f,
        member.m,
        member.recency_days,
        member.orders,
        member.revenue,
        " ".join(member.top_categories),
    )


def rfm(source: RollupSource, query: ReportQuery) -> Report:
    if query.country or query.device or query.bots:
        raise ReportError(
            "rfm takes no country, device or bots: customers are people, bots left out"
        )
    members = query.option("members", "0")
    if members not in ("0", "1"):
        raise ReportError(f"members must be 0 (segments) or 1 (customers), got {members!r}")
    until = query.period.dates()[-1]
    day = segment_day(source.store, query.site_id, until)
    summary: dict[str, Any] = {
        "site": query.site_id,
        "time_zone": query.zone,
        "period": {"since": query.period.start, "until": until},
        "filters": {"segment": query.segment},
        "as_of": day,  # the latest built day on or before until (None: nothing built)
        "window_days": RFM_WINDOW_DAYS,
    }
    if members == "1":
        found = segment_members(source.store, query.site_id, day, query.segment) if day else []
        summary["totals"] = {"customers": len(found)}
        rows = [member_row(member) for member in found[: query.limit]]
        return Report("rfm", MEMBER_COLUMNS, rows, summary)
    sizes = source.store.run(SEGMENT_SIZES, site_id=query.site_id, day=day).rows if day else []
    rows = segment_rows(sizes, query.segment)
    summary["totals"] = {
        "customers": sum(int(row[1]) for row in sizes),
        "revenue": sum(int(row[4]) for row in sizes),
    }
    return Report("rfm", FIGURES, rows, summary)
