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
    if not forwarded_for or not _is_trusted(peer, trusted):
        return peer
    candidate = peer
    for hop in reversed(forwarded_for.split(",")):
        address = _parse(hop.strip())
        if address is None:
            break
        candidate = address
        if not _is_trusted(address, trusted):
            break
    return candidate


def _parse(text: str) -> str | None:
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _is_trusted(address: str, trusted: Sequence[Network]) -> bool:
    if not trusted:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)
