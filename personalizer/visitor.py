"""What a decision knows about the visitor and the page. Pure values, built by the request
handler from the request (identity, GeoIP, user agent), the profile store and the page."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from pipelines.profiles.profile import Profile


@dataclass(frozen=True)
class Geo:
    """Where the request comes from (the pipeline's GeoIP enrichment of the end user's IP)."""

    country: str = ""  # ISO 3166-1 alpha-2, upper case
    region: str = ""  # ISO 3166-2 subdivision code without the country, e.g. "BY"
    city: str = ""
    latitude: float | None = None
    longitude: float | None = None
    time_zone: str = ""  # IANA name, e.g. "Europe/Berlin"; "" when unknown


@dataclass(frozen=True)
class Page:
    url: str = ""
    category: str = ""  # category path, "Top/Sub"
    sku: str = ""
    referrer_medium: str = ""  # search, social, email, paid, referral, internal, direct
    referrer_source: str = ""  # google, facebook, ...
    utm: Mapping[str, str] = field(default_factory=dict)  # source, medium, campaign, term, content


@dataclass(frozen=True)
class Visitor:
    """Everything a rule may look at. ``profile`` is empty without consent or when the profile
    store is away: rules about history then simply do not match."""

    site_id: str
    visitor_id: str
    now: datetime  # aware, UTC
    geo: Geo = Geo()
    page: Page = Page()
    device_type: str = ""  # desktop, mobile, tablet, tv, console, bot, other
    browser: str = ""
    os: str = ""
    language: str = ""  # BCP 47 from Accept-Language or the page, e.g. "de-DE"
    consent: bool = False  # personalization from history allowed
    identified: bool = False  # a user id is known
    profile: Profile = Profile()
    segments: frozenset[str] = frozenset()  # names from a SegmentSource (RFM, lifecycle, ...)
    site_time_zone: str = "UTC"  # the fallback for a visitor whose time zone is unknown

    # What rules read again and again is computed once per decision (a visitor is one
    # decision's value; cached_property writes past the frozen dataclass's __setattr__).

    @cached_property
    def now_ms(self) -> int:
        return int(self.now.timestamp() * 1000)

    @property
    def returning(self) -> bool:
        """Seen in an earlier visit (a second session, or known before today's first event)."""
        return self.profile.visits > 1

    def local_time(self) -> datetime:
        """The visitor's own wall-clock time: their GeoIP time zone, else the site's."""
        return self._local

    @cached_property
    def _local(self) -> datetime:
        zone = _zone(self.geo.time_zone or self.site_time_zone)
        return self.now.astimezone(zone) if zone is not None else self.now.astimezone(UTC)

    @cached_property
    def site_local_time(self) -> datetime:
        """The site's wall-clock time (days and pacing are the site's)."""
        return self.now.astimezone(_zone(self.site_time_zone) or UTC)

    @cached_property
    def interest_scores(self) -> Mapping[str, float]:
        """Decayed interest now, by case-folded category path (the first of equal folds)."""
        scores: dict[str, float] = {}
        for category, score in self.profile.interests(self.now_ms).items():
            scores.setdefault(category.casefold(), score)
        return scores

    @cached_property
    def recent_products_folded(self) -> tuple[tuple[str, int], ...]:
        return tuple((sku.casefold(), at) for sku, at in self.profile.recent_products)

    @cached_property
    def recent_categories_folded(self) -> tuple[tuple[str, int], ...]:
        return tuple((path.casefold(), at) for path, at in self.profile.recent_categories)

    @cached_property
    def memo(self) -> dict[str, Any]:
        """Rules' per-decision values (a folded attribute, a segment set), by rule kind."""
        return {}


@functools.lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):  # an unknown zone name from an old database
        return None
