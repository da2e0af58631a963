"""A profile as a reader sees it, decoded from the stored fields (``stored.py``). Pure.

Interest scores are stored valid at a reference time; ``Profile.interests(now_ms)`` decays
them to ``now_ms``, so reading needs one hash and no write.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pipelines.profiles import decay, stored

Recent = stored.Recent  # (name, UTC ms), newest first


@dataclass(frozen=True)
class Location:
    at_ms: int
    country: str
    region: str
    city: str
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Device:
    at_ms: int
    device_type: str
    browser: str
    os: str


@dataclass(frozen=True)
class Profile:
    """One visitor's profile (its user's, once identified). ``Profile()`` is the empty profile
    of a visitor nobody knows: every count 0, every list empty, no location or device."""

    key: str = ""  # "<site>:v:<visitor id>" or "<site>:u:<user id>"; "" when nothing is known
    first_seen_ms: int = 0
    last_seen_ms: int = 0
    events: int = 0
    visits: int = 0  # distinct sessions
    purchases: int = 0  # distinct orders
    recent_products: Recent = ()
    recent_categories: Recent = ()  # category paths, "Top/Sub"
    purchased_items: Recent = ()
    location: Location | None = None
    device: Device | None = None
    scores: Mapping[str, float] = field(default_factory=dict)  # valid at scores_ref_ms
    scores_ref_ms: int = 0
    half_life_ms: int = 1

    @property
    def known(self) -> bool:
        """Whether any event was profiled for this visitor (else this is the empty profile)."""
        return self.events > 0

    @property
    def user_id(self) -> str:
        """The user this profile belongs to, or "" for a visitor not identified."""
        parts = self.key.split(":", 2)  # site ids hold no ":"; user ids may
        return parts[2] if len(parts) == 3 and parts[1] == stored.USER else ""

    def interests(self, now_ms: int) -> dict[str, float]:
        """Category path -> interest at ``now_ms``, highest first (ties by name)."""
        scores = decay.rescale(self.scores, self.scores_ref_ms, now_ms, self.half_life_ms)
        return dict(sorted(scores.items(), key=lambda item: (-item[1], item[0])))


def decode_profile(key: str, fields: Mapping[bytes, bytes]) -> Profile:
    """The profile stored at ``key`` (``profile:<site>:...``) as ``HGETALL`` returned it;
    ``Profile()`` for a key that holds no profile data (missing, or only links and marks).

    Raises ``ValueError`` (or ``json.JSONDecodeError``, a subclass) on a malformed value.
    """
    text = {name.decode(): value.decode() for name, value in fields.items()}
    if stored.EVENTS not in text:
        return Profile()

    def number(name: str) -> int:
        return int(text.get(name, "0"))

    location = device = None
    if stored.LOCATION in text:
        location = Location(*stored.decode_location(text[stored.LOCATION]))
    if stored.DEVICE in text:
        device = Device(*stored.decode_device(text[stored.DEVICE]))
    return Profile(
        key=key.removeprefix(stored.PROFILE),
        first_seen_ms=number(stored.FIRST),
        last_seen_ms=number(stored.LAST),
        events=number(stored.EVENTS),
        visits=number(stored.VISITS),
        purchases=number(stored.PURCHASES),
        recent_products=stored.decode_recent(text.get(stored.RECENT_PRODUCTS)),
        recent_categories=stored.decode_recent(text.get(stored.RECENT_CATEGORIES)),
        purchased_items=stored.decode_recent(text.get(stored.PURCHASED_ITEMS)),
        location=location,
        device=device,
        scores=stored.decode_scores(text.get(stored.SCORES)),
        scores_ref_ms=number(stored.SCORES_REF),
        half_life_ms=number(stored.HALF_LIFE) or 1,
    )
