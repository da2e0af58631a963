"""Geo: where an IP address is, from a MaxMind DB of the City kind (docs/geoip.md)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geoip2.database
import geoip2.errors
import maxminddb

from pipelines.enrich.addresses import is_locatable, parse_address
from pipelines.enrich.cache import CacheStats, lru, stats_of


@dataclass(frozen=True, slots=True)
class Geo:
    country: str  # ISO 3166-1 alpha-2
    region: str  # ISO 3166-2 code of the first (largest) subdivision, without the country
    city: str  # English name
    postal: str
    latitude: float
    longitude: float
    accuracy_km: int  # the database's accuracy radius; 0 when unknown
    time_zone: str  # IANA


NO_GEO = Geo("", "", "", "", 0.0, 0.0, 0, "")


class GeoLocator:
    """Opens one memory-mapped ``geoip2`` reader (the C extension) and keeps an LRU cache of
    answers by IP string, since a visitor sends many events from one address.

    ``locate`` never raises for its input: a malformed, private, reserved, loopback or unknown
    address gives ``NO_GEO``. Opening raises ``ValueError`` for a database that is not of the
    City kind (and ``FileNotFoundError``/``maxminddb.InvalidDatabaseError`` as the reader does).
    Not thread-safe for ``close``; lookups are.
    """

    def __init__(self, path: str | Path, cache_size: int = 65536) -> None:
        self._reader = geoip2.database.Reader(str(path), mode=maxminddb.MODE_MMAP_EXT)
        kind = self._reader.metadata().database_type
        if "City" not in kind:
            self._reader.close()
            raise ValueError(f"{path}: a City database is needed, this one is {kind!r}")
        self._cached = lru(self._locate, cache_size)

    def locate(self, ip: str | None) -> Geo:
        if not ip:
            return NO_GEO
        result: Geo = self._cached(ip)
        return result

    def cache_stats(self) -> CacheStats:
        return stats_of(self._cached)

    def close(self) -> None:
        self._reader.close()

    def __enter__(self) -> GeoLocator:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _locate(self, ip: str) -> Geo:
        address = parse_address(ip)
        if address is None or not is_locatable(address):
            return NO_GEO
        try:
            found = self._reader.city(address)
        except (geoip2.errors.AddressNotFoundError, ValueError):
            return NO_GEO
        location = found.location
        subdivisions = found.subdivisions
        return Geo(
            country=found.country.iso_code or "",
            region=(subdivisions[0].iso_code or "") if subdivisions else "",
            city=found.city.names.get("en", ""),
            postal=found.postal.code or "",
            latitude=location.latitude if location.latitude is not None else 0.0,
            longitude=location.longitude if location.longitude is not None else 0.0,
            accuracy_km=location.accuracy_radius or 0,
            time_zone=location.time_zone or "",
        )
