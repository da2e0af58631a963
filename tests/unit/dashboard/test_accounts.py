"""Dashboard accounts: hashed passwords, roles and sites, the file and its registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clicktrail.accounts.model import Account, AccountError, new_account
from clicktrail.accounts.registry import AccountRegistry, edit_accounts, read_accounts


def test_only_a_standard_hash_of_the_password_is_kept():
    account = new_account("ana@example.com", "correct horse", "marketer", ("shop",), 1)
    assert "correct horse" not in json.dumps(account.to_json())
    assert account.password_hash.startswith(("scrypt:", "pbkdf2:"))
    assert account.check_password("correct horse")
    assert not account.check_password("correct horsf")
    other = new_account("ana@example.com", "correct horse", "marketer", ("shop",), 1)
    assert other.password_hash != account.password_hash  # salted
    assert other.fingerprint != account.fingerprint


@pytest.mark.parametrize(
    ("username", "password", "role", "sites"),
    [
        ("ana", "short", "read", ("shop",)),
        ("ana smith", "long enough pw", "read", ("shop",)),
        ("ana", "long enough pw", "adserver", ("shop",)),
        ("ana", "long enough pw", "read", ()),
        ("ana", "long enough pw", "read", ("no/such",)),
    ],
)
def test_bad_accounts_are_refused_with_a_reason(username, password, role, sites):
    with pytest.raises(AccountError):
        new_account(username, password, role, sites, 1)


def test_roles_and_sites():
    reader = new_account("r", "long enough pw", "read", ("shop", "blog"), 1)
    assert reader.allows("reports", "shop") and reader.allows("reports", "blog")
    assert not reader.allows("reports", "other")
    assert not reader.allows("campaigns", "shop")
    admin = new_account("a", "long enough pw", "admin", ("*",), 1)
    assert admin.allows("reports", "anything") and admin.allows("campaigns", "x")


def test_the_file_round_trips_and_the_registry_follows_it(tmp_path: Path):
    path = tmp_path / "accounts.json"
    registry = AccountRegistry(path, reload_seconds=0)
    assert registry.get("ana") is None
    with edit_accounts(path) as entries:
        entries["ana"] = new_account("ana", "long enough pw", "read", ("shop",), 7)
    assert (path.stat().st_mode & 0o777) == 0o600
    loaded = read_accounts(path)["ana"]
    assert loaded == registry.get("ana") and loaded.created_at == 7
    path.write_text("{not json")
    assert registry.get("ana") == loaded  # an invalid file keeps the last good accounts
    with pytest.raises(AccountError):
        read_accounts(path)
    with pytest.raises(AccountError):
        Account.from_json("x", {"role": "read", "sites": ["s"], "password_hash": "plain"})
