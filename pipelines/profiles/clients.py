"""The two ways to connect to the profile Redis: one for serving reads, one for the writer.

They differ on purpose. A serving read must answer in milliseconds or not at all, so the caller
can answer without a profile; the writer applies a batch that may take seconds and is retried
whole by the pipeline worker. Neither lets redis-py resend a command by itself, and both say
so explicitly because redis-py's default depends on its version and on how a client is built
(8.x: ``redis.Redis(host=...)`` resends a failed command up to 10 times with backoff,
``from_url`` does not). A resend turns a 50 ms budget into seconds, and a resent profile update
whose first send did run counts its rows twice wherever there is no watermark (a rebuild).
"""

from __future__ import annotations

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

DEFAULT_CONNECT_TIMEOUT_MS = 50
DEFAULT_READ_TIMEOUT_MS = 50
DEFAULT_MAX_CONNECTIONS = 16
DEFAULT_WRITER_TIMEOUT_S = 10.0
DEFAULT_WRITER_CONNECT_TIMEOUT_S = 5.0


def _no_retry() -> Retry:
    return Retry(NoBackoff(), 0)


def serving_client(
    url: str,
    *,
    connect_timeout_ms: int = DEFAULT_CONNECT_TIMEOUT_MS,
    read_timeout_ms: int = DEFAULT_READ_TIMEOUT_MS,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
) -> redis.Redis:
    """A client for request-time reads, safe to share between threads.

    At most ``max_connections`` connections; a caller waits at most ``connect_timeout_ms`` for
    a free one (then ``redis.ConnectionError``: too many readers at once is an overload, not a
    reason to queue), at most ``connect_timeout_ms`` to open one, and at most
    ``read_timeout_ms`` for each reply (then ``redis.TimeoutError``, and the connection is
    closed, so its late reply can never answer a later command). No retries.
    """
    for name, value in (
        ("connect_timeout_ms", connect_timeout_ms),
        ("read_timeout_ms", read_timeout_ms),
        ("max_connections", max_connections),
    ):
        if value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}")
    pool = redis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=connect_timeout_ms / 1000,
        socket_connect_timeout=connect_timeout_ms / 1000,
        socket_timeout=read_timeout_ms / 1000,
        retry=_no_retry(),
        # RESP2: no HELLO round trip per new connection, and none of RESP3's maintenance
        # notifications, with which redis-py relaxes timeouts to seconds during a failover.
        protocol=2,
    )
    return redis.Redis(connection_pool=pool)


def writer_client(
    url: str,
    *,
    timeout_s: float = DEFAULT_WRITER_TIMEOUT_S,
    connect_timeout_s: float = DEFAULT_WRITER_CONNECT_TIMEOUT_S,
) -> redis.Redis:
    """A client for ``ProfileSink``: a batch's pipeline may take seconds; no retries (the
    worker retries the whole batch with backoff, and only a watermark makes a resend safe)."""
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=connect_timeout_s,
        retry=_no_retry(),
    )
