"""The pipeline worker's /metrics: lag and backlog gauges appear once they are known."""

from __future__ import annotations

from types import SimpleNamespace

from prometheus_client import CollectorRegistry, generate_latest

from pipelines.metrics import WorkerCollector
from pipelines.worker import WorkerStats

LAG_GAUGES = (
    "clicktrail_pipeline_last_commit_timestamp_seconds",
    "clicktrail_pipeline_batch_lag_seconds",
    "clicktrail_pipeline_backlog_records",
)


def scrape(stats: WorkerStats) -> dict[str, float]:
    worker = SimpleNamespace(stats=stats, builder=SimpleNamespace(cache_stats=lambda: {}))
    registry = CollectorRegistry()
    registry.register(WorkerCollector(lambda: worker))  # type: ignore[arg-type,return-value]
    samples = {}
    for line in generate_latest(registry).decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def test_unknown_lag_and_backlog_are_not_exported_as_zero():
    samples = scrape(WorkerStats())
    assert not set(LAG_GAUGES) & set(samples)


def test_lag_backlog_and_last_commit_are_exported_in_seconds_and_records():
    stats = WorkerStats(last_commit_unix=1_764_700_000.5, batch_lag_ms=1_250.0, backlog=42)
    samples = scrape(stats)
    assert samples["clicktrail_pipeline_last_commit_timestamp_seconds"] == 1_764_700_000.5
    assert samples["clicktrail_pipeline_batch_lag_seconds"] == 1.25
    assert samples["clicktrail_pipeline_backlog_records"] == 42


def test_a_backlog_of_zero_is_exported():
    assert scrape(WorkerStats(backlog=0))["clicktrail_pipeline_backlog_records"] == 0
