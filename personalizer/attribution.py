"""The attribution loop's events, as event-log records (event schema 2). Pure: a decision or a
signed impression/click URL in, ``LogRecord`` out.

Every event takes its ``event_id`` and ``created_at`` from the decision (``clicktrail.contract
.ids``): the decision id is a UUIDv7 whose time is the decision's, and each event id is derived
from the decision id, the placement and the kind. A resent impression is the same event, so
it collapses in ``events FINAL``; the time it really arrived is in ``received_ms``.
"""

from __future__ import annotations

from typing import Any

from clicktrail.contract.ids import attribution_event_id, decision_ms
from clicktrail.contract.record import LogRecord
from personalizer.decide import Decision, Placed
from personalizer.signing import Signed

MAX_OFFERS_TEXT = 1024  # a property value's limit in the contract

# The personalizer writes these records itself: no browser id source applies.
SERVER = "server"


def decision_record(decision: Decision, received_ms: int) -> LogRecord:
    """One ``decision`` event per placement (holdout ones marked), or one without a placement
    for a decision that asked for offers only."""
    created = decision_ms(decision.decision_id)
    offers = _offers_text([offer.sku for offer in decision.offers])
    placed: list[Placed | None] = [*decision.placements] or [None]
    events = [_decision_event(decision, created, one, offers) for one in placed]
    return LogRecord(
        site_id=decision.site_id,
        visitor_id=decision.visitor_id,
        id_source=decision.id_source,
        received_at=received_ms,
        events=events,
        ip=decision.ip or None,
        user_agent=decision.user_agent or None,
    )


def impression_record(
    signed: Signed,
    received_ms: int,
    viewable: bool,
    ip: str | None = None,
    user_agent: str | None = None,
) -> LogRecord:
    """A ``banner_impression`` of a signed impression URL; ``viewable``: the browser said the
    banner was seen (unsigned: it is the browser's own observation)."""
    event = _banner_event(signed, "impression", "banner_impression")
    if viewable:
        event["viewable"] = True
    return _record(signed, received_ms, event, ip, user_agent)


def click_record(
    signed: Signed, received_ms: int, ip: str | None = None, user_agent: str | None = None
) -> LogRecord:
    """A ``banner_click`` of a signed click URL."""
    event = _banner_event(signed, "click", "banner_click")
    return _record(signed, received_ms, event, ip, user_agent)


def _decision_event(
    decision: Decision, created: int, placed: Placed | None, offers: str
) -> dict[str, Any]:
    placement = placed.placement if placed is not None else ""
    event: dict[str, Any] = {
        "event_id": attribution_event_id(decision.decision_id, placement, "decision"),
        "event_type": "decision",
        "created_at": created,
        "decision_id": decision.decision_id,
    }
    properties: dict[str, Any] = {}
    if placed is not None:
        choice = placed.choice
        event["placement"] = placement
        event["holdout"] = choice.holdout
        if choice.campaign is not None and choice.creative is not None:
            event["campaign_id"] = choice.campaign.id
            event["creative_id"] = choice.creative.id
        properties["source"] = choice.source
        if choice.held_out is not None:
            properties["held_out_campaign"] = choice.held_out.id
    if offers:
        properties["offers"] = offers
    if decision.degraded:
        properties["degraded"] = ",".join(decision.degraded)
    if properties:
        event["properties"] = properties
    return event


def _banner_event(signed: Signed, kind: str, event_type: str) -> dict[str, Any]:
    return {
        "event_id": attribution_event_id(signed.decision_id, signed.placement, kind),
        "event_type": event_type,
        "created_at": decision_ms(signed.decision_id),
        "decision_id": signed.decision_id,
        "campaign_id": signed.campaign_id,
        "creative_id": signed.creative_id,
        "placement": signed.placement,
        "holdout": signed.holdout,
    }


def _record(
    signed: Signed,
    received_ms: int,
    event: dict[str, Any],
    ip: str | None,
    user_agent: str | None,
) -> LogRecord:
    return LogRecord(
        site_id=signed.site_id,
        visitor_id=signed.visitor_id,
        id_source=SERVER,
        received_at=received_ms,
        events=[event],
        ip=ip or None,
        user_agent=user_agent or None,
    )


def _offers_text(skus: list[str]) -> str:
    """The offered SKUs, comma-separated, whole SKUs only, within a property's limit."""
    text = ""
    for sku in skus:
        longer = f"{text},{sku}" if text else sku
        if len(longer) > MAX_OFFERS_TEXT:
            break
        text = longer
    return text
