"""Relaying a request to another of the engine's HTTP services over a pool of kept-alive
connections: what the collector needs to answer the personalizer's browser paths under its own
origin (``make up``; in production a reverse proxy routes them, docs/personalizer.md), and
what the demo shop's front needs to reach the collector from its own address.

The client address goes along in ``X-Forwarded-For`` as the collector judged it (the peer, or
what a proxy it trusts said), so the service behind believes it when it trusts the collector's
address; the body and query string go byte for byte (signed links stay signed)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import urllib3

# RFC 9110 7.6.1: hop-by-hop fields are the connection's, never forwarded; the length and
# host are the new request's own.
HOP_BY_HOP = frozenset(
    name.lower()
    for name in (
        "Connection",
        "Keep-Alive",
        "Proxy-Authenticate",
        "Proxy-Authorization",
        "Proxy-Connection",
        "TE",
        "Trailer",
        "Transfer-Encoding",
        "Upgrade",
        "Content-Length",
        "Host",
    )
)


class UpstreamUnavailable(Exception):
    """The service could not be reached, or did not answer in time."""


@dataclass(frozen=True)
class Relayed:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def upstream_address(bind: str) -> tuple[str, int]:
    """Where to reach a service listening on ``bind`` ("host:port"; a wildcard host is
    reached on loopback)."""
    host, _, port = bind.rpartition(":")
    host = host.strip("[]")
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    return host, int(port)


def forwarded_headers(
    headers: Iterable[tuple[str, str]], client_ip: str, scheme: str, host: str
) -> dict[str, str]:
    """The request's end-to-end headers, with ``X-Forwarded-*`` saying who asked, how, and
    under which host name. Pure."""
    out: dict[str, str] = {}
    for name, value in headers:
        lower = name.lower()
        if lower in HOP_BY_HOP or lower.startswith("x-forwarded-"):
            continue
        out[name] = f"{out[name]}, {value}" if name in out else value
    out["X-Forwarded-For"] = client_ip
    out["X-Forwarded-Proto"] = scheme
    out["X-Forwarded-Host"] = host
    return out


def answer_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The answer's end-to-end headers (every ``Set-Cookie`` of them kept apart). Pure."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    return [(name, value) for name, value in items if name.lower() not in HOP_BY_HOP]


class Upstream:
    """A pool of connections to one HTTP service. Thread- and greenlet-safe (urllib3's pool);
    connections beyond ``max_idle`` are opened when needed and closed after use."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        connect_timeout: float = 0.5,
        read_timeout: float = 2.0,
        max_idle: int = 32,
        source_address: str | None = None,
    ) -> None:
        """``source_address``: connect from this address of the machine (the one the
        service behind trusts), else the system's choice."""
        connection: dict[str, Any] = {}
        if source_address:
            connection["source_address"] = (source_address, 0)
        self._pool = urllib3.HTTPConnectionPool(
            host,
            port,
            maxsize=max_idle,
            block=False,
            retries=False,
            timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
            **connection,
        )

    def relay(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Relayed:
        """One request (``target``: path and raw query), its answer; raises
        ``UpstreamUnavailable``. Never follows a redirect: the answer is the browser's."""
        try:
            response = self._pool.urlopen(
                method,
                target,
                body=body or None,
                headers=dict(headers),
                redirect=False,
                preload_content=True,
                decode_content=False,
            )
        except urllib3.exceptions.HTTPError as exc:
            raise UpstreamUnavailable(str(exc)) from exc
        return Relayed(response.status, answer_headers(response.headers.iteritems()), response.data)

    def close(self) -> None:
        self._pool.close()
