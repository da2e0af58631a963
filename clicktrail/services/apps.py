"""Clicktrail's own long-running processes, run like the services: the collector and a
pipeline worker (and, as its issue lands, the personalizer). ``make up`` starts them after
the services they need."""

from __future__ import annotations

import os
import sys
import urllib.request
from pathlib import Path

from clicktrail import ports
from clicktrail.services.base import REPO_ROOT, Service


class Collector(Service):
    name = "collector"
    start_timeout = 30.0

    @property
    def port(self) -> int:
        return ports.port("collector")

    @property
    def config_file(self) -> Path:
        # No file of its own: the path is only a marker on the command line (gunicorn --name),
        # which is how the pidfile's pid is recognised as this instance.
        return self.folder / "collector.instance"

    def prepare(self) -> None:
        self.config_file.touch()

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "python:tracker.gunicorn_conf",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--name",
            str(self.config_file),
            "tracker.wsgi:app",
        ]

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        # The launcher runs it in its own folder: relative paths must not move with it.
        env["CLICKTRAIL_DATA_DIR"] = str(
            Path(env.get("CLICKTRAIL_DATA_DIR", REPO_ROOT / "var")).resolve()
        )
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        return env

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1):
                return True
        except OSError:
            return False


class Pipeline(Service):
    """One pipeline worker (``clicktrail pipeline``); ready once its /metrics answers, which
    is after its migrations ran and it joined its consumer group."""

    name = "pipeline"
    start_timeout = 90.0  # first start: chdb opens its folder, migrations run

    @property
    def port(self) -> int:
        return ports.port("pipeline_metrics")

    @property
    def config_file(self) -> Path:
        return self.folder / "pipeline.instance"

    def prepare(self) -> None:
        self.config_file.touch()

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "clicktrail.cli",
            "pipeline",
            "--metrics-port",
            str(self.port),
            "--instance",
            str(self.config_file),
        ]

    def environment(self) -> dict[str, str]:
        return Collector.environment(self)  # type: ignore[arg-type]

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=1):
                return True
        except OSError:
            return False
