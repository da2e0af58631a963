"""What a decision knows about the visitor and the page. Pure values, built by the request
handler from the request (identity, GeoIP, user agent), the profile store and the page."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
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

    @property
    def now_ms(self) -> int:
        return int(self.now.timestamp() * 1000)

    @property
    def returning(self) -> bool:
        """Seen in an earlier visit (a second session, or known before today's first event)."""
        return self.profile.visits > 1

    def local_time(self) -> datetime:
        """The visitor's own wall-clock time: their GeoIP time zone, else the site's."""
        zone = self.geo.time_zone or self.site_time_zone
        try:
            return self.now.astimezone(ZoneInfo(zone))
        except (KeyError, ValueError):  # an unknown zone name from an old database
            return self.now.astimezone(UTC)
