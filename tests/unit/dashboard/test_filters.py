"""The dashboard's filters: GET parameters that are the reports API's own."""

from __future__ import annotations

from urllib.parse import parse_qs

from reports.dashboard.filters import Filters, read_filters


def test_defaults_and_normalising():
    filters = read_filters({"country": " ir ", "device": "mobile"}, "shop")
    assert filters == Filters("shop", "30d", "", "IR", "mobile")
    assert filters.params() == {"since": "30d", "country": "IR", "device": "mobile"}


def test_the_query_string_round_trips_and_takes_changes():
    filters = Filters("shop", "2025-01-01", "2025-01-31", "DE", "")
    text = filters.query_string()
    assert parse_qs(text) == {
        "site": ["shop"],
        "since": ["2025-01-01"],
        "until": ["2025-01-31"],
        "country": ["DE"],
    }
    assert read_filters({k: v[0] for k, v in parse_qs(text).items()}, "other") == filters
    assert "site=blog" in filters.query_string(site="blog")


def test_values_are_passed_on_unchecked_for_the_reports_to_refuse():
    # parse_query says what is valid, with the API's messages (tests/unit/reports/test_query.py)
    assert read_filters({"country": "XYZ"}, "shop").params()["country"] == "XYZ"


def test_a_report_is_run_without_the_filters_it_does_not_take():
    from reports.dashboard.runner import filters_taken

    params = {"since": "7d", "country": "IR", "device": "mobile", "segment": "champions"}
    assert filters_taken("audience", params) == (params, [])
    kept, dropped = filters_taken("campaigns", params)
    assert dropped == ["segment"] and "segment" not in kept and kept["country"] == "IR"
    assert filters_taken("rfm", params) == (
        {"since": "7d", "segment": "champions"},
        ["country", "device"],
    )
    assert read_filters({"segment": "loyal"}, "shop").params()["segment"] == "loyal"
