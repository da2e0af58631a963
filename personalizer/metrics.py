"""Prometheus metrics of the personalizer (summed over gunicorn workers, as the collector's)."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter(
    "clicktrail_personalizer_requests_total", "HTTP requests answered", ["endpoint", "status"]
)
DECISION_SECONDS = Histogram(
    "clicktrail_personalizer_decision_seconds",
    "Time to decide, in the process (no HTTP)",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25),
)
DEGRADED = Counter(
    "clicktrail_personalizer_degraded_total", "Decisions made without a store", ["store"]
)
COUNTED = Counter(
    "clicktrail_personalizer_counted_total", "Impressions and clicks counted", ["kind"]
)


def exposition() -> tuple[bytes, str]:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
