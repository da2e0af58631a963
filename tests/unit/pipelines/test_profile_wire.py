"""What the profile script receives."""

from __future__ import annotations

import json

from pipelines.profiles.aggregate import aggregate
from pipelines.profiles.config import ProfileConfig
from pipelines.profiles.position import Position
from pipelines.profiles.wire import encode_delta, script_settings


def test_settings_are_in_the_order_the_script_unpacks_them():
    config = ProfileConfig(recent_products=7, ttl_ms=99)
    assert script_settings(config).split() == [
        "7", "10", "20", "32", "50", "256", "604800000", "1800000", "5", "200", "99",
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
