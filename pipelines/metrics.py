"""A pipeline worker's HTTP side: Prometheus ``/metrics`` read from its stats when scraped
(nothing is counted twice on the hot path), ``/readyz`` (joined and reading) and ``/healthz``."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from pipelines.worker import PipelineWorker


class WorkerCollector(Collector):
    def __init__(self, worker: Callable[[], PipelineWorker | None]) -> None:
        self._worker = worker

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        worker = self._worker()
        if worker is None:
            return
        stats = worker.stats
        for name, value, doc in (
            ("events", stats.events, "Events written to the sinks and committed."),
            ("records", stats.records, "Log records committed."),
            ("batches", stats.batches, "Batches committed."),
            ("dead_letters", stats.dead_letters, "Records or events sent to the dead-letter log."),
            ("retries", stats.retries, "Failed sink writes retried."),
        ):
            yield CounterMetricFamily(f"clicktrail_pipeline_{name}", doc, value=value)
        steps = CounterMetricFamily(
            "clicktrail_pipeline_step_seconds", "Time spent per step.", labels=["step"]
        )
        for step, seconds in stats.seconds.items():
            steps.add_metric([step], seconds)
        yield steps
        if stats.last_commit_unix:
            yield GaugeMetricFamily(
                "clicktrail_pipeline_last_commit_timestamp_seconds",
                "When the worker last committed a batch (Unix time).",
                value=stats.last_commit_unix,
            )
        if stats.batch_lag_ms is not None:
            yield GaugeMetricFamily(
                "clicktrail_pipeline_batch_lag_seconds",
                "Age of the oldest event of the last committed batch when it was committed "
                "(from the collector's receipt).",
                value=stats.batch_lag_ms / 1000,
            )
        if stats.backlog is not None:
            yield GaugeMetricFamily(
                "clicktrail_pipeline_backlog_records",
                "Records of this worker's partitions not read yet, as the event log counts "
                "them (every 10 s).",
                value=stats.backlog,
            )
        caches = GaugeMetricFamily(
            "clicktrail_pipeline_cache_hit_ratio", "Enrichment cache hit ratio.", labels=["cache"]
        )
        for cache, values in worker.builder.cache_stats().items():
            caches.add_metric([cache], values["hit_rate"])
        yield caches


def serve_metrics(worker: Callable[[], PipelineWorker | None], port: int) -> ThreadingHTTPServer:
    """``/metrics``, ``/readyz`` and ``/healthz`` on 127.0.0.1:``port``, from a daemon thread."""
    registry = CollectorRegistry()
    registry.register(WorkerCollector(worker))

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the standard library's name
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._answer(200, generate_latest(registry), CONTENT_TYPE_LATEST)
            elif path == "/readyz":
                current = worker()
                ready = current is not None and current.ready()
                body = {"status": "ready" if ready else "unavailable"}
                if current is not None:
                    body["event_log"] = current.event_log.name
                self._answer(200 if ready else 503, json.dumps(body).encode())
            elif path == "/healthz":
                self._answer(200, b'{"status": "ok"}')
            else:
                self._answer(404, b'{"error": "not found"}')

        def _answer(self, status: int, body: bytes, kind: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
