"""A pipeline worker's Prometheus metrics, read from its stats when scraped (nothing is
counted twice on the hot path)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, start_http_server
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
        caches = GaugeMetricFamily(
            "clicktrail_pipeline_cache_hit_ratio", "Enrichment cache hit ratio.", labels=["cache"]
        )
        for cache, values in worker.builder.cache_stats().items():
            caches.add_metric([cache], values["hit_rate"])
        yield caches


def serve_metrics(worker: Callable[[], PipelineWorker | None], port: int) -> None:
    """``/metrics`` on 127.0.0.1:``port`` from a daemon thread."""
    registry = CollectorRegistry()
    registry.register(WorkerCollector(worker))
    start_http_server(port, addr="127.0.0.1", registry=registry)
