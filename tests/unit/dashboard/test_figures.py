"""The dashboard's view models: report rows into headline figures, tables and chart data."""

from __future__ import annotations

from datetime import date

from reports.dashboard import figures
from reports.table import Report


def audience(rows: list[tuple], totals: dict) -> Report:
    columns = ("day", "visitors", "sessions", "page_views", "bounce_rate", "engaged_ms")
    return Report("audience", columns, rows, {"totals": totals})


TOTALS = {
    "visitors": 1234,
    "sessions": 1500,
    "page_views": 4321,
    "bounce_rate": 0.25,
    "engaged_ms": 3_725_000,
}


def test_headline_figures_keep_the_raw_value_beside_its_text():
    shown = {f.name: f for f in figures.audience_figures(audience([], TOTALS))}
    assert shown["visitors"].value == 1234 and shown["visitors"].text == "1,234"
    assert shown["bounce_rate"].text == "25.0 %"
    assert shown["engaged_ms"].text == "1 h 02 min"
    assert [f.name for f in shown.values()] == [
        "visitors",
        "sessions",
        "page_views",
        "bounce_rate",
        "engaged_ms",
    ]


def test_formats():
    assert figures.whole(None) == "—" and figures.whole(1234567) == "1,234,567"
    assert figures.percent(0.12345) == "12.3 %"
    assert figures.ratio(1.5) == "1.50×" and figures.ratio(None) == "—"
    assert figures.duration(12_400) == "12 s" and figures.duration(65_000) == "1 min 05 s"
    assert figures.change(0.25) == "+25 %" and figures.change(-0.5) == "-50 %"


def test_an_audience_without_visitors_or_page_views_is_empty():
    zero = dict.fromkeys(TOTALS, 0)
    assert figures.is_empty(audience([], zero))
    assert not figures.is_empty(audience([], {**zero, "page_views": 1}))
    assert not figures.is_empty(audience([], TOTALS))


def test_a_per_day_report_becomes_a_line_per_series():
    report = audience(
        [(date(2025, 1, 1), 3, 4, 10, 0.5, 100), (date(2025, 1, 2), 5, 6, 12, 0.0, 200)], TOTALS
    )
    chart = figures.line_chart(report, [("visitors", "Visitors"), ("page_views", "Page views")])
    assert chart == {
        "type": "line",
        "labels": ["2025-01-01", "2025-01-02"],
        "series": [
            {"label": "Visitors", "values": [3, 5]},
            {"label": "Page views", "values": [10, 12]},
        ],
    }


def test_breakdown_bars_are_the_largest_first_and_name_empty_values():
    report = Report(
        "audience",
        ("region", "visitors", "sessions"),
        [("Tehran", 5, 6), ("", 9, 9), ("Berlin", 7, 8), ("Paris", 1, 1)],
    )
    chart = figures.breakdown_bars(report, "visitors", "Visitors", limit=3)
    assert chart["labels"] == ["(none)", "Berlin", "Tehran"]
    assert chart["series"] == [{"label": "Visitors", "values": [9, 7, 5]}]


def interests_by_place() -> Report:
    columns = ("country", "region", "category", "visitors", "share", "lift")
    rows = [
        ("IR", "Tehran", "کفش", 10, 0.5, 2.0),
        ("IR", "Tehran", "Books", 2, 0.1, 0.5),
        ("DE", "Berlin", "Books", 8, 0.4, 2.0),
        ("DE", "Berlin", "کفش", 1, 0.05, 0.2),
        ("FR", "", "Toys", 1, 1.0, 9.0),
    ]
    return Report("interests", columns, rows)


def test_the_heat_map_has_the_top_places_and_categories_and_a_cell_per_pair():
    chart = figures.heat_map(interests_by_place(), ("country", "region"), places=2, categories=2)
    assert chart["type"] == "heatmap"
    assert chart["y"] == ["IR · Tehran", "DE · Berlin"]  # by visitors
    assert chart["x"] == ["کفش", "Books"]  # 11 visitors, 10
    assert {(c["y"], c["x"]): c["v"] for c in chart["cells"]} == {
        ("IR · Tehran", "کفش"): 0.5,
        ("IR · Tehran", "Books"): 0.1,
        ("DE · Berlin", "Books"): 0.4,
        ("DE · Berlin", "کفش"): 0.05,
    }


