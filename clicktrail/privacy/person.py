"""Who a person is: the visitor ids and user ids one erasure or export covers. Pure.

A person is found from one subject (a visitor id or a user id of a site) by following the
identity links the warehouse keeps (``identity_links``, and the ``user_id`` and
``replaced_visitor_id`` columns of events):

- a user id reaches every visitor id that identified as it (each device that logged in);
- a visitor id reaches the visitor ids it replaced or that replaced it (cross-domain ids), in
  both directions, however long the chain;
- a visitor id reaches the user id it identified as, and from there that user's other visitor
  ids, **unless it identified as more than one user** (a shared computer): then it is erased
  with the person, but the other users it was seen with are not taken for the same person
  (their data is theirs). A shared visitor that is the subject itself reaches all its users:
  an operator (the CLI, an admin token) who erases a device's id erases what that device did,
  under every login. The browser's self-service erasure follows no link at all: it takes
  ``start(subject)``, the cookie's own visitor id (``pipelines/privacy/erase.py``).

``plan(subject, links)`` is a fixpoint: the I/O side asks the warehouse for the links of the
ids found so far, calls ``expand`` until no id is added, and gets the same ``Person`` whatever
order the links came in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

SubjectKind = Literal["visitor", "user"]
# The profile keys and the warehouse hold any id text, but an erasure request names one id of
# sensible size: anything longer or with control characters is a mistake (a 4xx).
_ID = re.compile(r"[^\x00-\x1f\x7f]{1,256}")
SITE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class SubjectError(ValueError):
    """The request does not name a usable subject (a 400, never a 500)."""


@dataclass(frozen=True)
class Subject:
    """Whom an erasure or export was asked for."""

    site_id: str
    kind: SubjectKind
    value: str

    def __post_init__(self) -> None:
        if not SITE_ID.fullmatch(self.site_id or ""):
            raise SubjectError(f"site id {self.site_id!r} is not [A-Za-z0-9_-]{{1,64}}")
        if self.kind not in ("visitor", "user"):
            raise SubjectError(f"a subject is a visitor or a user, not {self.kind!r}")
        if not isinstance(self.value, str) or not _ID.fullmatch(self.value):
            raise SubjectError(f"a {self.kind} id is 1-256 printable characters")

    def to_json(self) -> dict[str, str]:
        return {"site_id": self.site_id, self.kind: self.value}


@dataclass(frozen=True)
class Link:
    """``visitor_id`` identified as user ``linked_id`` (``kind="user"``), or replaced the
    visitor id ``linked_id`` (``kind="visitor"``, a cross-domain identifier)."""

    visitor_id: str
    kind: Literal["user", "visitor"]
    linked_id: str


@dataclass(frozen=True)
class Person:
    subject: Subject
    visitor_ids: frozenset[str]
    user_ids: frozenset[str]
    shared_visitor_ids: frozenset[str] = frozenset()  # identified as more than one user

    @property
    def site_id(self) -> str:
        return self.subject.site_id

    def to_json(self) -> dict[str, object]:
        return {
            "visitor_ids": sorted(self.visitor_ids),
            "user_ids": sorted(self.user_ids),
            "shared_visitor_ids": sorted(self.shared_visitor_ids),
        }


def start(subject: Subject) -> Person:
    """The person before any link is known: the subject alone (also all a self-service
    erasure, which proves only one browser's cookie, may erase)."""
    if subject.kind == "visitor":
        return Person(subject, frozenset({subject.value}), frozenset())
    return Person(subject, frozenset(), frozenset({subject.value}))


def expand(person: Person, links: Iterable[Link]) -> Person:
    """``person`` with every id the links reach from it (see the module's rules), to a
    fixpoint over these links. Links that touch none of its ids are ignored."""
    links = list(links)
    users_of: dict[str, set[str]] = {}
    visitors_of: dict[str, set[str]] = {}
    replaced: dict[str, set[str]] = {}
    for link in links:
        if link.kind == "user":
            users_of.setdefault(link.visitor_id, set()).add(link.linked_id)
            visitors_of.setdefault(link.linked_id, set()).add(link.visitor_id)
        elif link.linked_id != link.visitor_id:
            replaced.setdefault(link.visitor_id, set()).add(link.linked_id)
            replaced.setdefault(link.linked_id, set()).add(link.visitor_id)
    subject = person.subject
    visitors, users = set(person.visitor_ids), set(person.user_ids)
    todo_v, todo_u = list(visitors), list(users)
    while todo_v or todo_u:
        while todo_u:
            for visitor in visitors_of.get(todo_u.pop(), ()):
                if visitor not in visitors:
                    visitors.add(visitor)
                    todo_v.append(visitor)
        while todo_v:
            visitor = todo_v.pop()
            for other in replaced.get(visitor, ()):
                if other not in visitors:
                    visitors.add(other)
                    todo_v.append(other)
            its_users = users_of.get(visitor, set())
            is_subject = subject.kind == "visitor" and subject.value == visitor
            if len(its_users) == 1 or is_subject:
                for user in its_users - users:
                    users.add(user)
                    todo_u.append(user)
    shared = frozenset(v for v in visitors if len(users_of.get(v, ())) > 1)
    return Person(subject, frozenset(visitors), frozenset(users), shared)


def plan(subject: Subject, links: Iterable[Link]) -> Person:
    """The person of ``subject`` over a complete set of links (tests, small sites)."""
    return expand(start(subject), links)
