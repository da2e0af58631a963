"""Signed impressions (``GET /v1/pz/i``: a 1×1 GIF) and clicks (``GET /v1/pz/c``: a redirect
to the creative's registered landing URL, and only there). Each is counted once per decision
and placement, whatever the retries."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from flask import Blueprint, Response, redirect, request
from werkzeug.wrappers import Response as BaseResponse

from personalizer import metrics
from personalizer.counters import CountersUnavailable
from personalizer.signing import SignatureError, Signed, verify
from personalizer.views.common import error, state

bp = Blueprint("track", __name__)
GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _signed(action: str) -> Signed:
    shared = state()
    return verify(action, request.args.to_dict(), shared.keyring(), int(shared.clock()))


@bp.get("/v1/pz/i")
def impression() -> Response:
    shared = state()
    try:
        signed = _signed("impression")
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
    return _gif(200, None)


@bp.get("/v1/pz/c")
def click() -> BaseResponse:
    shared = state()
    try:
        signed = _signed("click")
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
    response = redirect(creative.landing_url, code=302)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer-when-downgrade"
    return _count(response)


def _gif(status: int, problem: str | None) -> Response:
    response = Response(GIF, status=status, content_type="image/gif")
    response.headers["Cache-Control"] = "no-store, max-age=0"
    if problem:
        response.headers["X-Clicktrail-Error"] = problem.encode("ascii", "replace").decode()[:200]
    metrics.REQUESTS.labels("/v1/pz/i", str(status)).inc()
    return response


def _count(response: BaseResponse) -> BaseResponse:
    metrics.REQUESTS.labels("/v1/pz/c", str(response.status_code)).inc()
    return response
