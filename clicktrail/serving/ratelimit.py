"""Request rate limits per key (an end user's address, a site, a token), answered with ``429``
and ``Retry-After``.

Counted in process by the ``limits`` library (moving windows in memory, ~13 µs a hit), not in
Redis: a round trip per request would cost more than the whole 5 % the limiter may take from the
collector's or the personalizer's throughput. Each worker process counts for itself, so a client
whose requests spread over W workers gets up to W times the limit; its keep-alive connection
usually stays with one worker. Limits are written in the library's notation:
``"50/second"``, ``"20/second;600/minute"``; empty or ``off`` turns a limit off."""

from __future__ import annotations

import ipaddress
import math
import time

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

OFF = ("", "off")


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
    """One limit (possibly several windows) over many keys."""

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self._items = parse_limit(spec)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    @property
    def enabled(self) -> bool:
        return bool(self._items)

    def hit(self, *key: str) -> int | None:
        """Count one request of ``key``: ``None`` when it may go on, else the seconds to wait
        before the oldest counted request leaves the window (at least 1)."""
        for item in self._items:
            if not self._limiter.hit(item, *key):
                reset = self._limiter.get_window_stats(item, *key).reset_time
                return max(1, math.ceil(reset - time.time()))
        return None


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
