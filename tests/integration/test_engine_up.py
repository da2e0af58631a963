"""The engine as `make up` starts it (scripts/services: detached processes beside the services,
idempotently, on a port offset of its own): an event sent to the collector reaches the
pipeline worker, which writes and commits it; readiness follows the event log."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from clicktrail import ports

pytestmark = [pytest.mark.services, pytest.mark.redis]

ROOT = Path(__file__).parents[2]
OFFSET = ports.port_offset() + 700  # this test's own engine, above the run's ports
SHOP = "https://shop.example.test"


CAMPAIGN = {
    "id": "welcome",
    "name": "Welcome",
    "creatives": [
        {
            "id": "welcome-a",
            "placement": "top",
            "image_url": "https://cdn.example.test/welcome.png",
            "alt": "Welcome",
            "landing_url": "https://shop.example.test/welcome",
            "width": 300,
            "height": 250,
        }
    ],
}


def environment(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "CLICKTRAIL_PORT_OFFSET": str(OFFSET),
        "CLICKTRAIL_SERVICES_DIR": str(tmp_path / "run"),
        "CLICKTRAIL_DATA_DIR": str(tmp_path / "data"),
    }


def services(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / "scripts" / "services"), *args],
        env=environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )


def get(port_name: str, path: str) -> tuple[int, str]:
    url = f"http://127.0.0.1:{ports.BASE_PORTS[port_name] + OFFSET}{path}"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError as error:
        return 0, str(error)


def events_committed() -> float:
    _, text = get("pipeline_metrics", "/metrics")
    for line in text.splitlines():
        if line.startswith("clicktrail_pipeline_events_total "):
            return float(line.split()[1])
    return -1.0


def wait_for(condition, seconds: float) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def send_page_view() -> int:
    event = {
        "event_id": str(uuid.uuid4()),
        "event_type": "page_view",
        "visitor_id": "v_engine_up",
        "created_at": int(time.time() * 1000),
        "url": f"{SHOP}/",
    }
    port = ports.BASE_PORTS["collector"] + OFFSET
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/events",
        data=json.dumps({"site_id": "shop", "events": [event]}).encode(),
        headers={"Origin": SHOP, "Content-Type": "text/plain"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def decide(through: str = "personalizer") -> dict:
    port = ports.BASE_PORTS[through] + OFFSET
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/decide",
        data=json.dumps({"site_id": "shop", "visitor_id": "v1", "placements": ["top"]}).encode(),
        headers={"Origin": SHOP, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def test_an_event_goes_through_the_started_engine(tmp_path):
    names = ("redis-state", "redis-profile", "collector", "pipeline", "personalizer")
    try:
        added = subprocess.run(
            ["python", "-m", "clicktrail.cli", "sites", "add", "shop", "--origin", SHOP],
            env=environment(tmp_path),
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        assert added.returncode == 0, added.stderr
        started = subprocess.run(
            ["make", "up"], env=environment(tmp_path), cwd=ROOT, capture_output=True, text=True
        )
        assert started.returncode == 0, started.stderr
        # It ends with every part's address, each answering, and no demo shop by default.
        for part in ("dashboard", "collector", "personalizer", "reports API", "pipeline"):
            assert re.search(rf"^  {part} +http://127\.0\.0\.1:\d+/\S* +ok$", started.stdout, re.M)
        assert "demo" not in started.stdout
        assert get("reports", "/demo/")[0] == 404
        status = subprocess.run(
            ["make", "status"], env=environment(tmp_path), cwd=ROOT, capture_output=True, text=True
        )
        assert status.returncode == 0, status.stdout + status.stderr  # every part answers
        assert re.search(r"^collector +up ", status.stdout, re.M), status.stdout
        assert re.search(r"^  pipeline +http://\S+ +ok$", status.stdout, re.M), status.stdout
        # What the settings do not use is not needed, not "down", and no error is ignored.
        assert re.search(r"^kafka +not needed ", status.stdout, re.M), status.stdout
        assert re.search(r"^clickhouse +not needed ", status.stdout, re.M), status.stdout
        assert "Error" not in status.stderr and "ignored" not in status.stderr, status.stderr
        held = services(tmp_path, "memory", "reports").stdout
        assert re.search(r"^reports +2 ", held, re.M), held  # gunicorn's master and one worker
        # On the defaults (Redis Streams, embedded chdb) neither broker nor server is started.
        statuses = services(tmp_path, "status").stdout
        assert re.search(r"^kafka +down", statuses, re.M), statuses
        assert re.search(r"^clickhouse +down", statuses, re.M), statuses
        assert services(tmp_path, "status", *names, "reports").returncode == 0
        assert "already running" in services(tmp_path, "start", "collector", "pipeline").stderr
        status, body = get("collector", "/readyz")
        assert status == 200, body
        assert get("pipeline_metrics", "/readyz")[0] == 200  # joined and reading
        assert (tmp_path / "data" / "chdb").is_dir()  # it owns the embedded warehouse

        assert get("personalizer", "/readyz")[0] == 200
        assert decide()["placements"] == {"top": None}  # no campaign yet: an empty slot
        # the decision is logged (one decision event) and the worker loads it
        assert wait_for(lambda: events_committed() == 1, 30), "the decision was never logged"

        assert wait_for(lambda: send_page_view() == 202, 10)
        assert wait_for(lambda: events_committed() == 2, 30), "the worker never committed it"

        # a campaign, decided through the collector's origin: its links are the collector's
        campaigns = tmp_path / "campaigns.json"
        campaigns.write_text(json.dumps({"campaigns": [CAMPAIGN]}))
        applied = subprocess.run(
            ["python", "-m", "clicktrail.cli", "campaigns", "apply", str(campaigns)]
            + ["--site", "shop"],
            env=environment(tmp_path),
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        assert applied.returncode == 0, applied.stderr
        assert wait_for(lambda: decide("collector")["placements"]["top"] is not None, 10)
        placed = decide("collector")["placements"]["top"]
        collector = f"http://127.0.0.1:{ports.BASE_PORTS['collector'] + OFFSET}/v1/pz/"
        assert placed["impression_url"].startswith(collector + "i?")
        assert placed["click_url"].startswith(collector + "c?")

        # The event log (redis-state) away: neither the collector nor the worker is ready.
        assert services(tmp_path, "stop", "redis-state").returncode == 0
        assert wait_for(lambda: get("collector", "/readyz")[0] == 503, 10)
        assert wait_for(lambda: get("pipeline_metrics", "/readyz")[0] == 503, 20)
        assert get("pipeline_metrics", "/healthz")[0] == 200  # alive all the same
        down = subprocess.run(
            ["make", "status"], env=environment(tmp_path), cwd=ROOT, capture_output=True, text=True
        )
        assert down.returncode != 0 and re.search(r"^redis-state +down ", down.stdout, re.M)
        assert "needed and not up: redis-state" in down.stderr, down.stderr
        assert services(tmp_path, "start", "redis-state").returncode == 0
        assert wait_for(lambda: get("pipeline_metrics", "/readyz")[0] == 200, 30)
        assert wait_for(lambda: get("collector", "/readyz")[0] == 200, 10)
        assert "collector      up" in services(tmp_path, "status", "collector").stdout
    finally:
        stopped = services(tmp_path, "stop", "reports", "personalizer", "collector", "pipeline")
        services(tmp_path, "stop", "redis-state", "redis-profile")
    assert "stopped" in stopped.stderr and "killed" not in stopped.stderr  # SIGTERM was enough
    assert services(tmp_path, "status", "collector").returncode == 3


def make_plan(target: str) -> list[str]:
    """The commands ``make <target>`` runs when setup.cfg has just changed (``make -n -W``)."""
    planned = subprocess.run(
        ["make", "-n", "-W", "setup.cfg", target], cwd=ROOT, capture_output=True, text=True
    )
    assert planned.returncode == 0, planned.stderr
    return planned.stdout.splitlines()


def test_make_up_installs_what_running_needs_and_make_test_the_tools():
    installs = [line for line in make_plan("up") if " pip install " in line]
    # Only the package and its running dependencies, and pip's own progress lines shown.
    assert len(installs) == 1 and installs[0].endswith(" -e ."), installs
    assert "--quiet" not in installs[0] and " -q" not in installs[0]
    # make test (lint first) adds the test and lint tools, under a stamp of their own.
    tools = [line for line in make_plan("test") if " pip install " in line]
    assert tools[0] == installs[0] and tools[1].endswith(" -e '.[test,dev]'"), tools
    assert any(".cache/install-dev.stamp" in line for line in make_plan("install-dev"))
