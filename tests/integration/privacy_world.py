"""A small world for the privacy tests: two sites fed the same traffic, the second without one
person, so after the person is forgotten on the first, every store of the first must equal the
second's (reports, co-views, other visitors' profiles)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from clicktrail.contract.event import Event
from clicktrail.contract.record import LogRecord

ZONE = "Europe/Berlin"
RAW_IP = "81.2.69.160"  # in the test GeoIP database: London
DAY_MS = 86_400_000
SKUS = ("book-1", "book-2", "lamp-3", "mug-4", "pen-5")
CATEGORIES = {
    "book-1": ["Books", "Fiction"],
    "book-2": ["Books", "Poetry"],
    "lamp-3": ["Home"],
    "mug-4": ["Home", "Kitchen"],
    "pen-5": ["Office"],
}


def new_id() -> str:
    return uuid.uuid4().hex


def event(kind: str, at_ms: int, session: str, **fields) -> dict:
    values = {
        "event_id": str(uuid.uuid4()),
        "event_type": kind,
        "created_at": at_ms,
        "session_id": session,
        "page_view_id": fields.pop("page_view_id", new_id()[:16]),
        "url": fields.pop("url", "https://shop.example.test/"),
        **fields,
    }
    return Event.model_validate(values).to_record()


def views(at_ms: int, session: str, skus: tuple[str, ...]) -> list[dict]:
    return [
        event(
            "product_view",
            at_ms + n * 60_000,
            session,
            sku=sku,
            category=CATEGORIES[sku],
            url=f"https://shop.example.test/p/{sku}",
        )
        for n, sku in enumerate(skus)
    ]


@dataclass
class World:
    """Records of the person and of everybody else, for one site id (``records(site)``)."""

    person_visitors: list[str]  # the person's own devices and cross-domain id, then shared
    user_id: str
    shared_visitor: str = ""  # a shared computer: identified as the person, then as other_user
    other_user: str = ""  # who also used the shared computer, with a phone of their own
    person: list[tuple[str, str, str | None, list[dict]]] = field(default_factory=list)
    others: list[tuple[str, str, str | None, list[dict]]] = field(default_factory=list)

    def records(self, site_id: str, with_person: bool = True) -> list[LogRecord]:
        chosen = self.others + (self.person if with_person else [])
        chosen = sorted(chosen, key=lambda item: item[3][0]["created_at"])
        return [
            LogRecord(
                site_id,
                visitor,
                source,
                events[-1]["created_at"] + 1_000,
                [dict(e, event_id=e["event_id"]) for e in events],
                ip=RAW_IP,
                user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0",
                replaced_visitor_id=replaced,
            )
            for visitor, source, replaced, events in chosen
        ]


def build_world(now: float | None = None) -> World:
    """Four days ending today (Berlin): five other visitors, one more user with a phone, and one
    person with four visitor ids: two devices that log in as one user (the second buys), a
    cross-domain id
    replacing the first (which also views a product today, the open day), and a shared
    computer that logs in as the person one day and as the other user the next."""
    now = now or time.time()
    today = datetime.fromtimestamp(now, UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    start = int((today - timedelta(days=3)).timestamp() * 1000)
    start = min(start, int(now * 1000) - 3 * DAY_MS - 3_600_000)
    local_midnight = datetime.fromtimestamp(now, ZoneInfo(ZONE)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    # Today in Berlin, before now: the open day, which reports read raw.
    open_day_at = max(int(local_midnight.timestamp() * 1000) + 1, int(now * 1000) - 600_000)
    p1, p2, p3, shared = new_id(), new_id(), new_id(), new_id()
    world = World([p1, p2, p3, shared], f"user-{new_id()[:8]}", shared, f"other-{new_id()[:8]}")
    s = new_id
    world.person += [
        (p1, "collector_cookie", None, views(start, s(), ("book-1", "lamp-3", "mug-4"))),
        (
            p1,
            "collector_cookie",
            None,
            [event("identify", start + 600_000, s(), user_id=world.user_id)],
        ),
        (
            p2,
            "collector_cookie",
            None,
            [
                event("identify", start + DAY_MS, s(), user_id=world.user_id),
                *views(start + DAY_MS + 60_000, s(), ("pen-5", "book-2")),
                event(
                    "purchase",
                    start + DAY_MS + 300_000,
                    s(),
                    user_id=world.user_id,
                    order_id=f"order-{new_id()[:8]}",
                    currency="EUR",
                    items=[{"sku": "pen-5", "price": 1250, "quantity": 2, "category": ["Office"]}],
                ),
            ],
        ),
        (p3, "url", p1, views(start + 2 * DAY_MS, s(), ("book-1", "pen-5", "lamp-3"))),
        (p3, "url", p1, views(open_day_at, s(), ("mug-4",))),
        (
            shared,
            "collector_cookie",
            None,
            [
                event("identify", start + DAY_MS + 7_200_000, s(), user_id=world.user_id),
                *views(start + DAY_MS + 7_260_000, s(), ("lamp-3", "book-1")),
            ],
        ),
        (
            shared,
            "collector_cookie",
            None,
            [
                event("identify", start + 2 * DAY_MS + 7_200_000, s(), user_id=world.other_user),
                *views(start + 2 * DAY_MS + 7_260_000, s(), ("mug-4", "pen-5")),
            ],
        ),
    ]
    for n in range(5):
        visitor = new_id()
        for day in range(4):
            at = start + day * DAY_MS + n * 3_600_000 + 120_000
            if at > now * 1000 - 60_000:
                continue
            chosen = tuple(SKUS[(n + day + k) % len(SKUS)] for k in range(3))
            world.others.append((visitor, "collector_cookie", None, views(at, s(), chosen)))
    world.others.append(
        (
            new_id(),
            "collector_cookie",
            None,
            [
                event("identify", start + 2 * DAY_MS + 10_800_000, s(), user_id=world.other_user),
                *views(start + 2 * DAY_MS + 10_860_000, s(), ("pen-5", "book-2")),
            ],
        )
    )
    return world
