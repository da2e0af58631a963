"""The person in the dead-letter log: found, and scrubbed where the log can delete.

Dead letters hold raw records (raw IP addresses included). On Redis Streams each letter is an
entry of ``<stream>:deadletter``, deleted one by one (``XDEL``); the retention job trims the
stream to the event log's retention (``XTRIM MINID``). A Kafka topic cannot delete single
records: the person's letters are counted and named in the receipt, they expire with the
topic's retention (the event log's, ``pipelines/eventlog/kafka.py``), and the tombstone drops
them if a tool replays them into the pipeline meanwhile.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import cast

import redis

from clicktrail.contract.deadletter import DeadLetter
from clicktrail.privacy.person import Person
from pipelines.eventlog.base import EventLog

CHUNK = 1000
KAFKA_READ_LIMIT = 1_000_000


def mentions(letter: DeadLetter, person: Person) -> bool:
    """Does the letter hold a record (or an event) of the person? A payload that is not JSON
    (why it is a dead letter) is searched as text for the person's ids, quoted."""
    if letter.site_id not in (None, person.site_id):
        return False
    try:
        data = json.loads(letter.payload)
    except ValueError:
        data = None
    if isinstance(data, dict):
        if data.get("site_id") not in (None, person.site_id):
            return False
        if data.get("visitor_id") in person.visitor_ids:
            return True
        if data.get("replaced_visitor_id") in person.visitor_ids:
            return True
        events = data.get("events")
        if isinstance(events, list):
            for event in events:
                if not isinstance(event, dict):
                    continue
                if event.get("user_id") in person.user_ids:
                    return True
                # the snippet's own id of an event, when the record's was made up (cookieless)
                if event.get("visitor_id") in person.visitor_ids:
                    return True
        return False
    text = letter.payload
    return any(f'"{value}"' in text for value in person.visitor_ids | person.user_ids)


@dataclass(frozen=True)
class Scrub:
    found: int
    removed: int
    note: str = ""


class RedisDeadLetters:
    """``<stream>:deadletter`` in the state Redis."""

    def __init__(self, client: redis.Redis, stream: str) -> None:
        self.client = client
        self.name = f"{stream}:deadletter"

    def _entries(self) -> Iterator[tuple[bytes, DeadLetter]]:
        start = "-"
        while True:
            chunk = cast(
                "list[tuple[bytes, dict[bytes, bytes]]]",
                self.client.xrange(self.name, min=start, count=CHUNK),
            )
            for entry_id, fields in chunk:
                try:
                    letter = DeadLetter.decode(fields[b"v"])
                except (KeyError, ValueError):
                    continue
                yield entry_id, letter
            if len(chunk) < CHUNK:
                return
            start = "(" + chunk[-1][0].decode()

    def find(self, person: Person) -> list[DeadLetter]:
        return [letter for _, letter in self._entries() if mentions(letter, person)]

    def scrub(self, person: Person) -> Scrub:
        ids = [entry_id for entry_id, letter in self._entries() if mentions(letter, person)]
        removed = int(self.client.xdel(self.name, *ids)) if ids else 0
        return Scrub(len(ids), removed)

    def trim(self, older_than_ms: int, clock: Callable[[], float] = time.time) -> int:
        """Drop letters older than ``older_than_ms``; returns how many went."""
        min_id = str(int(clock() * 1000) - older_than_ms)
        return int(self.client.xtrim(self.name, minid=min_id, approximate=False))


class KafkaDeadLetters:
    """The ``<topic>.deadletter`` topic: searched, never deleted from."""

    def __init__(self, event_log: EventLog, retention_hours: int) -> None:
        self.event_log = event_log
        self.retention_hours = retention_hours

    def find(self, person: Person) -> list[DeadLetter]:
        # The read ends once the topic is quiet this long (kafka-python consumer_timeout_ms).
        letters = self.event_log.read_dead_letters(KAFKA_READ_LIMIT, timeout=3.0)
        return [letter for letter in letters if mentions(letter, person)]

    def scrub(self, person: Person) -> Scrub:
        found = len(self.find(person))
        note = ""
        if found:
            note = (
                f"{found} dead letter(s) of the person stay in the Kafka topic "
                f"{self.event_log.dead_letter_name} (a topic cannot delete single records) "
                f"until its retention ({self.retention_hours} h) drops them; the tombstone "
                "drops them if they are replayed"
            )
        return Scrub(found, 0, note)

    def trim(self, older_than_ms: int, clock: Callable[[], float] = time.time) -> int:
        return 0  # the topic's own retention.ms does it
