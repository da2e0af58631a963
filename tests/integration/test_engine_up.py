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
