"""What the collector's request handlers share: settings, sites, the event log, the salts."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import redis

from clicktrail.identity import new_visitor_id
from clicktrail.secrets.salt import DailySalts
from clicktrail.serving.ratelimit import RateLimiter
from clicktrail.settings import Settings
from clicktrail.sites.registry import SiteRegistry
from pipelines.eventlog import EventLog, LogUnavailable


@dataclass
class Collector:
    settings: Settings
    registry: SiteRegistry
    event_log: EventLog
    salts: DailySalts
    clock: Callable[[], float] = time.time
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("clicktrail.collector"))
    address_limit: RateLimiter = field(init=False)
    server_limit: RateLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.address_limit = RateLimiter(self.settings.collector_rate_limit)
        self.server_limit = RateLimiter(self.settings.collector_server_rate_limit)

    @property
    def ack_timeout(self) -> float:
        return self.settings.ack_timeout_ms / 1000

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def current_salt(self) -> bytes:
        """Today's cookieless salt; ``LogUnavailable`` if the state Redis cannot be reached
        (the request is answered 503 and sent again: no id is made up)."""
        try:
            return self.salts.current(datetime.fromtimestamp(self.clock(), UTC))
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise LogUnavailable(f"state redis: {exc}") from exc

    def new_visitor_id(self) -> str:
        return new_visitor_id()
