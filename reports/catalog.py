"""The reports by name: what each accepts and the function that answers it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reports import audience, campaigns, funnels, interests, products, retention, rfm, sales
from reports.query import ReportQuery
from reports.source import RollupSource
from reports.table import Report


@dataclass(frozen=True)
class ReportKind:
    name: str
    summary: str
    run: Callable[[RollupSource, ReportQuery], Report]
    breakdowns: tuple[str, ...]
    breakdown_name: str  # the parameter that chooses the breakdown
    multiple: bool  # several breakdown dimensions at once
    extra: tuple[str, ...] = ()  # the report's own parameters


REPORTS: dict[str, ReportKind] = {
    "audience": ReportKind(
        "audience",
        "Visitors, sessions, page views, bounce rate and engaged time per day, or by one "
        "breakdown dimension.",
        audience.audience,
        tuple(audience.BREAKDOWNS),
        "breakdown",
        False,
        ("segment",),
    ),
    "interests": ReportKind(
        "interests",
        "Category interest by place, device and source: share of visitors, product views, "
        "engaged time, lift vs all visitors, trend vs the previous period.",
        interests.interests,
        tuple(interests.BREAKDOWNS),
        "by",
        True,
        ("segment",),
    ),
    "products": ReportKind(
        "products",
        "Top viewed, carted and bought products or categories, view -> cart -> purchase "
        "conversion, revenue in minor units per currency.",
        products.products,
        products.BREAKDOWNS,
        "by",
        False,
        ("sort", "segment"),
    ),
    "campaigns": ReportKind(
        "campaigns",
        "Decisions, impressions, viewable impressions, clicks, CTR, orders and revenue by last "
        "touch within a window, lift vs the holdout with 95 % intervals; by creative, "
        "placement, country, device.",
        campaigns.campaigns,
        tuple(campaigns.BREAKDOWNS),
        "by",
        True,
        ("window",),
    ),
    "retention": ReportKind(
        "retention",
        "Weekly cohorts by first visit (exact sizes, share returning 1..N weeks later), or "
        "acquired, enhanced and retained visitors per week (view=lifecycle).",
        retention.retention,
        (),
        "by",
        False,
        ("view", "segment"),
    ),
    "rfm": ReportKind(
        "rfm",
        "Customers by RFM segment (recency, frequency, monetary quintiles) as of a day: "
        "counts, orders, revenue; members=1 lists the customers.",
        rfm.rfm,
        (),
        "by",
        False,
        ("members", "segment"),
    ),
    "funnels": ReportKind(
        "funnels",
        "Visitors through any ordered steps (event types, optionally with a category, SKU or "
        "path) within a time window: each step's visitors and conversion; by country, device.",
        funnels.funnels,
        tuple(funnels.BREAKDOWNS),
        "by",
        True,
        ("steps", "within"),
    ),
    "sales": ReportKind(
        "sales",
        "Daily orders and revenue per currency (exact), with a forecast of the next 4 weeks "
        "and its 95 % interval (exponential smoothing with a weekly season).",
        sales.sales,
        (),
        "by",
        False,
    ),
}
