"""The preview: a sample visitor's rules and decisions from the personalizer's own code."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from personalizer.campaigns import parse_campaign
from reports.dashboard.preview import SampleError, parse_sample, preview, sample_visitor

NOW = datetime(2026, 12, 2, 10, tzinfo=UTC)
DEVICES = ("desktop", "mobile", "tablet")


def campaign(cid: str, placement: str = "top", **fields):  # noqa: ANN003, ANN201
    return parse_campaign(
        {
            "id": cid,
            "site_id": "shop",
            "name": cid,
            "creatives": [
                {
                    "id": f"{cid}-a",
                    "placement": placement,
                    "image_url": "https://cdn.example.test/a.png",
                    "alt": "A",
                    "landing_url": "https://shop.example.test/a",
                    "width": 1,
                    "height": 1,
                }
            ],
            **fields,
        }
    )


CAMPAIGNS = {
    "shoes": campaign(
        "shoes",
        priority=5,
        rules={"all": [{"country": ["DE"]}, {"interest": {"category": "Shoes", "above": 0.5}}]},
    ),
    "mobile": campaign("mobile", rules={"device": ["mobile"]}),
    "paused": campaign("paused", status="paused"),
    "world": campaign("world", default=True),
    "side": campaign("side", "side", rules={"country": ["FR"]}),
}


def decide(**form: str):  # noqa: ANN003, ANN201
    visitor = sample_visitor("shop", "Europe/Berlin", parse_sample(form, DEVICES), NOW)
    rules, decisions = preview(CAMPAIGNS, visitor)
    return {r.campaign: r for r in rules}, {d.placement: d for d in decisions}


def test_the_highest_matching_tier_wins_and_the_others_say_why():
    rules, decisions = decide(country="de", device="mobile", interests="Shoes=0.9")
    assert rules["shoes"].matched and rules["mobile"].matched and not rules["side"].matched
    top = decisions["top"]
    assert (top.campaign, top.creative, top.source) == ("shoes", "shoes-a", "campaign")
    assert top.verdicts["mobile"].startswith("lower priority tier")
    assert top.verdicts["paused"] == "status paused"
    assert decisions["side"].campaign == "" and decisions["side"].source == "none"
    parts = rules["shoes"].explained["parts"]
    assert parts[1] == {"rule": "interest", "matched": True, "detail": "shoes: 0.900, above 0.5"}


def test_without_a_match_the_default_is_shown():
    rules, decisions = decide(country="FR", interests="Shoes=0.9")
    assert not rules["shoes"].matched
    assert (decisions["top"].campaign, decisions["top"].source) == ("world", "global_default")
    assert decisions["side"].campaign == "side"


@pytest.mark.parametrize(
    ("form", "words"),
    [
        ({"country": "Germany"}, "two-letter"),
        ({"device": "fridge"}, "device must be one of"),
        ({"interests": "Shoes"}, "category=score pairs"),
        ({"interests": "Shoes=lots"}, "category=score pairs"),
        ({"interests": "=0.5"}, "category=score pairs"),
    ],
)
def test_a_bad_sample_is_named(form, words):
    with pytest.raises(SampleError, match=words):
        parse_sample(form, DEVICES)
