"""Every targeting rule, as a table: a rule, a visitor, the verdict."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from personalizer.rules import EVERYONE, RULE_KINDS, RuleError, parse_rule
from personalizer.visitor import Geo, Page, Visitor
from pipelines.profiles.profile import Profile

NOW = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)  # Saturday; Europe switches to summer time
NOW_MS = int(NOW.timestamp() * 1000)
DAY = 86_400_000
BERLIN = Geo("DE", "BE", "Berlin", 52.52, 13.405, "Europe/Berlin")
PROFILE = Profile(
    key="shop:v:v1",
    events=12,
    visits=3,
    recent_products=(("SKU-1", NOW_MS - DAY), ("SKU-OLD", NOW_MS - 30 * DAY)),
    recent_categories=(("Shoes/Running", NOW_MS - 2 * DAY), ("Books", NOW_MS - 20 * DAY)),
    scores={"Shoes": 2.0, "Shoes/Running": 1.5, "Books": 0.2},
    scores_ref_ms=NOW_MS,
    half_life_ms=7 * DAY,
)
VISITOR = Visitor(
    site_id="shop",
    visitor_id="v1",
    now=NOW,
    geo=BERLIN,
    page=Page(
        url="https://shop.example.test/c/shoes",
        category="Shoes/Trail",
        sku="SKU-9",
        referrer_medium="search",
        referrer_source="google",
        utm={"source": "newsletter", "campaign": "spring"},
    ),
    device_type="mobile",
    browser="Chrome Mobile",
    os="Android",
    language="de-DE",
    consent=True,
    identified=False,
    profile=PROFILE,
    segments=frozenset({"at_risk"}),
)


def visitor(**changes) -> Visitor:
    return dataclasses.replace(VISITOR, **changes)


CASES = [
    # where
    ({"country": ["de", "AT"]}, VISITOR, True),
    ({"country": "FR"}, VISITOR, False),
    ({"country": ["DE"]}, visitor(geo=Geo()), False),
    ({"region": ["DE-BE"]}, VISITOR, True),
    ({"region": ["DE-BY"]}, VISITOR, False),
    ({"city": ["berlin"]}, VISITOR, True),
    ({"near": {"lat": 52.40, "lon": 13.06, "km": 30}}, VISITOR, True),  # Potsdam, ~27 km
    ({"near": {"lat": 52.40, "lon": 13.06, "km": 20}}, VISITOR, False),
    ({"near": {"lat": 48.14, "lon": 11.58, "km": 100}}, visitor(geo=Geo("DE")), False),
    # who
    ({"device": ["mobile", "tablet"]}, VISITOR, True),
    ({"device": ["desktop"]}, VISITOR, False),
    ({"browser": ["chrome mobile"]}, VISITOR, True),
    ({"os": ["iOS"]}, VISITOR, False),
    ({"language": ["de"]}, VISITOR, True),
    ({"language": ["de-AT"]}, VISITOR, False),
    ({"language": ["d"]}, VISITOR, False),  # a prefix of the tag, not of a subtag
    ({"returning": True}, VISITOR, True),
    ({"returning": True}, visitor(profile=Profile()), False),
    ({"returning": False}, visitor(profile=Profile()), True),
    ({"identified": True}, VISITOR, False),
    ({"identified": False}, VISITOR, True),
    ({"consent": True}, VISITOR, True),
    ({"segment": ["AT_RISK", "champions"]}, VISITOR, True),
    ({"segment": ["champions"]}, VISITOR, False),
    # what they did
    ({"visited": {"products": ["sku-1"], "days": 7}}, VISITOR, True),
    ({"visited": {"products": ["SKU-OLD"], "days": 7}}, VISITOR, False),
    ({"visited": {"products": ["SKU-OLD"], "days": 31}}, VISITOR, True),
    ({"visited": {"categories": ["Shoes"], "days": 3}}, VISITOR, True),  # a page below it
    ({"visited": {"categories": ["Sho"], "days": 3}}, VISITOR, False),  # not a path prefix
    ({"visited": {"categories": ["Books"], "days": 7}}, VISITOR, False),
    ({"visited": {"categories": ["Shoes"], "days": 3}}, visitor(profile=Profile()), False),
    ({"interest": {"category": "Shoes", "above": 1.9}}, VISITOR, True),
    ({"interest": {"category": "Shoes", "above": 2.0}}, VISITOR, False),
    # a week later the score has halved
    ({"interest": {"category": "Shoes", "above": 1.5}}, visitor(now=NOW.replace(day=21)), True),
    ({"page": {"categories": ["shoes"]}}, VISITOR, True),
    ({"page": {"products": ["SKU-1"]}}, VISITOR, False),
    ({"referrer": {"medium": ["search"], "source": ["google", "bing"]}}, VISITOR, True),
    ({"referrer": {"medium": ["social"]}}, VISITOR, False),
    ({"utm": {"source": ["newsletter"], "campaign": ["spring", "summer"]}}, VISITOR, True),
    ({"utm": {"medium": ["email"]}}, VISITOR, False),
    # combinators
    ({"all": [{"country": ["DE"]}, {"device": ["mobile"]}]}, VISITOR, True),
    ({"all": [{"country": ["DE"]}, {"device": ["desktop"]}]}, VISITOR, False),
    ({"any": [{"country": ["FR"]}, {"device": ["mobile"]}]}, VISITOR, True),
    ({"not": {"country": ["DE"]}}, VISITOR, False),
    ([{"country": ["DE"]}, {"not": {"segment": ["vip"]}}], VISITOR, True),
    (None, VISITOR, True),
]


@pytest.mark.parametrize(("data", "who", "expected"), CASES)
def test_rule_table(data, who, expected):
    rule = parse_rule(data)
    assert rule.matches(who) is expected
    assert rule.explain(who).matched is expected


def test_every_rule_kind_is_in_the_table():
    def kinds(data) -> set[str]:
        if isinstance(data, list):
            return set().union(*(kinds(item) for item in data))
        if not isinstance(data, dict):
            return set()
        ((kind, value),) = data.items()
        return {kind} | kinds(value if kind in ("all", "any", "not") else None)

    covered = set().union(*(kinds(data) for data, _, _ in CASES))
    covered |= {"weekday", "hours"}  # their own test below, across time zones
    assert covered == set(RULE_KINDS)


@pytest.mark.parametrize(
    ("utc", "zone", "weekday", "hours"),
    [
        # Berlin: 23:30 UTC on Sat 28 March is 00:30 Sunday (winter time, +1)
        ("2026-03-28T23:30:00", "Europe/Berlin", "sun", {"from": 0, "to": 1}),
        # after the switch to summer time (+2) 00:30 UTC is 02:30... which does not exist
        # locally; the clock shows 03:30
        ("2026-03-29T01:30:00", "Europe/Berlin", "sun", {"from": 3, "to": 4}),
        # New York switched on 8 March; on 28 March 23:30 UTC is 19:30 Saturday (-4)
        ("2026-03-28T23:30:00", "America/New_York", "sat", {"from": 19, "to": 20}),
        # an unknown zone falls back to the site's (Tokyo: +9, Sunday 08:30)
        ("2026-03-28T23:30:00", "", "sun", {"from": 8, "to": 9}),
        # wrapping past midnight
        ("2026-03-28T23:30:00", "UTC", "sat", {"from": 22, "to": 6}),
    ],
)
def test_time_rules_use_the_visitors_own_clock_across_dst(utc, zone, weekday, hours):
    who = visitor(
        now=datetime.fromisoformat(utc).replace(tzinfo=UTC),
        geo=dataclasses.replace(BERLIN, time_zone=zone),
        site_time_zone="Asia/Tokyo",
    )
    assert parse_rule({"weekday": [weekday]}).matches(who)
    assert parse_rule({"hours": hours}).matches(who)
    others = [day for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun") if day != weekday]
    assert not parse_rule({"weekday": others}).matches(who)


def test_explain_says_why_part_by_part():
    rule = parse_rule({"all": [{"country": ["DE"]}, {"not": {"device": ["mobile"]}}]})
    explained = rule.explain(VISITOR).as_json()
    assert explained["matched"] is False
    assert [part["matched"] for part in explained["parts"]] == [True, False]
    assert (
        explained["parts"][0]["detail"] == "DE in ['at', 'de']"
        or "DE in" in explained["parts"][0]["detail"]
    )
    assert explained["parts"][1]["parts"][0]["rule"] == "device"


def nested_not(depth: int) -> dict:
    rule: dict = {"country": "DE"}
    for _ in range(depth):
        rule = {"not": rule}
    return rule


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"countri": ["DE"]}, "rules: unknown rule 'countri'"),
        ({"country": ["DE"], "device": ["mobile"]}, "exactly one key"),
        ({"country": []}, "rules.country: must be a text or a non-empty list"),
        (
            {"all": [{"country": ["DE"]}, {"near": {"lat": 91, "lon": 0, "km": 5}}]},
            "rules.all[1].near.lat",
        ),
        ({"near": {"lat": 1, "lon": 2}}, "rules.near: missing km"),
        ({"near": {"lat": 1, "lon": 2, "km": "far"}}, "rules.near.km: must be a number"),
        ({"visited": {"days": 3}}, "needs categories or products"),
        ({"interest": {"category": "", "above": 1}}, "rules.interest.category"),
        ({"weekday": ["someday"]}, "unknown day someday"),
        ({"hours": {"from": 9, "to": 9}}, "rules.hours"),
        ({"hours": {"from": 9.5, "to": 12}}, "whole hours"),
        ({"returning": "yes"}, "rules.returning: must be true or false"),
        ({"utm": {"sauce": ["x"]}}, "rules.utm: unknown sauce"),
        (
            {
                "not": {
                    "not": {
                        "not": {
                            "not": {
                                "not": {
                                    "not": {
                                        "not": {
                                            "not": {
                                                "not": {
                                                    "not": {
                                                        "not": {
                                                            "not": {
                                                                "not": {
                                                                    "not": {
                                                                        "not": {
                                                                            "not": {
                                                                                "not": {
                                                                                    "country": "DE"
                                                                                }
                                                                            }
                                                                        }
                                                                    }
                                                                }
                                                            }
                                                        }
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            },
            "nested deeper",
        ),
        ("DE", "exactly one key"),
    ],
)
def test_bad_rules_name_the_place(data, message):
    with pytest.raises(RuleError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_rule(data)


def test_no_rules_is_everyone():
    assert parse_rule({}) is EVERYONE
