"""``clicktrail pipeline`` and ``clicktrail migrate``."""

from __future__ import annotations

import logging
import signal
import sys
import threading

import click

from pipelines.warehouse.base import WarehouseError, WarehouseUnavailable


def _settings():  # noqa: ANN202 - avoids importing the CLI module here
    from clicktrail.cli import load_settings

    return load_settings()


@click.command()
@click.option("--consumer", help="Consumer name in the group (default <host>-<pid>).")
@click.option(
    "--exit-when-idle",
    type=float,
    metavar="SECONDS",
    help="Stop after this long without records (catch-up runs, tests).",
)
@click.option(
    "--sinks",
    default="all",
    show_default=True,
    help="Writer steps to run, comma-separated (warehouse, profiles, ...): benchmarks, "
    "rebuilding one side.",
)
@click.option(
    "--stats-json",
    type=click.Path(dir_okay=False, writable=True),
    help="On exit, write counts, per-step seconds, cache hit rates and lags here.",
)
@click.option(
    "--metrics-port",
    type=int,
    help="Serve Prometheus /metrics on 127.0.0.1:PORT (make up: the pipeline_metrics port).",
)
@click.option("--instance", hidden=True, help="Marks the process for the services script.")
def pipeline(
    consumer: str | None,
    exit_when_idle: float | None,
    sinks: str,
    stats_json: str | None,
    metrics_port: int | None,
    instance: str | None,
) -> None:
    """Run a pipeline worker: event log → enrichment → ClickHouse and profiles.

    SIGTERM or Ctrl-C: the current batch is written and committed, then the worker exits."""
    from pipelines.runner import run_worker
    from pipelines.worker import DeadLetterStorm

    settings = _settings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    _tune_garbage_collector()
    from pipelines.memory import tune_malloc

    tune_malloc()
    try:
        worker = run_worker(
            settings,
            stop,
            consumer=consumer,
            idle_exit_seconds=exit_when_idle,
            steps=None if sinks == "all" else [name.strip() for name in sinks.split(",")],
            keep_lags=stats_json is not None,
            on_start=_metrics_server(metrics_port),
        )
    except DeadLetterStorm as exc:
        click.echo(f"pipeline stopped: {exc}", err=True)
        sys.exit(3)
    except ValueError as exc:  # an unknown step name
        raise click.BadParameter(str(exc), param_hint="--sinks") from None
    stats = worker.stats
    if stats_json:
        import json

        document = stats.as_json()
        builder = worker.builder
        document["enrich_seconds"] = builder.seconds
        document["caches"] = builder.cache_stats()
        document["max_rss_mb"] = _peak_rss_mb()
        with open(stats_json, "w") as out:
            json.dump(document, out, indent=2)
    click.echo(
        f"pipeline: {stats.events} events in {stats.batches} batches, "
        f"{stats.dead_letters} dead letters, {stats.retries} retries",
        err=True,
    )


@click.command()
@click.option("--status", is_flag=True, help="Only print the schema version.")
def migrate(status: bool) -> None:
    """Create or upgrade the ClickHouse schema (idempotent).

    On chdb, when a pipeline worker owns the folder, the migration runs through it."""
    from pipelines.warehouse.factory import open_warehouse
    from pipelines.warehouse.migrate import current_version, latest_version
    from pipelines.warehouse.migrate import migrate as apply

    settings = _settings()
    try:
        with open_warehouse(settings.clickhouse_url, role="tool") as warehouse:
            if status:
                click.echo(f"schema version {current_version(warehouse)} of {latest_version()}")
                return
            report = apply(warehouse)
    except (WarehouseUnavailable, WarehouseError) as exc:
        raise click.ClickException(str(exc)) from None
    if report.applied:
        click.echo(f"schema {report.before} -> {report.after}")
    else:
        click.echo(f"schema is current (version {report.after})")


@click.group()
def profiles() -> None:
    """Visitor profiles in Redis (derived state: rebuildable from ClickHouse)."""


@profiles.command("rebuild")
@click.option("--site", "sites", multiple=True, required=True, help="Site id (repeatable).")
def profiles_rebuild(sites: tuple[str, ...]) -> None:
    """Recompute the profiles of SITEs from the events in ClickHouse.

    Stop the site's pipeline workers first (a clean SIGTERM): the rebuilt profiles carry no
    log positions, so a record a worker applied after the rebuild's read would count twice."""
    from pipelines.profiles_rebuild import rebuild_from_warehouse
    from pipelines.runner import open_profile_writer
    from pipelines.warehouse.factory import open_warehouse

    settings = _settings()
    try:
        with open_warehouse(settings.clickhouse_url, timeout=600, role="tool") as warehouse:
            sink = open_profile_writer(settings)
            for site_id in sites:
                result = rebuild_from_warehouse(warehouse, sink, site_id)
                click.echo(f"{site_id}: {result.events} events into {result.profiles} profiles")
    except (WarehouseUnavailable, WarehouseError) as exc:
        raise click.ClickException(str(exc)) from None


def _peak_rss_mb() -> float:
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a worker started by a big
    # process would report its parent's peak.
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _metrics_server(port: int | None):  # noqa: ANN202 - a callback or None
    if port is None:
        return None

    def start(worker) -> None:  # noqa: ANN001
        from pipelines.metrics import serve_metrics

        serve_metrics(lambda: worker, port)

    return start


def _tune_garbage_collector() -> None:
    """The worker allocates ~100,000 short-lived containers a batch, without cycles (rows are
    freed by reference counting). With CPython's default thresholds the cyclic collector
    rescanned every batch in flight over and over: measured (both sinks, server engine) 16.3k
    events/s with the defaults, 20.8k with what was loaded at start frozen out of collection
    and the older generations collected a thousand times less often. Young cycles are still
    collected every 100,000 allocations."""
    from clicktrail.serving.heap import freeze_loaded

    freeze_loaded(young_allocations=100_000)
