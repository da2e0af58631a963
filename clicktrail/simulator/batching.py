"""Groups a visitor's events into batch envelopes, as a server-side sender would POST them."""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from clicktrail.contract.envelope import MAX_BODY_BYTES, MAX_EVENTS
from clicktrail.contract.event import LATEST_MS, SCHEMA_VERSION

DEFAULT_BATCH_SIZE = 20
# A sender flushes its queue at least this often, so a batch spans at most this much time.
MAX_BATCH_SPAN_MS = 5 * 60_000
SEND_DELAY_MS = (50, 1500)  # from the last event of a batch to its sending


@dataclass(frozen=True, slots=True)
class Batch:
    sent_at: int  # simulated send time, UTC ms
    visitor_id: str
    event_count: int
    body: bytes  # the JSON envelope, ready to POST


def encode_event(event: dict[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()


def envelope(site_id: str, sent_at: int, encoded_events: list[bytes]) -> bytes:
    head = json.dumps(
        {"schema": SCHEMA_VERSION, "site_id": site_id, "sent_at": sent_at}, separators=(",", ":")
    )
    return head[:-1].encode() + b',"events":[' + b",".join(encoded_events) + b"]}"


def make_batches(
    events: Iterable[dict[str, Any]],
    site_id: str,
    rng: random.Random,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> list[Batch]:
    """Consecutive events of one visitor, at most ``batch_size`` events, ``MAX_BATCH_SPAN_MS``
    apart and ``MAX_BODY_BYTES`` in size per batch. ``events`` are in time order."""
    if not 1 <= batch_size <= MAX_EVENTS:
        raise ValueError(f"batch_size must be between 1 and {MAX_EVENTS}")
    budget = MAX_BODY_BYTES - len(envelope(site_id, LATEST_MS, []))
    batches: list[Batch] = []
    pending: list[bytes] = []
    size = 0
    visitor_id = ""
    first_at = last_at = last_sent_at = 0

    def flush() -> None:
        nonlocal last_sent_at
        # A sender sends its batches in order: never before the previous one.
        sent_at = max(last_at + rng.randint(*SEND_DELAY_MS), last_sent_at + 1)
        last_sent_at = sent_at
        body = envelope(site_id, sent_at, pending)
        batches.append(Batch(sent_at, visitor_id, len(pending), body))
        pending.clear()

    for event in events:
        encoded = encode_event(event)
        if len(encoded) > budget:
            raise ValueError(f"event {event['event_id']} alone exceeds {MAX_BODY_BYTES} bytes")
        if pending and (
            event["visitor_id"] != visitor_id
            or len(pending) >= batch_size
            or event["created_at"] - first_at > MAX_BATCH_SPAN_MS
            or size + len(encoded) + 1 > budget
        ):
            flush()
        if not pending:
            visitor_id = event["visitor_id"]
            first_at = event["created_at"]
            size = 0
        pending.append(encoded)
        size += len(encoded) + 1  # the comma
        last_at = event["created_at"]
    if pending:
        flush()
    return batches
