"""What the profile Redis holds: every key, every hash field and how each value is encoded.

The one place the Python side learns the stored format: the sink, the readers and the tests
take names and codecs from here. ``apply.lua`` writes this format and ``read.lua`` follows its
links; Lua cannot import this module, so ``tests/unit/pipelines/test_profile_stored.py`` checks
that every name the scripts use is declared here (and every name here is used), and
``tests/integration/test_profile_store.py`` that what the sink stores decodes back to what
``aggregate`` computed. Pure: no I/O.

Keys (site ids match ``SITE_ID``, so a site's keys share a prefix nobody else's can match; each
kind of key has its own namespace, so a visitor or user id may hold any character)::

    profile:<site>:v:<visitor id>   hash: a visitor's profile, or the links of one whose data
                                    moved; always its watermarks and co-view history
    profile:<site>:u:<user id>      hash: a user's profile (the visitors merged into it)
    sessions:<site>:<v|u>:<id>      sorted set beside a profile: its session ids by first time
    seen:<site>:v:<visitor id>      string: the visitor id's last applied events, hashed
    coview:<site>:<sku>             sorted set: products viewed near sku, by count

Encodings of the profile hash fields:

- integers (``first``, ``last``, ``events``, ``visits``, ``purchases``, ``cref``, ``hl``):
  decimal digits; times are UTC milliseconds;
- recent lists (``rp``, ``rc``, ``pi``, ``ord``, ``cv``): JSON ``[[name, ms], ...]``, newest
  first, ties by the name's code points (``recency.py``);
- ``cs``: a JSON object, category path -> interest valid at ``cref`` with half-life ``hl``;
  ``{}`` or ``[]`` when empty (Lua's cjson cannot tell an empty object from an empty array);
- ``loc``, ``dev``: JSON arrays, time first (``LOCATION``, ``DEVICE``), compact, non-ASCII
  as is: ``encode_array`` is the only encoder, because the script breaks ties of equal times
  by comparing the encoded strings;
- ``->`` (where this key's data moved), ``=>`` (where this visitor's new rows go): the full key
  of another profile hash;
- ``wm:<partition>``: the visitor's watermark, ``<major>-<minor>`` (``Position``).

``seen:`` holds the ``EVENT_ID_BYTES``-byte hashes (``event_id_hash``) of the visitor id's
last applied events, oldest first, back to back (binary): a copy of one of them is not counted
again. It is a key of its own, not a field of the visitor's hash, so a reader of profiles never
receives it and a merge never moves it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence

import orjson

# Site ids are validated by the site registry and the collector (clicktrail/sites/model.py);
# the key layout depends on the rule, so readers check it again before building a key.
SITE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")

# --- keys -------------------------------------------------------------------------------------

PROFILE = "profile:"
SESSIONS = "sessions:"
SEEN = "seen:"
COVIEW = "coview:"
KINDS = (PROFILE, SESSIONS, SEEN, COVIEW)
VISITOR = "v"  # the kind of profile key after the site: a visitor's
USER = "u"  # or a user's

# --- profile hash fields ----------------------------------------------------------------------

FIRST = "first"  # earliest event time
LAST = "last"  # latest event time
EVENTS = "events"  # rows counted; present exactly when the hash holds a profile's data
VISITS = "visits"  # distinct sessions
PURCHASES = "purchases"  # distinct orders
RECENT_PRODUCTS = "rp"
RECENT_CATEGORIES = "rc"
PURCHASED_ITEMS = "pi"
ORDERS = "ord"  # the order ids remembered, so a resent purchase counts once
SCORES = "cs"
SCORES_REF = "cref"
HALF_LIFE = "hl"
LOCATION = "loc"  # [ms, country, region, city, latitude, longitude]
DEVICE = "dev"  # [ms, device_type, browser, os]

# Fields of a visitor's own key, never moved into a merged profile.
MOVED_TO = "->"
REDIRECT = "=>"
COVIEW_HISTORY = "cv"  # the visitor id's recent product views, for co-view pairs
WATERMARK = "wm:"  # prefix; the partition follows

PROFILE_FIELDS = frozenset(
    {
        FIRST,
        LAST,
        EVENTS,
        VISITS,
        PURCHASES,
        RECENT_PRODUCTS,
        RECENT_CATEGORIES,
        PURCHASED_ITEMS,
        ORDERS,
        SCORES,
        SCORES_REF,
        HALF_LIFE,
        LOCATION,
        DEVICE,
    }
)
VISITOR_FIELDS = frozenset({MOVED_TO, REDIRECT, COVIEW_HISTORY})  # and WATERMARK + partition

Recent = tuple[tuple[str, int], ...]  # (name, UTC ms), newest first
LocationValues = tuple[int, str, str, str, float, float]
DeviceValues = tuple[int, str, str, str]


def visitor_key(site_id: str, visitor_id: str) -> str:
    return f"{PROFILE}{site_id}:{VISITOR}:{visitor_id}"


def user_key(site_id: str, user_id: str) -> str:
    return f"{PROFILE}{site_id}:{USER}:{user_id}"


def sessions_key(profile_key: str) -> str:
    """The session set beside a profile hash."""
    return SESSIONS + profile_key.removeprefix(PROFILE)


def seen_key(profile_key: str) -> str:
    """The applied event ids beside a visitor's key."""
    return SEEN + profile_key.removeprefix(PROFILE)


