"""What ``make up`` ends with: every part's address at the settings' port offset (the demo shop
only with CLICKTRAIL_DEMO), and how to sign in (the demo account once the seed made it)."""

from __future__ import annotations

import json
from pathlib import Path

from clicktrail.services.welcome import parts, sign_in
from clicktrail.settings import Settings


def test_every_part_at_the_offset_and_the_shop_only_with_the_demo(tmp_path: Path) -> None:
    plain = Settings.from_env(
        {"CLICKTRAIL_PORT_OFFSET": "10", "CLICKTRAIL_DATA_DIR": str(tmp_path)}
    )
    assert [(p.name, p.url) for p in parts(plain)] == [
        ("dashboard", "http://127.0.0.1:17092/dashboard/"),
        ("collector", "http://127.0.0.1:17090/v1/clicktrail.js"),
        ("personalizer", "http://127.0.0.1:17091/v1/decide"),
        ("reports API", "http://127.0.0.1:17092/v1/reports"),
        ("pipeline", "http://127.0.0.1:17093/metrics"),
    ]
    demo = Settings.from_env({"CLICKTRAIL_DEMO": "true", "CLICKTRAIL_REPORTS_BIND": "0.0.0.0:9000"})
    shop = next(p for p in parts(demo) if p.name == "demo shop")
    assert shop.url == shop.probe == "http://127.0.0.1:9000/demo/"


def test_sign_in_names_the_demo_account_once_seeded(tmp_path: Path) -> None:
    env = {"CLICKTRAIL_DEMO": "true", "CLICKTRAIL_DATA_DIR": str(tmp_path)}
    assert "accounts add <name>" in sign_in(Settings.from_env(env))
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "seed.json").write_text(
        json.dumps({"account": "demo", "password": "a-password"})
    )
    assert "as 'demo' with the password 'a-password'" in sign_in(Settings.from_env(env))
    env["CLICKTRAIL_DEMO"] = "false"  # a production make up never offers the demo account
    assert "accounts add <name>" in sign_in(Settings.from_env(env))
