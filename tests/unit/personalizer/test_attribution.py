"""The attribution loop's events (pure): what a decision, an impression and a click write to
the event log, checked against the event contract; ids and times derived from the decision."""

from __future__ import annotations

import uuid

import pytest

from clicktrail.contract.envelope import parse_event
from clicktrail.contract.ids import attribution_event_id, decision_ms, new_decision_id
from personalizer.attribution import click_record, decision_record, impression_record
from personalizer.campaigns import Campaign
from personalizer.decide import Decision, Placed
from personalizer.offers import Offer
from personalizer.select import Choice
from personalizer.signing import Signed

MADE_MS = 1_764_000_010_123


def campaign(cid: str, holdout: float = 0.0, default: bool = False) -> Campaign:
    return Campaign(
        id=cid,
        site_id="shop",
        name=cid,
        default=default,
        holdout_percent=holdout,
        creatives=[
            {
                "id": f"{cid}-1",
                "placement": "top",
                "image_url": "https://cdn.example.test/a.png",
                "alt": "a",
                "landing_url": "https://shop.example.test/landing",
                "width": 300,
                "height": 250,
            }
        ],
    )


def a_decision(placements: list[Placed], **fields) -> Decision:
    return Decision(
        decision_id=new_decision_id(MADE_MS),
        site_id="shop",
        visitor_id="v1",
        id_source="cookie",
        created_ms=MADE_MS,
        consent=True,
        placements=placements,
        **fields,
    )


def placed(placement: str, chosen: Campaign | None, **choice) -> Placed:
    creative = chosen.creatives[0] if chosen is not None else None
    return Placed(placement, Choice(placement, chosen, creative, **choice))


def signed(decision_id: str, holdout: bool = False) -> Signed:
    return Signed(decision_id, "shop", "summer", "summer-1", "top", "v1", holdout, 2**31)


def test_a_decision_id_is_a_uuid7_of_its_time():
    decision_id = new_decision_id(MADE_MS)
    assert uuid.UUID(decision_id).version == 7
    assert decision_ms(decision_id) == MADE_MS
    assert new_decision_id(MADE_MS) != decision_id
    with pytest.raises(ValueError, match="UUIDv7"):
        decision_ms(str(uuid.uuid4()))


def test_event_ids_are_derived_and_differ_by_placement_and_kind():
    decision_id = new_decision_id(MADE_MS)
    ids = {
        attribution_event_id(decision_id, placement, kind)
        for placement in ("top", "side")
        for kind in ("decision", "impression", "click")
    }
    assert len(ids) == 6
    assert attribution_event_id(decision_id, "top", "click") == attribution_event_id(
        decision_id.upper(), "top", "click"
    )
    with pytest.raises(ValueError):
        attribution_event_id(decision_id, "top", "view")


def test_a_decision_is_one_contract_valid_event_per_placement_holdout_marked():
    summer, world = campaign("summer", holdout=10), campaign("world", default=True)
    decision = a_decision(
        [
            placed("top", summer, source="campaign"),
            placed("side", world, holdout=True, held_out=summer, source="global_default"),
            placed("bottom", None),
        ],
        offers=[Offer("A", "trending", 1.0), Offer("B", "fallback", 0.5)],
        degraded=["profiles"],
        ip="203.0.113.9",
        user_agent="UA",
    )
    record = decision_record(decision, MADE_MS)
    assert (record.site_id, record.visitor_id, record.id_source) == ("shop", "v1", "cookie")
    assert (record.ip, record.user_agent) == ("203.0.113.9", "UA")  # located like any event
    events = [parse_event(event, "shop").to_record() for event in record.events]
    assert [e["event_type"] for e in events] == ["decision"] * 3
    assert {e["decision_id"] for e in events} == {decision.decision_id}
    assert all(e["created_at"] == MADE_MS for e in events)
    top, side, bottom = events
    assert top["event_id"] == attribution_event_id(decision.decision_id, "top", "decision")
    assert (top["campaign_id"], top["creative_id"], top["holdout"]) == ("summer", "summer-1", False)
    assert (side["campaign_id"], side["holdout"]) == ("world", True)
    assert side["properties"]["held_out_campaign"] == "summer"
    assert "campaign_id" not in bottom and bottom["properties"]["source"] == "none"
    assert top["properties"]["offers"] == "A,B" and top["properties"]["degraded"] == "profiles"
    # the same decision gives the same records
    assert decision_record(decision, MADE_MS) == record


def test_a_decision_for_offers_only_is_still_logged():
    decision = a_decision([], offers=[Offer("A", "trending", 1.0)])
    (event,) = decision_record(decision, MADE_MS).events
    parsed = parse_event(event, "shop").to_record()
    assert parsed["event_id"] == attribution_event_id(decision.decision_id, "", "decision")
    assert "placement" not in parsed


def test_a_long_offer_list_keeps_whole_skus_within_the_property_limit():
    decision = a_decision(
        [], offers=[Offer("x" * 100 + str(n), "trending", 1.0) for n in range(20)]
    )
    (event,) = decision_record(decision, MADE_MS).events
    text = parse_event(event, "shop").to_record()["properties"]["offers"]
    assert len(text) <= 1024 and all(len(sku) == 101 for sku in text.split(","))


def test_impressions_and_clicks_take_their_id_and_time_from_the_decision():
    decision_id = new_decision_id(MADE_MS)
    first = impression_record(signed(decision_id), MADE_MS + 4000, True, "203.0.113.9", "UA")
    again = impression_record(signed(decision_id), MADE_MS + 9000, True, "203.0.113.9", "UA")
    (seen,), (resent,) = first.events, again.events
    assert seen == resent  # a resent impression is the same event
    assert first.received_at == MADE_MS + 4000 and again.received_at == MADE_MS + 9000
    event = parse_event(seen, "shop").to_record()
    assert event["event_type"] == "banner_impression"
    assert event["event_id"] == attribution_event_id(decision_id, "top", "impression")
    assert event["created_at"] == MADE_MS
    assert (event["campaign_id"], event["creative_id"], event["placement"]) == (
        "summer",
        "summer-1",
        "top",
    )
    assert event["viewable"] is True and event["holdout"] is False
    assert (first.ip, first.user_agent, first.visitor_id) == ("203.0.113.9", "UA", "v1")

    unseen = impression_record(signed(decision_id), MADE_MS, False).events[0]
    assert "viewable" not in unseen and unseen["event_id"] == seen["event_id"]

    click = click_record(signed(decision_id, holdout=True), MADE_MS + 6000).events[0]
    parsed = parse_event(click, "shop").to_record()
    assert parsed["event_type"] == "banner_click" and parsed["holdout"] is True
    assert parsed["event_id"] == attribution_event_id(decision_id, "top", "click")
    assert parsed["created_at"] == MADE_MS


def test_a_link_signed_before_schema_2_has_no_event():
    with pytest.raises(ValueError):
        impression_record(signed(uuid.uuid4().hex), MADE_MS, False)
