"""Prometheus metrics of the collector.

Under gunicorn each worker is a process: with ``PROMETHEUS_MULTIPROC_DIR`` set (the gunicorn
config sets it), every worker writes its samples to files there and ``/metrics`` adds them up,
so a scrape sees the whole collector, whichever worker answers it.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from clicktrail.serving.metrics import exposition  # noqa: F401 - the views' /metrics

REQUESTS = Counter(
    "clicktrail_collector_requests_total", "HTTP requests answered", ["endpoint", "status"]
)
EVENTS_ACCEPTED = Counter(
    "clicktrail_collector_events_accepted_total", "Events acknowledged by the event log"
)
EVENTS_REJECTED = Counter(
    "clicktrail_collector_events_rejected_total",
    "Events refused, by the field the reason names ('event' for rules across fields)",
    ["reason"],
)
LOG_ACK_SECONDS = Histogram(
    "clicktrail_collector_log_ack_seconds",
    "Time from handing records to the event log to its acknowledgement",
    buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0),
)
LOG_FAILURES = Counter(
    "clicktrail_collector_log_unavailable_total", "Requests answered 503: no acknowledgement"
)

RATE_LIMITED = Counter(
    "clicktrail_collector_rate_limited_total",
    "Requests answered 429, by what was over its limit (address or site)",
    ["kind"],
)


def rejection_label(reason: str) -> str:
    """A bounded label: the field a rejection reason starts with."""
    head = reason.split(":", 1)[0].split(".", 1)[0]
    return head if head.isidentifier() and len(head) <= 32 else "other"
