"""The batch envelope a client POSTs, parsed into valid events and per-event rejections.

A broken envelope (not JSON, too big, no site) rejects the request as a whole; a bad event
rejects only itself, so its valid neighbours are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from clicktrail.contract import fastcheck, jsontext
from clicktrail.contract.event import (
    _TEXT,
    EARLIEST_MS,
    LATEST_MS,
    SCHEMA_VERSION,
    Event,
    as_schema,
)

MAX_BODY_BYTES = 64 * 1024
MAX_EVENTS = 100
SITE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class EnvelopeError(ValueError):
    """The request as a whole is unusable; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Rejection:
    index: int
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"index": self.index, "reason": self.reason}


@dataclass(frozen=True)
class Batch:
    site_id: str
    schema: int
    sent_at: int | None
    linker: str | None = None  # the cross-domain identifier of the landing page, if any
    events: list[tuple[int, Event]] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)


def decode_json(body: bytes) -> Any:
    """Strict JSON: UTF-8 only, no NaN or Infinity, nested at most ``jsontext.MAX_DEPTH``."""
    if len(body) > MAX_BODY_BYTES:
        raise EnvelopeError(f"body is {len(body)} bytes; the limit is {MAX_BODY_BYTES}", 413)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EnvelopeError(f"body is not UTF-8 (byte {exc.start})") from None
    try:
        return jsontext.loads(text)
    except jsontext.JsonError as exc:
        raise EnvelopeError(f"body is not valid JSON: {exc}") from None


def parse_batch(body: bytes) -> Batch:
    """Parse ``{"schema": 2, "site_id": ..., "sent_at": ms, "events": [...]}`` (no schema: 1).

    Raises ``EnvelopeError`` for a request that cannot be used at all.
    """
    document = decode_json(body)
    if not isinstance(document, dict):
        raise EnvelopeError("body must be a JSON object with an events list")
    site_id = document.get("site_id")
    if not isinstance(site_id, str) or not site_id:
        raise EnvelopeError("site_id is missing or not a string")
    if not SITE_ID.fullmatch(site_id):
        raise EnvelopeError("site_id must be 1-64 letters, digits, '-' or '_'")
    schema = document.get("schema", 1)
    if type(schema) is not int or schema < 1:
        raise EnvelopeError("schema must be a positive integer")
    sent_at = document.get("sent_at")
    if sent_at is not None and (type(sent_at) is not int or not EARLIEST_MS <= sent_at < LATEST_MS):
        raise EnvelopeError("sent_at must be milliseconds since the epoch (UTC)")
    linker = document.get("linker")
    if linker is not None and (not isinstance(linker, str) or len(linker) > 128):
        raise EnvelopeError("linker must be a string of at most 128 characters")
    raw_events = document.get("events")
    if not isinstance(raw_events, list):
        raise EnvelopeError("events must be a list")
    if not raw_events:
        raise EnvelopeError("events is empty")

    batch = Batch(site_id=site_id, schema=schema, sent_at=sent_at, linker=linker)
    for index, raw in enumerate(raw_events):
        if index >= MAX_EVENTS:
            batch.rejected.append(Rejection(index, f"a batch holds at most {MAX_EVENTS} events"))
            continue
        try:
            event = parse_event(raw, site_id, schema)
        except ValueError as exc:
            batch.rejected.append(Rejection(index, str(exc)))
            continue
        batch.events.append((index, event))
    return batch


def parse_event(raw: Any, site_id: str, schema: int = SCHEMA_VERSION) -> Event:
    """Validate one event of a batch for ``site_id``, sent under ``schema`` (fields of a later
    schema are unknown fields there); ``ValueError`` has a readable reason."""
    if not isinstance(raw, dict):
        raise ValueError("event: must be a JSON object")
    raw = as_schema(raw, schema)
    if fastcheck.accepts(raw):  # most events: msgspec says valid; the model decides the rest
        event = Event.from_checked(raw)
    else:
        try:
            event = Event.model_validate(raw)
        except ValidationError as exc:
            raise ValueError(describe(exc)) from None
    if event.site_id is not None and event.site_id != site_id:
        raise ValueError(f"site_id {event.site_id!r} differs from the batch's {site_id!r}")
    event.to_record()  # raises on oversized or non-UTF-8 unknown fields
    return event


def describe(error: ValidationError) -> str:
    """One line a developer can act on: ``field: problem; field: problem``."""
    parts = []
    for item in error.errors(include_url=False):
        where = ".".join(str(part) for part in item["loc"]) or "event"
        message = item["msg"]
        if item["type"] == "string_pattern_mismatch":
            pattern = (item.get("ctx") or {}).get("pattern")
            message = (
                "must not contain control characters"
                if pattern == _TEXT
                else f"has an invalid format (expected {pattern})"
            )
        elif item["type"] == "value_error":
            message = message.removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    return "; ".join(parts)
