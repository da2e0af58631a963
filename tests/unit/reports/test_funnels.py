"""The funnels report's pure parts: step syntax, the window, the figures per step."""

from __future__ import annotations

import pytest

from reports.funnels import Step, parse_steps, parse_within, step_rows
from reports.query import ReportError


def test_steps_with_and_without_conditions():
    steps = parse_steps("page_view,product_view:category=Shoes,cart_add,purchase:sku=A-1")
    assert steps == (
        Step("page_view"),
        Step("product_view", "category", "Shoes"),
        Step("add_to_cart"),  # the example says cart_add
        Step("purchase", "sku", "A-1"),
    )
    assert [s.name for s in steps] == [
        "page_view",
        "product_view:category=Shoes",
        "add_to_cart",
        "purchase:sku=A-1",
    ]
    assert parse_steps("page_view:path=/a=b/c,page_view")[0] == Step("page_view", "path", "/a=b/c")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "steps is required"),
        ("page_view", "2 to 8 steps"),
        (",".join(["page_view"] * 9), "2 to 8 steps"),
        ("page_view,checkout", "step 2 ('checkout'): unknown event type 'checkout'"),
        ("page_view,,purchase", "step 2 (''): unknown event type ''"),
        ("page_view,product_view:colour=red", "category, sku, path"),
        ("page_view,product_view:category", "category, sku, path"),
        ("page_view,product_view:category=", "category, sku, path"),
        ("page_view,product_view:", "empty condition"),
        ("page_view,product_view:path=/a\x01", "category, sku, path"),
    ],
)
def test_bad_steps_are_refused_naming_the_step(text, words):
    with pytest.raises(ReportError) as raised:
        parse_steps(text)
    assert words in str(raised.value)


def test_within():
    assert parse_within("30s") == 30_000
    assert parse_within("30m") == 1_800_000
    assert parse_within("2h") == 7_200_000
    assert parse_within("1d") == 86_400_000
    assert parse_within("90d") == 90 * 86_400_000
    for bad in ("", "0d", "1w", "91d", "1.5h", "-1d", "d", "2160h1"):
        with pytest.raises(ReportError, match="within"):
            parse_within(bad)
    with pytest.raises(ReportError, match="within"):
        parse_within("2161h")  # over 90 days in hours


def test_step_rows():
    steps = parse_steps("page_view,product_view,purchase")
    assert step_rows(steps, [10, 4, 1]) == [
        (1, "page_view", 10, 1.0, 1.0),
        (2, "product_view", 4, 0.4, 0.4),
        (3, "purchase", 1, 0.1, 0.25),
    ]
    assert step_rows(steps, [0, 0, 0])[2] == (3, "purchase", 0, None, None)


def test_steps_of_event_types_alone_read_the_fast_table():
    from reports.funnels import funnel_read

    fast, params = funnel_read(parse_steps("page_view,product_view,page_view"))
    assert "{rollup_funnel_visitors}" in fast.rolled.sql and params == {}
    assert "{rollup_funnel_events}" not in fast.rolled.sql
    general, params = funnel_read(parse_steps("page_view,product_view:sku=A-1"))
    assert "{rollup_funnel_events}" in general.rolled.sql
    assert params == {
        "step_types": ["page_view", "product_view"],
        "s1_type": "page_view",
        "s2_type": "product_view",
        "s2_value": "A-1",
    }


def test_a_type_without_a_column_reads_the_general_table(monkeypatch):
    import reports.funnels as module
    from clicktrail.contract.event import EVENT_TYPES

    assert set(module.FAST_TYPES) == set(EVENT_TYPES)  # today every type has its column
    monkeypatch.setattr(module, "FAST_TYPES", ("page_view",))
    read, params = module.funnel_read(parse_steps("page_view,purchase"))
    assert "{rollup_funnel_events}" in read.rolled.sql and params["s2_type"] == "purchase"
