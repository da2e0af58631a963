"""Which IP addresses can be geolocated: none of the special-purpose blocks.

Private, loopback, link-local, documentation, shared (CGNAT), multicast and reserved addresses
name no place, and a database that happens to cover one (some commercial files map RFC 1918
ranges to their vendor's office) must not give it a location. ``ipaddress``'s ``is_global``
says the same but costs about 10 µs; a bisect over the blocks below costs well under one.

The blocks are the IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890 and its
updates), plus multicast and the reserved 240/4; tests/unit/pipelines checks them against
``ipaddress``.
"""

from __future__ import annotations

import bisect
import ipaddress

_NON_GLOBAL_V4 = (
    "0.0.0.0/8",  # "this network"
    "10.0.0.0/8",
    "100.64.0.0/10",  # shared address space (carrier-grade NAT)
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",  # IETF protocol assignments
    "192.0.2.0/24",  # documentation (TEST-NET-1)
    "192.88.99.0/24",  # deprecated 6to4 relay anycast
    "192.168.0.0/16",
    "198.18.0.0/15",  # benchmarking
    "198.51.100.0/24",  # documentation (TEST-NET-2)
    "203.0.113.0/24",  # documentation (TEST-NET-3)
    "224.0.0.0/4",  # multicast
    "240.0.0.0/4",  # reserved, and the limited broadcast address
)
_NON_GLOBAL_V6 = (
    "::/127",  # unspecified and loopback
    "::ffff:0:0/96",  # IPv4-mapped: callers look up the embedded IPv4 address instead
    "64:ff9b::/96",  # NAT64 well-known prefix
    "64:ff9b:1::/48",  # local-use NAT64
    "100::/64",  # discard-only
    "2001::/23",  # IETF protocol assignments (Teredo, benchmarking, ORCHID)
    "2001:db8::/32",  # documentation
    "2002::/16",  # 6to4: the location is the embedded relay's, not the client's
    "3fff::/20",  # documentation
    "5f00::/16",  # segment routing
    "fc00::/7",  # unique local
    "fe80::/10",  # link-local
    "ff00::/8",  # multicast
)


def _bounds(blocks: tuple[str, ...]) -> tuple[list[int], list[int]]:
    networks = sorted(ipaddress.ip_network(block) for block in blocks)
    starts = [int(network.network_address) for network in networks]
    ends = [int(network.broadcast_address) for network in networks]
    return starts, ends


_V4 = _bounds(_NON_GLOBAL_V4)
_V6 = _bounds(_NON_GLOBAL_V6)


def is_locatable(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """False for an address in a special-purpose block (the blocks do not overlap)."""
    starts, ends = _V4 if address.version == 4 else _V6
    value = int(address)
    index = bisect.bisect_right(starts, value) - 1
    return index < 0 or value > ends[index]


def parse_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address in ``text``, an IPv4-mapped IPv6 address as its IPv4 address, or None when
    ``text`` is not an address. A zone (``fe80::1%eth0``) is dropped."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.scope_id:
            return ipaddress.IPv6Address(int(address))
    return address
