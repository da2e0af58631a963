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
def pipeline(consumer: str | None, exit_when_idle: float | None) -> None:
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
    try:
        worker = run_worker(settings, stop, consumer=consumer, idle_exit_seconds=exit_when_idle)
    except DeadLetterStorm as exc:
        click.echo(f"pipeline stopped: {exc}", err=True)
        sys.exit(3)
    stats = worker.stats
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
        with open_warehouse(settings.clickhouse_url) as warehouse:
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
