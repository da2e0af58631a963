"""Key names in the profile Redis. Site ids are ``[A-Za-z0-9_-]``, so a site's keys share a
prefix nobody else's can match, and each kind of key has its own namespace: a user id may hold
any character without colliding with another kind of key."""

from __future__ import annotations

PROFILE = "profile:"  # hash: a visitor's (v:) or user's (u:) profile, or an alias to one
SESSIONS = "sessions:"  # sorted set beside a profile: its session ids by first time
COVIEW = "coview:"  # sorted set per product: co-viewed products by count

KINDS = (PROFILE, SESSIONS, COVIEW)


def visitor_key(site_id: str, visitor_id: str) -> str:
    return f"{PROFILE}{site_id}:v:{visitor_id}"


def user_key(site_id: str, user_id: str) -> str:
    return f"{PROFILE}{site_id}:u:{user_id}"


def coview_key(site_id: str, sku: str) -> str:
    return f"{COVIEW}{site_id}:{sku}"


def site_patterns(site_id: str) -> list[str]:
    """SCAN patterns of every key of a site (site ids hold no glob characters)."""
    return [f"{kind}{site_id}:*" for kind in KINDS]
