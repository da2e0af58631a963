"""Product views from a JSON-lines file: good lines kept, bad ones named with their reason."""

from __future__ import annotations

import json

import pytest

from personalizer.evaluate import View
from personalizer.view_lines import LineError, parse_view, parse_view_lines

T = 1_736_000_000_000


def line(**fields) -> str:
    base = {"visitor": "v1", "sku": "A-1", "category": "Shoes/Running", "time": T}
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not ...})


def test_a_good_line_and_its_forms():
    assert parse_view(line()) == View("v1", "A-1", "Shoes/Running", T)
    assert parse_view(line(category=["Shoes", " Running "])).category == "Shoes/Running"
    assert parse_view(line(category="")).category == ""
    assert parse_view(line(time="2025-01-04T14:13:20Z")).time_ms == T
    assert parse_view(line(time="2025-01-04T15:13:20+01:00")).time_ms == T
    assert parse_view(line(time="2025-01-04T14:13:20")).time_ms == T  # no offset: UTC
    assert parse_view(line(type="purchase")).kind == "purchase"
    assert parse_view(line(extra={"ignored": True})).sku == "A-1"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        (line(visitor=...), "visitor: missing"),
        (line(sku=...), "sku: missing"),
        (line(category=...), "category: missing"),
        (line(time=...), "time: missing"),
        (line(visitor=""), "visitor: a non-empty string"),
        (line(visitor=7), "visitor: a non-empty string"),
        (line(sku="x" * 129), "sku: at most 128 characters"),
        (line(sku="a\x00b"), "sku: control characters"),
        (line(category=["Shoes", 3]), "category: a path string or a list of strings"),
        (line(category=5), "category: a path string or a list of strings"),
        (line(time=T // 1000), "(seconds? give milliseconds)"),
        (line(time=-1), "time: milliseconds since 1970"),
        (line(time=10**15), "time: milliseconds since 1970"),
        (line(time=True), "time: milliseconds or an ISO 8601"),
        (line(time="yesterday"), "time: not an ISO 8601 date-time"),
        (line(time=None), "time: milliseconds or an ISO 8601"),
        (line(type="click"), "type: one of product_view, add_to_cart, purchase"),
    ],
)
def test_a_bad_line_says_what_is_wrong(text, reason):
    with pytest.raises(LineError) as caught:
        parse_view(text)
    assert reason in str(caught.value)


def test_bad_lines_are_numbered_and_the_good_ones_kept():
    lines = [line(), "", "{oops", line(sku="B"), line(time="soon"), "   \n"]
    parsed = parse_view_lines(lines)
    assert [view.sku for view in parsed.views] == ["A-1", "B"]
    assert [bad.line for bad in parsed.bad] == [3, 5]
    assert str(parsed.bad[1]).startswith("line 5: time: not an ISO 8601 date-time")


def test_deep_json_is_a_bad_line_not_a_crash():
    parsed = parse_view_lines(["[" * 100_000 + "]" * 100_000])
    assert parsed.bad and parsed.bad[0].reason.startswith("not JSON")
