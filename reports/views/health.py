"""Liveness, readiness (the warehouse answers) and metrics."""

from __future__ import annotations

from flask import Blueprint, Response

from reports import metrics
from reports.views.common import json_answer, state

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return json_answer(200, {"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    """Ready when the warehouse answers (on chdb: through the pipeline worker that owns it)."""
    ready = state().source.store.ping()
    return json_answer(
        200 if ready else 503,
        {
            "status": "ready" if ready else "unavailable",
            "checks": {"warehouse": "ok" if ready else "failing"},
        },
    )


@bp.get("/metrics")
def metrics_view() -> Response:
    body, content_type = metrics.exposition()
    return Response(body, content_type=content_type)
