"""The stores an erasure, an export or the retention job reach, opened from the settings."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import redis

from clicktrail.privacy import tombstones
from clicktrail.settings import KafkaTarget, Settings
from clicktrail.sites.registry import SiteRegistry
from pipelines.privacy.deadletters import KafkaDeadLetters, RedisDeadLetters
from pipelines.privacy.erase import Stores
from pipelines.profiles.config import ProfileConfig
from pipelines.warehouse.base import Warehouse
from pipelines.warehouse.factory import Role, open_warehouse


def redis_client(url: str) -> redis.Redis:
    """A tool's client: seconds, not the serving path's milliseconds."""
    return redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=5)


def tombstone_lifetime_ms(settings: Settings) -> int:
    # The dead-letter log keeps what the event log keeps (docs/privacy.md).
    hours = settings.event_log_retention_hours
    return tombstones.lifetime_ms(hours, hours)


def dead_letter_log(settings: Settings, state: redis.Redis) -> RedisDeadLetters | KafkaDeadLetters:
    target = settings.event_log_url
    if isinstance(target, KafkaTarget):
        from pipelines.eventlog.factory import open_event_log

        return KafkaDeadLetters(
            open_event_log(settings, ack_timeout=10.0), settings.event_log_retention_hours
        )
    assert target.stream is not None
    return RedisDeadLetters(redis_client(target.url), target.stream)


def stores_for(settings: Settings, warehouse: Warehouse) -> Stores:
    state = redis_client(settings.state_url.url)
    registry = SiteRegistry(settings.sites_file, settings.sites_reload_seconds)
    return Stores(
        warehouse=warehouse,
        profiles=redis_client(settings.profile_url.url),
        state=state,
        dead_letters=dead_letter_log(settings, state),
        site_of=registry.get,
        profile_config=ProfileConfig.from_settings(settings),
        tombstone_lifetime_ms=tombstone_lifetime_ms(settings),
    )


@contextmanager
def open_stores(settings: Settings, role: Role = "tool") -> Iterator[Stores]:
    """``role="reader"`` for a serving process (the collector): on chdb only through the
    folder's owner, never holding the folder."""
    with open_warehouse(settings.clickhouse_url, timeout=600, role=role) as warehouse:
        stores = stores_for(settings, warehouse)
        try:
            yield stores
        finally:
            close_stores(stores)


def close_stores(stores: Stores) -> None:
    stores.profiles.close()
    stores.state.close()
    dead = stores.dead_letters
    if isinstance(dead, RedisDeadLetters):
        dead.client.close()
    else:
        dead.event_log.close()
