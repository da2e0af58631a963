"""A running service picks up registry edits made by another process, without a restart."""

from __future__ import annotations

import subprocess
import sys
import time

from clicktrail.sites.registry import SiteRegistry


def _cli(tmp_path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clicktrail.cli", "sites", *args],
        env={"CLICKTRAIL_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )


def _wait_for(condition, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_edits_by_the_cli_reach_a_running_registry(tmp_path):
    registry = SiteRegistry(tmp_path / "sites.json", reload_seconds=0.1)
    assert registry.get("shop") is None

    _cli(tmp_path, "add", "shop", "--origin", "https://shop.example.test")
    assert _wait_for(lambda: registry.get("shop") is not None)

    _cli(tmp_path, "update", "shop", "--origin", "https://www.shop.example.test")
    assert _wait_for(lambda: registry.get("shop").allows_origin("https://www.shop.example.test"))
    assert not registry.get("shop").allows_origin("https://shop.example.test")

    _cli(tmp_path, "remove", "shop")
    assert _wait_for(lambda: registry.get("shop") is None)
