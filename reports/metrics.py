"""Prometheus metrics of the reports service (summed over gunicorn workers)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from clicktrail.serving.metrics import exposition  # noqa: F401 - the views' /metrics

REQUESTS = Counter(
    "clicktrail_reports_requests_total", "Report requests answered", ["report", "status"]
)
REPORT_SECONDS = Histogram(
    "clicktrail_reports_seconds",
    "Time to compute a report (queries included)",
    ["report"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0),
)
