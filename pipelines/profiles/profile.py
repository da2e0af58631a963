"""A profile as the personalizer reads it, decoded from what ``apply.lua`` stored. Pure.

Interest scores are stored valid at a reference time; ``Profile.interests(now_ms)`` decays
them to ``now_ms``, so reading needs one hash and no write.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from pipelines.profiles import decay

Recent = tuple[tuple[str, int], ...]  # (name, UTC ms), newest first


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
    def user_id(self) -> str:
        """The user this profile belongs to, or "" for a visitor not identified."""
        parts = self.key.split(":", 2)  # site ids hold no ":"; user ids may
        return parts[2] if len(parts) == 3 and parts[1] == "u" else ""

    def interests(self, now_ms: int) -> dict[str, float]:
        """Category path -> interest at ``now_ms``, highest first."""
        scores = decay.rescale(self.scores, self.scores_ref_ms, now_ms, self.half_life_ms)
        return dict(sorted(scores.items(), key=lambda item: (-item[1], item[0])))


def decode_profile(key: str, fields: Mapping[bytes, bytes]) -> Profile:
    """``key`` is the Redis key the fields were read from (``profile:<site>:...``)."""
    text = {name.decode(): value.decode() for name, value in fields.items()}
    if "events" not in text:
        return Profile()

    def number(name: str) -> int:
        return int(text.get(name, "0"))

    location = device = None
    if "loc" in text:
        at, country, region, city, latitude, longitude = json.loads(text["loc"])
        location = Location(at, country, region, city, float(latitude), float(longitude))
    if "dev" in text:
        device = Device(*json.loads(text["dev"]))
    scores = json.loads(text["cs"]) if "cs" in text else {}
    return Profile(
        key=key.removeprefix("profile:"),
        first_seen_ms=number("first"),
        last_seen_ms=number("last"),
        events=number("events"),
        visits=number("visits"),
        purchases=number("purchases"),
        recent_products=_recent(text.get("rp")),
        recent_categories=_recent(text.get("rc")),
        purchased_items=_recent(text.get("pi")),
        location=location,
        device=device,
        scores=scores if isinstance(scores, dict) else {},  # Lua encodes an empty table as []
        scores_ref_ms=number("cref"),
        half_life_ms=number("hl") or 1,
    )


def _recent(text: str | None) -> Recent:
    if not text:
        return ()
    return tuple((str(name), int(at)) for name, at in json.loads(text))
