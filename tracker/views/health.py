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
    """This collector can accept events: the event log acknowledges, and the state Redis
    (the cookieless salt) answers."""
    collector = current_app.extensions["clicktrail"]
    log = collector.event_log
    checks = {"event_log": log.ping(timeout=0.5), "state": collector.salts.ping()}
    ready = all(checks.values())
    body = {
        "status": "ready" if ready else "unavailable",
        "event_log": log.name,
        "checks": {name: "ok" if ok else "failing" for name, ok in checks.items()},
    }
    return jsonify(body), 200 if ready else 503


@bp.get("/metrics")
def metrics_view() -> Response:
    body, content_type = metrics.exposition()
    return Response(body, content_type=content_type)
