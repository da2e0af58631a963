"""The profile store the settings name, built for serving."""

from __future__ import annotations

from clicktrail.settings import Settings
from pipelines.profiles.redis_store import RedisProfileStore


def open_profile_store(settings: Settings) -> RedisProfileStore:
    """A ``ProfileStore`` on ``CLICKTRAIL_PROFILE_URL``, with the serving timeouts and pool of
    ``CLICKTRAIL_PROFILE_READ_TIMEOUT_MS``, ``_CONNECT_TIMEOUT_MS`` and ``_READ_POOL_SIZE``."""
    return RedisProfileStore.from_url(
        settings.profile_url.url,
        connect_timeout_ms=settings.profile_connect_timeout_ms,
        read_timeout_ms=settings.profile_read_timeout_ms,
        max_connections=settings.profile_read_pool_size,
    )
