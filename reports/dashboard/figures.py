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
