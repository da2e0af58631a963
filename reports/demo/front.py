"""The demo shop's front to the collector: the shop's pages name ``/demo/ct`` as their
collector, and the front relays those requests to the real collector from its own loopback
address (``CLICKTRAIL_DEMO_FRONT_ADDRESS``, the only one the collector trusts for it), saying
in ``X-Forwarded-For`` where the visitor chose to browse from. That is what a load balancer
does for a real site, and the one way to show a geo-targeted banner on one machine."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import urllib3

# Hop-by-hop headers (RFC 9110 7.6.1) and those the front sets itself.
_NOT_RELAYED = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
        "forwarded",
        "x-real-ip",
    }
)


class CollectorAway(Exception):
    """The collector did not answer (refused, timed out); the message says how."""


@dataclass(frozen=True)
class Relayed:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def relayed_headers(
    headers: Iterable[tuple[str, str]], visitor_address: str, scheme: str
) -> dict[str, str]:
    """The request's end-to-end headers, with the front's ``X-Forwarded-For`` (the visitor's
    stated address alone: whatever the browser wrote there is dropped) and ``-Proto``."""
    kept = {name: value for name, value in headers if name.lower() not in _NOT_RELAYED}
    kept["X-Forwarded-For"] = visitor_address
    kept["X-Forwarded-Proto"] = scheme
    return kept


class CollectorFront:
    """Kept-alive connections to the collector at ``host:port``, made from
    ``source_address`` (a loopback address of this machine)."""

    def __init__(self, host: str, port: int, source_address: str) -> None:
        self._pool = urllib3.HTTPConnectionPool(
            host,
            port,
            maxsize=8,
            block=False,
            retries=False,
            timeout=urllib3.Timeout(connect=0.5, read=5.0),
            source_address=(source_address, 0),
        )

    def relay(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Relayed:
        """Send one request as it came (path with its query string) and return the answer
        as the collector gave it (compressed bodies stay compressed, redirects are not
        followed). Raises ``CollectorAway``."""
        try:
            answer = self._pool.urlopen(
                method,
                path,
                body=body or None,
                headers=headers,
                redirect=False,
                decode_content=False,
                preload_content=True,
            )
        except urllib3.exceptions.HTTPError as exc:
            raise CollectorAway(str(exc)) from exc
        kept = [
            (name, value)
            for name, value in answer.headers.iteritems()
            if name.lower() not in _NOT_RELAYED
        ]
        return Relayed(answer.status, kept, answer.data)

    def close(self) -> None:
        self._pool.close()
