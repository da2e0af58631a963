"""``bench/reports.py`` at a tiny size on chdb: it loads simulated events, builds the rollups
and writes every report's figure, named as the issue names them. Speed is never asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
REPORTS = ("interests", "audience", "products", "campaigns", "funnels", "retention", "sales")


@pytest.mark.slow
def test_bench_reports_smoke(tmp_path):
    name = f"reports-smoke-{tmp_path.name}"
    result_file = ROOT / "bench" / "results" / f"{name}.json"
    args = ["--events", "2000", "--days", "3", "--engine", "chdb", "--repeat", "1"]
    args += ["--skip-pipeline", "--skip-backtest", "--name", name]
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bench.reports", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        figures = {f["metric"]: f for f in json.loads(result_file.read_text())["figures"]}
    finally:
        result_file.unlink(missing_ok=True)
    assert figures["events loaded"]["value"] >= 2000
    for report in REPORTS:
        figure = figures[f"{report} chdb ms"]
        assert figure["unit"] == "ms" and figure["value"] > 0
