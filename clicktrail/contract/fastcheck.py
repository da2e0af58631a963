"""The event's fast path: a second, stricter spelling of ``event.Event``'s rules in msgspec.

Why: validating each event through the pydantic model (and dumping it back to a dict) cost the
collector ~40 µs an event, more than the rest of a request's own work. msgspec checks the same
constraints in a few microseconds. This check only ever *accepts*: an event it refuses, or is
unsure about, goes through the pydantic model, which stays the contract's one authority (its
error messages are the protocol's). So it may be stricter than the model, never looser:

- the text rule (no control characters) is checked once over the event's orjson encoding,
  keys, context and unknown fields included (orjson escapes every C0 control character; DEL
  stays as it is); the other patterns are matched whole (``fullmatch``: Python's ``$`` also
  matches before a final newline, the model's Rust regex does not);
- integers beyond 64 bits, lone surrogates (which the model refuses in declared fields) and
  anything orjson cannot encode are left to the model;
- the rules across fields (``REQUIRED_BY_TYPE``, a banner's id, an amount's currency) are
  checked here and left to the model when they fail, so its message is the one given.

``tests/unit/clicktrail/test_fastcheck.py`` checks, on the shared fixtures, simulator traffic
and mutations of both, that this path accepts nothing the model refuses and yields the same
event and record.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import msgspec
import orjson
from msgspec import Meta

from clicktrail.contract import event as contract


def _text(max_length: int) -> Any:
    return Annotated[str, Meta(max_length=max_length)]  # the text rule: see ``accepts``


Url = _text(contract.MAX_URL)
Text35, Text45, Text128 = _text(35), _text(45), _text(128)
Text256, Text512, Text1024 = _text(256), _text(512), _text(1024)
Id = Annotated[str, Meta(min_length=1, max_length=contract.MAX_ID)]  # and ID_FIELDS
EpochMs = Annotated[int, Meta(ge=contract.EARLIEST_MS, lt=contract.LATEST_MS)]
Money = Annotated[int, Meta(ge=0, le=contract.MAX_MONEY)]
Quantity = Annotated[int, Meta(ge=1, le=100_000)]
Category = Annotated[list[Text128], Meta(max_length=8)]  # type: ignore[valid-type]
PropertyKey = Annotated[str, Meta(min_length=1, max_length=64)]
PropertyValue = Text1024 | int | float | bool | None
EventType = contract.EventType


class LineItemCheck(msgspec.Struct, forbid_unknown_fields=True):
    sku: Text128  # type: ignore[valid-type]
    name: Text512 | None = None  # type: ignore[valid-type]
    category: Category | None = None
    price: Money | None = None
    quantity: Quantity = 1


class EventCheck(msgspec.Struct):
    """``event.Event``'s declared fields; unknown fields are ignored here (they are kept)."""

    event_id: str  # PATTERNS
    event_type: EventType
    created_at: EpochMs
    site_id: Id | None = None
    visitor_id: Id | None = None
    session_id: Id | None = None
    session_index: Annotated[int, Meta(ge=1, le=10_000_000)] | None = None
    page_view_id: Id | None = None
    user_id: Text256 | None = None  # type: ignore[valid-type]
    url: Url | None = None  # type: ignore[valid-type]
    referrer: Url | None = None  # type: ignore[valid-type]
    title: Text1024 | None = None  # type: ignore[valid-type]
    screen: str | None = None  # PATTERNS
    viewport: str | None = None  # PATTERNS
    language: Text35 | None = None  # type: ignore[valid-type]
    engaged_ms: Annotated[int, Meta(ge=0, le=86_400_000)] | None = None
    sku: Text128 | None = None  # type: ignore[valid-type]
    product_name: Text512 | None = None  # type: ignore[valid-type]
    category: Category | None = None
    price: Money | None = None
    currency: str | None = None  # PATTERNS
    quantity: Quantity | None = None
    order_id: Text128 | None = None  # type: ignore[valid-type]
    items: Annotated[list[LineItemCheck], Meta(max_length=100)] | None = None
    total: Money | None = None
    tax: Money | None = None
    shipping: Money | None = None
    target_url: Url | None = None  # type: ignore[valid-type]
    label: Text256 | None = None  # type: ignore[valid-type]
    banner_id: Text128 | None = None  # type: ignore[valid-type]
    campaign_id: Text128 | None = None  # type: ignore[valid-type]
    placement: Text128 | None = None  # type: ignore[valid-type]
    name: Text128 | None = None  # type: ignore[valid-type]
    decision_id: str | None = None  # PATTERNS
    creative_id: Text128 | None = None  # type: ignore[valid-type]
    viewable: bool | None = None
    holdout: bool | None = None
    properties: Annotated[
        dict[PropertyKey, PropertyValue],  # type: ignore[valid-type]
        Meta(max_length=contract.MAX_PROPERTIES),
    ] = {}
    consent: Literal["granted", "denied"] | None = None
    context: dict[str, Any] = {}
    ip: Text45 | None = None  # type: ignore[valid-type]
    user_agent: Text1024 | None = None  # type: ignore[valid-type]


def _whole(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern.removeprefix("^").removesuffix("$"))


_ID = _whole(contract._ID)
_UUID = _whole(contract._UUID)
_SIZE = _whole(r"^[0-9]{1,5}x[0-9]{1,5}$")
PATTERNS = {
    "event_id": _UUID,
    "decision_id": _UUID,
    "site_id": _ID,
    "visitor_id": _ID,
    "session_id": _ID,
    "page_view_id": _ID,
    "screen": _SIZE,
    "viewport": _SIZE,
    "currency": _whole(r"^[A-Z]{3}$"),
}
_PATTERNED = frozenset(PATTERNS)
# A forbidden control character in orjson's output: C0 characters other than tab, newline and
# carriage return are escaped as \u00XX, \b or \f; DEL is written as it is. (An escaped
# backslash before such letters matches too: the model decides those.)
_CONTROL = re.compile(rb"\\u00|\\b|\\f|\x7f")


def accepts(raw: dict[str, Any]) -> bool:
    """Does ``raw`` certainly pass ``event.Event``'s validation? ``False`` means "ask the
    model" (it may still accept)."""
    try:
        # orjson refuses lone surrogates, integers over 64 bits and keys that are not text
        encoded = orjson.dumps(raw)
        checked = msgspec.convert(raw, EventCheck, strict=True)
    except (TypeError, orjson.JSONEncodeError, msgspec.ValidationError):
        return False
    if (b"\\" in encoded or b"\x7f" in encoded) and _CONTROL.search(encoded):
        return False
    for name in _PATTERNED.intersection(raw):
        value = raw[name]
        if value is not None and not PATTERNS[name].fullmatch(value):
            return False
    kind = checked.event_type
    required = _REQUIRED.get(kind)
    if required and any(getattr(checked, name) in (None, "", []) for name in required):
        return False
    if kind in _BANNER_TYPES and not (checked.banner_id or checked.creative_id):
        return False
    if checked.currency is None:
        if checked.price or checked.total:
            return False
        if checked.items and any(item.price for item in checked.items):
            return False
    return True


_REQUIRED = contract.REQUIRED_BY_TYPE
_BANNER_TYPES = contract._BANNER_TYPES
