"""The interests report: which product categories the visitors of each place, device and
source look at, how much, and how that differs from everyone and from the previous period.

Per group (the chosen breakdown: country, region, city, device, medium, source) and top
category: ``visitors`` who viewed a product of the category; ``share`` of the group's
visitors; ``product_views``; ``engaged_ms`` on those product pages; ``lift``, the share over
the category's share among all visitors of the period (same filters); ``previous_share`` and
``trend`` (share / previous share - 1) against the period of the same length just before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pipelines.warehouse.report_queries import INTEREST_GROUP_VISITORS, INTEREST_ROWS
from pipelines.warehouse.rollups import INTEREST_DIMENSIONS
from reports.audience import _summary
from reports.query import ReportQuery
from reports.source import Read, RollupSource
from reports.table import Report

BREAKDOWNS: dict[str, str] = {
    "country": "country",
    "region": "region",
    "city": "city",
    "device": "device_type",
    "medium": "ref_medium",
    "source": "ref_source",
}
FIGURES = (
    "category",
    "visitors",
    "share",
    "product_views",
    "engaged_ms",
    "lift",
    "previous_share",
    "trend",
)
_WIDTH = len(INTEREST_DIMENSIONS)


def interest_rows(
    chosen: Sequence[str],
    rows: Sequence[Sequence[Any]],
    groups: Sequence[Sequence[Any]],
    everyone: Sequence[Sequence[Any]],
    everyone_visitors: int,
    previous_rows: Sequence[Sequence[Any]],
    previous_groups: Sequence[Sequence[Any]],
) -> list[tuple[Any, ...]]:
    """Pure: the report's rows from the queries' rows (each: the six group columns, then
    category and measures). ``chosen``: the rollup columns of the breakdown, in order."""
    picks = [INTEREST_DIMENSIONS.index(column) for column in chosen]

    def group(row: Sequence[Any]) -> tuple[Any, ...]:
        return tuple(row[i] for i in picks)

    group_visitors = {group(row): row[_WIDTH] for row in groups}
    previous_visitors = {group(row): row[_WIDTH] for row in previous_groups}
    base = {row[_WIDTH]: row[_WIDTH + 1] / everyone_visitors for row in everyone}
    previous = {
        (*group(row), row[_WIDTH]): row[_WIDTH + 1] / previous_visitors[group(row)]
        for row in previous_rows
        if previous_visitors.get(group(row))
    }
    out = []
    for row in rows:
        key = group(row)
        category, visitors, views, engaged = row[_WIDTH : _WIDTH + 4]
        share = visitors / group_visitors[key]
        before = previous.get((*key, category))
        out.append(
            (
                *key,
                category,
                int(visitors),
                share,
                int(views),
                int(engaged),
                share / base[category],
                before,
                share / before - 1 if before else None,
            )
        )
    out.sort(key=lambda item: (*item[: len(picks)], -item[len(picks) + 1], item[len(picks)]))
    return out


def interests(source: RollupSource, query: ReportQuery) -> Report:
    chosen = [BREAKDOWNS[name] for name in query.breakdown]
    flags = {f"by_{d}": int(d in chosen) for d in INTEREST_DIMENSIONS}
    none = dict.fromkeys(flags, 0)
    previous = query.period.previous()
    window, before = source.windows(query, query.period, previous)
    rows, groups, everyone, total, previous_rows, previous_groups = (
        result.rows
        for result in source.run_many(
            query,
            [
                Read(INTEREST_ROWS, window=window, params=flags),
                Read(INTEREST_GROUP_VISITORS, window=window, params=flags),
                Read(INTEREST_ROWS, window=window, params=none),
                Read(INTEREST_GROUP_VISITORS, window=window, params=none),
                Read(INTEREST_ROWS, period=previous, window=before, params=flags),
                Read(INTEREST_GROUP_VISITORS, period=previous, window=before, params=flags),
            ],
        )
    )
    everyone_visitors = total[0][_WIDTH] if total else 0
    table = interest_rows(
        chosen, rows, groups, everyone, everyone_visitors, previous_rows, previous_groups
    )[: query.limit]
    summary = _summary(query, {"visitors": everyone_visitors}, window.raw)
    summary["previous_period"] = {"since": previous.start, "until": previous.dates()[-1]}
    return Report("interests", (*query.breakdown, *FIGURES), table, summary)
