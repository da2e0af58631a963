"""The pure aggregation: rows of a batch -> per-visitor deltas cut at identity links."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipelines.profiles import decay, stored
from pipelines.profiles.aggregate import aggregate, category_paths
from pipelines.profiles.config import ProfileConfig
from pipelines.profiles.position import Position

T = 1_736_000_000_000
CONFIG = ProfileConfig()


def row(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "site_id": "shop",
        "visitor_id": "v1",
        "created_ms": T,
        "event_type": "page_view",
        "session_id": "s1",
        "is_bot": 0,
    }
    return base | fields


def at(offset: int) -> Position:
    return Position("events:0", offset)


def test_positions_compare_within_a_partition_in_order():
    assert Position("p", 5, 9) < Position("p", 6, 0) < Position("p", 6, 1)
    assert sorted([Position("p", 2), Position("p", 1, 3)]) == [
        Position("p", 1, 3),
        Position("p", 2),
    ]


def test_one_delta_per_visitor_and_partition_in_first_appearance_order():
    batch = [
        (at(1), [row(visitor_id="b")]),
        (at(2), [row(visitor_id="a")]),
        (Position("events:1", 1), [row(visitor_id="b")]),
        (at(3), [row(visitor_id="b"), row(visitor_id="b")]),
    ]
    deltas = aggregate(batch, CONFIG)
    assert [(d.visitor_id, d.partition, d.events) for d in deltas] == [
        ("b", "events:0", 3),
        ("a", "events:0", 1),
        ("b", "events:1", 1),
    ]
    [segment] = deltas[0].segments
    assert (segment.first, segment.last) == (at(1), at(3))


def test_bots_are_skipped_unless_included():
    batch = [(at(1), [row(is_bot=1), row(is_bot=1, visitor_id="v2"), row()])]
    assert [d.events for d in aggregate(batch, CONFIG)] == [1]
    with_bots = ProfileConfig(include_bots=True)
    assert [d.events for d in aggregate(batch, with_bots)] == [2, 1]


def test_no_profile_without_consent():
    batch = [(at(1), [row(consent="denied"), row(visitor_id="h", id_source="cookieless")])]
    assert aggregate(batch, CONFIG) == []


def test_what_the_engine_showed_is_not_the_visitors_activity():
    shown = [row(event_type="decision", created_ms=T + 9), row(event_type="banner_impression")]
    assert aggregate([(at(1), shown)], CONFIG) == []
    [delta] = aggregate(
        [(at(1), [*shown, row(event_type="banner_click", created_ms=T + 5)])], CONFIG
    )
    assert delta.events == 1


def test_fragment_counts_spans_sessions_and_latest_location_and_device():
    rows = [
        row(created_ms=T + 5, session_id="s2", country="FR", city="Paris", latitude=48.85661),
        row(created_ms=T, country="DE", city="Berlin", device_type="mobile", browser="Safari"),
        row(created_ms=T + 9, event_type="page_ping", session_id="s2"),
        row(created_ms=T + 1, session_id="", device_type="desktop", browser="Firefox", os="Linux"),
    ]
    [delta] = aggregate([(at(1), rows)], CONFIG)
    fragment = delta.segments[0].fragment
    assert (fragment.first_ms, fragment.last_ms, fragment.events) == (T, T + 9, 4)
    assert fragment.sessions == {"s1": T, "s2": T + 5}
    assert json.loads(fragment.location) == [T + 5, "FR", "", "Paris", 48.8566, 0.0]
    assert json.loads(fragment.device) == [T + 1, "desktop", "Firefox", "Linux"]


def test_equal_times_pick_the_same_location_whatever_the_order():
    rows = [row(country="DE", city="Berlin"), row(country="AT", city="Wien")]
    first = aggregate([(at(1), rows)], CONFIG)[0].segments[0].fragment.location
    second = aggregate([(at(1), rows[::-1])], CONFIG)[0].segments[0].fragment.location
    assert first == second


def test_category_paths_score_every_level_with_the_event_weight():
    assert category_paths(["Books", "Fiction", "Crime"]) == [
        "Books",
        "Books/Fiction",
        "Books/Fiction/Crime",
    ]
    rows = [
        row(event_type="page_view", category=["Books"]),
        row(event_type="product_view", category=["Books", "Fiction"], sku="b1"),
        row(event_type="add_to_cart", category=["Books", "Fiction"], sku="b1"),
        row(event_type="purchase", category=["Garden"], item_skus=["g1"], order_id="o1"),
        row(event_type="click", category=["Toys"]),
    ]
    fragment = aggregate([(at(1), rows)], CONFIG)[0].segments[0].fragment
    assert fragment.scores == {"Books": 2.75, "Books/Fiction": 2.5, "Garden": 2.0}
    assert CONFIG.weights["page_view"] < CONFIG.weights["product_view"]
    assert CONFIG.weights["product_view"] < CONFIG.weights["add_to_cart"]
    assert CONFIG.weights["add_to_cart"] < CONFIG.weights["purchase"]


def test_a_purchase_without_a_category_scores_its_items_categories():
    rows = [
        row(
            event_type="purchase",
            item_skus=["g1", "g2", "b1"],
            item_categories=["Garden/Tools", "Garden/Tools", "Books"],
            order_id="o1",
        ),
    ]
    fragment = aggregate([(at(1), rows)], CONFIG)[0].segments[0].fragment
    weight = CONFIG.weights["purchase"]
    # Two items of one category count once: the purchase, not the basket size, is the signal.
    assert fragment.scores == {"Garden": weight, "Garden/Tools": weight, "Books": weight}


def test_scores_are_valid_at_the_fragments_last_event():
    week = CONFIG.half_life_ms
    rows = [
        row(event_type="product_view", category=["A"], sku="x"),
        row(event_type="page_ping", created_ms=T + week),
    ]
    fragment = aggregate([(at(1), rows)], CONFIG)[0].segments[0].fragment
    assert fragment.scores == {"A": 0.5}
    assert decay.rescale(fragment.scores, fragment.last_ms, T + 2 * week, week) == {"A": 0.25}


def test_recent_categories_are_bounded_newest_first_and_count_only_views():
    config = ProfileConfig(recent_categories=2)
    rows = [
        row(created_ms=T + i, event_type="product_view", sku=f"p{i}", category=["C", str(i)])
        for i in range(5)
    ]
    rows.append(row(created_ms=T + 99, event_type="add_to_cart", sku="x", category=["Cart"]))
    fragment = aggregate([(at(1), rows)], config)[0].segments[0].fragment
    assert fragment.categories == [("C/4", T + 4), ("C/3", T + 3)]


def test_purchases_keep_items_bounded_and_every_distinct_order():
    config = ProfileConfig(purchased_items=2)
    rows = [
        row(event_type="purchase", order_id="o1", item_skus=["a", "b"], created_ms=T),
        row(event_type="purchase", order_id="o1", item_skus=["a", "b"], created_ms=T),  # resent
        row(event_type="purchase", order_id="o2", item_skus=["c"], created_ms=T + 1),
    ]
    fragment = aggregate([(at(1), rows)], config)[0].segments[0].fragment
    assert fragment.purchased == [("c", T + 1), ("a", T)]
    assert fragment.orders == [("o2", T + 1), ("o1", T)]


def test_views_are_every_product_view_in_log_order():
    rows = [
        row(event_type="product_view", sku="b", created_ms=T + 2),
        row(event_type="product_view", sku="a", created_ms=T + 1),
        row(event_type="product_view", sku="b", created_ms=T + 3),
        row(event_type="add_to_cart", sku="c", created_ms=T + 4),
        row(event_type="product_view", sku="", created_ms=T + 5),
    ]
    fragment = aggregate([(at(1), rows)], CONFIG)[0].segments[0].fragment
    assert fragment.views == [("b", T + 2), ("a", T + 1), ("b", T + 3)]


def test_segments_start_at_each_identity_link():
    batch = [
        (at(1), [row(), row()]),
        (at(2), [row(event_type="identify", user_id="u1"), row(user_id="u1")]),
        (at(3), [row(user_id="u1", replaced_visitor_id="old"), row(replaced_visitor_id="old")]),
        (at(4), [row(user_id="u2")]),
        (at(5), [row(replaced_visitor_id="v1")]),  # replacing itself links nothing
    ]
    [delta] = aggregate(batch, CONFIG)
    shape = [(s.user_id, s.replaced, s.fragment.events, s.first, s.last) for s in delta.segments]
    assert shape == [
        ("", (), 2, at(1), at(1)),
        ("u1", (), 2, at(2), at(2)),
        ("", ("old",), 2, at(3), at(3)),
        ("u2", (), 2, at(4), at(5)),
    ]


def test_a_link_on_the_first_row_opens_no_empty_segment():
    [delta] = aggregate([(at(1), [row(user_id="u1", replaced_visitor_id="r")])], CONFIG)
    [segment] = delta.segments
    assert (segment.user_id, segment.replaced) == ("u1", ("r",))


def test_rows_without_position_make_a_delta_without_watermark():
    [delta] = aggregate([(None, [row()])], CONFIG)
    assert delta.partition == ""
    assert (delta.segments[0].first, delta.segments[0].last) == (None, None)


@pytest.mark.parametrize("cut", [1, 2, 3, 4])
def test_order_free_parts_do_not_depend_on_where_a_batch_is_cut(cut: int):
    rows = [
        row(created_ms=T + 10, event_type="product_view", sku="a", category=["A", "x"]),
        row(created_ms=T + 30, event_type="add_to_cart", sku="a", category=["A", "x"]),
        row(created_ms=T + 20, event_type="page_view", category=["B"], session_id="s2"),
        row(created_ms=T + 5, event_type="purchase", item_skus=["a"], order_id="o"),
        row(created_ms=T + 40, event_type="product_view", sku="b", category=["A", "y"]),
    ]
    whole = aggregate([(at(1), rows)], CONFIG)[0].segments[0].fragment
    parts = [
        aggregate([(at(1), rows[:cut])], CONFIG)[0].segments[0].fragment,
        aggregate([(at(2), rows[cut:])], CONFIG)[0].segments[0].fragment,
    ]
    assert sum(p.events for p in parts) == whole.events
    assert min(p.first_ms for p in parts) == whole.first_ms
    scores: dict[str, float] = {}
    for part in parts:
        moved = decay.rescale(part.scores, part.last_ms, whole.last_ms, CONFIG.half_life_ms)
        for name, value in moved.items():
            scores[name] = scores.get(name, 0.0) + value
    assert scores == pytest.approx(whole.scores, rel=1e-12)


# --- an event logged twice counts once ----------------------------------------------------------


def test_a_copy_later_in_the_batch_adds_nothing_but_its_position():
    original = row(event_id="e1", event_type="product_view", sku="a", category=["A"])
    other = row(event_id="e2", created_ms=T + 5, event_type="add_to_cart", sku="a", category=["A"])
    copies = [(at(1), [original]), (at(2), [other]), (at(3), [dict(original)])]
    [delta] = aggregate(copies, CONFIG)
    [distinct] = aggregate(copies[:2], CONFIG)
    assert delta.segments[0].fragment == distinct.segments[0].fragment
    assert (delta.duplicates, delta.through, delta.segments[0].last) == (1, at(3), at(2))
    assert delta.segments[0].ids == stored.event_id_hash("e1", T) + stored.event_id_hash(
        "e2", T + 5
    )


def test_events_are_told_apart_by_id_and_device_time_within_a_visitor():
    rows = [
        row(event_id="e1"),
        row(event_id="e1", created_ms=T + 1),  # another event that reuses the id
        row(event_id="e1", visitor_id="v2"),  # another visitor's: never suppressed
        row(event_id=""),  # no id: always counted
        row(event_id=""),
    ]
    deltas = aggregate([(at(1), rows)], CONFIG)
    assert [(d.visitor_id, d.events, d.duplicates) for d in deltas] == [("v1", 4, 0), ("v2", 1, 0)]


def test_known_events_are_left_out_and_a_delta_of_copies_only_keeps_its_position():
    known = {("shop", "v1"): {stored.event_id_hash("e1", T)}}
    rows = [row(event_id="e1"), row(event_id="e2", created_ms=T + 1)]
    [delta] = aggregate([(at(1), rows[:1]), (at(2), rows[1:])], CONFIG, known)
    assert (delta.events, delta.duplicates, delta.through) == (1, 1, at(2))
    assert delta.segments[0].first == at(2)
    [only_copies] = aggregate([(at(7), rows[:1])], CONFIG, known)
    assert (only_copies.segments, only_copies.duplicates, only_copies.through) == ([], 1, at(7))
    # known for another visitor changes nothing here
    assert (
        aggregate([(at(1), rows)], CONFIG, {("shop", "v9"): known[("shop", "v1")]})[0].events == 2
    )


def test_a_copy_carrying_an_identity_link_opens_no_segment():
    batch = [
        (at(1), [row(event_id="e1", event_type="identify", user_id="u1")]),
        (at(2), [row(event_id="e2", user_id="u2", created_ms=T + 1)]),
        (at(3), [row(event_id="e1", event_type="identify", user_id="u1")]),  # resent
        (at(4), [row(event_id="e3", created_ms=T + 2)]),
    ]
    [delta] = aggregate(batch, CONFIG)
    # the copy does not link u1 again: e3 still goes where e2 sent the visitor
    assert [(s.user_id, s.fragment.events) for s in delta.segments] == [("u1", 1), ("u2", 2)]
    assert delta.through == at(4)
