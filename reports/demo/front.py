"""The demo shop's front to the collector: the shop's pages name ``/demo/ct`` as their
collector, and the front relays those requests to the real collector from its own loopback
address (``CLICKTRAIL_DEMO_FRONT_ADDRESS``, the only one the collector trusts for it), saying
in ``X-Forwarded-For`` where the visitor chose to browse from. That is what a load balancer
does for a real site, and the one way to show a geo-targeted banner on one machine."""

from __future__ import annotations

from collections.abc import Iterable

from clicktrail.serving.relay import HOP_BY_HOP

# Besides the hop-by-hop fields, whatever a browser wrote about addresses: the front says it.
_NOT_RELAYED = HOP_BY_HOP | {
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "forwarded",
    "x-real-ip",
}


def relayed_headers(
    headers: Iterable[tuple[str, str]], visitor_address: str, scheme: str
) -> dict[str, str]:
    """The request's end-to-end headers, with the front's ``X-Forwarded-For`` (the visitor's
    stated address alone: whatever the browser wrote there is dropped) and ``-Proto``."""
    kept = {name: value for name, value in headers if name.lower() not in _NOT_RELAYED}
    kept["X-Forwarded-For"] = visitor_address
    kept["X-Forwarded-Proto"] = scheme
    return kept
