"""No HTTP service writes an access log (docs/privacy.md): each gunicorn configuration sets
``accesslog = None`` (gunicorn's default logs nothing either, but a configuration must say so
rather than rely on it), and the pipeline worker's metrics server logs no request."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[3]


def _assigned(path: Path) -> dict[str, object]:
    values = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    values[target.id] = node.value.value
    return values


@pytest.mark.parametrize("service", ["tracker", "personalizer", "reports"])
def test_no_gunicorn_configuration_writes_an_access_log(service: str) -> None:
    settings = _assigned(ROOT / service / "gunicorn_conf.py")
    assert "accesslog" in settings and settings["accesslog"] is None
    assert settings.get("errorlog") == "-"  # stderr: the service manager's journal


def test_the_metrics_server_logs_no_request() -> None:
    tree = ast.parse((ROOT / "pipelines" / "metrics.py").read_text())
    silenced = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        and node.name == "log_message"
        and all(isinstance(line, ast.Pass | ast.Expr) for line in node.body)
    ]
    assert silenced
