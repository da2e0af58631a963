"""gunicorn settings for the collector: ``gunicorn -c python:tracker.gunicorn_conf
tracker.wsgi:app`` (``clicktrail collector`` runs exactly that).

Each request waits for the event log's acknowledgement, so many requests must wait at once.
gevent workers do that best here (measured, docs/benchmarks.md): with OS threads (gthread)
every acknowledgement wakes a thread that then fights the producer's I/O thread for the GIL,
which cost a third of the throughput; greenlets switch without that contention.
"""

from __future__ import annotations

from clicktrail.serving.gunicorn import (  # noqa: F401 - gunicorn reads the hooks here
    child_exit,
    metrics_folder,
    on_exit,
    on_starting,
)
from clicktrail.settings import Settings

_settings = Settings.from_env()
metrics_folder("clicktrail-metrics-")  # before any worker imports prometheus_client


bind = _settings.collector_bind
workers = _settings.collector_workers
worker_class = _settings.collector_worker_class
threads = _settings.collector_threads  # gthread only
worker_connections = _settings.collector_connections  # gevent only: requests in flight
keepalive = 75  # beyond typical load balancer idle timeouts, so they close first
graceful_timeout = 10
accesslog = None
errorlog = "-"
loglevel = _settings.log_level.lower()
