"""Which address is the client's: the peer, unless a trusted proxy vouches for another."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_ip(peer: str, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """The client address of a request.

    ``X-Forwarded-For`` is believed only when the direct peer is a trusted proxy. Its entries
    are read from the right (the nearest hop first), skipping trusted proxies; the first address
    that is not one of ours is the client. Anything unparsable ends the walk: what lies left of
    it was written by the client and cannot be trusted.
    """
    if not forwarded_for or not trusted or not _is_trusted(_address(peer), trusted):
        return peer
    candidate = peer
    for hop in reversed(forwarded_for.split(",")):
        address = _address(_strip_port(hop.strip()))
        if address is None:
            break
        candidate = str(address)
        if not _is_trusted(address, trusted):
            break
    return candidate


def _strip_port(text: str) -> str:
    if text.startswith("[") and "]" in text:  # [v6]:port
        return text[1 : text.index("]")]
    if text.count(":") == 1:  # v4:port
        return text.split(":", 1)[0]
    return text


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    # each address is parsed once (the parse is most of this module's cost per request)
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _is_trusted(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | None, trusted: Sequence[Network]
) -> bool:
    return address is not None and any(address in network for network in trusted)
