"""Campaigns survive the campaign store's JSON: any valid campaign, dumped as the store writes
it (``campaign_store._json``, UTF-8 in Redis), read back and parsed, is the same campaign, and
dumps to the same text again (the store compares that text to tell a change from none)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from personalizer.campaign_store import _json
from personalizer.campaigns import Campaign, parse_campaign
from tests.unit.properties.test_rules_properties import VALID_RULES

SLUGS = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z")
OFFSETS = st.integers(-14 * 4, 14 * 4).map(lambda n: timezone(timedelta(minutes=15 * n)))
MOMENTS = st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=OFFSETS)
URLS = st.builds(
    lambda scheme, host, path: f"{scheme}://{host}/{path}",
    st.sampled_from(["http", "https"]),
    st.from_regex(r"\A[a-z0-9-]{1,20}\.example\.test\Z"),
    st.text(max_size=60),
)


@st.composite
def creatives(draw: st.DrawFn) -> list[dict[str, Any]]:
    ids = draw(st.lists(SLUGS, min_size=1, max_size=4, unique=True))
    return [
        {
            "id": creative_id,
            "placement": draw(SLUGS),
            "image_url": draw(URLS),
            "alt": draw(st.text(min_size=1, max_size=256)),
            "headline": draw(st.text(max_size=256)),
            "landing_url": draw(URLS),
            "width": draw(st.integers(1, 4096)),
            "height": draw(st.integers(1, 4096)),
        }
        for creative_id in ids
    ]


@st.composite
def campaigns(draw: st.DrawFn) -> dict[str, Any]:
    """The mapping form of a valid campaign, every field drawn, the rules of the model kept:
    a default campaign has no goals, caps or holdout; even pacing of a total goal needs a
    daily goal or an end."""
    default = draw(st.booleans())
    start, end = draw(st.none() | MOMENTS), draw(st.none() | MOMENTS)
    if start and end and end <= start:
        start, end = end - timedelta(days=1), start + timedelta(seconds=1)
    document: dict[str, Any] = {
        "id": draw(SLUGS),
        "site_id": draw(SLUGS),
        "name": draw(st.text(min_size=1, max_size=200)),
        "status": draw(st.sampled_from(["active", "paused", "archived"])),
        "default": default,
        "priority": draw(st.integers(0, 1000)),
        "schedule": {"start": start, "end": end},
        "pacing": draw(st.sampled_from(["even", "asap"])),
        "rules": draw(st.none() | VALID_RULES),
        "creatives": draw(creatives()),
    }
    if not default:
        daily = draw(st.none() | st.integers(1, 10**9))
        total = draw(st.none() | st.integers(1, 10**12))
        if document["pacing"] == "even" and total and not daily and end is None:
            daily = total
        hours = st.floats(0, 24 * 366, exclude_min=True, allow_nan=False)
        cap = draw(
            st.none()
            | st.fixed_dictionaries({"impressions": st.integers(1, 10**6), "hours": hours})
        )
        document.update(
            daily_impressions=daily,
            total_impressions=total,
            frequency_cap=cap,
            holdout_percent=draw(st.floats(0, 50, allow_nan=False)),
        )
    return document


def stored(campaign: Campaign) -> bytes:
    """What the store writes to Redis for the campaign."""
    return _json(campaign).encode()


def read_back(text: bytes) -> Campaign:
    return parse_campaign(json.loads(text.decode()))


@given(campaigns())
def test_a_stored_campaign_reads_back_the_same(document):
    campaign = parse_campaign(document)
    again = read_back(stored(campaign))
    assert again == campaign
    assert stored(again) == stored(campaign)  # no change seen where there is none
    assert again.rule == campaign.rule  # the parsed rules too, not only their mapping


@given(campaigns())
def test_the_python_dump_validates_to_the_same_campaign(document):
    campaign = parse_campaign(document)
    assert Campaign.model_validate(campaign.model_dump()) == campaign


def test_a_schedule_keeps_its_instant_whatever_its_zone():
    """The dump keeps the offset each time was written with; equal instants stay equal."""
    berlin = timezone(timedelta(hours=1))
    document = {
        "id": "c",
        "site_id": "s",
        "name": "n",
        "schedule": {"start": datetime(2026, 12, 1, tzinfo=berlin), "end": None},
        "creatives": [
            {
                "id": "a",
                "placement": "top",
                "image_url": "https://cdn.example.test/a.png",
                "alt": "a",
                "landing_url": "https://shop.example.test/",
                "width": 1,
                "height": 1,
            }
        ],
    }
    again = read_back(stored(parse_campaign(document)))
    assert again.schedule.start == datetime(2026, 11, 30, 23, tzinfo=UTC)
    assert again.schedule.start.utcoffset() == timedelta(hours=1)
