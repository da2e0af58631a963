"""``clicktrail collector``: the collector under gunicorn."""

from __future__ import annotations

import os
import sys

import click

from clicktrail.cli import load_settings


@click.command()
@click.option(
    "--workers", type=int, help="Worker processes (default CLICKTRAIL_COLLECTOR_WORKERS)."
)
@click.option(
    "--threads", type=int, help="Threads per worker (default CLICKTRAIL_COLLECTOR_THREADS)."
)
@click.option("--bind", help="host:port (default CLICKTRAIL_COLLECTOR_BIND).")
def collector(workers: int | None, threads: int | None, bind: str | None) -> None:
    """Run the collector under gunicorn (replaces this process)."""
    load_settings()  # fail here, with the variable's name, rather than in every worker
    args = ["gunicorn", "-c", "python:tracker.gunicorn_conf"]
    for flag, value in (("--workers", workers), ("--threads", threads), ("--bind", bind)):
        if value is not None:
            args += [flag, str(value)]
    os.execvp(sys.executable, [sys.executable, "-m", *args, "tracker.wsgi:app"])
