"""The access export: everything held about a person, as JSON (``clicktrail export-person``,
``GET /v1/privacy/export``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from clicktrail.privacy.person import Subject
from pipelines.privacy import counters, coviews, profiles
from pipelines.privacy.erase import Stores
from pipelines.privacy.warehouse import PersonWarehouse


def export_person(
    stores: Stores, subject: Subject, clock: Callable[[], float] = time.time
) -> dict[str, Any]:
    """The person's ids, events (deduplicated), identity links and rollup rows from
    ClickHouse, their profile keys as stored, their co-view contributions, their frequency
    caps and the dead letters that hold their records."""
    pw = PersonWarehouse(stores.warehouse)
    person = pw.resolve(subject)
    held = pw.export(person)
    pairs = coviews.person_pairs(pw.product_views(person), stores.profile_config)
    letters = stores.dead_letters.find(person)
    return jsonable(
        {
            "subject": subject.to_json(),
            "exported_at": datetime.fromtimestamp(clock(), UTC).isoformat(timespec="seconds"),
            "person": person.to_json(),
            "clickhouse": held,
            "profiles": profiles.read_keys(stores.profiles, person),
            "coview_contributions": [
                {"product": product, "viewed_near": other, "times": times}
                for (product, other), times in sorted(pairs.items())
            ],
            "frequency_caps": counters.read_caps(stores.state, person),
            "dead_letters": [
                {"failed_at": letter.failed_at, "reason": letter.reason, "payload": letter.payload}
                for letter in letters
            ],
        }
    )


def jsonable(value: Any) -> Any:
    """Dates as ISO text, tuples as lists: what ``json.dumps`` takes as it is."""
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value
