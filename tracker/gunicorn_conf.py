"""gunicorn settings for the collector: ``gunicorn -c python:tracker.gunicorn_conf
tracker.wsgi:app`` (``clicktrail collector`` runs exactly that).

Each request waits for the event log's acknowledgement, so many requests must wait at once.
gevent workers do that best here (measured, docs/benchmarks.md): with OS threads (gthread)
every acknowledgement wakes a thread that then fights the producer's I/O thread for the GIL,
which cost a third of the throughput; greenlets switch without that contention.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from clicktrail.settings import Settings

_settings = Settings.from_env()

# Metrics from every worker process are summed through files in this folder; it must be set
# before any worker imports prometheus_client.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="clicktrail-metrics-")
_metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"]

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


def on_starting(server: object) -> None:
    for name in os.listdir(_metrics_dir):  # samples of a previous run
        os.unlink(os.path.join(_metrics_dir, name))


def child_exit(server: object, worker: object) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]


def on_exit(server: object) -> None:
    if _metrics_dir.startswith(tempfile.gettempdir()):
        shutil.rmtree(_metrics_dir, ignore_errors=True)
