"""The pure parts of RFM and retention: quintile scores, the segment grid, customers from a
window's visitors, top categories, cohort rows, the offers CSV."""

from __future__ import annotations

from datetime import date

import pytest

from pipelines.warehouse.rfm_scores import (
    SEGMENTS,
    Customer,
    quintile_scores,
    score_customers,
    segment_of,
)
from pipelines.warehouse.rollups_visitors import customers_of
from pipelines.warehouse.segments import top_categories
from reports.query import Period
from reports.retention import cohort_rows, weeks_of
from reports.segments import offers_of_csv


def test_five_distinct_values_get_five_scores():
    assert quintile_scores([10, 20, 30, 40, 50]) == [1, 2, 3, 4, 5]
    assert quintile_scores([0, 1, 2, 3, 4], higher_is_better=False) == [5, 4, 3, 2, 1]


def test_ties_share_a_score():
    assert quintile_scores([1] * 7 + [2, 2, 3]) == [1] * 7 + [4, 4, 5]
    assert quintile_scores([5, 5, 5]) == [1, 1, 1]
    assert quintile_scores([3, 3, 9], higher_is_better=False) == [2, 2, 1]


def test_every_cell_of_the_grid_has_one_segment():
    cells = {(r, f): segment_of(r, f) for r in range(1, 6) for f in range(1, 6)}
    assert set(cells.values()) == set(SEGMENTS) and len(SEGMENTS) == 11
    assert cells[5, 5] == "champions" and cells[5, 1] == "new" and cells[1, 1] == "lost"
    assert cells[1, 5] == "cant_lose" and cells[2, 4] == "at_risk" and cells[2, 2] == "hibernating"
    assert cells[4, 5] == "loyal" and cells[4, 2] == "potential_loyalist"
    with pytest.raises(ValueError):
        segment_of(0, 3)


def test_score_customers():
    found = score_customers(
        [Customer("a", 0, 5, 900), Customer("b", 30, 1, 100), Customer("c", 2, 2, 300)]
    )
    assert [(s.customer.key, s.r, s.f, s.m, s.segment) for s in found] == [
        ("a", 4, 4, 4, "loyal"),
        ("b", 1, 1, 1, "lost"),
        ("c", 2, 2, 2, "hibernating"),
    ]


def test_a_users_visitors_are_one_customer():
    day = date(2025, 1, 10)
    customers, members = customers_of(
        [
            ("v1", "u", date(2025, 1, 2), 1, 100),
            ("v2", "u", date(2025, 1, 8), 2, 50),
            ("v3", "", date(1970, 1, 1), 0, 0),  # identified nobody, bought nothing
            ("v4", "w", date(1970, 1, 1), 0, 0),  # a user who never bought
            ("v5", "", date(2025, 1, 10), 1, 10),
        ],
        day,
    )
    assert customers == [Customer("u", 2, 3, 150), Customer("v5", 0, 1, 10)]
    assert members == {"u": [("v1", "u"), ("v2", "u")], "v5": [("v5", "")]}


def test_top_categories():
    assert top_categories(["B", "A", "B", "C", "A", "B", "D"]) == ("B", "A", "C")
    assert top_categories([]) == ()


def test_cohort_rows():
    weeks = weeks_of(Period(date(2025, 1, 8), date(2025, 1, 27)))
    assert weeks == [date(2025, 1, 6), date(2025, 1, 13), date(2025, 1, 20)]
    counts = [
        (date(2025, 1, 6), date(2025, 1, 6), 10),
        (date(2025, 1, 6), date(2025, 1, 20), 4),
        (date(2025, 1, 13), date(2025, 1, 13), 5),
        (date(2025, 1, 13), date(2025, 1, 20), 1),
    ]
    rows, returning = cohort_rows(counts, weeks)
    assert rows == [
        (date(2025, 1, 6), 10, 0.0, 0.4),
        (date(2025, 1, 13), 5, 0.2, None),
        (date(2025, 1, 20), 0, None, None),
    ]
    assert returning[0] == {"cohort": date(2025, 1, 6), "visitors": 10, "week_1": 0, "week_2": 4}


def test_offers_of_the_offers_export_csv():
    text = (
        "user_id,rank,sku,title,url,image_url,price,currency,reason\n"
        "u1,2,B,,,,1,EUR,x\nu1,1,A,,,,1,EUR,x\nu2,1,C,,,,1,EUR,x\n"
    )
    assert offers_of_csv(text) == {"u1": ["A", "B"], "u2": ["C"]}
