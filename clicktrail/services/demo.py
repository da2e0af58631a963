"""``python -m clicktrail.services.demo clean`` (``make demo-clean``): takes back what
``DEMO=1 make up`` handed out, which a later plain ``make up`` otherwise keeps: the dashboard
account ``demo`` (its password was printed), the site ``demo`` (its write key is in the seed
record) and the seed record's secrets. The demo's events and profiles stay in the warehouse and
the profile Redis under the removed site, as ``clicktrail sites remove`` leaves a site's data;
``make down`` then removing the data and run folders clears everything (docs/demo.md).

What stays of the seed record is that its traffic was sent, so a later ``DEMO=1 make up``
registers the site and the account again but does not send the same days twice."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from clicktrail.accounts.registry import edit_accounts
from clicktrail.settings import Settings
from clicktrail.sites.registry import edit_sites

# Defined here, where the core (make up's welcome, make demo-clean) and the demo shop
# (reports.demo) both read them: the core may not import reports.
SITE_ID = "demo"
ACCOUNT = "demo"


def seed_record(settings: Settings) -> Path:
    """What ``reports.demo.seed`` handed out and sent (mode 0600: a write key, a password)."""
    return settings.data_dir / "demo" / "seed.json"


def clean(settings: Settings) -> list[str]:
    """Removes the demo's account, site and secrets; returns what was removed."""
    record = seed_record(settings)
    try:
        state = json.loads(record.read_text())
    except FileNotFoundError:
        state = {}
    removed = []
    account = str(state.get("account") or ACCOUNT)
    if settings.accounts_file.exists():
        with edit_accounts(settings.accounts_file) as accounts:
            if accounts.pop(account, None) is not None:
                removed.append(f"dashboard account {account!r}")
    if settings.sites_file.exists():
        with edit_sites(settings.sites_file) as sites:
            if sites.pop(SITE_ID, None) is not None:
                removed.append(f"site {SITE_ID!r} (its events stay, refused from now on)")
    kept = {"traffic": state["traffic"]} if state.get("traffic") else {}
    if state != kept:
        if kept:
            record.write_text(json.dumps(kept) + "\n")
        else:
            record.unlink()
        removed.append(f"the write key and password in {record}")
    return removed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m clicktrail.services.demo")
    parser.add_argument("command", choices=("clean",))
    parser.parse_args(argv)
    removed = clean(Settings.from_env())
    for line in removed:
        print(f"demo: removed {line}")
    if not removed:
        print("demo: nothing of the demo found")
    return 0


if __name__ == "__main__":
    sys.exit(main())
