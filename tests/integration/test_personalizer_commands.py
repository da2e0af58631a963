"""clicktrail campaigns apply/export/history and catalog import, against the real durable
Redis."""

from __future__ import annotations

import json
import uuid

import pytest
import yaml
from click.testing import CliRunner

from clicktrail.cli import cli

pytestmark = pytest.mark.redis

FILE = """
campaigns:
  - id: spring
    name: Spring sale
    priority: 2
    rules: {country: [DE, AT]}
    creatives:
      - {id: spring-a, placement: top, image_url: "https://cdn.example.test/a.png",
         alt: Spring, landing_url: "https://shop.example.test/spring", width: 300, height: 250}
"""


def run(*args: str, env: dict) -> object:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_apply_dry_run_apply_export_and_history(tmp_path):
    site = f"s{uuid.uuid4().hex[:10]}"
    env = {"CLICKTRAIL_DATA_DIR": str(tmp_path)}
    path = tmp_path / "campaigns.yaml"
    path.write_text(FILE)
    dry = run("campaigns", "apply", str(path), "--site", site, "--dry-run", env=env)
    assert dry.exit_code == 0 and "+ spring (Spring sale)" in dry.output
    assert "applied" not in dry.output
    assert "no changes" not in run("campaigns", "apply", str(path), "--site", site, env=env).output
    assert "no changes" in run("campaigns", "apply", str(path), "--site", site, env=env).output

    exported = run("campaigns", "export", "--site", site, env=env).output
    again = tmp_path / "again.yaml"
    again.write_text(exported)
    assert yaml.safe_load(exported)["campaigns"][0]["rules"] == {"country": ["DE", "AT"]}
    assert "no changes" in run("campaigns", "apply", str(again), "--site", site, env=env).output

    path.write_text(FILE.replace("priority: 2", "priority: 5"))
    changed = run("campaigns", "apply", str(path), "--site", site, env=env).output
    assert "~ spring.priority: 2 -> 5" in changed
    history = run("campaigns", "history", "--site", site, env=env).output.splitlines()
    assert [line.split()[2] for line in history] == ["change", "add"]


def test_a_bad_file_names_the_problem_and_changes_nothing(tmp_path):
    site = f"s{uuid.uuid4().hex[:10]}"
    env = {"CLICKTRAIL_DATA_DIR": str(tmp_path)}
    path = tmp_path / "campaigns.yaml"
    path.write_text(FILE.replace("width: 300", "width: -1"))
    result = CliRunner().invoke(cli, ["campaigns", "apply", str(path), "--site", site], env=env)
    assert result.exit_code == 1 and "creatives.0.width" in result.output
    assert yaml.safe_load(run("campaigns", "export", "--site", site, env=env).output) == {
        "campaigns": []
    }


def test_catalog_import_reports_rejections_and_is_idempotent(tmp_path):
    site = f"s{uuid.uuid4().hex[:10]}"
    env = {"CLICKTRAIL_DATA_DIR": str(tmp_path)}
    feed = tmp_path / "feed.csv"
    feed.write_text("sku,title,url,price\nA,Alpha,https://shop.example.test/a,100\nB,Beta,nope,5\n")
    first = CliRunner().invoke(cli, ["catalog", "import", str(feed), "--site", site], env=env)
    assert first.exit_code == 0
    assert json.loads(first.stdout.strip().splitlines()[-1])["written"] == 1
    assert "rejected line 3 (B): url" in first.output
    second = CliRunner().invoke(cli, ["catalog", "import", str(feed), "--site", site], env=env)
    assert json.loads(second.stdout.strip().splitlines()[-1]) == {
        "written": 0,
        "unchanged": 1,
        "removed": 0,
        "rejected": 1,
    }
