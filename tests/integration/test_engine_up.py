"""`make up` starts the collector as a detached process beside the services, idempotently."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from pathlib import Path

import pytest

from clicktrail import ports

pytestmark = pytest.mark.services

ROOT = Path(__file__).parents[2]
OFFSET = 700


def services(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CLICKTRAIL_PORT_OFFSET": str(OFFSET),
        "CLICKTRAIL_SERVICES_DIR": str(tmp_path / "run"),
        "CLICKTRAIL_DATA_DIR": str(tmp_path / "data"),
    }
    return subprocess.run(
        [str(ROOT / "scripts" / "services"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_collector_starts_once_answers_and_stops(tmp_path):
    try:
        first = services(tmp_path, "start", "collector")
        assert first.returncode == 0, first.stderr
        second = services(tmp_path, "start", "collector")
        assert "already running" in second.stderr
        port = ports.BASE_PORTS["collector"] + OFFSET
        health = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz").read())
        assert health == {"status": "ok"}
        assert "collector      up" in services(tmp_path, "status", "collector").stdout
    finally:
        stopped = services(tmp_path, "stop", "collector")
    assert "stopped" in stopped.stderr
    assert services(tmp_path, "status", "collector").returncode == 3


def test_pipeline_worker_starts_once_serves_metrics_and_stops_cleanly(tmp_path):
    """The worker of `make up`: redis log, chdb warehouse in the data folder, profiles."""
    try:
        assert services(tmp_path, "start", "redis-state", "redis-profile").returncode == 0
        first = services(tmp_path, "start", "pipeline")
        assert first.returncode == 0, first.stderr
        assert "already running" in services(tmp_path, "start", "pipeline").stderr
        port = ports.BASE_PORTS["pipeline_metrics"] + OFFSET
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
        assert "clicktrail_pipeline_events_total 0.0" in metrics
        assert (tmp_path / "data" / "chdb").is_dir()  # it owns the embedded warehouse
    finally:
        stopped = services(tmp_path, "stop", "pipeline")
        services(tmp_path, "stop", "redis-state", "redis-profile")
    assert "stopped" in stopped.stderr and "killed" not in stopped.stderr  # SIGTERM was enough
