"""gunicorn settings for the personalizer: ``gunicorn -c python:personalizer.gunicorn_conf
personalizer.wsgi:app`` (``clicktrail personalizer`` runs exactly that).

gevent workers, as the collector's: a decision waits on Redis for a millisecond or two, and
many decisions wait at once."""

from __future__ import annotations

import os
import shutil
import tempfile

from clicktrail.settings import Settings

_settings = Settings.from_env()

if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="clicktrail-pz-metrics-")
_metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"]

bind = _settings.personalizer_bind
workers = _settings.personalizer_workers
worker_class = "gevent"
worker_connections = 256
keepalive = 75
graceful_timeout = 10
accesslog = None
errorlog = "-"
loglevel = _settings.log_level.lower()


def on_starting(server: object) -> None:
    for name in os.listdir(_metrics_dir):
        os.unlink(os.path.join(_metrics_dir, name))


def child_exit(server: object, worker: object) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]


def on_exit(server: object) -> None:
    if _metrics_dir.startswith(tempfile.gettempdir()):
        shutil.rmtree(_metrics_dir, ignore_errors=True)
