"""Which creative a placement shows a visitor. Pure: counters come in as snapshots, chance as a
``random.Random``, time with the visitor.

Order: eligible campaigns (live, rules, frequency cap, goals and pacing) → the highest
priority tier → Thompson sampling over that tier's creatives (Beta posteriors of click-through,
so better creatives win more often while the others keep being tried) → a visitor in the
chosen campaign's holdout gets the default instead (and is logged as such, for lift) →
fallbacks: a default campaign with rules that match (a region's) → one without rules (the
global one) → nothing.
"""

from __future__ import annotations

import functools
import hashlib
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from personalizer.campaigns import Campaign, Creative
from personalizer.visitor import Visitor


@dataclass(frozen=True)
class Delivery:
    """A campaign's impressions so far: today (the site's day), in total, and this visitor's
    in the frequency cap's current period."""

    today: int = 0
    total: int = 0
    visitor: int = 0


@dataclass(frozen=True)
class CreativeStats:
    impressions: int = 0
    clicks: int = 0


@dataclass(frozen=True)
class Choice:
    placement: str
    campaign: Campaign | None
    creative: Creative | None
    holdout: bool = False  # the visitor is in ``held_out``'s holdout and gets the default
    held_out: Campaign | None = None
    source: str = "none"  # campaign, region_default, global_default, none
    verdicts: Mapping[str, str] = field(default_factory=dict)  # campaign id -> why (explain)


@dataclass(frozen=True)
class PlacementTiers:
    """A placement's campaigns, as a decision walks them: the others by priority tier, highest
    first, and the defaults; each list in the site's order."""

    campaigns: tuple[Campaign, ...] = ()  # every campaign with a creative for the placement
    tiers: tuple[tuple[Campaign, ...], ...] = ()
    defaults: tuple[Campaign, ...] = ()


NO_TIERS = PlacementTiers()


def placement_tiers(campaigns: Iterable[Campaign]) -> dict[str, PlacementTiers]:
    """Placement -> its ``PlacementTiers``; built once per loaded set of campaigns."""
    by_placement: dict[str, list[Campaign]] = {}
    for campaign in campaigns:
        for placement in sorted(campaign.placements):
            by_placement.setdefault(placement, []).append(campaign)
    index = {}
    for placement, listed in by_placement.items():
        others = [c for c in listed if not c.default]
        priorities = sorted({c.priority for c in others}, reverse=True)
        index[placement] = PlacementTiers(
            campaigns=tuple(listed),
            tiers=tuple(tuple(c for c in others if c.priority == p) for p in priorities),
            defaults=tuple(c for c in listed if c.default),
        )
    return index


def choose(
    placement: str,
    campaigns: Sequence[Campaign],
    visitor: Visitor,
    deliveries: Mapping[str, Delivery],
    stats: Mapping[tuple[str, str], CreativeStats],
    rng: random.Random,
    counters_available: bool = True,
    explain: bool = False,
    matched: Mapping[str, bool] | None = None,
) -> Choice:
    """``campaigns``: the site's campaigns that have creatives for ``placement``.
    ``counters_available=False`` (the counter store is away): only campaigns without caps,
    goals or pacing can be served, so no cap is ever exceeded. ``matched``: the rules'
    verdicts by campaign id, when the caller has them already (one decision, several
    placements)."""
    verdicts: dict[str, str] = {}
    eligible, defaults = judge(
        campaigns, visitor, deliveries, counters_available, matched, verdicts, explain
    )
    return settle(placement, eligible, defaults, visitor, stats, rng, verdicts)


def judge(
    campaigns: Sequence[Campaign],
    visitor: Visitor,
    deliveries: Mapping[str, Delivery],
    counters_available: bool = True,
    matched: Mapping[str, bool] | None = None,
    verdicts: dict[str, str] | None = None,
    explain: bool = False,
) -> tuple[list[Campaign], list[Campaign]]:
    """The campaigns that may be shown now and the defaults whose rules match, each in the
    given order; why each other one may not goes into ``verdicts`` when given."""
    eligible: list[Campaign] = []
    defaults: list[Campaign] = []
    local = visitor.site_local_time
    for campaign in campaigns:
        why = _ineligible(
            campaign,
            visitor,
            deliveries.get(campaign.id, _NOTHING),
            counters_available,
            explain,
            local,
            matched,
        )
        if why:
            if verdicts is not None:
                verdicts[campaign.id] = why
        elif campaign.default:
            defaults.append(campaign)
        else:
            eligible.append(campaign)
    return eligible, defaults


def settle(
    placement: str,
    eligible: Sequence[Campaign],
    defaults: Sequence[Campaign],
    visitor: Visitor,
    stats: Mapping[tuple[str, str], CreativeStats],
    rng: random.Random,
    verdicts: dict[str, str] | None = None,
) -> Choice:
    """The highest tier of ``eligible`` → Thompson sampling over its creatives → the default
    instead for a holdout visitor → fallbacks (``defaults``: those whose rules matched)."""
    verdicts = {} if verdicts is None else verdicts
    if eligible:
        tier = max(campaign.priority for campaign in eligible)
        for campaign in eligible:
            if campaign.priority < tier:
                verdicts[campaign.id] = f"lower priority tier ({campaign.priority} < {tier})"
        top = [campaign for campaign in eligible if campaign.priority == tier]
        campaign, creative = _sample(placement, top, stats, rng)
        for other in top:
            if other is not campaign:
                verdicts.setdefault(other.id, "eligible; another creative was sampled")
        if not in_holdout(campaign, visitor.visitor_id):
            verdicts[campaign.id] = f"chosen: creative {creative.id}"
            return Choice(placement, campaign, creative, source="campaign", verdicts=verdicts)
        verdicts[campaign.id] = f"holdout ({campaign.holdout_percent:g}%): the default instead"
        fallback = _fallback(placement, defaults, stats, rng, verdicts)
        return Choice(
            placement,
            fallback[0],
            fallback[1],
            holdout=True,
            held_out=campaign,
            source=fallback[2],
            verdicts=verdicts,
        )
    fallback = _fallback(placement, defaults, stats, rng, verdicts)
    return Choice(placement, fallback[0], fallback[1], source=fallback[2], verdicts=verdicts)