def coview_key(site_id: str, sku: str) -> str:
    return f"{COVIEW}{site_id}:{sku}"


def site_patterns(site_id: str) -> list[str]:
    """SCAN patterns of every key of a site (site ids hold no glob characters)."""
    return [f"{kind}{site_id}:*" for kind in KINDS]


def watermark_field(partition: str) -> str:
    return WATERMARK + partition


# --- values -----------------------------------------------------------------------------------

# 48 bits: a distinct event is taken for a copy when its hash equals one of the (at most
# ``ProfileConfig.event_ids_kept``) remembered: 256 / 2**48, under 1e-12 per event. The script
# reads the width from its settings; stored keys of another width would misalign.
EVENT_ID_BYTES = 6


_BLAKE2B = hashlib.blake2b(digest_size=EVENT_ID_BYTES)  # copied: half the cost of a new one


def event_id_hash(event_id: str, created_ms: int) -> bytes:
    """What ``seen:`` remembers of an event: the warehouse's dedup key within a visitor (its
    ``event_id`` and device time, ``pipelines/warehouse/ddl.py``), hashed."""
    hashed = _BLAKE2B.copy()
    hashed.update(f"{created_ms}:{event_id}".encode())
    return hashed.digest()


def encode_array(values: Sequence[object]) -> str:
    """``loc`` and ``dev``: compact JSON, non-ASCII as is."""
    return json.dumps(list(values), ensure_ascii=False, separators=(",", ":"))


def decode_recent(text: str | None) -> Recent:
    if not text:
        return ()
    return tuple([(str(name), int(at)) for name, at in orjson.loads(text)])


def decode_scores(text: str | None) -> dict[str, float]:
    if not text:
        return {}
    scores = orjson.loads(text)
    if isinstance(scores, list):  # the script's empty table
        if scores:
            raise ValueError(f"interest scores must be a JSON object, got {text[:40]!r}")
        return {}
    return {str(name): float(value) for name, value in scores.items()}


def decode_location(text: str) -> LocationValues:
    at, country, region, city, latitude, longitude = orjson.loads(text)
    return (int(at), str(country), str(region), str(city), float(latitude), float(longitude))


def decode_device(text: str) -> DeviceValues:
    at, device_type, browser, os = orjson.loads(text)
    return (int(at), str(device_type), str(browser), str(os))


def decode_watermark(text: str) -> tuple[int, int]:
    major, minor = text.split("-")
    return int(major), int(minor)
