"""Choosing a creative: eligibility (schedule, caps, goals, pacing), tiers, holdout, fallbacks,
and Thompson sampling learning the best creative."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime

import pytest

from personalizer.campaigns import CampaignError, parse_campaign
from personalizer.select import (
    CreativeStats,
    Delivery,
    allowed_today,
    choose,
    in_holdout,
)
from personalizer.visitor import Geo, Visitor

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # 14:00 in Berlin
VISITOR = Visitor(
    "shop", "v1", NOW, geo=Geo("DE", time_zone="Europe/Berlin"), site_time_zone="Europe/Berlin"
)


def creative(cid: str, placement: str = "top") -> dict:
    return {
        "id": cid,
        "placement": placement,
        "image_url": f"https://cdn.example.test/{cid}.png",
        "alt": cid,
        "landing_url": f"https://shop.example.test/{cid}",
        "width": 300,
        "height": 250,
    }


def campaign(cid: str, **fields):
    data = {"id": cid, "site_id": "shop", "name": cid, "creatives": [creative(f"{cid}-a")]}
    return parse_campaign({**data, **fields})


def pick(campaigns, visitor=VISITOR, deliveries=None, stats=None, seed=1, **kwargs):
    return choose(
        "top", campaigns, visitor, deliveries or {}, stats or {}, random.Random(seed), **kwargs
    )


def test_the_highest_eligible_tier_wins():
    low, high = campaign("low", priority=1), campaign("high", priority=5)
    chosen = pick([low, high])
    assert chosen.campaign is high and chosen.source == "campaign"
    assert "lower priority tier" in chosen.verdicts["low"]


@pytest.mark.parametrize(
    ("fields", "delivery", "why"),
    [
        ({"status": "paused"}, Delivery(), "status paused"),
        ({"schedule": {"start": "2026-06-11T00:00:00+02:00"}}, Delivery(), "outside its schedule"),
        ({"schedule": {"end": "2026-06-10T14:00:00+02:00"}}, Delivery(), "outside its schedule"),
        ({"rules": {"country": ["FR"]}}, Delivery(), "rules not matched"),
        (
            {"frequency_cap": {"impressions": 3, "hours": 24}},
            Delivery(visitor=3),
            "frequency cap reached",
        ),
        ({"total_impressions": 100, "daily_impressions": 50}, Delivery(total=100), "total goal"),
        ({"daily_impressions": 100, "pacing": "asap"}, Delivery(today=100), "paced"),
        # even pacing: 14:00 local is 58.3 % of the day, plus 1 % slack: 60 of 100 by now
        ({"daily_impressions": 100}, Delivery(today=60), "paced: 60 of 60"),
    ],
)
def test_ineligible_campaigns_say_why(fields, delivery, why):
    chosen = pick([campaign("c", **fields)], deliveries={"c": delivery})
    assert chosen.campaign is None and chosen.source == "none"
    assert why in chosen.verdicts["c"]


def test_even_pacing_follows_the_sites_day():
    paced = campaign("c", daily_impressions=1000)
    delivery = Delivery(today=0)
    at = lambda hour: dataclasses.replace(VISITOR, now=NOW.replace(hour=hour))  # noqa: E731
    # UTC 22:00 is local midnight: a new day, 1 % slack
    assert allowed_today(paced, delivery, at(22)) == 10
    assert allowed_today(paced, delivery, at(10)) == 510  # 12:00 local
    assert (
        allowed_today(campaign("a", daily_impressions=1000, pacing="asap"), delivery, at(22))
        == 1000
    )
    assert allowed_today(campaign("u"), delivery, VISITOR) is None


def test_a_total_goal_with_an_end_spreads_over_the_days_left():
    spread = campaign(
        "c", total_impressions=1000, schedule={"end": "2026-06-20T00:00:00+02:00"}, pacing="asap"
    )
    # 10 June to 19 June: 10 days, 900 left after 100 delivered before today
    assert allowed_today(spread, Delivery(today=0, total=100), VISITOR) == 90


def test_without_counters_only_uncounted_campaigns_are_served():
    capped = campaign("capped", priority=9, frequency_cap={"impressions": 1, "hours": 1})
    free = campaign("free", priority=1)
    chosen = pick([capped, free], counters_available=False)
    assert chosen.campaign is free
    assert "counters are unavailable" in chosen.verdicts["capped"]


def test_holdout_visitors_get_the_default_and_are_marked():
    held = campaign("held", holdout_percent=50)
    fallback = campaign("global", default=True)
    visitors = [dataclasses.replace(VISITOR, visitor_id=f"v{n}") for n in range(2000)]
    choices = [pick([held, fallback], visitor=v) for v in visitors]
    share = sum(c.holdout for c in choices) / len(choices)
    assert 0.45 < share < 0.55
    for visitor, chosen in zip(visitors, choices, strict=True):
        assert chosen.holdout == in_holdout(held, visitor.visitor_id)  # stable per visitor
        if chosen.holdout:
            assert chosen.campaign is fallback and chosen.held_out is held
        else:
            assert chosen.campaign is held


def test_fallbacks_region_then_global_then_nothing():
    region = campaign("de-default", default=True, rules={"country": ["DE"]})
    world = campaign("global", default=True)
    closed = campaign("closed", rules={"country": ["FR"]})
    assert pick([closed, region, world]).source == "region_default"
    assert pick([closed, region, world]).campaign is region
    french = dataclasses.replace(VISITOR, geo=Geo("IT"))
    assert pick([closed, region, world], visitor=french).campaign is world
    assert pick([closed], visitor=french).source == "none"


def test_thompson_sampling_learns_the_best_creative():
    """Four creatives with true click-through 1.0 %, 0.8 %, 0.6 %, 0.5 %: the best one's share
    of the last half of 40,000 impressions is high, the regret small."""
    rates = {"a": 0.010, "b": 0.008, "c": 0.006, "d": 0.005}
    ad = parse_campaign(
        {"id": "ad", "site_id": "shop", "name": "ad", "creatives": [creative(c) for c in rates]}
    )
    counts = {c: [0, 0] for c in rates}
    rng, world = random.Random(7), random.Random(8)
    shown_late = []
    for n in range(40_000):
        stats = {("ad", c): CreativeStats(i, k) for c, (i, k) in counts.items()}
        chosen = choose("top", [ad], VISITOR, {}, stats, rng).creative
        counts[chosen.id][0] += 1
        counts[chosen.id][1] += world.random() < rates[chosen.id]
        if n >= 20_000:
            shown_late.append(chosen.id)
    assert shown_late.count("a") / len(shown_late) > 0.5


def test_campaign_validation_names_the_fields():
    with pytest.raises(CampaignError) as error:
        parse_campaign(
            {
                "id": "bad id!",
                "site_id": "shop",
                "name": "x",
                "holdout_percent": 80,
                "rules": {"countri": ["DE"]},
                "creatives": [{**creative("a"), "landing_url": "javascript:alert(1)"}],
            }
        )
    message = str(error.value)
    for part in ("id:", "holdout_percent:", "rules:", "creatives.0.landing_url: ", "unknown rule"):
        assert part in message, message


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"default": True, "frequency_cap": {"impressions": 1, "hours": 1}}, "default campaign"),
        ({"schedule": {"start": "2026-06-10T00:00:00"}}, "needs a time zone"),
        ({"schedule": {"start": "2026-06-10T00:00:00Z", "end": "2026-06-09T00:00:00Z"}}, "after"),
        ({"total_impressions": 10}, "even pacing of a total goal"),
        ({"creatives": [creative("x"), creative("x")]}, "unique"),
    ],
)
def test_inconsistent_campaigns_are_refused(fields, message):
    with pytest.raises(CampaignError, match=message):
        campaign("c", **fields)
