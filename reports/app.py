"""The reports service's application factory: ``/v1/reports/<name>`` (JSON or CSV) behind
read tokens, health, metrics and its OpenAPI description (docs/reports.md)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask
from werkzeug.exceptions import HTTPException

from clicktrail.serving.errors import json_http_error
from clicktrail.serving.headers import harden
from clicktrail.settings import Settings
from clicktrail.sites.registry import SiteRegistry
from clicktrail.tokens.registry import TokenRegistry
from pipelines.warehouse.factory import open_settings_reader
from pipelines.warehouse.reader import EventStore
from reports.dashboard import init_dashboard
from reports.demo import init_demo
from reports.source import RollupSource
from reports.views import api, health, openapi, segments


@dataclass
class Reports:
    """What the request handlers share."""

    settings: Settings
    sites: SiteRegistry
    tokens: TokenRegistry
    source: RollupSource
    clock: Callable[[], float]
    log: logging.Logger


def create_app(
    settings: Settings | None = None,
    *,
    store: EventStore | None = None,
    clock: Callable[[], float] = time.time,
) -> Flask:
    """Build the reports service. Settings come from the environment unless given; the
    warehouse is read through ``open_settings_reader`` unless a store is handed in (tests)."""
    settings = settings or Settings.from_env()
    logging.basicConfig(level=settings.log_level)
    app = Flask(__name__)
    app.extensions["reports"] = Reports(
        settings=settings,
        sites=SiteRegistry(settings.sites_file, settings.sites_reload_seconds),
        tokens=TokenRegistry(settings.tokens_file, settings.sites_reload_seconds),
        source=RollupSource(store or open_settings_reader(settings)),
        clock=clock,
        log=logging.getLogger("clicktrail.reports"),
    )
    for blueprint in (api.bp, health.bp, openapi.bp, segments.bp):
        app.register_blueprint(blueprint)
    app.register_error_handler(HTTPException, json_http_error)
    init_dashboard(app)  # the marketer dashboard's pages under /dashboard (docs/dashboard.md)
    init_demo(app, settings)  # the demo shop under /demo, only with CLICKTRAIL_DEMO (docs/demo.md)
    harden(app)  # nosniff everywhere; a strict policy on HTML that has none of its own
    return app
