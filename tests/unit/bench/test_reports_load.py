"""bench-reports' fast load: the personalizer's exposures beside page views, and renamed
copies that never collapse into each other."""

from __future__ import annotations

import random
from collections import Counter

import orjson

from bench.reports import copied, exposures

# Whatever names a person, visit, event, order or decision: a copy must rename each of them.
IDENTIFIERS = {
    "event_id",
    "visitor_id",
    "replaced_visitor_id",
    "user_id",
    "session_id",
    "page_view_id",
    "order_id",
    "decision_id",
}


def page_views(count: int) -> list[dict]:
    return [
        {
            "event_type": "page_view",
            "event_id": f"e{n}",
            "visitor_id": f"v{n % 50}",
            "session_id": f"s{n % 80}",
            "page_view_id": f"p{n}",
            "user_id": "",
            "created_ms": 1_000 + n,
            "derived_ms": 2_000 + n,
            "is_bot": int(n % 10 == 0),
        }
        for n in range(count)
    ]


def test_exposures_follow_human_page_views_with_ids_of_their_own():
    views = page_views(3_000)
    made = exposures(views, random.Random(1))
    kinds = Counter(row["event_type"] for row in made)
    humans = sum(1 for row in views if not row["is_bot"])
    assert 0.25 * humans < kinds["decision"] < 0.35 * humans
    assert 0 < kinds["banner_click"] < kinds["banner_impression"] < kinds["decision"]
    assert len({row["event_id"] for row in made}) == len(made)
    by_view = {row["event_id"]: row for row in views}
    for row in made:
        view = by_view[row["decision_id"].removesuffix("-d")]
        assert not view["is_bot"] and row["visitor_id"] == view["visitor_id"]
        assert row["derived_ms"] > view["derived_ms"]
        if row["holdout"]:
            assert row["event_type"] == "decision" and not row["campaign_id"]
            assert orjson.loads(row["properties"])["held_out_campaign"]
        else:
            assert row["creative_id"].startswith(row["campaign_id"])


def test_a_copy_renames_every_identifier_and_nothing_else():
    rows = page_views(100)
    rows += exposures(rows, random.Random(2))
    assert copied(rows, 0) is rows
    first, second = copied(rows, 1), copied(rows, 2)
    for original, one, two in zip(rows, first, second, strict=True):
        for name, value in original.items():
            if name in IDENTIFIERS and value:
                assert one[name] == f"{value}.c1" and two[name] == f"{value}.c2"
            else:
                assert one[name] == two[name] == value
    ids = [row["event_id"] for row in rows + first + second]
    assert len(set(ids)) == len(ids)
