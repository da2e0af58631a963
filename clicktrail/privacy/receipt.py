"""What an erasure removed, where, and when: the receipt ``clicktrail forget`` prints and the
admin API answers. Pure: the stores' side fills it in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from clicktrail.privacy.person import Person


@dataclass(frozen=True)
class Removal:
    """One store's part: ``removed`` things of ``what`` kind (rows, keys, pairs, letters)."""

    store: str  # e.g. "clickhouse:events", "redis-profile:profiles", "event-log:dead-letters"
    what: str
    removed: int
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"store": self.store, "what": self.what, "removed": self.removed}
        if self.note:
            data["note"] = self.note
        return data


@dataclass
class Receipt:
    """Filled in as the erasure goes; ``finish`` stamps the end."""

    person: Person
    requested_ms: int
    requested_by: str  # "cli:<user>", "token:<id>", "self-service"
    removals: list[Removal] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # what could not be removed, and why
    tombstone_until_ms: int = 0
    finished_ms: int = 0

    def add(self, store: str, what: str, removed: int, note: str = "") -> None:
        self.removals.append(Removal(store, what, removed, note))

    def keep(self, reason: str) -> None:
        self.kept.append(reason)

    def finish(self, now_ms: int) -> Receipt:
        self.finished_ms = now_ms
        return self

    def removed(self, store: str) -> int:
        """Everything removed from ``store`` (tests, summaries)."""
        return sum(r.removed for r in self.removals if r.store == store)

    def to_json(self) -> dict[str, Any]:
        return {
            "subject": self.person.subject.to_json(),
            "person": self.person.to_json(),
            "requested_by": self.requested_by,
            "requested_at": _iso(self.requested_ms),
            "finished_at": _iso(self.finished_ms) if self.finished_ms else None,
            "removed": [removal.to_json() for removal in self.removals],
            "not_removed": list(self.kept),
            "tombstone_until": _iso(self.tombstone_until_ms) if self.tombstone_until_ms else None,
        }


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")
