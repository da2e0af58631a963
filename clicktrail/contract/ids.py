"""Ids of the attribution loop (schema 2): a decision's id is a UUIDv7, so its time can be read
back from it, and every event that follows the decision (the decision's own events, its
impressions and clicks) takes an id and a time derived from it. A resent impression therefore
has the same ``event_id`` and ``created_at`` as the first copy, and collapses with it in the
warehouse like any replayed event."""

from __future__ import annotations

import os
import uuid

from clicktrail.simulator.uuid7 import uuid7_ms

# uuid5 namespace of the events derived from a decision (a fixed random UUID: never change it).
ATTRIBUTION_NAMESPACE = uuid.UUID("6f1d5c2e-8b0a-4d3e-9c47-2a1e5b7d9f03")
ATTRIBUTION_KINDS = frozenset({"decision", "impression", "click"})

_MS_MASK = (1 << 48) - 1
_LOW_MASK = (1 << 62) - 1


def new_decision_id(unix_ms: int) -> str:
    """A fresh UUIDv7 for a decision made at ``unix_ms``."""
    # One os.urandom call for the 74 random bits (``uuid7`` asks its generator twice, and a
    # getrandom system call is what costs under load). Not a seeded Mersenne Twister: its
    # state can be recovered from a few hundred ids a client sees, and a decision id should
    # not tell the next one.
    bits = int.from_bytes(os.urandom(10)) >> 6
    value = (unix_ms & _MS_MASK) << 80 | 0x7 << 76 | (bits >> 62) << 64 | 0b10 << 62
    text = f"{value | (bits & _LOW_MASK):032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def decision_ms(decision_id: str) -> int:
    """The time (UTC ms) a decision id was made at. Raises ``ValueError`` for anything but a
    UUIDv7."""
    parsed = uuid.UUID(decision_id)
    if parsed.version != 7:
        raise ValueError(f"decision id {decision_id!r} is not a UUIDv7")
    return uuid7_ms(decision_id)


def attribution_event_id(decision_id: str, placement: str, kind: str) -> str:
    """The ``event_id`` of the ``kind`` event ("decision", "impression" or "click") of one
    placement of a decision: the same inputs always give the same id."""
    if kind not in ATTRIBUTION_KINDS:
        raise ValueError(f"kind must be one of {sorted(ATTRIBUTION_KINDS)}, got {kind!r}")
    # A unit separator between the parts: no placement can borrow characters from the kind.
    name = f"{decision_id.lower()}\x1f{placement}\x1f{kind}"
    return str(uuid.uuid5(ATTRIBUTION_NAMESPACE, name))
