"""Deterministic UUIDv7 (RFC 9562): the simulated time in the top 48 bits, seeded bits after."""

from __future__ import annotations

import random

_MS_MASK = (1 << 48) - 1


def uuid7(unix_ms: int, rng: random.Random) -> str:
    """A version-7 UUID string for ``unix_ms``; the 74 random bits come from ``rng``.

    ``uuid.UUID`` is not used because building the string by hand is several times faster,
    and the simulator makes one id per event.
    """
    value = (
        (unix_ms & _MS_MASK) << 80
        | 0x7 << 76
        | rng.getrandbits(12) << 64
        | 0b10 << 62
        | rng.getrandbits(62)
    )
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def uuid7_ms(value: str) -> int:
    """The millisecond timestamp of a UUIDv7 string."""
    return int(value.replace("-", "")[:12], 16)
