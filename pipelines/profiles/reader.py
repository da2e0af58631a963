"""Reading profiles and co-views: one round trip each, nothing written."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import redis
from redis.exceptions import NoScriptError

from pipelines.profiles import keys
from pipelines.profiles.profile import Profile, decode_profile

READ_SCRIPT = (Path(__file__).parent / "read.lua").read_text()
READ_SHA = hashlib.sha1(READ_SCRIPT.encode()).hexdigest()


def load_profile(client: redis.Redis, site_id: str, visitor_id: str) -> Profile:
    """The visitor's profile (its user's, once identified); an empty ``Profile`` if unknown."""
    key_name = keys.visitor_key(site_id, visitor_id)
    reply: Any
    try:
        reply = client.evalsha(READ_SHA, 1, key_name)
    except NoScriptError:  # a fresh or restarted server: the only extra round trip
        reply = client.eval(READ_SCRIPT, 1, key_name)
    key: bytes = reply[0]
    flat: list[bytes] = reply[1]
    fields = dict(zip(flat[::2], flat[1::2], strict=True))
    return decode_profile(key.decode(), fields)


def load_coviews(
    client: redis.Redis, site_id: str, sku: str, limit: int = 10
) -> list[tuple[str, int]]:
    """Products most often viewed near ``sku`` by the same visitor, with their counts."""
    pairs: Any = client.zrevrange(keys.coview_key(site_id, sku), 0, limit - 1, withscores=True)
    return [(name.decode(), int(count)) for name, count in pairs]
