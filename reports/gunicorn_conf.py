"""gunicorn settings for the reports API: ``gunicorn -c python:reports.gunicorn_conf
reports.wsgi:app`` (``clicktrail reports`` runs exactly that).

Threads, not gevent: a report waits on the warehouse for tens of milliseconds to seconds, and
on chdb through the owner's socket; a few threads per worker overlap those waits, and the
warehouse reader bounds the queries a process runs at once (CLICKTRAIL_WAREHOUSE_CONNECTIONS).

Workers: CLICKTRAIL_REPORTS_WORKERS (default 1). Measured by ``make
bench-reports-workers`` on the 2-core machine with the 18.16 server beside it (1.1 million
events, two runs; docs/deploy.md has the table): 1, 2 and 3 workers served the same within
the runs' noise (overview page 3.2-5.3 requests/s, interests 2.4-5.5, audience 14.6-24.4),
because the warehouse took 0.9-1.8 of the 2 cores while the reports processes took 0.07-0.16
of one (6-37 ms of CPU a request). Each worker holds ~52 MiB more (PSS). A worker is one core's
worth of Python: add one when the reports processes' own CPU nears a core, not before.
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
