"""One decision: who the visitor is, where from, what they browsed → a creative per placement
and a list of offers, each with signed impression and click URLs.

Orchestration only: every store comes in through its interface, and every store may be away.
Profiles away → geography and popularity only; counters away → only campaigns without caps,
goals or pacing, and defaults; the campaign store away → the last campaigns loaded; the
warehouse away → the last popularity computed. A valid request is always answered.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote_plus, urlsplit

from clicktrail.contract.ids import new_decision_id
from clicktrail.identity import RequestFacts, cookies_refused, resolve
from clicktrail.secrets.keyring import Keyring
from clicktrail.sites.model import Site
from personalizer.campaigns import Campaign
from personalizer.catalog import Catalog
from personalizer.counters import CounterStore, CountersUnavailable
from personalizer.offers import COVIEWS_PER_PRODUCT, RECENT_VIEWS, Offer, Popularity, rank_offers
from personalizer.request import DecideRequest
from personalizer.select import (
    NO_TIERS,
    Choice,
    CreativeStats,
    Delivery,
    PlacementTiers,
    choose,
    judge,
    placement_tiers,
    settle,
)
from personalizer.signing import Signed, signed_queries
from personalizer.visitor import Geo, Page, Visitor
from pipelines.enrich import DeviceDetector, GeoLocator, classify_referrer, parse_campaign
from pipelines.profiles.profile import Profile
from pipelines.profiles.store import ProfileStore, ProfileStoreError

log = logging.getLogger("clicktrail.personalizer")

LINK_SECONDS = 24 * 3600  # how long an impression or click URL stays valid
CACHE_TTL_SECONDS = 60  # how long a page may reuse a decision


class DecisionLog(Protocol):
    """Where decisions go for attribution (the event log). Must not block for long; may drop
    a record when the log is away (the decision is still answered)."""

    def record(self, decision: Decision) -> None: ...


@dataclass(frozen=True)
class Placed:
    placement: str
    choice: Choice
    impression_url: str = ""
    click_url: str = ""


@dataclass
class Decision:
    decision_id: str
    site_id: str
    visitor_id: str
    id_source: str
    created_ms: int
    consent: bool
    # Where the visitor asked from, for the decision event (the pipeline locates and truncates
    # it as it does every event's), so campaigns report by country and device.
    ip: str = ""
    user_agent: str = ""
    placements: list[Placed] = field(default_factory=list)
    offers: list[Offer] = field(default_factory=list)
    degraded: list[str] = field(default_factory=list)  # which stores were away
    explain: dict[str, Any] = field(default_factory=dict)


# the campaigns mapping, from, until: the tiers of the campaigns live in that span
_LiveTiers = tuple[Mapping[str, Campaign], datetime, datetime, dict[str, PlacementTiers]]


@dataclass
class DecisionService:
    campaigns: Callable[[str], Mapping[str, Campaign]]  # site id -> its campaigns
    counters: CounterStore
    profiles: ProfileStore
    geo: GeoLocator
    devices: DeviceDetector
    catalog: Callable[[str], Catalog]
    popularity: Callable[[str], Popularity]
    keyring: Callable[[], Keyring]
    salt: Callable[[], bytes]
    decisions: DecisionLog
    public_url: str  # where /v1/pz/i and /v1/pz/c are reached, e.g. https://shop.example/pz
    clock: Callable[[], float] = time.time
    rng: random.Random = field(default_factory=random.Random)
    # site id -> (the campaigns mapping it was built from, its placements' tiers)
    _indexes: dict[str, tuple[Mapping[str, Campaign], dict[str, PlacementTiers]]] = field(
        default_factory=dict, repr=False
    )
    _live: dict[
        str, tuple[Mapping[str, Campaign], datetime, datetime, dict[str, PlacementTiers]]
    ] = field(default_factory=dict, repr=False)

    def decide(self, request: DecideRequest, site: Site, facts: RequestFacts) -> Decision:
        now = self.clock()
        now_ms = int(now * 1000)
        consent_text = (
            None if request.consent is None else ("granted" if request.consent else "denied")
        )
        refused = cookies_refused(facts, consent_text)
        identity = resolve(
            facts,
            request.visitor_id,
            consent_text,
            now_ms,
            self.salt,
            lambda: "",  # a decision never makes an id up: the collector does
        )
        consent = not refused and identity.id_source != "cookieless"
        decision = Decision(
            decision_id=new_decision_id(now_ms),  # a UUIDv7: attribution ids derive from it
            site_id=site.site_id,
            visitor_id=identity.visitor_id,
            id_source=identity.id_source,
            created_ms=now_ms,
            consent=consent,
            ip=facts.ip or "",
            user_agent=facts.user_agent or "",
        )
        profile, coviews = self._profile(request, site, identity.visitor_id, consent, decision)
        visitor = self._visitor(request, site, facts, identity.visitor_id, profile, consent, now)
        self._place(request, site, visitor, decision)
        if request.offers:
            decision.offers = self._offers(request, site, visitor, coviews)
        self.decisions.record(decision)
        return decision

    # --- the parts ---------------------------------------------------------------------------

    def _profile(
        self, request: DecideRequest, site: Site, visitor_id: str, consent: bool, decision: Decision
    ) -> tuple[Profile, Mapping[str, Sequence[tuple[str, int]]]]:
        """The profile, and (when offers are asked for) the co-views of its recent products,
        read in one round trip."""
        if not consent or not (visitor_id or request.user_id):
            return Profile(), {}
        try:
            return self.profiles.get_with_coviews(
                site.site_id,
                visitor_id,
                user_id=request.user_id or "",
                recent=RECENT_VIEWS if request.offers else 0,
                limit=COVIEWS_PER_PRODUCT,
            )
        except ProfileStoreError as exc:
            decision.degraded.append("profiles")
            log.warning("profiles unavailable, deciding from geo and page: %s", exc)
            return Profile(), {}

    def _visitor(
        self,
        request: DecideRequest,
        site: Site,
        facts: RequestFacts,
        visitor_id: str,
        profile: Profile,
        consent: bool,
        now: float,
    ) -> Visitor:
        located = self.geo.locate(facts.ip)
        device = self.devices.detect(facts.user_agent)
        page = request.page
        host = urlsplit(page.url).hostname or ""
        campaign = parse_campaign(page.url) if page.url else None
        referrer = classify_referrer(page.referrer or None, host, (), campaign)
        utm = {}
        if campaign is not None:
            utm = {
                name: value
                for name, value in (
                    ("source", campaign.source),
                    ("medium", campaign.medium),
                    ("campaign", campaign.name),
                    ("term", campaign.term),
                    ("content", campaign.content),
                )
                if value
            }
        location = profile.location
        geo = Geo(
            located.country or (location.country if location else ""),
            located.region or (location.region if location else ""),
            located.city or (location.city if location else ""),
            located.latitude if located.country else (location.latitude if location else None),
            located.longitude if located.country else (location.longitude if location else None),
            located.time_zone,
        )
        return Visitor(
            site_id=site.site_id,
            visitor_id=visitor_id,
            now=datetime.fromtimestamp(now, UTC),
            geo=geo,
            page=Page(
                url=page.url,
                category=page.category,
                sku=page.sku,
                referrer_medium=referrer.medium,
                referrer_source=referrer.source,
                utm=utm,
            ),
            device_type=device.device_type,
            browser=device.browser,
            os=device.os,
            language=request.language or "",
            consent=consent,
            # A user id is personal data like the profile: without consent it is not used.
            identified=consent and bool(request.user_id or profile.user_id),
            profile=profile,
            site_time_zone=site.timezone,
        )

    def _place(
        self, request: DecideRequest, site: Site, visitor: Visitor, decision: Decision
    ) -> None:
        campaigns = self.campaigns(site.site_id)
        if request.explain:
            index = self._placement_index(site.site_id, campaigns)
            self._place_explained(request, site, visitor, decision, index)
            return
        live = self._live_index(site.site_id, campaigns, visitor.now)
        wanted = {placement: live.get(placement, NO_TIERS) for placement in request.placements}
        usable: dict[str, bool] = {}  # campaign id -> its rules matched (every one is live)

        def live_matched(tier: Sequence[Campaign]) -> list[Campaign]:
            out = []
            for campaign in tier:
                verdict = usable.get(campaign.id)
                if verdict is None:
                    verdict = usable[campaign.id] = campaign.rule.matches(visitor)
                if verdict:
                    out.append(campaign)
            return out

        defaults = {placement: live_matched(tiers.defaults) for placement, tiers in wanted.items()}
        # Tiers top-down, each placement from its highest tier with a campaign for this
        # visitor: counters are read for that tier only (one MGET, the defaults' click counts
        # with the first); a lower tier is read only when every campaign of the higher one is
        # capped or paced out.
        level = dict.fromkeys(wanted, 0)
        eligible: dict[str, list[Campaign]] = {}
        deliveries: dict[str, Delivery] = {}
        stats: dict[tuple[str, str], CreativeStats] = {}
        fetched: set[str] = set()
        available = True
        pending = list(wanted)
        while pending:
            tier_of: dict[str, list[Campaign]] = {}
            for placement in pending:
                tiers = wanted[placement].tiers
                found: list[Campaign] = []
                while level[placement] < len(tiers):
                    found = live_matched(tiers[level[placement]])
                    if found:
                        break
                    level[placement] += 1
                tier_of[placement] = found
            counted = {c.id: c for tier in tier_of.values() for c in tier if c.id not in fetched}
            uncounted = {
                c.id: c
                for tier in defaults.values()
                for c in tier
                if c.id not in fetched and c.id not in counted
            }
            if available and (counted or uncounted):
                try:
                    more, more_stats = self.counters.snapshot(
                        site.site_id,
                        list(counted.values()),
                        visitor.visitor_id,
                        visitor.now,
                        site.timezone,
                        uncounted=list(uncounted.values()),
                    )
                    deliveries.update(more)
                    stats.update(more_stats)
                except CountersUnavailable as exc:
                    available = False
                    decision.degraded.append("counters")
                    log.warning("counters unavailable, serving uncounted campaigns: %s", exc)
                fetched.update(counted)
                fetched.update(uncounted)
            still = []
            for placement in pending:
                found, _ = judge(tier_of[placement], visitor, deliveries, available, usable)
                if found or level[placement] >= len(wanted[placement].tiers):
                    eligible[placement] = found
                else:
                    level[placement] += 1
                    still.append(placement)
            pending = still
        for placement in request.placements:  # sampled in the order asked for
            choice = settle(
                placement, eligible[placement], defaults[placement], visitor, stats, self.rng
            )
            decision.placements.append(self._signed(placement, choice, decision))

    def _place_explained(
        self,
        request: DecideRequest,
        site: Site,
        visitor: Visitor,
        decision: Decision,
        index: Mapping[str, PlacementTiers],
    ) -> None:
        """Every campaign of the placements judged and explained (``?explain=1``): all rules
        evaluated, the counters of every campaign that could be shown read."""
        by_placement = {
            placement: index.get(placement, NO_TIERS).campaigns for placement in request.placements
        }
        candidates: dict[str, Campaign] = {}
        matched: dict[str, bool] = {}
        for campaigns in by_placement.values():
            for campaign in campaigns:
                if campaign.id in matched or not campaign.live(visitor.now):
                    continue
                matched[campaign.id] = campaign.rule.matches(visitor)
                if matched[campaign.id]:
                    candidates[campaign.id] = campaign
        deliveries: dict[str, Delivery] = {}
        stats: dict[tuple[str, str], CreativeStats] = {}
        counters_available = True
        if candidates:
            try:
                deliveries, stats = self.counters.snapshot(
                    site.site_id,
                    [c for c in candidates.values() if not c.default],
                    visitor.visitor_id,
                    visitor.now,
                    site.timezone,
                    uncounted=[c for c in candidates.values() if c.default],
                )
            except CountersUnavailable as exc:
                counters_available = False
                decision.degraded.append("counters")
                log.warning("counters unavailable, serving uncounted campaigns: %s", exc)
        for placement, campaigns in by_placement.items():
            choice = choose(
                placement,
                campaigns,
                visitor,
                deliveries,
                stats,
                self.rng,
                counters_available,
                explain=True,
                matched=matched,
            )
            decision.placements.append(self._signed(placement, choice, decision))
            decision.explain[placement] = dict(choice.verdicts)

    def _placement_index(
        self, site_id: str, campaigns: Mapping[str, Campaign]
    ) -> dict[str, PlacementTiers]:
        """The site's campaigns by placement and tier, built once per loaded set of campaigns
        (the cache hands out the same mapping until it reloads)."""
        cached = self._indexes.get(site_id)
        if cached is not None and cached[0] is campaigns:
            return cached[1]
        index = placement_tiers(campaigns.values())
        self._indexes[site_id] = (campaigns, index)
        return index

    def _live_index(
        self, site_id: str, campaigns: Mapping[str, Campaign], now: datetime
    ) -> dict[str, PlacementTiers]:
        """The tiers of the campaigns live at ``now`` (active, within their schedule), built
        once for the span until the next start or end of a schedule: a decision walks only
        campaigns that can be shown."""
        cached = self._live.get(site_id)
        if cached is not None and cached[0] is campaigns and cached[1] <= now < cached[2]:
            return cached[3]
        live = [c for c in campaigns.values() if c.live(now)]
        edges = [
            edge
            for c in campaigns.values()
            if c.status == "active"
            for edge in (c.schedule.start, c.schedule.end)
            if edge is not None and edge > now
        ]
        index = placement_tiers(live)
        self._live[site_id] = (campaigns, now, min(edges, default=_NEVER), index)
        return index

    def _signed(self, placement: str, choice: Choice, decision: Decision) -> Placed:
        if choice.campaign is None or choice.creative is None:
            return Placed(placement, choice)
        signed = Signed(
            decision_id=decision.decision_id,
            site_id=decision.site_id,
            campaign_id=choice.campaign.id,
            creative_id=choice.creative.id,
            placement=placement,
            visitor_id=decision.visitor_id,
            holdout=choice.holdout,
            expires=decision.created_ms // 1000 + LINK_SECONDS,
        )
        impression, click = signed_queries(signed, self.keyring())
        base = self.public_url.rstrip("/")
        return Placed(
            placement,
            choice,
            impression_url=f"{base}/v1/pz/i?{impression}",
            click_url=f"{base}/v1/pz/c?{click}",
        )

    def _offers(
        self,
        request: DecideRequest,
        site: Site,
        visitor: Visitor,
        found: Mapping[str, Sequence[tuple[str, int]]],
    ) -> list[Offer]:
        return rank_offers(
            visitor.profile,
            visitor.geo.country,
            self.catalog(site.site_id),
            self.popularity(site.site_id),
            found,
            visitor.now_ms,
            count=request.offers,
            page_sku=request.page.sku,
            use_history=visitor.consent,
        )


_NEVER = datetime.max.replace(tzinfo=UTC)
_PLAIN = re.compile(r"[A-Za-z0-9_.~-]*")


def query(params: Mapping[str, str]) -> str:
    """``urlencode(params)``, without quoting what needs none (ids, slugs, digits, signatures:
    nearly every value of a signed URL)."""
    if _PLAIN.fullmatch("".join(params.values())):
        return "&".join(f"{key}={value}" for key, value in params.items())
    return "&".join(
        f"{key}={value if _PLAIN.fullmatch(value) else quote_plus(value)}"
        for key, value in params.items()
    )


def answer(decision: Decision, catalog: Catalog) -> dict[str, Any]:
    """The JSON answer of a decision."""
    placements: dict[str, Any] = {}
    for placed in decision.placements:
        choice = placed.choice
        if choice.creative is None or choice.campaign is None:
            placements[placed.placement] = None
            continue
        creative = choice.creative
        placements[placed.placement] = {
            "campaign_id": choice.campaign.id,
            "creative": {
                "id": creative.id,
                "image_url": creative.image_url,
                "alt": creative.alt,
                "headline": creative.headline,
                "width": creative.width,
                "height": creative.height,
            },
            "source": choice.source,
            "holdout": choice.holdout,
            "impression_url": placed.impression_url,
            "click_url": placed.click_url,
        }
    offers = []
    for offer in decision.offers:
        product = catalog.get(offer.sku)
        if product is None:
            continue
        offers.append(
            {
                "sku": product.sku,
                "title": product.title,
                "url": product.url,
                "image_url": product.image_url,
                "price": product.price,
                "currency": product.currency,
                "category": product.category,
                "reason": offer.reason,
            }
        )
    body: dict[str, Any] = {
        "decision_id": decision.decision_id,
        "visitor_id": decision.visitor_id,
        "ttl": CACHE_TTL_SECONDS,
        "placements": placements,
        "offers": offers,
    }
    if decision.degraded:
        body["degraded"] = decision.degraded
    if decision.explain:
        body["explain"] = decision.explain
    return body
