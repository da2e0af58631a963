"""What a decision service asks of a profile, answered from stored fields alone: no Flask, no
Redis. The fields are what ``HGETALL`` returns for a profile ``apply.lua`` wrote."""

from __future__ import annotations

import pytest

from pipelines.profiles import stored
from pipelines.profiles.profile import Profile, decode_profile

DAY = 86_400_000
WEEK = 7 * DAY
NOW = 1_736_000_000_000  # the decision's clock, passed in: a read never looks at the wall clock


def hgetall(**fields: str) -> dict[bytes, bytes]:
    return {name.encode(): value.encode() for name, value in fields.items()}


# A returning shopper: scores valid a week before NOW, two sessions, one order.
SHOPPER = hgetall(
    **{
        stored.FIRST: str(NOW - 20 * DAY),
        stored.LAST: str(NOW - WEEK),
        stored.EVENTS: "14",
        stored.VISITS: "2",
        stored.PURCHASES: "1",
        stored.RECENT_PRODUCTS: f'[["tent-2p",{NOW - WEEK}],["stove",{NOW - 8 * DAY}],'
        f'["mat",{NOW - 9 * DAY}]]',
        stored.RECENT_CATEGORIES: f'[["Outdoor\\/Tents",{NOW - WEEK}],'
        f'["Outdoor\\/Cooking",{NOW - 8 * DAY}]]',
        stored.PURCHASED_ITEMS: f'[["mat",{NOW - 9 * DAY}]]',
        stored.ORDERS: f'[["o-17",{NOW - 9 * DAY}]]',
        stored.SCORES: '{"Outdoor":8.0,"Outdoor\\/Tents":4.0,"Outdoor\\/Cooking":2.0,"Books":0.5}',
        stored.SCORES_REF: str(NOW - WEEK),
        stored.HALF_LIFE: str(WEEK),
        stored.LOCATION: f'[{NOW - WEEK},"AT","9","Wien",48.2082,16.3738]',
        stored.DEVICE: f'[{NOW - WEEK},"mobile","Safari","iOS"]',
        "wm:events/0": "88-0",
        stored.COVIEW_HISTORY: f'[["tent-2p",{NOW - WEEK}]]',
    }
)


def test_top_interests_at_the_time_of_the_decision():
    profile = decode_profile("profile:shop:u:jane", SHOPPER)
    top = list(profile.interests(NOW).items())[:3]
    # a week (one half-life) after the scores' reference: every score halved, order kept
    assert top == [
        ("Outdoor", pytest.approx(4.0)),
        ("Outdoor/Tents", pytest.approx(2.0)),
        ("Outdoor/Cooking", pytest.approx(1.0)),
    ]
    # a rule "interested above 1.5" holds now, and a week later only for the top
    strong = {name for name, score in profile.interests(NOW).items() if score > 1.5}
    assert strong == {"Outdoor", "Outdoor/Tents"}
    later = profile.interests(NOW + WEEK)
    assert {name for name, score in later.items() if score > 1.5} == {"Outdoor"}
    # a decision clock behind the events never inflates interest
    assert profile.interests(NOW - 30 * DAY)["Outdoor"] == 8.0


def test_recent_products_not_yet_bought_and_the_purchases():
    profile = decode_profile("profile:shop:u:jane", SHOPPER)
    bought = {sku for sku, _ in profile.purchased_items}
    to_recommend = [sku for sku, _ in profile.recent_products if sku not in bought]
    assert to_recommend == ["tent-2p", "stove"]  # newest first
    assert (profile.purchases, profile.visits, profile.events) == (1, 2, 14)
    assert profile.recent_categories[0] == ("Outdoor/Tents", NOW - WEEK)
    assert profile.known and profile.user_id == "jane"
    assert NOW - profile.last_seen_ms == WEEK  # returning after a week


def test_targeting_by_place_and_device():
    profile = decode_profile("profile:shop:u:jane", SHOPPER)
    assert profile.location is not None and profile.device is not None
    assert (profile.location.country, profile.location.city) == ("AT", "Wien")
    assert profile.device.device_type == "mobile"


def test_an_unknown_visitor_reads_as_the_empty_profile():
    # nothing stored, or only what a visitor's own key keeps once its data moved
    for fields in ({}, hgetall(**{stored.MOVED_TO: "profile:shop:u:jane", "wm:events/0": "3-0"})):
        profile = decode_profile("profile:shop:v:new", fields)
        assert profile == Profile()
        assert not profile.known
        assert profile.interests(NOW) == {}
        assert profile.recent_products == profile.purchased_items == ()
        assert profile.location is None and profile.device is None and profile.user_id == ""


def test_a_visitor_seen_once_without_a_category():
    profile = decode_profile(
        "profile:shop:v:abc",
        hgetall(**{stored.EVENTS: "1", stored.FIRST: str(NOW), stored.LAST: str(NOW)}),
    )
    assert profile.known and profile.user_id == ""
    assert profile.interests(NOW) == {} and profile.location is None
