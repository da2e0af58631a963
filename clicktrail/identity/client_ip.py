"""Which address is the client's: the peer, unless a trusted proxy vouches for another."""

from __future__ import annotations

import functools
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
    if not forwarded_for or not trusted:
        return peer
    if len(forwarded_for) > _REMEMBERED_LENGTH:  # a long chain (or a hostile header): not kept
        return _walk(peer, forwarded_for, trusted)
    return _remembered_walk(peer, forwarded_for, tuple(trusted))


# Headers at most this long are remembered (a few hops): 4,096 two-hop headers took 1.4 MB
# (tracemalloc), ~2.2 MB if every one were this long.
_REMEMBERED_LENGTH = 160


def _walk(peer: str, forwarded_for: str, trusted: Sequence[Network]) -> str:
    if not _is_trusted(_address(peer), trusted):
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


# The answer depends on its arguments only, and a visitor's requests come from one address
# through one proxy: parsing the addresses was most of this module's cost per request (~30 µs
# of a collector's single-event request, py-spy 2026-12-03).
_remembered_walk = functools.lru_cache(maxsize=4096)(_walk)


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
