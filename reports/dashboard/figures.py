"""View models: report rows into what the pages show (figures, tables) and what the charts
draw (labels and series, as JSON for the bundle). Pure: a ``Report`` in, plain values out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from reports.table import Report


@dataclass(frozen=True)
class Figure:
    """One headline number: its raw value (``data-value``, what tests compare with the API)
    and its text."""

    name: str
    label: str
    value: float | int
    text: str


def whole(value: float | int | None) -> str:
    """A count with thousands separators; an em dash for nothing."""
    return "—" if value is None else f"{round(value):,}"


def percent(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f} %"


def ratio(value: float | None) -> str:
    """A lift or other ratio, as ``1.23×``."""
    return "—" if value is None else f"{value:.2f}×"


def duration(ms: float | None) -> str:
    """Engaged time: ``3 h 02 min``, ``4 min 05 s`` or ``12 s``."""
    if ms is None:
        return "—"
    seconds = round(ms / 1000)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours:,} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {seconds:02d} s"
    return f"{seconds} s"


def change(value: float | None) -> str:
    """A trend (share / previous share - 1), signed."""
    return "—" if value is None else f"{value * 100:+.0f} %"


def audience_figures(report: Report) -> list[Figure]:
    """The audience report's totals as headline figures."""
    totals = report.summary["totals"]
    visitors = totals["visitors"]
    page_views = totals["page_views"]
    return [
        Figure("visitors", "Visitors", visitors, whole(visitors)),
        Figure("sessions", "Sessions", totals["sessions"], whole(totals["sessions"])),
        Figure("page_views", "Page views", page_views, whole(page_views)),
        Figure("bounce_rate", "Bounce rate", totals["bounce_rate"], percent(totals["bounce_rate"])),
        Figure("engaged_ms", "Engaged time", totals["engaged_ms"], duration(totals["engaged_ms"])),
    ]


def is_empty(report: Report) -> bool:
    """No visitor and no page view in the period (an audience report)."""
    totals = report.summary["totals"]
    return not totals["visitors"] and not totals["page_views"]


def line_chart(report: Report, series: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """A per-day report (column ``day``) as a line chart: ``series`` is (column, label)."""
    records = report.records()
    return {
        "type": "line",
        "labels": [str(record["day"]) for record in records],
        "series": [
            {"label": label, "values": [record[column] for record in records]}
            for column, label in series
        ],
    }


def bar_chart(
    labels: Iterable[Any], series: Sequence[tuple[str, Sequence[float | int | None]]]
) -> dict[str, Any]:
    """Bars: one label per bar, one series (name, values) per colour."""
    return {
        "type": "bar",
        "labels": [_label(label) for label in labels],
        "series": [{"label": name, "values": list(values)} for name, values in series],
    }


def top_rows(report: Report, key: str, limit: int) -> list[dict[str, Any]]:
    """The report's first ``limit`` records by ``key``, largest first (ties by label order)."""
    return sorted(report.records(), key=lambda record: -(record[key] or 0))[:limit]


def breakdown_bars(report: Report, key: str, label: str, limit: int = 10) -> dict[str, Any]:
    """An audience breakdown (its first column the dimension) as bars of ``key``."""
    dimension = report.columns[0]
    rows = top_rows(report, key, limit)
    return bar_chart((row[dimension] for row in rows), [(label, [row[key] for row in rows])])


def category_bars(interests: Report, limit: int = 10) -> dict[str, Any]:
    """The interests report without a breakdown: visitors per category."""
    rows = top_rows(interests, "visitors", limit)
    return bar_chart(
        (row["category"] for row in rows), [("Visitors", [row["visitors"] for row in rows])]
    )


def place(record: dict[str, Any], dimensions: Sequence[str]) -> str:
    """A group's label: its dimension values, ``IR · Tehran``; empty ones named."""
    return " · ".join(_label(record[name]) for name in dimensions)


def heat_map(
    interests: Report, dimensions: Sequence[str], places: int = 10, categories: int = 8
) -> dict[str, Any]:
    """Place × category: each cell the share of the place's visitors who looked at the
    category. The places with most visitors, the categories most visitors looked at."""
    records = interests.records()
    place_visitors: dict[str, int] = {}
    category_visitors: dict[str, int] = {}
    for record in records:
        name = place(record, dimensions)
        place_visitors[name] = place_visitors.get(name, 0) + record["visitors"]
        category = _label(record["category"])
        category_visitors[category] = category_visitors.get(category, 0) + record["visitors"]
    top_places = _largest(place_visitors, places)
    top_categories = _largest(category_visitors, categories)
    cells = [
        {
            "x": _label(record["category"]),
            "y": place(record, dimensions),
            "v": record["share"],
            "n": record["visitors"],
        }
        for record in records
        if place(record, dimensions) in top_places and _label(record["category"]) in top_categories
    ]
    return {"type": "heatmap", "x": top_categories, "y": top_places, "cells": cells}


def lift_rows(
    interests: Report, dimensions: Sequence[str], min_visitors: int, limit: int = 10
) -> list[dict[str, Any]]:
    """The place-category pairs most above everyone's interest (lift), among pairs of at least
    ``min_visitors`` visitors (a lift of three visitors is noise)."""
    kept = [record for record in interests.records() if record["visitors"] >= min_visitors]
    kept.sort(key=lambda record: (-record["lift"], -record["visitors"]))
    return [
        {**record, "place": place(record, dimensions), "label": _label(record["category"])}
        for record in kept[:limit]
    ]


def lift_bars(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return bar_chart(
        (f"{row['place']} — {row['label']}" for row in rows),
        [("Lift", [round(row["lift"], 4) for row in rows])],
    )


def funnel(products: Report) -> dict[str, Any]:
    """View → cart → purchase: distinct visitors at each step (the products report's totals)."""
    totals = products.summary["totals"]
    steps = [("Viewed", totals["viewers"]), ("Carted", totals["carters"])]
    steps.append(("Bought", totals["buyers"]))
    return bar_chart((name for name, _ in steps), [("Visitors", [value for _, value in steps])])


def _largest(counts: dict[str, int], limit: int) -> list[str]:
    return [name for name, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))][
        :limit
    ]


