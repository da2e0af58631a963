"""Signed impressions (``GET /v1/pz/i``: a 1×1 GIF) and clicks (``GET /v1/pz/c``: a redirect
to the creative's registered landing URL, and only there). Each is counted once per decision
and placement, whatever the retries, and written to the event log as a ``banner_impression`` /
``banner_click`` event whose id derives from the decision (a resent copy is the same event).

``vw=1`` beside an impression URL's signed parameters says the browser saw the banner (half of
it for a second); it is not signed, being the browser's own observation."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime

from flask import Blueprint, Response, redirect, request
from werkzeug.wrappers import Response as BaseResponse

from clicktrail.contract.record import LogRecord
from clicktrail.identity.client_ip import client_ip
from clicktrail.serving.answers import header_text
from personalizer import metrics
from personalizer.attribution import click_record, impression_record
from personalizer.counters import CountersUnavailable
from personalizer.signing import SignatureError, Signed, verify
from personalizer.views.common import error, state
from pipelines.eventlog import LogUnavailable

bp = Blueprint("track", __name__)
GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
VIEWABLE = "vw"  # unsigned, impressions only: "1" the browser saw it, "0" it does not say


def _signed(action: str, query: dict[str, str]) -> Signed:
    shared = state()
    return verify(action, query, shared.keyring(), int(shared.clock()))


@bp.get("/v1/pz/i")
def impression() -> Response:
    shared = state()
    query = request.args.to_dict()
    viewable = query.pop(VIEWABLE, "0")
    if viewable not in ("0", "1"):
        return _gif(400, f"{VIEWABLE} must be 1 (seen) or 0")
    try:
        signed = _signed("impression", query)
    except SignatureError as exc:
        return _gif(400, str(exc))
    site = shared.sites.get(signed.site_id)
    campaign = shared.campaigns.site(signed.site_id).get(signed.campaign_id)
    if site is None or campaign is None or campaign.creative(signed.creative_id) is None:
        return _gif(400, "unknown site, campaign or creative")
    try:
        counted = shared.counters.count_impression(
            site.site_id,
            campaign,
            signed.creative_id,
            signed.placement,
            signed.visitor_id,
            signed.decision_id,
            datetime.fromtimestamp(shared.clock(), UTC),
            site.timezone,
        )
    except CountersUnavailable as exc:
        shared.log.warning("impression not counted, the client may send it again: %s", exc)
        return _gif(503, "not counted; send again")
    if counted:
        metrics.COUNTED.labels("impression").inc()
    record = _record(
        signed, lambda ms, ip, ua: impression_record(signed, ms, viewable == "1", ip, ua)
    )
    if record is not None:
        try:
            shared.attribution.write("impression", record)
        except LogUnavailable as exc:  # counted already: the copy sent again is not counted twice
            shared.log.warning("impression not written to the event log: %s", exc)
            return _gif(503, "not recorded; send again")
    return _gif(200, None)


@bp.get("/v1/pz/c")
def click() -> BaseResponse:
    shared = state()
    try:
        signed = _signed("click", request.args.to_dict())
    except SignatureError as exc:
        return _count(error(400, str(exc)))
    campaign = shared.campaigns.site(signed.site_id).get(signed.campaign_id)
    creative = campaign.creative(signed.creative_id) if campaign is not None else None
    if creative is None:
        return _count(error(400, "unknown campaign or creative: no redirect"))
    try:
        if shared.counters.count_click(
            signed.site_id,
            signed.campaign_id,
            signed.creative_id,
            signed.placement,
            signed.decision_id,
        ):
            metrics.COUNTED.labels("click").inc()
    except CountersUnavailable as exc:  # the visitor's click still goes through
        shared.log.warning("click not counted: %s", exc)
    record = _record(signed, lambda ms, ip, ua: click_record(signed, ms, ip, ua))
    if record is not None:  # queued: the redirect never waits for the event log
        shared.attribution.enqueue("click", record)
    response = redirect(creative.landing_url, code=302)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer-when-downgrade"
    return _count(response)


def _record(
    signed: Signed, build: Callable[[int, str | None, str | None], LogRecord]
) -> LogRecord | None:
    """The event-log record of this request (its address behind trusted proxies, its browser),
    or None for a link whose decision id is not a UUIDv7 (signed before schema 2)."""
    shared = state()
    ip = client_ip(
        request.remote_addr or "",
        request.headers.get("X-Forwarded-For"),
        shared.settings.trusted_proxies,
    )
    try:
        return build(int(shared.clock() * 1000), ip or None, request.user_agent.string or None)
    except ValueError as exc:
        shared.log.warning("no attribution event for decision %s: %s", signed.decision_id, exc)
        return None


def _gif(status: int, problem: str | None) -> Response:
    response = Response(GIF, status=status, content_type="image/gif")
    response.headers["Cache-Control"] = "no-store, max-age=0"
    if problem:
        response.headers["X-Clicktrail-Error"] = header_text(problem)
    metrics.REQUESTS.labels("/v1/pz/i", str(status)).inc()
    return response


def _count(response: BaseResponse) -> BaseResponse:
    metrics.REQUESTS.labels("/v1/pz/c", str(response.status_code)).inc()
    return response
