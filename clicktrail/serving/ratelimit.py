"""Request rate limits per key (an end user's address, a site, a token), answered with ``429``
and ``Retry-After``.

Limits are written in the ``limits`` library's notation, which it parses: ``"50/second"``,
``"20/second;600/minute"`` (every window must let the request in); empty or ``off`` turns a
limit off. Counting is GCRA (the generic cell rate algorithm of ATM networks, as redis-cell and
most API gateways use it): per key and window one number, the theoretical arrival time, so a hit
is a dict lookup and a comparison. Measured on this machine with 4,000 addresses:
``limits``' own in-memory storage cost 61 µs a hit and a third of a core for its expiry thread
(it scans every key each 10 ms), over the 5 % a limiter may take from the collector; this costs
under 7 µs with the loop around it (bench: ``make bench-collector``'s limiter figures).

Counted in process: a Redis round trip per request would cost more than the whole budget. Each
worker process counts for itself, so a client whose requests spread over W workers gets up to W
times the limit; its keep-alive connection usually stays with one worker."""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections.abc import Callable

from limits import RateLimitItem, parse_many

OFF = ("", "off")
PRUNE_EVERY = 4096  # hits between sweeps of keys whose every window has refilled


def parse_limit(text: str) -> tuple[RateLimitItem, ...]:
    """The limits of ``text``, none when it is off; raises ``ValueError`` with the reason."""
    text = text.strip()
    if text.lower() in OFF:
        return ()
    try:
        return tuple(parse_many(text))
    except ValueError as exc:
        raise ValueError(
            f"expected a rate like 50/second or 20/second;600/minute (or off), got {text!r}: {exc}"
        ) from None


class RateLimiter:
    """One limit (possibly several windows) over many keys. Thread-safe."""

    def __init__(self, spec: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.spec = spec
        # Per window: the interval between requests at the steady rate, and how far ahead of
        # it a key may run (a full window's worth of requests at once).
        self._windows = [
            (item.get_expiry() / item.amount, item.get_expiry() * (1 - 1 / item.amount))
            for item in parse_limit(spec)
        ]
        self._arrivals: dict[tuple[str, ...], list[float]] = {}
        self._clock = clock
        self._lock = threading.Lock()
        self._hits = 0

    @property
    def enabled(self) -> bool:
        return bool(self._windows)

    def hit(self, *key: str) -> int | None:
        """Count one request of ``key``: ``None`` when it may go on, else the whole seconds
        to wait until every window lets it in (at least 1). A refused request counts not."""
        if not self._windows:
            return None
        now = self._clock()
        with self._lock:
            self._hits += 1
            if self._hits % PRUNE_EVERY == 0:
                self._prune(now)
            arrivals = self._arrivals.get(key)
            if arrivals is None:
                arrivals = self._arrivals[key] = [now] * len(self._windows)
            wait = 0.0
            for (_, tolerance), arrival in zip(self._windows, arrivals, strict=True):
                wait = max(wait, max(arrival, now) - now - tolerance)
            if wait > 0:
                return max(1, math.ceil(wait))
            for n, (interval, _) in enumerate(self._windows):
                arrivals[n] = max(arrivals[n], now) + interval
            return None

    def _prune(self, now: float) -> None:
        self._arrivals = {k: v for k, v in self._arrivals.items() if max(v) > now}


def address_key(address: str) -> str:
    """An IPv6 client is limited by its /64 (one subscriber usually holds a whole one and can
    change addresses inside it at will); IPv4 by its address; anything else as written."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:  # a v4 client on a v6 socket
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)
