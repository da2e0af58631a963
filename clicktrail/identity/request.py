"""From the parts of an HTTP request to ``RequestFacts``. Pure: no web framework; any
``Mapping`` of headers and cookies will do (Werkzeug's are case-insensitive, as HTTP is).

The collector and the decision service both call this, so a visitor is recognised the same
way wherever they show up."""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from typing import Protocol

from clicktrail.contract.protocol import COLLECTOR_COOKIE
from clicktrail.identity.client_ip import Network, client_ip
from clicktrail.identity.visitor import RequestFacts
from clicktrail.sites.model import Site

MAX_USER_AGENT = 1024
MAX_VISITOR_ID = 64
VISITOR_ID_CHARACTERS = frozenset(string.ascii_letters + string.digits + "_-")


class Lookup(Protocol):
    """Headers or cookies: anything with ``get(name)`` (a dict, Werkzeug's case-insensitive
    ``Headers``)."""

    def get(self, key: str, /) -> str | None: ...


def valid_visitor_id(value: str) -> bool:
    """Could the collector have made this id? (It ends up in keys and logs: nothing else.)"""
    return 0 < len(value) <= MAX_VISITOR_ID and set(value) <= VISITOR_ID_CHARACTERS


def request_facts(
    site: Site,
    *,
    peer: str,
    headers: Lookup | Mapping[str, str],
    cookies: Lookup | Mapping[str, str],
    trusted_proxies: Sequence[Network],
    linker: str | None = None,
    server_side: bool = False,
) -> RequestFacts:
    """What a request says about its sender: the client address (the peer, unless a trusted
    proxy vouches for another), the browser, the collector's own cookie when it is well
    formed, the cross-domain identifier, and the privacy signals."""
    cookie = cookies.get(COLLECTOR_COOKIE)
    return RequestFacts(
        site=site,
        ip=client_ip(peer or "", headers.get("X-Forwarded-For"), trusted_proxies),
        user_agent=(headers.get("User-Agent") or "")[:MAX_USER_AGENT],
        collector_cookie=cookie if cookie and valid_visitor_id(cookie) else None,
        linker=linker,
        do_not_track=headers.get("DNT") == "1",
        global_privacy_control=headers.get("Sec-GPC") == "1",
        server_side=server_side,
    )
