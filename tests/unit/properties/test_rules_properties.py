"""The personalizer's rule engine on any input: any rule document is a ``Rule`` or a
``RuleError`` naming where (never another exception, so a campaign is a clear 422, never a
500); a valid rule's evaluation and explanation never raise for any visitor, and agree."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import ValidationError

from personalizer.campaigns import Campaign
from personalizer.rules import RULE_KINDS, UTM_NAMES, WEEKDAYS, RuleError, parse_rule
from personalizer.visitor import Geo, Page, Visitor
from pipelines.profiles.profile import Profile
from tests.unit.properties.strategies import ANY_TEXT

FIELD_NAMES = st.sampled_from(
    [
        *RULE_KINDS,
        *UTM_NAMES,
        "lat",
        "lon",
        "km",
        "categories",
        "products",
        "days",
        "category",
        "above",
        "medium",
        "from",
        "to",
    ]
)
NUMBERS = (
    st.integers()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats()
    | st.booleans()
)
TEXTS = st.text(max_size=12) | st.sampled_from(["DE", "mobile", "Shoes/Running", "mon", "sun"])
LEAVES = NUMBERS | TEXTS | st.none() | st.lists(TEXTS, max_size=3)


def documents() -> st.SearchStrategy[Any]:
    """Rule-shaped documents: mostly the rules' own names and value kinds, nested."""
    return st.recursive(
        LEAVES,
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(
                FIELD_NAMES | st.integers(0, 3) | st.text(max_size=4), children, max_size=3
            )
        ),
        max_leaves=12,
    )


# --- valid rules, for evaluation ---------------------------------------------------------------

TEXT_LIST = st.lists(st.text(min_size=1, max_size=10).filter(str.strip), min_size=1, max_size=3)
LEAF_RULES = st.one_of(
    st.builds(
        lambda kind, values: {kind: values},
        st.sampled_from(
            ["country", "region", "city", "device", "browser", "os", "language", "segment"]
        ),
        TEXT_LIST,
    ),
    st.builds(
        lambda lat, lon, km: {"near": {"lat": lat, "lon": lon, "km": km}},
        st.floats(-90, 90),
        st.floats(-180, 180),
        st.floats(0, 20_100),
    ),
    st.builds(
        lambda kind, flag: {kind: flag},
        st.sampled_from(["returning", "identified", "consent"]),
        st.booleans(),
    ),
    st.builds(
        lambda cats, days: {"visited": {"categories": cats, "days": days}},
        TEXT_LIST,
        st.floats(0, 3650),
    ),
    st.builds(
        lambda cat, above: {"interest": {"category": cat, "above": above}},
        st.text(min_size=1).filter(str.strip),
        st.floats(0, 1e12),
    ),
    st.builds(lambda products: {"page": {"products": products}}, TEXT_LIST),
    st.builds(lambda medium: {"referrer": {"medium": medium}}, TEXT_LIST),
    st.builds(lambda name, values: {"utm": {name: values}}, st.sampled_from(UTM_NAMES), TEXT_LIST),
    st.builds(lambda days: {"weekday": days}, st.lists(st.sampled_from(WEEKDAYS), min_size=1)),
    st.builds(
        lambda start, end: {"hours": {"from": start, "to": end}},
        st.integers(0, 23),
        st.integers(0, 24),
    ).filter(lambda rule: rule["hours"]["from"] != rule["hours"]["to"]),
)
VALID_RULES = st.recursive(
    LEAF_RULES,
    lambda children: (
        st.builds(lambda rules: {"all": rules}, st.lists(children, min_size=1, max_size=3))
        | st.builds(lambda rules: {"any": rules}, st.lists(children, min_size=1, max_size=3))
        | st.builds(lambda rule: {"not": rule}, children)
    ),
    max_leaves=8,
)

MS = st.integers(0, 4_102_444_800_000)
VISITORS = st.builds(
    Visitor,
    site_id=st.just("shop"),
    visitor_id=st.just("v1"),
    now=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
    ),
    geo=st.builds(
        Geo,
        country=ANY_TEXT,
        region=ANY_TEXT,
        city=ANY_TEXT,
        latitude=st.none() | st.floats(-90, 90),
        longitude=st.none() | st.floats(-180, 180),
        time_zone=st.sampled_from(
            ["", "Europe/Berlin", "Asia/Tehran", "Nowhere/Else", "..", "UTC"]
        ),
    ),
    page=st.builds(
        Page,
        category=ANY_TEXT,
        sku=ANY_TEXT,
        referrer_medium=ANY_TEXT,
        utm=st.dictionaries(st.sampled_from(UTM_NAMES), ANY_TEXT, max_size=2),
    ),
    device_type=ANY_TEXT,
    language=ANY_TEXT,
    consent=st.booleans(),
    profile=st.builds(
        Profile,
        visits=st.integers(0, 10),
        recent_products=st.lists(st.tuples(ANY_TEXT, MS), max_size=3).map(tuple),
        recent_categories=st.lists(st.tuples(ANY_TEXT, MS), max_size=3).map(tuple),
        scores=st.dictionaries(ANY_TEXT, st.floats(0, 1e6), max_size=3),
        scores_ref_ms=MS,
        half_life_ms=st.integers(1, 10**10),
    ),
    segments=st.frozensets(ANY_TEXT, max_size=2),
    site_time_zone=st.sampled_from(["UTC", "America/New_York", "not a zone"]),
)


@given(documents())
@example({"near": {"lat": 10**400, "lon": 0, "km": 1}})  # found: OverflowError (a 500)
@example({"near": {"lat": 1, "lon": 1, "km": 1, 2: 0, "x": 0}})  # found: TypeError sorting keys
def test_any_document_is_a_rule_or_a_rule_error(document):
    try:
        parse_rule(document)
    except RuleError as exc:
        assert str(exc).startswith("rules")


@given(documents())
@example({"hours": {"from": 10**400, "to": 1}})
def test_a_campaign_with_any_rules_is_valid_or_a_validation_error(document):
    campaign = {
        "id": "c1",
        "site_id": "shop",
        "name": "C",
        "rules": document,
        "creatives": [
            {
                "id": "a",
                "placement": "top",
                "image_url": "https://cdn.example.test/a.png",
                "alt": "A",
                "landing_url": "https://shop.example.test/a",
                "width": 300,
                "height": 250,
            }
        ],
    }
    with contextlib.suppress(ValidationError):
        Campaign.model_validate(campaign)


@given(VALID_RULES, VISITORS)
def test_a_valid_rule_evaluates_and_explains_any_visitor(document, visitor):
    rule = parse_rule(document)
    matched = rule.matches(visitor)
    explained = rule.explain(visitor)
    assert explained.matched == matched
    assert explained.as_json()["matched"] == matched
