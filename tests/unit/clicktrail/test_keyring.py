from __future__ import annotations

import stat

from clicktrail.secrets.keyring import load_keyring, rotate_keyring

DAY = 86400


def test_key_file_is_private_and_stable(tmp_path):
    path = tmp_path / "secrets.json"
    first = load_keyring(path, DAY, now=1000)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_keyring(path, DAY, now=2000) == first


def test_rotation_keeps_old_tokens_valid_for_the_grace_period(tmp_path):
    path = tmp_path / "secrets.json"
    keyring = load_keyring(path, DAY, now=1000)
    token = keyring.sign(b"visitor-1")
    rotated = rotate_keyring(path, DAY, now=5000)
    assert rotated.current != keyring.current
    assert rotated.sign(b"visitor-1") != token
    assert rotated.verify(b"visitor-1", token, now=5000 + DAY)
    assert not rotated.verify(b"visitor-1", token, now=5001 + DAY)
    assert not rotated.verify(b"visitor-2", token, now=5000)


def test_keys_past_their_grace_are_deleted(tmp_path):
    path = tmp_path / "secrets.json"
    load_keyring(path, DAY, now=0)
    rotate_keyring(path, DAY, now=10)
    keyring = rotate_keyring(path, DAY, now=10 + 2 * DAY)
    assert len(keyring.keys) == 2  # the first key is gone, not only unused


def test_unknown_key_id_does_not_verify(tmp_path):
    keyring = load_keyring(tmp_path / "s.json", DAY, now=0)
    assert not keyring.verify(b"m", "nokey." + keyring.sign(b"m").split(".")[1], now=0)
