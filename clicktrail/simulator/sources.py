"""Traffic sources: how a session arrives (referrer and campaign parameters)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from clicktrail.simulator import difficulty
from clicktrail.simulator.randomness import random_id

SEARCH_ENGINES = (
    ("https://www.google.com/", 0.80),
    ("https://www.bing.com/", 0.08),
    ("https://duckduckgo.com/", 0.05),
    ("https://search.yahoo.com/", 0.03),
    ("https://www.ecosia.org/", 0.02),
    ("https://yandex.ru/", 0.02),
)
SOCIAL_SITES = (
    "https://l.facebook.com/",
    "https://www.instagram.com/",
    "https://t.co/",
    "https://www.pinterest.com/",
    "https://www.reddit.com/",
    "https://www.tiktok.com/",
)
REFERRING_SITES = (
    "https://www.deal-hunters.example/",
    "https://blog.homewithstyle.example/",
    "https://www.gadget-review.example/",
    "https://forum.outdoorpeople.example/",
)
EMAIL_CAMPAIGNS = ("weekly-digest", "new-arrivals", "winter-sale", "abandoned-cart")
PAID_SOURCES = (("google", "cpc", "gclid"), ("facebook", "paid_social", "fbclid"))


@dataclass(frozen=True, slots=True)
class Arrival:
    kind: str  # a key of REFERRER_KIND_WEIGHTS
    referrer: str | None
    query: str  # added to the landing URL ("" or "?utm_source=...")


_KINDS = list(difficulty.REFERRER_KIND_WEIGHTS)
_KIND_WEIGHTS = list(difficulty.REFERRER_KIND_WEIGHTS.values())
_ENGINES = [url for url, _ in SEARCH_ENGINES]
_ENGINE_WEIGHTS = [weight for _, weight in SEARCH_ENGINES]


def draw_arrival(rng: random.Random, campaign_topic: str) -> Arrival:
    """``campaign_topic`` (a category slug) names paid campaigns, as ads are per category."""
    kind = rng.choices(_KINDS, weights=_KIND_WEIGHTS)[0]
    if kind == "search":
        return Arrival(kind, rng.choices(_ENGINES, weights=_ENGINE_WEIGHTS)[0], "")
    if kind == "social":
        site = rng.choice(SOCIAL_SITES)
        if site == "https://t.co/":
            site += random_id(rng, 10)
        return Arrival(kind, site, "")
    if kind == "email":
        # Mail clients send no referrer; the link's parameters say where the visit came from.
        campaign = rng.choice(EMAIL_CAMPAIGNS)
        return Arrival(
            kind, None, f"?utm_source=newsletter&utm_medium=email&utm_campaign={campaign}"
        )
    if kind == "campaign":
        source, medium, click_id = rng.choice(PAID_SOURCES)
        referrer = "https://www.google.com/" if source == "google" else "https://l.facebook.com/"
        query = (
            f"?utm_source={source}&utm_medium={medium}&utm_campaign={campaign_topic}-promo"
            f"&{click_id}={random_id(rng, 24)}"
        )
        return Arrival(kind, referrer, query)
    if kind == "referral":
        return Arrival(kind, rng.choice(REFERRING_SITES) + random_id(rng, 8).lower(), "")
    return Arrival("direct", None, "")
