"""The personalizer's view of the signing keys (``personalizer.app.KeyringSource``): read once,
re-read after its interval so a rotation reaches a running process, and kept when a re-read
fails."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from clicktrail.secrets.keyring import KeyringError, rotate_keyring
from clicktrail.settings import Settings
from personalizer.app import KeyringSource

GRACE = 30 * 86_400


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def settings_in(folder: Path, **overrides) -> Settings:  # noqa: ANN003
    return Settings.from_env({}, data_dir=folder, secrets_file=folder / "secrets.json", **overrides)


def test_the_interval_is_a_setting_of_60_s_by_default(tmp_path):
    assert KeyringSource(settings_in(tmp_path))._reload == 60.0
    quick = Settings.from_env({"CLICKTRAIL_SIGNING_KEY_RELOAD_SECONDS": "0.5"}, data_dir=tmp_path)
    assert KeyringSource(quick)._reload == 0.5
    assert KeyringSource(quick, reload_seconds=7)._reload == 7


def test_a_rotation_is_seen_after_the_interval_not_before(tmp_path):
    settings = settings_in(tmp_path)
    ticks = Ticks()
    source = KeyringSource(settings, reload_seconds=60, monotonic=ticks)
    first = source()
    link = first.sign(b"click")
    rotated = rotate_keyring(settings.secrets_file, GRACE, int(time.time()))
    ticks.now += 59.9
    assert source().current == first.current  # read once an interval, not per request
    ticks.now += 0.1
    assert source().current == rotated.current != first.current
    assert source().sign(b"click").startswith(rotated.current.key_id + ".")
    assert source().verify(b"click", link, int(time.time()))  # the old key, within its grace


def test_a_key_file_that_breaks_keeps_the_loaded_keys(tmp_path, caplog):
    settings = settings_in(tmp_path)
    ticks = Ticks()
    source = KeyringSource(settings, reload_seconds=1, monotonic=ticks)
    loaded = source()
    settings.secrets_file.write_text("{not json")
    ticks.now += 1
    assert source() == loaded
    assert "signing keys not re-read" in caplog.text
    rotated = rotate_keyring(settings.secrets_file.with_name("other.json"), GRACE, 0)
    settings.secrets_file.write_text(settings.secrets_file.with_name("other.json").read_text())
    assert source() == loaded  # tried again only after the interval
    ticks.now += 1
    assert source().current == rotated.current


def test_no_keys_at_all_is_an_error(tmp_path):
    settings = settings_in(tmp_path)
    settings.secrets_file.write_text("[]")
    with pytest.raises(KeyringError):
        KeyringSource(settings)()
