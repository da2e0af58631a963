"""Who the visitor is: the collector's decision for each event, and which source won.

Pure: no Flask, no Redis. The request handler gathers the inputs (cookies, headers, the
current daily salts) and records the outcome in ``id_source``.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from clicktrail.contract.linker import check_linker
from clicktrail.sites.model import Site


@dataclass(frozen=True)
class RequestFacts:
    """What a request tells about its sender, the same for each of its events."""

    site: Site
    ip: str
    user_agent: str
    collector_cookie: str | None  # the value of our own ct_vid cookie, if sent
    linker: str | None  # the cross-domain _ct value, if sent
    do_not_track: bool  # DNT: 1
    global_privacy_control: bool  # Sec-GPC: 1
    server_side: bool  # authenticated by the site's write key


@dataclass(frozen=True)
class Identity:
    visitor_id: str
    id_source: str  # url, cookie, collector_cookie, cookieless or server
    replaced_visitor_id: str | None = None
    cookies_allowed: bool = True


def cookies_refused(facts: RequestFacts, consent: str | None) -> bool:
    """May nothing be stored for this visitor? Consent denied, a signal the site honours, or a
    site that needs consent first and has not been given it."""
    if consent == "denied":
        return True
    if facts.site.honor_dnt and facts.do_not_track:
        return True
    if facts.site.honor_gpc and facts.global_privacy_control:
        return True
    return facts.site.consent == "opt_in" and consent != "granted"


def cookieless_id(salt: bytes, site_id: str, ip: str, user_agent: str) -> str:
    """A one-day id that never stores its inputs: it changes with the daily salt, and once the
    salt is deleted it can no longer be tied to the address."""
    digest = hashlib.blake2b(
        f"{site_id}\x00{ip}\x00{user_agent}".encode(), key=salt[:64], digest_size=16
    )
    return digest.hexdigest()


def new_visitor_id() -> str:
    return uuid.uuid4().hex


def resolve(
    facts: RequestFacts,
    event_visitor_id: str | None,
    consent: str | None,
    created_at_ms: int,
    salt: Callable[[], bytes],
    new_id: Callable[[], str],
) -> Identity:
    """The visitor id of one event.

    Order: a valid cross-domain identifier, the snippet's first-party id, the collector's own
    cookie, a new collector id; when cookies are refused, the cookieless id instead. Server-side
    senders name their visitors themselves. ``salt`` and ``new_id`` are called only if needed.
    """
    if facts.server_side:
        if event_visitor_id:
            return Identity(event_visitor_id, "server", cookies_allowed=False)
        return Identity(_cookieless(facts, salt), "cookieless", cookies_allowed=False)
    if cookies_refused(facts, consent):
        return Identity(_cookieless(facts, salt), "cookieless", cookies_allowed=False)
    if facts.linker:
        linked = check_linker(facts.linker, facts.user_agent, created_at_ms // 1000).visitor_id
        if linked:
            replaced = event_visitor_id or facts.collector_cookie
            return Identity(linked, "url", replaced if replaced != linked else None)
    if event_visitor_id:
        return Identity(event_visitor_id, "cookie")
    if facts.collector_cookie:
        return Identity(facts.collector_cookie, "collector_cookie")
    return Identity(new_id(), "collector_cookie")


def _cookieless(facts: RequestFacts, salt: Callable[[], bytes]) -> str:
    return cookieless_id(salt(), facts.site.site_id, facts.ip, facts.user_agent)
