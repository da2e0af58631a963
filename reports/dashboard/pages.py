"""The dashboard's pages by name: each a title, a template and a function from a
``ReportRunner`` to the template's values. A new page (funnels, retention, campaigns, ...) is
one entry in ``PAGES`` and one template."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from reports.campaigns import DEFAULT_WINDOW
from reports.dashboard import figures
from reports.dashboard.runner import ReportRunner
from reports.funnels import DEFAULT_WITHIN

MIN_LIFT_VISITORS = 3  # fewer visitors in a place and category: its lift is noise
DEFAULT_STEPS = "page_view,product_view,add_to_cart,purchase"  # the funnels page's first view
WINDOWS = (1, 3, 7, 14, 30)  # attribution windows offered on the campaigns page (days)


@dataclass(frozen=True)
class Page:
    name: str
    title: str
    template: str
    build: Callable[[ReportRunner], dict[str, Any]]
    options: tuple[str, ...] = ()  # the page's own address parameters (runner.options)


def overview(runner: ReportRunner) -> dict[str, Any]:
    # Asked side by side with the audience, which says whether there is anything to show: an
    # empty site's reads are quick, a full site's would wait on each other.
    audience, interests, regions = runner.run_all(
        [("audience", {}), ("interests", {}), ("audience", {"breakdown": "region", "limit": "10"})]
    )
    if figures.is_empty(audience):
        return {"empty": True, "audience": audience}
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
    dimensions = ("country", "region")
    audience, report = runner.run_all(
        [("audience", {}), ("interests", {"by": ",".join(dimensions)})]
    )
    if figures.is_empty(audience):
        return {"empty": True, "audience": audience}
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
    names = ("country", "city", "device", "browser", "medium")
    found = runner.run_all([("audience", {"breakdown": name, "limit": "20"}) for name in names])
    tables = dict(zip(names, found, strict=True))
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
    audience, per_product, per_category = runner.run_all(
        [
            ("audience", {}),
            ("products", {"by": "product", "limit": "25"}),
            ("products", {"by": "category", "limit": "10"}),
        ]
    )
    if figures.is_empty(audience):
        return {"empty": True, "audience": audience}
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


def campaigns(runner: ReportRunner) -> dict[str, Any]:
    window = runner.options.get("window", str(DEFAULT_WINDOW))
    report = runner.run("campaigns", window=window)
    lift = figures.lift_intervals(report)
    charts = {"ctr": figures.ctr_bars(report)}
    if lift:
        charts["lift"] = lift
    return {
        "report": report,
        "figures": figures.campaign_totals(report),
        "rows": report.records(),
        "currencies": sorted(report.summary["totals"]["revenue"]),
        "window": window,
        "windows": WINDOWS,
        "charts": charts if report.rows else {},
    }


def funnels(runner: ReportRunner) -> dict[str, Any]:
    steps = runner.options.get("steps", DEFAULT_STEPS)
    within = runner.options.get("within", DEFAULT_WITHIN)
    report = runner.run("funnels", steps=steps, within=within)
    totals = report.summary["totals"]
    return {
        "report": report,
        "steps": steps,
        "within": within,
        "totals": totals,
        "charts": {"funnel": figures.funnel_bars(report)} if totals["entrants"] else {},
    }


def retention(runner: ReportRunner) -> dict[str, Any]:
    audience, cohorts, lifecycle = runner.run_all(
        [("audience", {}), ("retention", {}), ("retention", {"view": "lifecycle"})]
    )
    if figures.is_empty(audience):
        return {"empty": True, "audience": audience}
    rows = lifecycle.records()
    return {
        "cohorts": cohorts,
        "rows": cohorts.records(),
        "weeks": [column for column in cohorts.columns if column.startswith("week_")],
        "lifecycle": rows,
        "charts": {
            "cohorts": figures.cohort_matrix(cohorts),
            "lifecycle": figures.bar_chart(
                (str(row["week"]) for row in rows),
                [
                    (name.capitalize(), [row[name] for row in rows])
                    for name in ("acquired", "enhanced", "retained")
                ],
            ),
        },
    }


def rfm(runner: ReportRunner) -> dict[str, Any]:
    report = runner.run("rfm")
    summary = report.summary
    return {
        "report": report,
        "rows": [
            {**row, "export": export_query(runner, row["segment"])} for row in report.records()
        ],
        "segments_as_of": summary["as_of"],
        "window_days": summary["window_days"],
        "totals": summary["totals"],
        "charts": {"segments": figures.segment_bars(report)}
        if summary["totals"]["customers"]
        else {},
    }


def export_query(runner: ReportRunner, segment: str) -> str:
    """The address parameters of a segment's CSV export (the dashboard's ``export/rfm``)."""
    values = {"site": runner.site_id, "segment": segment, "until": runner.params.get("until", "")}
    return urlencode({name: value for name, value in values.items() if value})


def sales(runner: ReportRunner) -> dict[str, Any]:
    report = runner.run("sales")
    bands = figures.sales_bands(report)
    return {
        "report": report,
        "totals": report.summary["totals"],
        "forecast": report.summary["forecast"],
        "actual": [row for row in report.records() if row["kind"] != "forecast"],
        "predicted": [row for row in report.records() if row["kind"] == "forecast"],
        "charts": {f"{b['measure']}-{b['currency'] or 'none'}": b for b in bands},
    }


PAGES: dict[str, Page] = {
    page.name: page
    for page in (
        Page("overview", "Overview", "pages/overview.html", overview),
        Page("interests", "Interests", "pages/interests.html", interests),
        Page("audience", "Audience & geography", "pages/audience.html", audience),
        Page("products", "Products & conversion", "pages/products.html", products),
        Page("campaigns", "Campaigns", "pages/campaigns.html", campaigns, ("window",)),
        Page("funnels", "Funnels", "pages/funnels.html", funnels, ("steps", "within")),
        Page("retention", "Retention", "pages/retention.html", retention),
        Page("rfm", "RFM segments", "pages/rfm.html", rfm),
        Page("sales", "Sales & forecast", "pages/sales.html", sales),
    )
}
