"""The collector's application factory."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta

import redis
from flask import Flask
from werkzeug.exceptions import HTTPException

from clicktrail.contract.envelope import MAX_BODY_BYTES
from clicktrail.secrets.salt import DailySalts
from clicktrail.serving.errors import json_http_error
from clicktrail.serving.headers import harden
from clicktrail.serving.relay import Upstream, upstream_address
from clicktrail.settings import Settings
from clicktrail.sites.registry import SiteRegistry
from pipelines.eventlog import EventLog, LogUnavailable, open_event_log
from tracker.collector import Collector
from tracker.views import collect, health, openapi, personalization, privacy, snippet


def create_app(
    settings: Settings | None = None,
    *,
    event_log: EventLog | None = None,
    registry: SiteRegistry | None = None,
    salts: DailySalts | None = None,
    clock: Callable[[], float] = time.time,
) -> Flask:
    """Build the collector. Settings come from the environment unless given; the event log,
    registry and salts are built from the settings unless given."""
    settings = settings or Settings.from_env()
    logging.basicConfig(level=settings.log_level)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    event_log = event_log or open_event_log(settings)
    try:
        event_log.ensure_created()
        event_log.connect(timeout=5.0)
    except LogUnavailable as exc:  # the collector still starts; /readyz tells, 503s follow
        app.logger.warning("the event log is not reachable yet: %s", exc)
    if salts is None:
        state = redis.Redis.from_url(
            settings.state_url.url, socket_timeout=0.5, socket_connect_timeout=0.5
        )
        salts = DailySalts(
            state, settings.salt_rotation_hour, timedelta(minutes=settings.salt_grace_minutes)
        )
    registry = registry or SiteRegistry(settings.sites_file, settings.sites_reload_seconds)
    app.extensions["clicktrail"] = Collector(
        settings=settings,
        registry=registry,
        event_log=event_log,
        salts=salts,
        clock=clock,
    )
    app.register_blueprint(collect.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(snippet.bp)
    # erasure, export and self-service erasure (docs/privacy.md)
    privacy.install(app, settings, registry)
    app.register_blueprint(openapi.bp)
    # The personalizer's browser paths under this origin (docs/personalizer.md).
    app.extensions[personalization.EXTENSION] = Upstream(
        *upstream_address(settings.personalizer_bind)
    )
    app.register_blueprint(personalization.bp)
    app.register_error_handler(HTTPException, json_http_error)
    harden(app)  # nosniff everywhere; a strict policy on any HTML (clicktrail/serving)
    # A browser's valid batch is answered before Flask's request machinery (docs/collector.md)
    app.wsgi_app = collect.FastCollect(app, app.wsgi_app)  # type: ignore[method-assign]
    return app
