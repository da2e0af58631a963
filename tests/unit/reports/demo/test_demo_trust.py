"""Who the collector believes when the demo is on: the demo front's one loopback address,
added by ``make up`` only with CLICKTRAIL_DEMO; a front anywhere but loopback is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from clicktrail.services.apps import Collector, Personalizer
from clicktrail.settings import ConfigError, Settings


def test_the_front_must_be_a_loopback_address() -> None:
    assert Settings.from_env({"CLICKTRAIL_DEMO_FRONT_ADDRESS": "127.0.0.9"}).demo_front_address
    with pytest.raises(ConfigError, match="CLICKTRAIL_DEMO_FRONT_ADDRESS: must be a loopback"):
        Settings.from_env({"CLICKTRAIL_DEMO_FRONT_ADDRESS": "10.0.0.2"})
    assert Settings.from_env({}).demo is False  # never by default


def test_make_up_trusts_the_front_only_with_the_demo_on(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.delenv("CLICKTRAIL_TRUSTED_PROXIES", raising=False)
    monkeypatch.delenv("CLICKTRAIL_DEMO", raising=False)
    assert "CLICKTRAIL_TRUSTED_PROXIES" not in Collector(tmp_path).environment()

    monkeypatch.setenv("CLICKTRAIL_DEMO", "1")
    assert Collector(tmp_path).environment()["CLICKTRAIL_TRUSTED_PROXIES"] == "127.0.0.2/32"
    # the personalizer believes the collector's relay on loopback, as without the demo
    assert Personalizer(tmp_path).environment()["CLICKTRAIL_TRUSTED_PROXIES"] == (
        "127.0.0.1/32,::1/128"
    )

    monkeypatch.setenv("CLICKTRAIL_TRUSTED_PROXIES", "10.1.0.0/16")
    assert Collector(tmp_path).environment()["CLICKTRAIL_TRUSTED_PROXIES"] == (
        "10.1.0.0/16,127.0.0.2/32"
    )
