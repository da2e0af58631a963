"""The dashboard's pages by name: each a title, a template and a function from a
``ReportRunner`` to the template's values. A new page (funnels, retention, campaigns, ...) is
one entry in ``PAGES`` and one template."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reports.dashboard import figures
from reports.dashboard.runner import ReportRunner

MIN_LIFT_VISITORS = 3  # fewer visitors in a place and category: its lift is noise


@dataclass(frozen=True)
class Page:
    name: str
    title: str
    template: str
    build: Callable[[ReportRunner], dict[str, Any]]


def overview(runner: ReportRunner) -> dict[str, Any]:
    audience = runner.run("audience")
    if figures.is_empty(audience):
        return {"empty": True, "audience": audience}
    interests = runner.run("interests")
    regions = runner.run("audience", breakdown="region", limit="10")
    return {
        "figures": figures.audience_figures(audience),
        "categories": figures.top_rows(interests, "visitors", 10),
        "regions": figures.top_rows(regions, "visitors", 10),
        "charts": {
            "trend": figures.line_chart(
                audience, [("visitors", "Visitors"), ("page_views", "Page views")]
            ),
            "categories": figures.category_bars(interests),
            "regions": figures.breakdown_bars(regions, "visitors", "Visitors"),
        },
    }


def interests(runner: ReportRunner) -> dict[str, Any]:
    audience = runner.run("audience")
    if figures.is_empty(audience):
        return {"empty": True, "audience": audience}
    dimensions = ("country", "region")
    report = runner.run("interests", by=",".join(dimensions))
    lifts = figures.lift_rows(report, dimensions, MIN_LIFT_VISITORS)
    return {
        "report": report,
        "dimensions": dimensions,
        "rows": [{**row, "place": figures.place(row, dimensions)} for row in report.records()],
        "lifts": lifts,
        "min_lift_visitors": MIN_LIFT_VISITORS,
        "charts": {
            "heatmap": figures.heat_map(report, dimensions),
            "lift": figures.lift_bars(lifts),
        },
    }


def audience(runner: ReportRunner) -> dict[str, Any]:
    report = runner.run("audience")
    if figures.is_empty(report):
        return {"empty": True, "audience": report}
    tables = {
        name: runner.run("audience", breakdown=name, limit="20")
        for name in ("country", "city", "device", "browser", "medium")
    }
    return {
        "figures": figures.audience_figures(report),
        "days": report.records(),
        "tables": {name: table.records() for name, table in tables.items()},
        "charts": {
            "trend": figures.line_chart(
                report, [("visitors", "Visitors"), ("sessions", "Sessions")]
            ),
            "countries": figures.breakdown_bars(tables["country"], "visitors", "Visitors"),
            "devices": figures.breakdown_bars(tables["device"], "visitors", "Visitors"),
        },
    }


def products(runner: ReportRunner) -> dict[str, Any]:
    audience = runner.run("audience")
    if figures.is_empty(audience):
        return {"empty": True, "audience": audience}
    per_product = runner.run("products", by="product", limit="25")
    per_category = runner.run("products", by="category", limit="10")
    rows = per_category.records()
    return {
        "totals": per_product.summary["totals"],
        "products": per_product.records(),
        "categories": rows,
        "charts": {
            "funnel": figures.funnel(per_product),
            "categories": figures.bar_chart(
                (row["category"] for row in rows),
                [
                    ("Views", [row["views"] for row in rows]),
                    ("Carts", [row["carts"] for row in rows]),
                    ("Orders", [row["orders"] for row in rows]),
                ],
            ),
        },
    }


PAGES: dict[str, Page] = {
    page.name: page
    for page in (
        Page("overview", "Overview", "pages/overview.html", overview),
        Page("interests", "Interests", "pages/interests.html", interests),
        Page("audience", "Audience & geography", "pages/audience.html", audience),
        Page("products", "Products & conversion", "pages/products.html", products),
    )
}
