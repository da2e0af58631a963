"""The cross-domain URL identifier ``_ct=<visitor_id>.<time>.<hash>``.

The browser holds no secret, so the value is not signed. Like the linkers of analytics
trackers it binds the visitor id and its creation time to the browser's user agent with a
short hash, and is valid for a few minutes: it stops casual copying of links between
people, not a determined forger. ``<time>`` is device seconds since the epoch in base 36;
``<hash>`` is FNV-1a 32-bit, 8 lowercase hex digits, over the UTF-16 code units of
``"<visitor_id>.<time>.<user agent>"`` (for ASCII, the same as over its bytes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PARAM = "_ct"
MAX_AGE_S = 300
MAX_FUTURE_S = 60  # the landing page's clock may run a little behind the linking page's

_VALUE = re.compile(r"([A-Za-z0-9_-]{1,64})\.([0-9a-z]{1,8})\.([0-9a-f]{8})")
_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193


def fnv1a32(text: str) -> int:
    value = _FNV_OFFSET
    encoded = text.encode("utf-16-le", "surrogatepass")
    for i in range(0, len(encoded), 2):
        value ^= encoded[i] | (encoded[i + 1] << 8)
        value = (value * _FNV_PRIME) & 0xFFFFFFFF
    return value


def to_base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
        if not number:
            return text


def make_linker(visitor_id: str, now_s: int, user_agent: str) -> str:
    stamp = to_base36(now_s)
    digest = fnv1a32(f"{visitor_id}.{stamp}.{user_agent}")
    return f"{visitor_id}.{stamp}.{digest:08x}"


@dataclass(frozen=True)
class LinkerCheck:
    visitor_id: str | None  # set only when the value is valid
    reason: str  # "valid", "malformed", "hash_mismatch", "expired" or "future"


def check_linker(value: str, user_agent: str, now_s: int) -> LinkerCheck:
    """Check a ``_ct`` value against the request's user agent and the device time ``now_s``."""
    match = _VALUE.fullmatch(value)
    if match is None:
        return LinkerCheck(None, "malformed")
    visitor_id, stamp, digest = match.groups()
    if f"{fnv1a32(f'{visitor_id}.{stamp}.{user_agent}'):08x}" != digest:
        return LinkerCheck(None, "hash_mismatch")
    age = now_s - int(stamp, 36)
    if age > MAX_AGE_S:
        return LinkerCheck(None, "expired")
    if age < -MAX_FUTURE_S:
        return LinkerCheck(None, "future")
    return LinkerCheck(visitor_id, "valid")
