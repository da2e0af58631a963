from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from clicktrail.cli import cli
from clicktrail.tokens.model import TokenError, new_token
from clicktrail.tokens.registry import TokenRegistry, edit_tokens


def test_roles_and_sites():
    _, marketer = new_token("shop", "marketer", 0)
    assert marketer.allows("campaigns", "shop") and not marketer.allows("campaigns", "other")
    assert not marketer.allows("decide_trusted", "shop")
    _, adserver = new_token("*", "adserver", 0)
    assert adserver.allows("decide_trusted", "anything") and not adserver.allows("reports", "x")
    with pytest.raises(TokenError, match="role"):
        new_token("shop", "owner", 0)
    with pytest.raises(TokenError, match="site"):
        new_token("shop shop", "read", 0)


def test_the_registry_authenticates_only_the_real_secret_and_sees_revocations(tmp_path):
    path = tmp_path / "tokens.json"
    secret, token = new_token("shop", "admin", 0)
    with edit_tokens(path) as entries:
        entries[token.token_id] = token
    assert secret not in path.read_text()  # only the digest is stored
    clock = [0.0]
    registry = TokenRegistry(path, reload_seconds=1.0, clock=lambda: clock[0])
    assert registry.authenticate(secret) == token
    for wrong in (secret[:-1] + "x", secret + "x", "", None, "Bearer " + secret, "ctt_zz_x"):
        assert registry.authenticate(wrong) is None
    with edit_tokens(path) as entries:
        del entries[token.token_id]
    clock[0] = 2.0
    assert registry.authenticate(secret) is None


def test_an_invalid_file_keeps_the_last_good_tokens(tmp_path):
    path = tmp_path / "tokens.json"
    secret, token = new_token("shop", "read", 0)
    with edit_tokens(path) as entries:
        entries[token.token_id] = token
    clock = [0.0]
    registry = TokenRegistry(path, clock=lambda: clock[0])
    path.write_text(json.dumps({"version": 1, "tokens": {"x": {"role": "god"}}}))
    clock[0] = 5.0
    assert registry.authenticate(secret) == token


def test_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv("CLICKTRAIL_DATA_DIR", str(tmp_path))
    runner = CliRunner()
    added = runner.invoke(cli, ["tokens", "add", "--site", "shop", "--role", "marketer"])
    assert added.exit_code == 0, added.output
    secret = added.output.strip().splitlines()[-1]
    registry = TokenRegistry(tmp_path / "tokens.json")
    token = registry.authenticate(secret)
    assert token is not None and token.role == "marketer"
    listed = runner.invoke(cli, ["tokens", "list"]).output
    assert token.token_id in listed and secret not in listed
    assert runner.invoke(cli, ["tokens", "revoke", token.token_id]).exit_code == 0
    assert runner.invoke(cli, ["tokens", "revoke", token.token_id]).exit_code == 1
