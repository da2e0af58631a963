"""The personalizer's application factory: the decision endpoint, signed impression and click
tracking, and the token-protected management API (docs/personalizer.md)."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import Flask
from werkzeug.exceptions import HTTPException

from clicktrail.secrets.keyring import Keyring, KeyringError, load_keyring
from clicktrail.secrets.salt import DailySalts
from clicktrail.serving.errors import json_http_error
from clicktrail.serving.headers import harden
from clicktrail.serving.ratelimit import RateLimiter
from clicktrail.settings import Settings
from clicktrail.sites.registry import SiteRegistry
from clicktrail.tokens.registry import TokenRegistry
from personalizer.campaign_store import CampaignCache, CampaignStore
from personalizer.catalog_store import CatalogCache, CatalogStore
from personalizer.counters import CounterStore
from personalizer.decide import DecisionLog, DecisionService
from personalizer.decision_log import EventLogDecisions
from personalizer.popularity import PopularityCache
from personalizer.views import decide, health, manage, openapi, track
from pipelines.enrich import DeviceDetector, GeoLocator
from pipelines.eventlog import EventLog, open_event_log
from pipelines.profiles.clients import serving_client
from pipelines.profiles.factory import open_profile_store
from pipelines.profiles.store import ProfileStore
from pipelines.warehouse.factory import open_settings_reader

log = logging.getLogger("clicktrail.personalizer")
MAX_BODY_BYTES = 256 * 1024  # a catalog import through the API may be large; decisions are not


class KeyringSource:
    """The signing keys, re-read every ``reload_seconds`` (default
    ``CLICKTRAIL_SIGNING_KEY_RELOAD_SECONDS``) so a rotation reaches every process. A re-read
    that fails keeps the keys loaded before: a key file broken by hand must not stop every
    decision and click; it is logged and read again after the next interval."""

    def __init__(
        self,
        settings: Settings,
        reload_seconds: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._reload = (
            settings.signing_key_reload_seconds if reload_seconds is None else reload_seconds
        )
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._loaded_at = float("-inf")
        self._keyring: Keyring | None = None

    def __call__(self) -> Keyring:
        now = self._monotonic()
        keyring = self._keyring
        if keyring is None or now - self._loaded_at >= self._reload:
            with self._lock:
                try:
                    keyring = self._keyring = load_keyring(
                        self._settings.secrets_file,
                        self._settings.signing_key_grace_days * 86_400,
                        int(time.time()),
                    )
                except (KeyringError, OSError) as exc:
                    if keyring is None:
                        raise  # nothing to sign with yet
                    log.error("signing keys not re-read, the loaded ones kept: %s", exc)
                self._loaded_at = now
        return keyring


@dataclass
class Personalizer:
    """What the request handlers share."""

    settings: Settings
    sites: SiteRegistry
    tokens: TokenRegistry
    service: DecisionService
    campaign_store: CampaignStore
    campaigns: CampaignCache
    catalog_store: CatalogStore
    catalogs: CatalogCache
    counters: CounterStore
    attribution: EventLogDecisions  # decisions, impressions and clicks to the event log
    keyring: Callable[[], Keyring]
    clock: Callable[[], float]
    log: logging.Logger
    address_limit: RateLimiter  # browsers, by the end user's address
    token_limit: RateLimiter  # trusted callers, by their token


def create_app(
    settings: Settings | None = None,
    *,
    profiles: ProfileStore | None = None,
    decisions: DecisionLog | None = None,
    event_log: EventLog | None = None,
    popularity: PopularityCache | None = None,
    clock: Callable[[], float] = time.time,
    rng: random.Random | None = None,
) -> Flask:
    """Build the personalizer. Settings come from the environment unless given; every store
    is built from them unless given (tests hand in their own). ``decisions``: where decisions
    go instead of the event log; ``event_log``: the log of decisions, impressions and clicks."""
    settings = settings or Settings.from_env()
    logging.basicConfig(level=settings.log_level)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    state = serving_client(
        settings.state_url.url,
        connect_timeout_ms=settings.state_timeout_ms,
        read_timeout_ms=settings.state_timeout_ms,
        max_connections=settings.profile_read_pool_size,
    )
    # The salts and the stores' writes may take longer than a decision's read.
    durable = serving_client(
        settings.state_url.url, connect_timeout_ms=1000, read_timeout_ms=5000, max_connections=8
    )
    salts = DailySalts(
        durable, settings.salt_rotation_hour, timedelta(minutes=settings.salt_grace_minutes)
    )
    campaign_store = CampaignStore(durable)
    campaigns = CampaignCache(campaign_store)
    catalog_store = CatalogStore(durable)
    catalogs = CatalogCache(catalog_store)
    counters = CounterStore(state, settings.personalizer_counters_max_age_ms / 1000)
    keyring = KeyringSource(settings)
    popularity = popularity or PopularityCache(open_settings_reader(settings))
    timeout = settings.personalizer_log_timeout_ms / 1000
    attribution = EventLogDecisions(
        event_log or open_event_log(settings, ack_timeout=timeout),
        queue_size=settings.personalizer_log_queue,
        timeout=timeout,
        log_decisions=settings.personalizer_log_decisions,
    )
    service = DecisionService(
        campaigns=campaigns.site,
        counters=counters,
        profiles=profiles or open_profile_store(settings),
        geo=GeoLocator(settings.geoip_db, check_seconds=settings.geoip_check_seconds),
        devices=DeviceDetector(),
        catalog=catalogs.site,
        popularity=popularity.get,
        keyring=keyring,
        salt=lambda: salts.current(datetime.fromtimestamp(clock(), UTC)),
        decisions=decisions or attribution,
        public_url=settings.personalizer_public_url,
        clock=clock,
        rng=rng or random.Random(),
    )
    app.extensions["personalizer"] = Personalizer(
        settings=settings,
        sites=SiteRegistry(settings.sites_file, settings.sites_reload_seconds),
        tokens=TokenRegistry(settings.tokens_file, settings.sites_reload_seconds),
        service=service,
        campaign_store=campaign_store,
        campaigns=campaigns,
        catalog_store=catalog_store,
        catalogs=catalogs,
        counters=counters,
        attribution=attribution,
        keyring=keyring,
        clock=clock,
        log=logging.getLogger("clicktrail.personalizer"),
        address_limit=RateLimiter(settings.personalizer_rate_limit),
        token_limit=RateLimiter(settings.personalizer_adserver_rate_limit),
    )
    for blueprint in (decide.bp, track.bp, manage.bp, health.bp, openapi.bp):
        app.register_blueprint(blueprint)
    app.register_error_handler(HTTPException, json_http_error)
    harden(app)  # nosniff; a strict policy on HTML (werkzeug's own redirect pages)
    app.wsgi_app = decide.FastDecide(app, app.wsgi_app)  # type: ignore[method-assign]
    return app
