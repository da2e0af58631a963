"""``clicktrail accounts add|list|remove``: the dashboard's accounts file, edited from the
command line (found through the ``clicktrail.commands`` entry point)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from clicktrail.accounts.commands import accounts
from clicktrail.accounts.registry import read_accounts


def test_add_list_remove(tmp_path: Path):
    path = tmp_path / "accounts.json"
    env = {"CLICKTRAIL_ACCOUNTS_FILE": str(path), "CLICKTRAIL_DATA_DIR": str(tmp_path)}
    runner = CliRunner()
    added = runner.invoke(
        accounts,
        ["add", "ana", "--role", "marketer", "--site", "shop", "--site", "blog"],
        input="a long password\na long password\n",
        env=env,
    )
    assert added.exit_code == 0, added.output
    stored = read_accounts(path)["ana"]
    assert stored.sites == ("shop", "blog") and stored.check_password("a long password")
    assert "a long password" not in path.read_text()
    assert json.loads(path.read_text())["accounts"]["ana"]["role"] == "marketer"

    again = runner.invoke(
        accounts, ["add", "ana", "--role", "read", "--site", "*", "--password", "x" * 12], env=env
    )
    assert again.exit_code != 0 and "exists" in again.output
    short = runner.invoke(
        accounts, ["add", "bo", "--role", "read", "--site", "*", "--password", "short"], env=env
    )
    assert short.exit_code == 2 and "at least 10 characters" in short.output
    replaced = runner.invoke(
        accounts,
        ["add", "ana", "--role", "read", "--site", "*", "--password", "y" * 12, "--replace"],
        env=env,
    )
    assert replaced.exit_code == 0 and read_accounts(path)["ana"].role == "read"

    listed = runner.invoke(accounts, ["list"], env=env)
    assert listed.exit_code == 0 and "ana" in listed.output and "pbkdf2" not in listed.output
    assert "scrypt" not in listed.output
    assert runner.invoke(accounts, ["remove", "ana"], env=env).exit_code == 0
    assert read_accounts(path) == {}
    gone = runner.invoke(accounts, ["remove", "ana"], env=env)
    assert gone.exit_code != 0 and "no account ana" in gone.output


def test_the_clicktrail_command_has_it():
    result = subprocess.run(
        [sys.executable, "-m", "clicktrail.cli", "accounts", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "add" in result.stdout and "remove" in result.stdout
