"""gunicorn settings for the collector: ``gunicorn -c python:tracker.gunicorn_conf
tracker.wsgi:app`` (``clicktrail collector`` runs exactly that).

gthread workers: each request thread blocks while it waits for the event log's
acknowledgement, so threads let those waits overlap while the GIL is free.
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
threads = _settings.collector_threads
worker_class = "gthread"
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
