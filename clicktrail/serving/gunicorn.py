"""The gunicorn hooks every service's config shares: a fresh metrics folder per run, dead
workers' samples merged, the folder removed at exit. A config does
``from clicktrail.serving.gunicorn import child_exit, on_exit, on_starting  # noqa: F401``
after ``metrics_folder(prefix)``."""

from __future__ import annotations

import os
import shutil
import tempfile


def metrics_folder(prefix: str) -> str:
    """``PROMETHEUS_MULTIPROC_DIR``, made now if unset: it must be set before any worker
    imports prometheus_client."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix=prefix)
    return os.environ["PROMETHEUS_MULTIPROC_DIR"]


def on_starting(server: object) -> None:
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    for name in os.listdir(folder):  # samples of a previous run
        os.unlink(os.path.join(folder, name))


def child_exit(server: object, worker: object) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]


def on_exit(server: object) -> None:
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    if folder.startswith(tempfile.gettempdir()):
        shutil.rmtree(folder, ignore_errors=True)
