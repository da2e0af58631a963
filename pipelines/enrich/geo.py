"""Geo: where an IP address is, from a MaxMind DB of the City kind (docs/geoip.md).

A running process picks up a new database file at the same path by itself: at most every
``check_seconds`` a lookup looks at the file's identity (device, inode, size, modification
time) and, when it changed, opens the new file beside the old one and swaps it in whole
(docs/deploy.md, "Replacing the GeoIP database")."""

from __future__ import annotations

import functools
import logging
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geoip2.database
import geoip2.errors
import maxminddb

from pipelines.enrich.addresses import is_locatable, parse_address
from pipelines.enrich.cache import CacheStats, lru, stats_of

log = logging.getLogger(__name__)

# The default of CLICKTRAIL_GEOIP_CHECK_SECONDS (clicktrail/settings.py), for callers that
# build a locator without settings.
DEFAULT_CHECK_SECONDS = 60.0

FileIdentity = tuple[int, int, int, int]  # st_dev, st_ino, st_size, st_mtime_ns


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


def file_identity(path: Path) -> FileIdentity:
    """What tells a new file at ``path`` from the one opened: a rename over it changes the
    inode, a copy over it the size or the modification time. Raises ``OSError``."""
    found = os.stat(path)
    return (found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns)


class GeoLocator:
    """Opens one memory-mapped ``geoip2`` reader (the C extension) and keeps an LRU cache of
    answers by IP string, since a visitor sends many events from one address.

    ``locate`` never raises for its input: a malformed, private, reserved, loopback or unknown
    address gives ``NO_GEO``. Opening raises ``ValueError`` for a database that is not of the
    City kind (and ``FileNotFoundError``/``maxminddb.InvalidDatabaseError`` as the reader does).
    Not thread-safe for ``close``; lookups are.

    Reloading: when ``check_seconds`` is above 0, a lookup at least that long after the last
    check (``clock``, monotonic seconds) stats the file once; a changed file is opened and
    checked (a City database) before it replaces the reader and its cache in one assignment,
    so a lookup in another thread sees the old pair or the new one. A new file that cannot be
    opened leaves the old reader serving and is logged once (a warning naming why); it is tried
    again when the file changes again. The old reader is not closed by the swap: its memory map
    goes when the last lookup that holds it returns. Lookups between checks cost one clock
    read more, no system call.
    """

    def __init__(
        self,
        path: str | Path,
        cache_size: int = 65536,
        check_seconds: float = DEFAULT_CHECK_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if check_seconds < 0:
            raise ValueError(f"check_seconds must be 0 or more, got {check_seconds}")
        self._path = Path(path)
        self._cache_size = cache_size
        self._check_seconds = check_seconds
        self._clock = clock
        self._checking = threading.Lock()
        identity = file_identity(self._path)  # before opening: a change meanwhile is seen later
        self._reader, self._cached = self._open()
        self._identity = identity
        self._refused: FileIdentity | None = None  # a new file that failed to open
        self._missing = False
        self._next_check = clock() + check_seconds if check_seconds > 0 else math.inf
        self.reloads = 0

    def locate(self, ip: str | None) -> Geo:
        if not ip:
            return NO_GEO
        if self._clock() >= self._next_check:
            self._check()
        result: Geo = self._cached(ip)
        return result

    def cache_stats(self) -> CacheStats:
        return stats_of(self._cached)

    def build_epoch(self) -> int:
        """When the database in use was built (seconds since the epoch, from its metadata)."""
        epoch: int = self._reader.metadata().build_epoch
        return epoch

    def close(self) -> None:
        self._reader.close()

    def __enter__(self) -> GeoLocator:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _open(self) -> tuple[geoip2.database.Reader, functools._lru_cache_wrapper[Any]]:
        reader = geoip2.database.Reader(str(self._path), mode=maxminddb.MODE_MMAP_EXT)
        kind = reader.metadata().database_type
        if "City" not in kind:
            reader.close()
            raise ValueError(f"{self._path}: a City database is needed, this one is {kind!r}")
        return reader, lru(lambda ip: _locate(reader, ip), self._cache_size)

    def _check(self) -> None:
        if not self._checking.acquire(blocking=False):
            return  # another thread is checking; this lookup uses the reader in place
        try:
            self._next_check = self._clock() + self._check_seconds
            try:
                identity = file_identity(self._path)
            except OSError as exc:
                if not self._missing:
                    log.warning("GeoIP database %s: %s; the loaded one stays", self._path, exc)
                self._missing = True
                return
            self._missing = False
            if identity in (self._identity, self._refused):
                return
            try:
                reader, cached = self._open()
            except Exception as exc:  # any failure to open keeps the reader that works
                self._refused = identity
                log.warning(
                    "GeoIP database %s changed but cannot be used (%s: %s); the loaded one "
                    "stays until the file changes again",
                    self._path,
                    type(exc).__name__,
                    exc,
                )
                return
            self._cached = cached  # what lookups read: the new reader and its empty cache
            self._reader = reader
            self._identity = identity
            self._refused = None
            self.reloads += 1
            log.info(
                "GeoIP database %s reloaded (built %d)",
                self._path,
                reader.metadata().build_epoch,
            )
        finally:
            self._checking.release()


def _locate(reader: geoip2.database.Reader, ip: str) -> Geo:
    address = parse_address(ip)
    if address is None or not is_locatable(address):
        return NO_GEO
    try:
        found = reader.city(address)
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
