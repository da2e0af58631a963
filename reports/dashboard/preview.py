"""What a sample visitor would be shown: each campaign's rules explained for the visitor, and
per placement the decision the personalizer's own selection makes (``select.choose`` with
explain), assuming no impressions yet (no cap or goal reached). Pure: campaigns and the time in,
values out."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from personalizer.campaigns import Campaign
from personalizer.select import choose, placement_tiers
from personalizer.visitor import Geo, Page, Visitor
from pipelines.profiles.profile import Profile

_COUNTRY = re.compile(r"^[A-Z]{2}$")
MAX_INTERESTS = 20
PREVIEW_VISITOR = "dashboard-preview"  # the sample's visitor id (holdouts are per id)


class SampleError(ValueError):
    """A sample visitor that cannot be built (the message names the field)."""


@dataclass(frozen=True)
class Sample:
    country: str = ""
    region: str = ""
    device: str = ""
    interests: tuple[tuple[str, float], ...] = ()  # category path, score now
    category: str = ""  # the page's category
    language: str = ""


def parse_sample(form: Mapping[str, str], devices: tuple[str, ...]) -> Sample:
    """The preview form's fields: ``interests`` as ``Shoes=0.8, Bags/Boots=0.3``."""
    country = form.get("country", "").strip().upper()
    if country and not _COUNTRY.match(country):
        raise SampleError(f"country must be a two-letter ISO 3166 code, got {country!r}")
    device = form.get("device", "").strip()
    if device and device not in devices:
        raise SampleError(f"device must be one of {', '.join(devices)}, got {device!r}")
    interests = []
    for part in filter(None, (p.strip() for p in form.get("interests", "").split(","))):
        category, equals, score = part.rpartition("=")
        try:
            value = float(score)
        except ValueError:
            value = -1.0
        if not equals or not category.strip() or not 0 <= value <= 1_000_000:
            raise SampleError(
                f"interests are category=score pairs, e.g. Shoes=0.8, Bags/Boots=0.3; got {part!r}"
            )
        interests.append((category.strip(), value))
    if len(interests) > MAX_INTERESTS:
        raise SampleError(f"at most {MAX_INTERESTS} interests")
    return Sample(
        country=country,
        region=form.get("region", "").strip().upper(),
        device=device,
        interests=tuple(interests),
        category=form.get("category", "").strip(),
        language=form.get("language", "").strip(),
    )


def sample_visitor(site_id: str, zone: str, sample: Sample, now: datetime) -> Visitor:
    """A consenting visitor with the sample's place, device, page and interest scores now."""
    now_ms = int(now.timestamp() * 1000)
    profile = Profile(
        key=f"{site_id}:v:{PREVIEW_VISITOR}",
        first_seen_ms=now_ms,
        last_seen_ms=now_ms,
        events=1,
        visits=1,
        scores=dict(sample.interests),
        scores_ref_ms=now_ms,
    )
    return Visitor(
        site_id=site_id,
        visitor_id=PREVIEW_VISITOR,
        now=now,
        geo=Geo(country=sample.country, region=sample.region),
        page=Page(category=sample.category),
        device_type=sample.device,
        language=sample.language,
        consent=True,
        profile=profile,
        site_time_zone=zone,
    )


@dataclass(frozen=True)
class RuleVerdict:
    campaign: str
    name: str
    status: str
    live: bool
    matched: bool
    explained: dict[str, Any]  # the rule tree with each part's verdict (rules.Explained)


@dataclass(frozen=True)
class PlacementDecision:
    placement: str
    campaign: str  # "" when nothing would be shown
    creative: str
    source: str  # campaign, region_default, global_default, none
    holdout: bool
    verdicts: dict[str, str]  # campaign id -> why it won or lost


def preview(
    campaigns: Mapping[str, Campaign], visitor: Visitor
) -> tuple[list[RuleVerdict], list[PlacementDecision]]:
    """Every campaign's rules for the visitor, and the decision of every placement."""
    rules = []
    for campaign_id, campaign in sorted(campaigns.items()):
        explained = campaign.rule.explain(visitor)
        rules.append(
            RuleVerdict(
                campaign_id,
                campaign.name,
                campaign.status,
                campaign.live(visitor.now),
                explained.matched,
                explained.as_json(),
            )
        )
    decisions = []
    for placement, tiers in sorted(placement_tiers(campaigns.values()).items()):
        choice = choose(placement, tiers.campaigns, visitor, {}, {}, random.Random(0), explain=True)
        decisions.append(
            PlacementDecision(
                placement,
                choice.campaign.id if choice.campaign else "",
                choice.creative.id if choice.creative else "",
                choice.source,
                choice.holdout,
                dict(choice.verdicts),
            )
        )
    return rules, decisions
