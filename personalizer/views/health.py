"""Liveness, readiness and metrics."""

from __future__ import annotations

from flask import Blueprint, Response

from personalizer import metrics
from personalizer.campaign_store import StoreUnavailable
from personalizer.views.common import json_answer, state

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return json_answer(200, {"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    """Ready when the durable Redis answers (campaigns, caps): without it only uncapped
    campaigns can be served. Profiles and the warehouse are not required: decisions degrade."""
    shared = state()
    try:
        shared.campaign_store.ping()
        campaigns = True
    except StoreUnavailable:
        campaigns = False
    checks = {"campaigns": campaigns, "counters": shared.counters.ping()}
    ready = all(checks.values())
    return json_answer(
        200 if ready else 503,
        {
            "status": "ready" if ready else "unavailable",
            "checks": {name: "ok" if ok else "failing" for name, ok in checks.items()},
        },
    )


@bp.get("/metrics")
def metrics_view() -> Response:
    body, content_type = metrics.exposition()
    return Response(body, content_type=content_type)
