"""One port map for every service and app, shifted by ``CLICKTRAIL_PORT_OFFSET``.

Several copies of Clicktrail (parallel test runs, helpers, a developer's own engine) run on one
machine by giving each a different offset; every port any part of the project opens comes from
here, so two copies never collide.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

BASE_PORTS: dict[str, int] = {
    "redis_state": 17379,  # event stream, salts: append-only, noeviction
    "redis_profile": 17380,  # visitor profiles and caches: may evict
    "kafka": 17092,
    "kafka_controller": 17093,
    "clickhouse_native": 17900,
    "clickhouse_http": 17123,
    "collector": 17080,
    "personalizer": 17081,
    "reports": 17082,
    "pipeline_metrics": 17083,  # a pipeline worker's /metrics (make up)
    "test_site": 17443,
    "test_collector": 17444,  # the collector over https, for the browser tests
}

OFFSET_VARIABLE = "CLICKTRAIL_PORT_OFFSET"


def port_offset(environ: Mapping[str, str] | None = None) -> int:
    """The offset from the environment (default 0); a bad value raises ``ValueError`` naming it."""
    raw = (os.environ if environ is None else environ).get(OFFSET_VARIABLE, "0")
    try:
        offset = int(raw)
    except ValueError:
        raise ValueError(f"{OFFSET_VARIABLE} must be a whole number, got {raw!r}") from None
    if not 0 <= offset <= 40000:
        raise ValueError(f"{OFFSET_VARIABLE} must be between 0 and 40000, got {offset}")
    return offset


def port(name: str, environ: Mapping[str, str] | None = None) -> int:
    """The port of ``name`` (a key of ``BASE_PORTS``) after the offset."""
    return BASE_PORTS[name] + port_offset(environ)


def port_map(environ: Mapping[str, str] | None = None) -> dict[str, int]:
    offset = port_offset(environ)
    return {name: base + offset for name, base in BASE_PORTS.items()}
