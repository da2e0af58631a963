"""Decoding a stored profile and decaying its interests at read time."""

from __future__ import annotations

import pytest

from pipelines.profiles.profile import Device, Location, Profile, decode_profile

WEEK = 604_800_000


def stored(**fields: str) -> dict[bytes, bytes]:
    return {name.encode(): value.encode() for name, value in fields.items()}


def test_decodes_what_the_script_stores():
    profile = decode_profile(
        "profile:shop:u:jane:doe",
        stored(
            events="7",
            first="100",
            last="900",
            visits="2",
            purchases="1",
            rp='[["b",900],["a",800]]',
            rc='[["Books\\/Fiction",800]]',
            pi='[["b",900]]',
            loc='[900,"DE","BE","Berlin",52.52,13.4]',
            dev='[900,"mobile","Safari","iOS"]',
            cs='{"Books":2.0}',
            cref="900",
            hl=str(WEEK),
            **{"wm:events:0": "12-0"},
        ),
    )
    assert profile.key == "shop:u:jane:doe"
    assert profile.user_id == "jane:doe"
    assert (profile.first_seen_ms, profile.last_seen_ms, profile.events) == (100, 900, 7)
    assert (profile.visits, profile.purchases) == (2, 1)
    assert profile.recent_products == (("b", 900), ("a", 800))
    assert profile.recent_categories == (("Books/Fiction", 800),)
    assert profile.purchased_items == (("b", 900),)
    assert profile.location == Location(900, "DE", "BE", "Berlin", 52.52, 13.4)
    assert profile.device == Device(900, "mobile", "Safari", "iOS")
    assert profile.interests(900 + WEEK) == {"Books": 1.0}


def test_interests_are_sorted_and_not_inflated_by_an_early_clock():
    profile = Profile(scores={"a": 1.0, "b": 3.0, "c": 1.0}, scores_ref_ms=50, half_life_ms=10)
    assert list(profile.interests(60)) == ["b", "a", "c"]
    assert profile.interests(0) == {"b": 3.0, "a": 1.0, "c": 1.0}
    assert profile.interests(70)["b"] == pytest.approx(0.75)


def test_unknown_or_alias_only_keys_decode_to_an_empty_profile():
    assert decode_profile("profile:shop:v:x", {}) == Profile()
    assert decode_profile("profile:shop:v:x", stored(**{"wm:p": "1-0"})) == Profile()
    assert Profile(key="shop:v:abc").user_id == ""


def test_a_profile_without_scores_location_or_device():
    profile = decode_profile("profile:s:v:x", stored(events="1", cs="{}"))
    assert profile.scores == {} and profile.location is None and profile.device is None
