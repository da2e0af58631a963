"""The personalizer's gunicorn settings come from the environment (CLICKTRAIL_PERSONALIZER_*)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest


def _load(monkeypatch: pytest.MonkeyPatch, folder: Path, **env: str) -> object:
    # set here, so the module's import does not make one that outlives the test
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    sys.modules.pop("personalizer.gunicorn_conf", None)
    try:
        return importlib.import_module("personalizer.gunicorn_conf")
    finally:
        sys.modules.pop("personalizer.gunicorn_conf", None)


def test_threads_and_workers_come_from_the_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    conf = _load(
        monkeypatch,
        tmp_path,
        CLICKTRAIL_PERSONALIZER_THREADS="3",
        CLICKTRAIL_PERSONALIZER_WORKERS="5",
    )
    assert (conf.worker_class, conf.threads, conf.workers) == ("gthread", 3, 5)  # type: ignore[attr-defined]


def test_threads_default_to_eight(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CLICKTRAIL_PERSONALIZER_THREADS", raising=False)
    assert _load(monkeypatch, tmp_path).threads == 8  # type: ignore[attr-defined]
