"""Every running personalizer process sees a campaign change within 5 s: a personalizer under
gunicorn with two workers (each its own cache), changed from another process by
``clicktrail campaigns apply``, against the real durable Redis."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from bench.harness.engine import make_engine
from clicktrail.cli import cli
from clicktrail.sites.model import Site
from clicktrail.sites.registry import edit_sites

pytestmark = pytest.mark.redis

ORIGIN = "https://shop.example.test"
WITHIN_SECONDS = 5.0  # the promise
AGREEING = 24  # consecutive answers, on fresh connections, that must all show the change


def campaigns_file(creative: str) -> str:
    return json.dumps(
        {
            "campaigns": [
                {
                    "id": "banner",
                    "name": "Banner",
                    "creatives": [
                        {
                            "id": creative,
                            "placement": "top",
                            "image_url": f"https://cdn.example.test/{creative}.png",
                            "alt": creative,
                            "landing_url": "https://shop.example.test/",
                            "width": 300,
                            "height": 250,
                        }
                    ],
                }
            ]
        }
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def running(tmp_path: Path, small_geoip_db: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    site_id = f"s{uuid.uuid4().hex[:10]}"
    engine = make_engine(tmp_path, "redis", geoip_db=small_geoip_db)
    with edit_sites(engine.settings.sites_file) as sites:
        sites[site_id] = Site(site_id, origins=(ORIGIN,))
    env = engine.env()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with (
        open(tmp_path / "personalizer.log", "wb") as log,
        subprocess.Popen(
            [sys.executable, "-m", "clicktrail.cli", "personalizer", "--workers", "2"]
            + ["--bind", f"127.0.0.1:{port}"],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=log,
        ) as server,
    ):
        yield from serve(server, base, site_id, env, tmp_path)


def serve(server, base, site_id, env, tmp_path):  # noqa: ANN001, ANN201
    try:
        deadline = time.monotonic() + 60
        while not ready(base):
            assert server.poll() is None, (tmp_path / "personalizer.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the personalizer did not become ready"
            time.sleep(0.2)
        yield base, site_id, env
    finally:
        server.terminate()
        server.wait(30)


def ready(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/readyz", timeout=2) as answer:
            return answer.status == 200
    except OSError:  # refused, reset or timed out: not yet
        return False


def shown(base: str, site_id: str) -> str:
    """The creative one decision shows, on a connection of its own (so any worker answers)."""
    body = json.dumps({"site_id": site_id, "visitor_id": "v1", "placements": ["top"]}).encode()
    request = urllib.request.Request(
        f"{base}/v1/decide",
        data=body,
        headers={"Content-Type": "application/json", "Origin": ORIGIN, "Connection": "close"},
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        placed = json.load(answer)["placements"]["top"]
    return placed["creative"]["id"] if placed else ""


def apply(tmp_path: Path, env: dict[str, str], site_id: str, creative: str) -> float:
    path = tmp_path / f"{creative}.json"
    path.write_text(campaigns_file(creative))
    result = CliRunner().invoke(cli, ["campaigns", "apply", str(path), "--site", site_id], env=env)
    assert result.exit_code == 0, result.output
    return time.monotonic()


def seconds_until_all_show(base: str, site_id: str, creative: str, since: float) -> float:
    agreeing = 0
    while agreeing < AGREEING:
        agreeing = agreeing + 1 if shown(base, site_id) == creative else 0
        if time.monotonic() - since > 3 * WITHIN_SECONDS:
            break
        if agreeing == 0:
            time.sleep(0.05)
    return time.monotonic() - since


def test_every_process_sees_a_change_within_five_seconds(running, tmp_path):
    base, site_id, env = running
    first = apply(tmp_path, env, site_id, "first")
    assert seconds_until_all_show(base, site_id, "first", first) <= WITHIN_SECONDS
    second = apply(tmp_path, env, site_id, "second")
    assert seconds_until_all_show(base, site_id, "second", second) <= WITHIN_SECONDS
