"""The person in the profile Redis: their profiles, sessions and remembered event ids, and
what they added to the co-view counts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import cast

import redis

from clicktrail.privacy.person import Person
from pipelines.privacy.coviews import Pair
from pipelines.profiles import stored


@dataclass
class ProfileErasure:
    keys: int = 0  # keys deleted
    kept: list[str] = field(default_factory=list)  # what stays elsewhere, and why


def person_keys(person: Person) -> list[str]:
    """Every key that belongs to the person alone."""
    site = person.site_id
    keys = []
    for visitor in sorted(person.visitor_ids):
        key = stored.visitor_key(site, visitor)
        keys += [key, stored.sessions_key(key), stored.seen_key(key)]
    for user in sorted(person.user_ids):
        key = stored.user_key(site, user)
        keys += [key, stored.sessions_key(key)]
    return keys


def read_keys(client: redis.Redis, person: Person) -> dict[str, object]:
    """The person's keys as stored (the access export): hashes as fields, session sets as
    ``[[session id, first ms], ...]``, remembered event ids as their count."""
    out: dict[str, object] = {}
    for key in person_keys(person):
        kind = cast(bytes, client.type(key)).decode()
        if kind == "hash":
            fields = cast("dict[bytes, bytes]", client.hgetall(key))
            out[key] = {k.decode(): v.decode() for k, v in fields.items()}
        elif kind == "zset":
            members = cast("list[tuple[bytes, float]]", client.zrange(key, 0, -1, withscores=True))
            out[key] = [[member.decode(), int(score)] for member, score in members]
        elif kind == "string":
            value = cast("bytes | None", client.get(key)) or b""
            out[key] = {"remembered_events": len(value) // stored.EVENT_ID_BYTES}
    return out


def erase_profiles(client: redis.Redis, person: Person) -> ProfileErasure:
    """Delete the person's keys. A visitor whose data had moved into a profile outside the
    person (a shared computer's other user) left it there: profiles are sums, so it is named
    in ``kept`` (``clicktrail profiles rebuild`` recomputes that profile without it)."""
    result = ProfileErasure()
    keys = person_keys(person)
    mine = set(keys)
    site = person.site_id
    pipe = client.pipeline(transaction=False)
    visitors = sorted(person.visitor_ids)
    for visitor in visitors:
        pipe.hmget(stored.visitor_key(site, visitor), stored.MOVED_TO, stored.REDIRECT)
    for visitor, (moved, redirect) in zip(visitors, pipe.execute(), strict=True):
        for target in (moved, redirect):
            if target and target.decode() not in mine:
                result.kept.append(
                    f"redis-profile: visitor {visitor}'s data was merged into {target.decode()}"
                    " (another person's profile); rebuild it to take it out"
                )
    if keys:
        result.keys = int(client.delete(*keys))
    return result


def subtract_coviews(client: redis.Redis, site_id: str, added: Counter[Pair]) -> int:
    """Take the person's pairs off the co-view counts; a pair left at zero or below goes.
    Returns the count subtracted."""
    if not added:
        return 0
    pipe = client.pipeline(transaction=False)
    touched = set()
    for (product, other), times in sorted(added.items()):
        key = stored.coview_key(site_id, product)
        pipe.zincrby(key, -times, other)
        touched.add(key)
    for key in sorted(touched):
        pipe.zremrangebyscore(key, "-inf", 0)
    pipe.execute()
    return sum(added.values())
