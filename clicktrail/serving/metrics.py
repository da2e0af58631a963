"""Prometheus metrics summed over a service's gunicorn workers.

Under gunicorn each worker is a process: with ``PROMETHEUS_MULTIPROC_DIR`` set (the services'
gunicorn configs set it through ``clicktrail.serving.gunicorn``), every worker writes its
samples to files there and ``/metrics`` adds them up, whichever worker answers the scrape.
"""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess


def exposition() -> tuple[bytes, str]:
    """The text a scrape of ``/metrics`` gets, and its content type."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