_NOTHING = Delivery()
_NO_STATS = CreativeStats()


def _ineligible(
    campaign: Campaign,
    visitor: Visitor,
    delivery: Delivery,
    counters_available: bool,
    explain: bool,
    local: datetime,
    matched: Mapping[str, bool] | None,
) -> str:
    """Why the campaign cannot be shown now, or "" when it can. Cheap checks first: most
    campaigns of a site are not for this visitor, and their rules say so at once."""
    if campaign.status != "active":
        return f"status {campaign.status}"
    if not campaign.schedule.contains(visitor.now):
        return "outside its schedule"
    known = None if matched is None else matched.get(campaign.id)
    if explain:
        verdict = campaign.rule.explain(visitor)
        if not verdict.matched:
            return f"rules not matched: {verdict.as_json()}"
    elif not (known if known is not None else campaign.rule.matches(visitor)):
        return "rules not matched"
    if campaign.default:
        return ""
    counted = campaign.frequency_cap or campaign.daily_impressions or campaign.total_impressions
    if counted and not counters_available:
        return "capped or paced, and the counters are unavailable"
    cap = campaign.frequency_cap
    if cap and delivery.visitor >= cap.impressions:
        return f"frequency cap reached ({delivery.visitor}/{cap.impressions} in {cap.hours:g} h)"
    if campaign.total_impressions and delivery.total >= campaign.total_impressions:
        return f"total goal reached ({delivery.total}/{campaign.total_impressions})"
    allowed = allowed_today(campaign, delivery, visitor, local)
    if allowed is not None and delivery.today >= allowed:
        return f"paced: {delivery.today} of {allowed} allowed so far today"
    return ""


def allowed_today(
    campaign: Campaign, delivery: Delivery, visitor: Visitor, local: datetime | None = None
) -> int | None:
    """Impressions the campaign may have had today by now; None when nothing limits it.

    The daily goal is ``daily_impressions``, or, for a total goal with an end, what remains
    spread over the days left. ``asap`` may spend it at once; ``even`` spends it in proportion
    to the part of the site's day gone by (plus 1 % slack, so a small goal starts at once)."""
    daily = campaign.daily_impressions
    if daily is None and not campaign.total_impressions:
        return None
    if local is None:
        local = visitor.now.astimezone(_zone(visitor.site_time_zone))
    if daily is None and campaign.total_impressions and campaign.schedule.end is not None:
        end = campaign.schedule.end.astimezone(local.tzinfo)
        days_left = max(1, (end.date() - local.date()).days + (1 if end.time() > _MIDNIGHT else 0))
        remaining = max(0, campaign.total_impressions - delivery.total + delivery.today)
        daily = math.ceil(remaining / days_left)
    if daily is None:
        return None
    if campaign.pacing == "asap":
        return daily
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    day_length = (midnight + timedelta(days=1)).astimezone(local.tzinfo) - midnight
    elapsed = (local - midnight) / day_length
    return min(daily, math.ceil(daily * elapsed + max(1.0, 0.01 * daily)))


_MIDNIGHT = datetime.min.time()


@functools.lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def in_holdout(campaign: Campaign, visitor_id: str) -> bool:
    """Stable per visitor and campaign: the same visitor is always in, or always out."""
    if campaign.holdout_percent <= 0:
        return False
    digest = hashlib.blake2b(f"{campaign.id}\x00{visitor_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % 10_000 < campaign.holdout_percent * 100


def _sample(
    placement: str,
    campaigns: Sequence[Campaign],
    stats: Mapping[tuple[str, str], CreativeStats],
    rng: random.Random,
) -> tuple[Campaign, Creative]:
    """Thompson sampling: a draw from each creative's Beta(clicks + 1, misses + 1) posterior;
    the highest draw wins."""
    best: tuple[float, Campaign, Creative] | None = None
    beta = rng.betavariate
    for campaign in campaigns:
        for creative in campaign.creatives_for(placement):
            seen = stats.get((campaign.id, creative.id), _NO_STATS)
            clicks = min(seen.clicks, seen.impressions)
            draw = beta(clicks + 1, seen.impressions - clicks + 1)
            if best is None or draw > best[0]:
                best = (draw, campaign, creative)
    assert best is not None  # every campaign given has a creative for the placement
    return best[1], best[2]


def _fallback(
    placement: str,
    defaults: Sequence[Campaign],
    stats: Mapping[tuple[str, str], CreativeStats],
    rng: random.Random,
    verdicts: dict[str, str],
) -> tuple[Campaign | None, Creative | None, str]:
    """A matching default with rules (a region's), else one without (the global), else none."""
    regional = [campaign for campaign in defaults if campaign.rules]
    general = [campaign for campaign in defaults if not campaign.rules]
    for group, source in ((regional, "region_default"), (general, "global_default")):
        if group:
            tier = max(campaign.priority for campaign in group)
            campaign, creative = _sample(
                placement, [c for c in group if c.priority == tier], stats, rng
            )
            verdicts[campaign.id] = f"fallback ({source}): creative {creative.id}"
            return campaign, creative, source
    return None, None, "none"
