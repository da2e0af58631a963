"""The snippet's own unit tests (pure helpers against the shared protocol fixtures, and the
committed bundle against a fresh build and the size budget), run by Node's test runner."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

SNIPPET = Path(__file__).parents[2] / "js_snippet"


def test_node_unit_tests_pass():
    node = shutil.which("node")
    assert node, "node is not installed (the machine image provides it)"
    assert (SNIPPET / "node_modules" / "esbuild").is_dir(), (
        "js_snippet/node_modules is missing: run `make snippet-deps`"
    )
    result = subprocess.run(
        [node, "--test", "test/"], cwd=SNIPPET, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
