"""gunicorn settings for the reports API: ``gunicorn -c python:reports.gunicorn_conf
reports.wsgi:app`` (``clicktrail reports`` runs exactly that).

Threads, not gevent: a report waits on the warehouse for tens of milliseconds to seconds, and
on chdb through the owner's socket; a few threads per worker overlap those waits, and the
warehouse reader bounds the queries a process runs at once (CLICKTRAIL_WAREHOUSE_CONNECTIONS).
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
metrics_folder("clicktrail-reports-metrics-")  # before any worker imports prometheus_client

bind = _settings.reports_bind
workers = _settings.reports_workers
worker_class = "gthread"
threads = _settings.warehouse_connections
keepalive = 30
graceful_timeout = 10
timeout = max(60, _settings.warehouse_read_timeout_ms // 1000 + 10)
accesslog = None
errorlog = "-"
loglevel = _settings.log_level.lower()
