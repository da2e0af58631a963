"""Networks with a known country (and mostly a city) sampled from a MaxMind DB.

Walking every network of GeoLite2 City takes minutes (millions of networks), so the sampler
seeks instead: it draws a random address and looks it up. A lookup in a MaxMind DB also
returns the prefix length of the tree node it ended on, so a miss tells how large the empty
block around the address is; the sampler jumps past that block and looks again. The next
network with data is reached after a few lookups (at most about two per tree level), so the
cost is bounded by ``samples x depth`` lookups whatever the database's size: ~3,600 samples
take well under a second on the 2018 GeoLite2 City file, so nothing needs caching. A network
is picked with a chance proportional to its size plus the empty space before it, which
favours countries with much address space, as real traffic roughly does.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import maxminddb

from clicktrail.simulator.randomness import derived_random

IPV4_SAMPLES = 3000
IPV6_SAMPLES = 600
MAX_SEEK_LOOKUPS = 512  # a safety bound; the tree depth keeps real seeks far below it


def _block(cidr: str, weight: float) -> tuple[int, int, float]:
    network = ipaddress.ip_network(cidr)
    return int(network.network_address), int(network.broadcast_address), weight


# Public unicast IPv4 (no multicast or reserved space); private blocks have no data anyway.
IPV4_RANGES = (
    (int(ipaddress.IPv4Address("1.0.0.0")), int(ipaddress.IPv4Address("223.255.255.255")), 1.0),
)
# The regional registries' global unicast blocks, weighted roughly by their IPv6 users (else
# AFRINIC's sparse block would give a fifth of all IPv6 homes). The 6to4 (2002::/16) and
# IPv4-mapped spaces are left out: MaxMind DBs alias them to the IPv4 tree.
IPV6_RANGES = (
    _block("2a00::/12", 0.35),  # RIPE NCC
    _block("2600::/12", 0.30),  # ARIN
    _block("2400::/12", 0.25),  # APNIC
    _block("2800::/12", 0.08),  # LACNIC
    _block("2c00::/12", 0.02),  # AFRINIC
)

Lookup = Callable[[ipaddress.IPv4Address | ipaddress.IPv6Address], tuple[Any, int]]


@dataclass(frozen=True, slots=True)
class Network:
    version: int  # 4 or 6
    first: int  # the network address as an integer
    prefix: int
    country: str  # ISO 3166-1 alpha-2
    city: str | None
    utc_offset_hours: int  # solar time from the longitude: good enough for daily rhythm

    @property
    def bits(self) -> int:
        return 32 if self.version == 4 else 128

    @property
    def size(self) -> int:
        return 1 << (self.bits - self.prefix)

    @property
    def cidr(self) -> str:
        return f"{self.address_of(self.first)}/{self.prefix}"

    def address_of(self, value: int) -> str:
        if self.version == 4:
            return str(ipaddress.IPv4Address(value))
        return str(ipaddress.IPv6Address(value))

    def host(self, offset: int) -> str:
        """The address ``offset`` places into the network, skipping an IPv4 network's first
        and last address (network and broadcast) where the network has room."""
        if self.version == 4 and self.size >= 4:
            return self.address_of(self.first + 1 + offset % (self.size - 2))
        return self.address_of(self.first + offset % self.size)


@dataclass(frozen=True)
class NetworkPool:
    ipv4: tuple[Network, ...]
    ipv6: tuple[Network, ...]
    by_country: Mapping[str, tuple[Network, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, ipv4: list[Network], ipv6: list[Network]) -> NetworkPool:
        by_country: dict[str, list[Network]] = {}
        for network in ipv4:
            by_country.setdefault(network.country, []).append(network)
        return cls(tuple(ipv4), tuple(ipv6), {k: tuple(v) for k, v in by_country.items()})


def location_of(record: Any) -> tuple[str, str | None, int] | None:
    """(country, city, UTC offset in hours) of a GeoIP2 City record; None without a country.

    The offset comes from the longitude rather than the time zone name, so the result does
    not depend on the tz database of the machine that runs the simulation.
    """
    if not isinstance(record, dict):
        return None
    country = (record.get("country") or {}).get("iso_code")
    if not isinstance(country, str):
        return None
    city = ((record.get("city") or {}).get("names") or {}).get("en")
    longitude = (record.get("location") or {}).get("longitude")
    offset = round(longitude / 15) if isinstance(longitude, int | float) else 0
    return country, city if isinstance(city, str) else None, offset


def seek_network(lookup: Lookup, start: int, end: int, version: int) -> Network | None:
    """The first network with a country at or after ``start`` (up to ``end``), or None."""
    bits = 32 if version == 4 else 128
    make = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    address = start
    for _ in range(MAX_SEEK_LOOKUPS):
        if address > end:
            return None
        record, prefix = lookup(make(address))
        block = 1 << (bits - prefix)
        first = address & ~(block - 1)
        location = location_of(record)
        if location is not None:
            return Network(version, first, prefix, *location)
        address = first + block
    return None


def sample_networks(lookup: Lookup, rng: random.Random, ipv4: int, ipv6: int) -> NetworkPool:
    """Distinct networks found by ``ipv4`` and ``ipv6`` seeks from random addresses."""
    found4 = _sample(lookup, rng, IPV4_RANGES, 4, ipv4)
    found6 = _sample(lookup, rng, IPV6_RANGES, 6, ipv6)
    if not found4:
        raise ValueError("the GeoIP database has no IPv4 network with a country")
    return NetworkPool.of(found4, found6)


def _sample(
    lookup: Lookup,
    rng: random.Random,
    ranges: tuple[tuple[int, int, float], ...],
    version: int,
    count: int,
) -> list[Network]:
    found: dict[tuple[int, int], Network] = {}
    weights = [weight for _, _, weight in ranges]
    for _ in range(count):
        low, high, _ = rng.choices(ranges, weights=weights)[0]
        start = rng.randint(low, high)
        # Wrap around once, so a seek that starts behind the last network still finds one.
        network = seek_network(lookup, start, high, version) or seek_network(
            lookup, low, start, version
        )
        if network is not None:
            found.setdefault((network.first, network.prefix), network)
    return list(found.values())


def load_network_pool(
    db_path: Path, seed: int, ipv4: int = IPV4_SAMPLES, ipv6: int = IPV6_SAMPLES
) -> NetworkPool:
    with maxminddb.open_database(str(db_path)) as reader:
        if reader.metadata().ip_version == 4:
            ipv6 = 0  # an IPv4-only database refuses IPv6 lookups
        return sample_networks(
            reader.get_with_prefix_len, derived_random(seed, "geoip"), ipv4, ipv6
        )
