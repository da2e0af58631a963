"""The products report: the most viewed, carted and bought products (or top categories),
their view -> cart -> purchase conversion, and revenue in minor units per currency.

A row per product (``by=product``, the default) or top category (``by=category``) and
currency: ``views`` and ``carts`` (events), ``orders`` (purchases holding it), ``units`` and
``revenue`` (its line items: price x quantity, in minor units of ``currency``); ``viewers``,
``carters``, ``buyers`` (distinct visitors) and the conversions ``view_to_cart`` (carters /
viewers), ``cart_to_purchase`` (buyers / carters) and ``view_to_purchase`` (buyers /
viewers), empty where the divisor is 0. ``sort=`` views (default), carts, units or revenue.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pipelines.warehouse.report_queries import PRODUCT_FUNNEL, PRODUCT_ROWS, PRODUCT_TOTALS
from reports.audience import _summary
from reports.query import ReportError, ReportQuery
from reports.source import Read, RollupSource
from reports.table import Report

BREAKDOWNS = ("product", "category")
SORTS = ("views", "carts", "units", "revenue")
FIGURES = (
    "views",
    "carts",
    "orders",
    "units",
    "revenue",
    "viewers",
    "carters",
    "buyers",
    "view_to_cart",
    "cart_to_purchase",
    "view_to_purchase",
)


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def product_figures(measures: Sequence[Any]) -> dict[str, Any]:
    """From the queries' sums and distinct visitors to the report's figures. Pure."""
    views, carts, orders, units, revenue, viewers, carters, buyers = (int(m) for m in measures)
    return {
        "views": views,
        "carts": carts,
        "orders": orders,
        "units": units,
        "revenue": revenue,
        "viewers": viewers,
        "carters": carters,
        "buyers": buyers,
        "view_to_cart": _ratio(carters, viewers),
        "cart_to_purchase": _ratio(buyers, carters),
        "view_to_purchase": _ratio(buyers, viewers),
    }


def products(source: RollupSource, query: ReportQuery) -> Report:
    sort = query.option("sort", "views")
    if sort not in SORTS:
        raise ReportError(f"sort must be one of {', '.join(SORTS)}, got {sort!r}")
    per_product = not query.breakdown or query.breakdown[0] == "product"
    window = source.window(query)
    result, found_funnel, found_totals = source.run_many(
        query,
        [
            Read(
                PRODUCT_ROWS,
                window=window,
                params={"per_product": int(per_product), "sort": sort, "limit": query.limit},
            ),
            Read(PRODUCT_FUNNEL, window=window),
            Read(PRODUCT_TOTALS, window=window),
        ],
    )
    if per_product:
        columns: tuple[str, ...] = ("sku", "category", "currency", *FIGURES)
        rows = [(row[0], row[1], row[2], *product_figures(row[3:]).values()) for row in result.rows]
    else:
        columns = ("category", "currency", *FIGURES)
        rows = [(row[1], row[2], *product_figures(row[3:]).values()) for row in result.rows]
    funnel = found_funnel.rows[0]
    totals = product_figures(funnel)
    del totals["revenue"]  # revenue adds up per currency only
    totals["revenue"] = {row[0]: int(row[5]) for row in found_totals.rows if row[0] or row[5]}
    summary = _summary(query, totals, window.raw)
    summary["sort"] = sort
    return Report("products", columns, rows, summary)
