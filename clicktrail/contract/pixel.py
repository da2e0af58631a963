"""The GET pixel's query keys: short, because the whole event rides in the URL.

``/v1/pixel.gif?s=shop&e=page_view&eid=...&ct=1764000000000&url=...`` carries one event.
Properties ride as ``p.<name>=<value>`` (strings). Line items are not carried by these keys.

``/v1/pixel.gif?j=<batch envelope as JSON>`` carries what ``POST /v1/events`` would, every
field with its type: the snippet sends that where it cannot POST.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clicktrail.contract.envelope import EnvelopeError

# query key -> (event field, type)
PIXEL_KEYS: dict[str, tuple[str, type]] = {
    "e": ("event_type", str),
    "eid": ("event_id", str),
    "ct": ("created_at", int),
    "vid": ("visitor_id", str),
    "sid": ("session_id", str),
    "si": ("session_index", int),
    "pv": ("page_view_id", str),
    "uid": ("user_id", str),
    "url": ("url", str),
    "ref": ("referrer", str),
    "t": ("title", str),
    "sr": ("screen", str),
    "vp": ("viewport", str),
    "lang": ("language", str),
    "em": ("engaged_ms", int),
    "sku": ("sku", str),
    "pn": ("product_name", str),
    "cat": ("category", list),  # "a/b/c"
    "pr": ("price", int),
    "cur": ("currency", str),
    "qty": ("quantity", int),
    "oid": ("order_id", str),
    "tot": ("total", int),
    "tu": ("target_url", str),
    "lb": ("label", str),
    "bid": ("banner_id", str),
    "cid": ("campaign_id", str),
    "pl": ("placement", str),
    "n": ("name", str),
    "cs": ("consent", str),
}
SITE_KEY = "s"
SENT_KEY = "st"
LINKER_KEY = "_ct"
ENVELOPE_KEY = "j"  # a whole batch envelope; no other key counts beside it
PROPERTY_PREFIX = "p."
ENVELOPE_KEYS = {SITE_KEY, SENT_KEY, LINKER_KEY}


def event_from_query(query: Mapping[str, str]) -> tuple[str, int | None, dict[str, Any]]:
    """``(site_id, sent_at, raw event)`` from pixel query keys; validate the event with
    ``envelope.parse_event``. Raises ``EnvelopeError`` for a missing site or a bad number."""
    site_id = query.get(SITE_KEY)
    if not site_id:
        raise EnvelopeError(f"the pixel needs the site id in '{SITE_KEY}'")
    sent_at = _integer(SENT_KEY, query[SENT_KEY]) if query.get(SENT_KEY) else None
    event: dict[str, Any] = {}
    properties: dict[str, str] = {}
    for key, value in query.items():
        if key in PIXEL_KEYS:
            field, kind = PIXEL_KEYS[key]
            if kind is int:
                event[field] = _integer(key, value)
            elif kind is list:
                event[field] = [part for part in value.split("/") if part]
            else:
                event[field] = value
        elif key.startswith(PROPERTY_PREFIX) and len(key) > len(PROPERTY_PREFIX):
            properties[key[len(PROPERTY_PREFIX) :]] = value
        elif key not in ENVELOPE_KEYS:
            event.setdefault("context", {})[key] = value  # unknown keys are kept
    if properties:
        event["properties"] = properties
    return site_id, sent_at, event


def _integer(key: str, value: str) -> int:
    if not value.lstrip("-").isdigit() or len(value) > 18:
        raise EnvelopeError(f"pixel key '{key}' must be a whole number, got {value[:40]!r}")
    return int(value)
