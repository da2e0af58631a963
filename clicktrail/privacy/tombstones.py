"""Tombstones: the ids of forgotten persons, so the pipeline drops their events still in the
event log (which cannot delete single records) or replayed from the dead-letter log. Pure.

A tombstone names a site and a visitor id or a user id by a keyed digest, never the id
itself: the list of forgotten persons is no list of their ids. It lasts at least the event
log's retention plus the dead-letter log's (``lifetime_ms``): by then no record of theirs is
left to read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from clicktrail.privacy.person import Person

DIGEST_BYTES = 16
# The digest is keyed by a constant that names its purpose: not a secret (a guessed id could
# be checked against it either way), only domain separation from other hashes of ids.
_KEY = b"clicktrail tombstone v1"
MARGIN_MS = 24 * 3_600_000  # a day more than the logs keep: clocks and trimming lag


def digest(site_id: str, kind: str, value: str) -> str:
    hashed = hashlib.blake2b(
        f"{site_id}\x1f{kind}\x1f{value}".encode(), digest_size=DIGEST_BYTES, key=_KEY
    )
    return hashed.hexdigest()


def members(person: Person) -> list[str]:
    """The tombstone entries of a person: one per visitor id and user id."""
    site = person.site_id
    return [digest(site, "v", v) for v in sorted(person.visitor_ids)] + [
        digest(site, "u", u) for u in sorted(person.user_ids)
    ]


def lifetime_ms(event_log_retention_hours: int, dead_letter_retention_hours: int) -> int:
    """How long a tombstone lasts: both logs' retention and a margin."""
    return (event_log_retention_hours + dead_letter_retention_hours) * 3_600_000 + MARGIN_MS


@dataclass(frozen=True)
class Tombstones:
    """The tombstones in force, by site (a site without any is checked for free)."""

    by_site: Mapping[str, frozenset[str]]
    version: str = ""

    @classmethod
    def of(cls, entries: Iterable[tuple[str, str]], version: str = "") -> Tombstones:
        """From ``(site_id, digest)`` pairs."""
        sites: dict[str, set[str]] = {}
        for site_id, entry in entries:
            sites.setdefault(site_id, set()).add(entry)
        return cls({site: frozenset(found) for site, found in sites.items()}, version)

    def site(self, site_id: str) -> frozenset[str]:
        return self.by_site.get(site_id, frozenset())

    def __len__(self) -> int:
        return sum(len(found) for found in self.by_site.values())


def forgotten(found: frozenset[str], site_id: str, kind: str, value: str | None) -> bool:
    """Is ``value`` (a visitor id: kind ``v``, a user id: ``u``) among a site's tombstones?"""
    return bool(value) and digest(site_id, kind, value or "") in found
