"""Prometheus metrics of the personalizer (summed over gunicorn workers, as the collector's)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from clicktrail.serving.metrics import exposition  # noqa: F401 - the views' /metrics

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
LOGGED = Counter(
    "clicktrail_personalizer_logged_total",
    "Attribution events the event log acknowledged",
    ["kind"],  # decision, impression, click
)
LOG_DROPPED = Counter(
    "clicktrail_personalizer_log_dropped_total",
    "Attribution events never written to the event log",
    ["kind", "reason"],  # queue_full, log_away, shutdown, invalid, error
)
RATE_LIMITED = Counter(
    "clicktrail_personalizer_rate_limited_total",
    "Decisions answered 429, by what was over its limit (address or token)",
    ["kind"],
)