def test_lift_leaves_out_small_groups_and_ranks_by_lift():
    rows = figures.lift_rows(interests_by_place(), ("country", "region"), min_visitors=2)
    assert [(r["place"], r["label"]) for r in rows] == [
        ("IR · Tehran", "کفش"),
        ("DE · Berlin", "Books"),
        ("IR · Tehran", "Books"),
    ]
    chart = figures.lift_bars(rows)
    assert chart["labels"][0] == "IR · Tehran — کفش" and chart["series"][0]["values"][0] == 2.0
    # An empty region is named, not blank.
    assert figures.place({"country": "FR", "region": ""}, ("country", "region")) == "FR · (none)"


def test_the_funnel_is_distinct_visitors_at_each_step():
    report = Report("products", (), [], {"totals": {"viewers": 50, "carters": 10, "buyers": 4}})
    chart = figures.funnel(report)
    assert chart["labels"] == ["Viewed", "Carted", "Bought"]
    assert chart["series"] == [{"label": "Visitors", "values": [50, 10, 4]}]


def test_lift_intervals_leave_out_campaigns_without_a_lift():
    columns = ("campaign", "lift", "lift_low", "lift_high")
    report = Report("campaigns", columns, [("a", 0.5, 0.1, 1.2), ("b", None, None, None)])
    spec = figures.lift_intervals(report)
    assert spec == {
        "type": "interval",
        "label": "Lift",
        "labels": ["a"],
        "values": [0.5],
        "low": [0.1],
        "high": [1.2],
    }
    assert figures.lift_intervals(Report("campaigns", columns, [("b", None, None, None)])) is None


def test_the_cohort_matrix_has_week_0_and_no_cell_for_weeks_not_reached():
    columns = ("cohort", "visitors", "week_1", "week_2")
    rows = [(date(2025, 1, 6), 10, 0.4, 0.1), (date(2025, 1, 13), 5, 0.2, None)]
    returning = [
        {"cohort": date(2025, 1, 6), "visitors": 10, "week_1": 4, "week_2": 1},
        {"cohort": date(2025, 1, 13), "visitors": 5, "week_1": 1, "week_2": None},
    ]
    spec = figures.cohort_matrix(Report("retention", columns, rows, {}, {"returning": returning}))
    assert spec["x"] == ["Week 0", "Week 1", "Week 2"]
    assert spec["y"] == ["2025-01-06", "2025-01-13"]
    assert {(c["y"], c["x"]): (c["v"], c["n"]) for c in spec["cells"]} == {
        ("2025-01-06", "Week 0"): (1.0, 10),
        ("2025-01-06", "Week 1"): (0.4, 4),
        ("2025-01-06", "Week 2"): (0.1, 1),
        ("2025-01-13", "Week 0"): (1.0, 5),
        ("2025-01-13", "Week 1"): (0.2, 1),
    }


def test_sales_bands_split_actual_days_from_the_forecast_and_its_interval():
    columns = (
        "day",
        "currency",
        "kind",
        "orders",
        "revenue",
        "orders_low",
        "orders_high",
        "revenue_low",
        "revenue_high",
    )
    rows = [
        (date(2025, 1, 1), "EUR", "actual", 3, 900, None, None, None, None),
        (date(2025, 1, 2), "EUR", "partial", 1, 300, None, None, None, None),
        (date(2025, 1, 3), "EUR", "forecast", 2.5, 800, 1.0, 4.0, 200, 1400),
    ]
    charts = figures.sales_bands(Report("sales", columns, rows))
    assert [(c["measure"], c["currency"]) for c in charts] == [
        ("orders", "EUR"),
        ("revenue", "EUR"),
    ]
    orders = charts[0]
    assert orders["labels"] == ["2025-01-01", "2025-01-02", "2025-01-03"]
    assert orders["actual"] == [3, 1, None] and orders["forecast"] == [None, None, 2.5]
    assert orders["low"] == [None, None, 1.0] and orders["high"] == [None, None, 4.0]
    assert charts[1]["high"] == [None, None, 1400]


def test_funnel_bars_are_the_totals_steps():
    summary = {
        "totals": {
            "steps": [
                {"step": 1, "name": "page_view", "visitors": 10},
                {"step": 2, "name": "purchase", "visitors": 2},
            ]
        }
    }
    spec = figures.funnel_bars(Report("funnels", (), [], summary))
    assert spec["labels"] == ["page_view", "purchase"]
    assert spec["series"] == [{"label": "Visitors", "values": [10, 2]}]
