"""The arguments the profile script receives: a visitor delta as compact JSON, its event
hashes as one binary string, and the position the delta's records reach.

Short keys and omitted empty parts keep the payload small; the script (``apply.lua``) is the
only reader. Positions travel as ``[major, minor]`` in the JSON and as ``<major>-<minor>`` (the
watermark's own encoding) for ``through``. A segment's ``h`` says how many of the hashes are
its own, in segment order.
"""

from __future__ import annotations

import json
from typing import Any

from pipelines.profiles import stored
from pipelines.profiles.aggregate import Segment, VisitorDelta
from pipelines.profiles.config import ProfileConfig


def script_settings(config: ProfileConfig) -> str:
    """The configuration the script needs, space-separated in the order it unpacks them."""
    values = (
        config.recent_products,
        config.recent_categories,
        config.purchased_items,
        config.orders_kept,
        config.scored_categories,
        config.sessions_kept,
        config.half_life_ms,
        config.coview_window_ms,
        config.coview_neighbours,
        config.coview_kept,
        config.ttl_ms,
        config.event_ids_kept,
        stored.EVENT_ID_BYTES,
    )
    return " ".join(str(value) for value in values)


def encode_delta(delta: VisitorDelta, with_ids: bool = True) -> str:
    """The segments; ``with_ids=False`` when no event ids are remembered (``encode_ids`` then
    sends none)."""
    return json.dumps(
        [_segment(segment, with_ids) for segment in delta.segments],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def encode_ids(delta: VisitorDelta, with_ids: bool = True) -> bytes:
    return b"".join(segment.ids for segment in delta.segments) if with_ids else b""


def encode_through(delta: VisitorDelta) -> str:
    through = delta.through
    return "" if through is None else f"{through.major}-{through.minor}"


def _segment(segment: Segment, with_ids: bool) -> dict[str, Any]:
    fragment = segment.fragment
    out: dict[str, Any] = {"a": fragment.first_ms, "z": fragment.last_ms, "n": fragment.events}
    if segment.first is not None and segment.last is not None:
        out["f"] = [segment.first.major, segment.first.minor]
        out["l"] = [segment.last.major, segment.last.minor]
    if with_ids and segment.ids:
        out["h"] = len(segment.ids) // stored.EVENT_ID_BYTES
    parts: dict[str, Any] = {
        "u": segment.user_id,
        "r": list(segment.replaced),
        "s": fragment.sessions,
        "c": fragment.scores,
        "rc": fragment.categories,
        "v": fragment.views,
        "p": fragment.purchased,
        "o": fragment.orders,
        "loc": fragment.location,
        "dev": fragment.device,
    }
    out.update((name, value) for name, value in parts.items() if value)
    return out
