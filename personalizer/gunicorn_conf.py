"""gunicorn settings for the personalizer: ``gunicorn -c python:personalizer.gunicorn_conf
personalizer.wsgi:app`` (``clicktrail personalizer`` runs exactly that).

gthread workers (``CLICKTRAIL_PERSONALIZER_THREADS`` threads each, 8 by default; 2, 4 and 8 cost
the same CPU per decision, measured 2026-12-02): measured against gevent on the same machine and
load (docs/benchmarks.md, Decision pass 4), a decision costs less CPU on OS threads: its Redis
round trips (1.6 on average since pass 5) are plain blocking socket calls (under gevent each one
is a hub switch, a timer and a poll registration), and a decision's Python work, not waiting, is
what it spends its time on. A worker loads every site's catalog, and the public suffix list that
referrers are classified with, before it serves, and then freezes what it loaded out of the
cyclic garbage collector's view (``post_worker_init``, ``clicktrail.serving.heap``). A worker
that exits writes the decisions and clicks still queued for the event log first
(``worker_exit``)."""

from __future__ import annotations

from clicktrail.serving.gunicorn import (  # noqa: F401 - gunicorn reads the hooks here
    child_exit,
    metrics_folder,
    on_exit,
    on_starting,
)
from clicktrail.serving.heap import freeze_loaded
from clicktrail.settings import Settings

_settings = Settings.from_env()
metrics_folder("clicktrail-pz-metrics-")  # before any worker imports prometheus_client


bind = _settings.personalizer_bind
workers = _settings.personalizer_workers
worker_class = "gthread"
threads = _settings.personalizer_threads
keepalive = 75
graceful_timeout = 10
accesslog = None
errorlog = "-"
loglevel = _settings.log_level.lower()

_FLUSH_SECONDS = 5.0  # within graceful_timeout: what is queued is written, or counted as dropped


def post_worker_init(worker: object) -> None:
    """The catalogs of the sites this deployment serves (its site registry) loaded before the
    worker serves (the other worker serves meanwhile): no first request waits for one; a
    changed one is reloaded in the background."""
    app = getattr(worker, "wsgi", None)
    shared = getattr(app, "extensions", {}).get("personalizer")
    if shared is not None:
        shared.catalogs.preload(sorted(shared.sites.all()))
    from pipelines.enrich.domains import public_suffix  # in the worker, after its fork

    public_suffix("www.example.com")  # parses the bundled list: ~40 ms, not in a request
    # What was loaded (catalogs, modules, the suffix list) out of the cyclic collector's view:
    # a full collection of a 50,000-product catalog paused every thread ~120 ms
    freeze_loaded()


def worker_exit(server: object, worker: object) -> None:
    app = getattr(worker, "wsgi", None)
    shared = getattr(app, "extensions", {}).get("personalizer")
    if shared is not None:
        shared.attribution.close(_FLUSH_SECONDS)
