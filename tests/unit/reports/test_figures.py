"""The pure figure logic: which days come from where, audience figures, interest shares,
lift and trend, and the three renderings."""

from __future__ import annotations

from datetime import date

from pipelines.warehouse.report_queries import NO_DAY
from reports.audience import daily, figures
from reports.interests import interest_rows
from reports.query import Period
from reports.source import plan_window
from reports.table import Report

GROUP = ("", "", "", "", "", "")  # the six group columns, none chosen


def test_the_window_reads_built_days_from_rollups_and_the_rest_raw_up_to_today():
    period = Period(date(2025, 1, 1), date(2025, 1, 8))
    window = plan_window(
        period, {date(2025, 1, 2), date(2025, 1, 3), date(2024, 12, 1)}, date(2025, 1, 5)
    )
    assert window.rolled == {date(2025, 1, 2), date(2025, 1, 3)}
    assert window.raw == (date(2025, 1, 1), date(2025, 1, 4), date(2025, 1, 5))  # not the future
    params = window.raw_params("Asia/Tehran", ("2025-01-01",))
    assert params["rolled"] == [NO_DAY, "2025-01-02", "2025-01-03"]
    assert params["end_ms"] - params["start_ms"] == 5 * 86_400_000


def test_audience_figures_and_empty_days():
    assert figures((10, 12, 30, 3, 6, 5000)) == {
        "visitors": 10,
        "sessions": 12,
        "page_views": 30,
        "bounce_rate": 0.5,
        "engaged_ms": 5000,
    }
    assert figures((0, 0, 0, 0, 0, 0))["bounce_rate"] == 0.0
    rows = daily([(date(2025, 1, 2), 1, 1, 1, 1, 1, 0)], [date(2025, 1, 1), date(2025, 1, 2)])
    assert rows == [(date(2025, 1, 1), 0, 0, 0, 0.0, 0), (date(2025, 1, 2), 1, 1, 1, 1.0, 0)]


def test_interest_share_lift_and_trend():
    de = ("DE", "", "", "", "", "")
    fr = ("FR", "", "", "", "", "")
    rows = [(*de, "Books", 5, 9, 100), (*fr, "Books", 1, 1, 10), (*de, "Garden", 2, 2, 0)]
    groups = [(*de, 10), (*fr, 10)]
    everyone = [(*GROUP, "Books", 6, 10, 110), (*GROUP, "Garden", 2, 2, 0)]
    previous_rows = [(*de, "Books", 2, 2, 0)]
    previous_groups = [(*de, 8)]
    got = interest_rows(["country"], rows, groups, everyone, 20, previous_rows, previous_groups)
    assert got[0] == ("DE", "Books", 5, 0.5, 9, 100, 0.5 / 0.3, 0.25, 1.0)
    assert got[1] == ("DE", "Garden", 2, 0.2, 2, 0, 2.0, None, None)
    assert got[2][:4] == ("FR", "Books", 1, 0.1)


def test_renderings():
    report = Report("audience", ("day", "visitors", "bounce_rate"), [(date(2025, 1, 1), 3, 0.25)])
    assert report.to_csv() == "day,visitors,bounce_rate\n2025-01-01,3,0.25\n"
    assert report.to_json()["rows"] == [{"day": "2025-01-01", "visitors": 3, "bounce_rate": 0.25}]
    assert report.to_table().splitlines()[0].split() == ["day", "visitors", "bounce_rate"]


def test_product_conversions():
    from reports.products import product_figures

    got = product_figures((40, 8, 3, 5, 12_995, 20, 5, 2))
    assert got["view_to_cart"] == 0.25 and got["cart_to_purchase"] == 0.4
    assert got["view_to_purchase"] == 0.1 and got["revenue"] == 12_995
    assert product_figures((0, 1, 1, 1, 500, 0, 1, 1))["view_to_purchase"] is None
