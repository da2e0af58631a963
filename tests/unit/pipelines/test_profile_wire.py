"""What the profile script receives."""

from __future__ import annotations

import json

from pipelines.profiles import stored
from pipelines.profiles.aggregate import aggregate
from pipelines.profiles.config import ProfileConfig
from pipelines.profiles.position import Position
from pipelines.profiles.wire import encode_delta, encode_ids, encode_through, script_settings


def test_settings_are_in_the_order_the_script_unpacks_them():
    config = ProfileConfig(recent_products=7, ttl_ms=99)
    assert script_settings(config).split() == [
        "7", "10", "20", "32", "50", "256", "604800000", "1800000", "5", "200", "99", "256", "6",
    ]  # fmt: skip


def test_a_segment_travels_with_positions_and_without_empty_parts():
    rows = [
        {"site_id": "s", "visitor_id": "v", "created_ms": 5, "event_type": "page_ping"},
        {"site_id": "s", "visitor_id": "v", "created_ms": 7, "event_type": "identify",
         "user_id": "u", "session_id": "x"},
    ]  # fmt: skip
    [delta] = aggregate([(Position("p", 3, 1), rows[:1]), (Position("p", 4, 0), rows[1:])],
                        ProfileConfig())  # fmt: skip
    assert json.loads(encode_delta(delta)) == [
        {"a": 5, "z": 5, "n": 1, "f": [3, 1], "l": [3, 1]},
        {"a": 7, "z": 7, "n": 1, "f": [4, 0], "l": [4, 0], "u": "u", "s": {"x": 7}},
    ]


def test_event_hashes_travel_apart_each_segment_counting_its_own():
    def event(at: int, event_id: str, **fields: object) -> dict[str, object]:
        base = {"site_id": "s", "visitor_id": "v", "created_ms": at, "event_type": "page_view"}
        return base | {"event_id": event_id} | fields

    rows = [event(5, "a"), event(6, ""), event(7, "b", user_id="u"), event(5, "a")]
    [delta] = aggregate([(Position("p", 3), rows[:2]), (Position("p", 4), rows[2:])],
                        ProfileConfig())  # fmt: skip
    assert [segment.get("h") for segment in json.loads(encode_delta(delta))] == [1, 1]
    ids = encode_ids(delta)
    assert ids == stored.event_id_hash("a", 5) + stored.event_id_hash("b", 7)
    # the copy of "a" is left out, and its record is the last the delta reaches
    assert encode_through(delta) == "4-0"
    # remembering no ids: none sent
    assert "h" not in encode_delta(delta, with_ids=False)
    assert encode_ids(delta, with_ids=False) == b""
