"""The dashboard's committed bundle is what its build makes from the lockfile's versions, and
stays within its size budget; the pages reference only files that exist."""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
from pathlib import Path

DASHBOARD = Path(__file__).parents[3] / "reports" / "dashboard"
ASSETS = DASHBOARD / "assets"
BUNDLE = DASHBOARD / "static" / "dashboard.min.js"
BUDGET_GZIP = 70_000  # Chart.js + the matrix chart measured 62,211 B (docs/dashboard.md)


def test_the_committed_bundle_is_a_fresh_build(tmp_path: Path):
    node = shutil.which("node")
    assert node, "node is not installed (the machine image provides it)"
    assert (ASSETS / "node_modules" / "esbuild").is_dir(), (
        "reports/dashboard/assets/node_modules is missing: run `make dashboard-deps`"
    )
    out = tmp_path / "dashboard.min.js"
    result = subprocess.run(
        [node, "scripts/build.mjs", f"--out={out}"],
        cwd=ASSETS,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == BUNDLE.read_bytes(), (
        "static/dashboard.min.js is stale: run `make dashboard-assets` and commit it"
    )


def test_the_bundle_is_within_its_budget():
    assert len(gzip.compress(BUNDLE.read_bytes(), 9)) <= BUDGET_GZIP


def test_templates_name_only_static_files_that_exist():
    names = set()
    for template in (DASHBOARD / "templates").rglob("*.html"):
        names |= set(re.findall(r"filename='([^']+)'", template.read_text()))
    assert names == {"dashboard.css", "dashboard.min.js"}
    assert all((DASHBOARD / "static" / name).is_file() for name in names)
