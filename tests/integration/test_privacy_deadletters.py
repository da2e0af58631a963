"""The dead-letter log searched for a person on both event logs: Redis Streams deletes their
letters, a Kafka topic cannot (they are counted and named, and stay until its retention)."""

from __future__ import annotations

import json

import pytest
import redis

from clicktrail.contract.deadletter import DeadLetter
from clicktrail.privacy.person import Link, Subject, plan
from pipelines.eventlog import open_event_log
from pipelines.privacy.factory import dead_letter_log
from tests.integration.conftest import make_engine

PERSON = plan(
    Subject("shop", "user", "alice"),
    [Link("v-alice", "user", "alice"), Link("v-alice-2", "visitor", "v-alice")],
)


def letters() -> list[DeadLetter]:
    def record(**fields) -> bytes:
        return json.dumps({"site_id": "shop", "ip": "81.2.69.160", **fields}).encode()

    payloads = [
        record(visitor_id="v-alice", events=[{}]),  # hers
        record(visitor_id="v-new", replaced_visitor_id="v-alice-2", events=[{}]),  # replaces hers
        record(visitor_id="v-shared", events=[{"user_id": "alice"}]),  # names her user id
        record(visitor_id="v-made-up", events=[{"visitor_id": "v-alice"}]),  # an event of hers
        b'\xff not json but "v-alice" inside',  # hers, found as text
        record(visitor_id="v-bob", events=[{"user_id": "bob"}]),  # someone else
        json.dumps({"site_id": "other", "visitor_id": "v-alice"}).encode(),  # another site
    ]
    return [DeadLetter.of("pipeline", "test", 1, p, None, "test") for p in payloads]


@pytest.mark.parametrize(
    "log",
    [
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("kafka", marks=pytest.mark.kafka),
    ],
)
def test_the_persons_dead_letters_are_found_and_scrubbed_where_the_log_can(tmp_path, log):
    engine = make_engine(tmp_path, log)
    event_log = open_event_log(engine.settings, ack_timeout=10)
    event_log.ensure_created()
    event_log.append_dead_letters(letters(), timeout=10)
    state = redis.Redis.from_url(engine.settings.state_url.url)
    dead = dead_letter_log(engine.settings, state)
    assert len(dead.find(PERSON)) == 5
    scrub = dead.scrub(PERSON)
    assert scrub.found == 5
    left = event_log.read_dead_letters(100, timeout=3)
    if log == "redis":
        assert scrub.removed == 5 and not scrub.note
        assert sorted(json.loads(x.payload).get("visitor_id") for x in left) == ["v-alice", "v-bob"]
        assert dead.find(PERSON) == []
    else:
        assert scrub.removed == 0 and "cannot delete single records" in scrub.note
        assert len(left) == 7
    event_log.close()
    state.close()