def _label(value: Any) -> str:
    text = str(value) if value is not None else ""
    return text if text else "(none)"


# --- campaigns, funnels, retention, RFM, sales --------------------------------------------------


def campaign_totals(report: Report) -> list[Figure]:
    """The campaigns report's totals as headline figures."""
    totals = report.summary["totals"]
    out = [
        Figure(name, label, totals[name], whole(totals[name]))
        for name, label in (
            ("decisions", "Decisions"),
            ("impressions", "Impressions"),
            ("clicks", "Clicks"),
        )
    ]
    out.append(Figure("ctr", "CTR", totals["ctr"] or 0, percent(totals["ctr"], 2)))
    out.append(
        Figure(
            "conversions",
            "Orders (last touch)",
            totals["conversions"],
            whole(totals["conversions"]),
        )
    )
    return out


def ctr_bars(report: Report, limit: int = 15) -> dict[str, Any]:
    """Click-through rate per campaign (the rows with impressions)."""
    rows = [row for row in top_rows(report, "impressions", limit) if row["impressions"]]
    return bar_chart(
        (row["campaign"] for row in rows), [("CTR", [round(row["ctr"], 6) for row in rows])]
    )


def lift_intervals(report: Report) -> dict[str, Any] | None:
    """Each campaign's lift over its holdout and the 95 % interval (floating bars and a point);
    None when no campaign has a lift yet (no holdout, or no holdout visitor ordered)."""
    rows = [row for row in report.records() if row["lift"] is not None]
    if not rows:
        return None
    return {
        "type": "interval",
        "label": "Lift",
        "labels": [_label(row["campaign"]) for row in rows],
        "values": [round(row["lift"], 6) for row in rows],
        "low": [_rounded(row["lift_low"]) for row in rows],
        "high": [_rounded(row["lift_high"]) for row in rows],
    }


def funnel_bars(report: Report) -> dict[str, Any]:
    """A funnel's steps (its totals, every group together) as bars of visitors."""
    steps = report.summary["totals"]["steps"]
    return bar_chart(
        (step["name"] for step in steps), [("Visitors", [step["visitors"] for step in steps])]
    )


def cohort_matrix(report: Report) -> dict[str, Any]:
    """Retention cohorts × weeks since the first visit: each cell the share of the cohort back
    that week (week 0 the cohort itself); weeks not reached yet have no cell."""
    records = report.records()
    returning = {str(row["cohort"]): row for row in report.tables.get("returning", [])}
    weeks = [column for column in report.columns if column.startswith("week_")]
    x = ["Week 0", *(f"Week {column[5:]}" for column in weeks)]
    y = [str(record["cohort"]) for record in records]
    cells = []
    for record in records:
        cohort, size = str(record["cohort"]), record["visitors"]
        if size:
            cells.append({"x": "Week 0", "y": cohort, "v": 1.0, "n": size})
        for column, name in zip(weeks, x[1:], strict=True):
            if record[column] is not None:
                back = returning.get(cohort, {}).get(column)
                cells.append({"x": name, "y": cohort, "v": record[column], "n": back or 0})
    return {"type": "heatmap", "x": x, "y": y, "cells": cells}


def segment_bars(report: Report) -> dict[str, Any]:
    """Customers per RFM segment, in the grid's order."""
    rows = report.records()
    return bar_chart(
        (row["segment"] for row in rows), [("Customers", [row["customers"] for row in rows])]
    )


def sales_bands(report: Report) -> list[dict[str, Any]]:
    """Per currency and measure (orders, revenue): the days' actual values, then the forecast
    and its interval (a band) over the following days."""
    charts = []
    records = report.records()
    for currency in sorted({record["currency"] for record in records}):
        mine = [record for record in records if record["currency"] == currency]
        for measure, caption in (("orders", "Orders"), ("revenue", "Revenue (minor units)")):
            forecast = [record["kind"] == "forecast" for record in mine]
            charts.append(
                {
                    "type": "band",
                    "currency": currency,
                    "measure": measure,
                    "caption": f"{caption}, {currency or '(no currency)'}",
                    "labels": [str(record["day"]) for record in mine],
                    "actual": [
                        None if f else r[measure] for r, f in zip(mine, forecast, strict=True)
                    ],
                    "forecast": [
                        r[measure] if f else None for r, f in zip(mine, forecast, strict=True)
                    ],
                    "low": [r[f"{measure}_low"] for r in mine],
                    "high": [r[f"{measure}_high"] for r in mine],
                }
            )
    return charts


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 6)
