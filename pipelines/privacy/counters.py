"""The person's frequency-cap counters in the state Redis (``personalizer/counters.py``:
``pz:cap:<site>:<campaign>:<visitor>:<period>``). Other counters hold no person: daily and
total impressions per campaign, click-through per creative, and once-only marks per decision.
"""

from __future__ import annotations

import redis

from clicktrail.privacy.person import Person

CAP_PREFIX = "pz:cap:"


def cap_keys(client: redis.Redis, person: Person) -> list[str]:
    prefix = f"{CAP_PREFIX}{person.site_id}:"
    ids = person.visitor_ids | person.user_ids
    found = []
    for raw in client.scan_iter(match=prefix + "*", count=1000):
        key = raw.decode()
        _, visitor, _ = key[len(prefix) :].rsplit(":", 2) if key.count(":") >= 5 else ("", "", "")
        if visitor in ids:
            found.append(key)
    return sorted(found)


def read_caps(client: redis.Redis, person: Person) -> dict[str, int]:
    keys = cap_keys(client, person)
    values = client.mget(keys) if keys else []
    return {key: int(value or 0) for key, value in zip(keys, values, strict=True)}


def erase_caps(client: redis.Redis, person: Person) -> int:
    keys = cap_keys(client, person)
    return int(client.delete(*keys)) if keys else 0
