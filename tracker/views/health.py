"""Liveness, readiness and metrics."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from tracker import metrics

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """The process answers."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """The event log is reachable: this collector can accept events."""
    log = current_app.extensions["clicktrail"].event_log
    if log.ping(timeout=0.5):
        return jsonify(status="ready", event_log=log.name), 200
    return jsonify(status="unavailable", event_log=log.name), 503


@bp.get("/metrics")
def metrics_view() -> Response:
    body, content_type = metrics.exposition()
    return Response(body, content_type=content_type)
