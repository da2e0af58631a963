"""From a validated batch to event-log records: identify each event, then group them into one
record per visitor, in the order they came. Pure."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from clicktrail.contract.event import Event
from clicktrail.contract.record import LogRecord
from clicktrail.identity.visitor import Identity, RequestFacts, resolve


@dataclass(frozen=True)
class Intake:
    records: list[LogRecord]
    cookie_visitor_id: str | None  # what the collector cookie should hold; None: set none


def build_records(
    site_id: str,
    events: list[Event],
    facts: RequestFacts,
    sent_at: int | None,
    received_at: int,
    salt: Callable[[], bytes],
    new_id: Callable[[], str],
) -> Intake:
    """``salt`` and ``new_id`` are called only if some event needs them; every event of the
    request that needs a new id gets the same one."""
    made: list[str] = []

    def one_new_id() -> str:
        if not made:
            made.append(new_id())
        return made[0]

    groups: dict[tuple[Identity, str, str], list[dict]] = {}
    cookie_visitor_id = None
    for event in events:
        event_facts = facts
        if facts.server_side and (event.ip or event.user_agent):
            event_facts = dataclasses.replace(
                facts, ip=event.ip or facts.ip, user_agent=event.user_agent or facts.user_agent
            )
        identity = resolve(
            event_facts, event.visitor_id, event.consent, event.created_at, salt, one_new_id
        )
        if identity.cookies_allowed:
            cookie_visitor_id = identity.visitor_id
        group = (identity, event_facts.ip, event_facts.user_agent)
        data = event.to_record()
        data.pop("visitor_id", None)  # the record's visitor_id is the collector's decision
        groups.setdefault(group, []).append(data)
    records = [
        LogRecord(
            site_id=site_id,
            visitor_id=identity.visitor_id,
            id_source=identity.id_source,
            received_at=received_at,
            events=group_events,
            sent_at=sent_at,
            ip=ip,
            user_agent=user_agent,
            replaced_visitor_id=identity.replaced_visitor_id,
        )
        for (identity, ip, user_agent), group_events in groups.items()
    ]
    return Intake(records, cookie_visitor_id)
