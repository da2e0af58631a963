"""Builds the event dicts of one person, with the identity the site knows at each moment.

Events are plain dicts in the wire format (contract/event.py) rather than ``Event`` models:
validating 100k models would cost more than generating them. The tests validate every event
of a run with the contract instead.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from clicktrail.simulator.catalog import Product
from clicktrail.simulator.randomness import random_id
from clicktrail.simulator.uuid7 import uuid7


@dataclass
class VisitorRecord:
    """What one visitor id (one cookie) saw: the ground truth keys on these."""

    visitor_id: str
    person_id: str
    sessions: int = 0
    first_seen: int = 0
    ips: set[str] = field(default_factory=set)


class EventWriter:
    """Appends a person's events in time order; the caller moves the identity along."""

    def __init__(self, site_id: str, person_id: str, user_agent: str, rng: random.Random) -> None:
        self.site_id = site_id
        self.person_id = person_id
        self.user_agent = user_agent
        self.rng = rng
        self.events: list[dict[str, Any]] = []
        self.visitors: list[VisitorRecord] = []
        self.visitor: VisitorRecord | None = None
        self.session_id = ""
        self.session_index = 0
        self.user_id: str | None = None
        self.ip = ""
        self.page_view_id: str | None = None
        self.url: str | None = None

    def new_visitor(self) -> None:
        """A fresh cookie: a new visitor id whose session count starts again."""
        self.visitor = VisitorRecord(random_id(self.rng), self.person_id)
        self.visitors.append(self.visitor)
        self.session_index = 0
        self.user_id = None

    def new_session(self, at: int, ip: str) -> None:
        assert self.visitor is not None, "new_visitor() comes first"
        self.session_id = random_id(self.rng)
        self.session_index += 1
        self.ip = ip
        self.page_view_id = None
        self.url = None
        if self.visitor.sessions == 0:
            self.visitor.first_seen = at
        self.visitor.sessions += 1
        self.visitor.ips.add(ip)

    def new_page(self, url: str) -> None:
        self.page_view_id = random_id(self.rng, 16)
        self.url = url

    def add(self, event_type: str, at: int, fields: dict[str, Any] | None = None) -> None:
        assert self.visitor is not None, "new_visitor() comes first"
        event: dict[str, Any] = {
            "event_id": uuid7(at, self.rng),
            "event_type": event_type,
            "created_at": at,
            "site_id": self.site_id,
            "visitor_id": self.visitor.visitor_id,
            "session_id": self.session_id,
            "session_index": self.session_index,
        }
        if self.page_view_id is not None:
            event["page_view_id"] = self.page_view_id
        if self.user_id is not None:
            event["user_id"] = self.user_id
        if self.url is not None:
            event["url"] = self.url
        if fields:
            event.update(fields)
        # A server-side sender states the end user's address and browser on every event.
        event["ip"] = self.ip
        event["user_agent"] = self.user_agent
        self.events.append(event)


def product_fields(product: Product, currency: str) -> dict[str, Any]:
    """The product fields of product_view and add_to_cart."""
    return {
        "sku": product.sku,
        "product_name": product.name,
        "category": list(product.category),
        "price": product.price,
        "currency": currency,
    }
