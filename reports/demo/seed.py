"""``python -m reports.demo.seed``: what ``DEMO=1 make up`` adds to a running engine, once:
the ``demo`` site, the simulator's catalog and the demo campaigns, a dashboard account, and a
few days of simulated traffic through the collector, loaded by the pipeline before it returns
(docs/demo.md). Each step is done the way an operator would, with the ``clicktrail`` command,
and recorded in ``<data dir>/demo/seed.json`` (mode 0600: it holds the write key and the demo
account's password), so a second run does only what is left and takes about a second."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from clicktrail import ports
from clicktrail.services.demo import ACCOUNT, SITE_ID, seed_record
from clicktrail.settings import Settings
from clicktrail.sites.model import Site, generate_write_key
from clicktrail.sites.registry import edit_sites
from reports.demo import traffic
from reports.demo.shop import SEED, Shop, feed_csv

CAMPAIGNS = Path(__file__).with_name("campaigns.yaml")
SIMULATED_HOST = f"www.{SITE_ID}.example"  # where `clicktrail simulate --site demo` browses


def loopback(bind: str) -> str:
    """``host:port`` to reach a service bound to ``bind`` (a wildcard on loopback)."""
    host, _, port = bind.rpartition(":")
    if host in ("", "0.0.0.0", "::", "[::]"):
        host = "127.0.0.1"
    return f"{host}:{port}"


def shop_base(settings: Settings) -> str:
    return f"http://{loopback(settings.reports_bind)}"


def read_state(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {}


def write_state(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.touch(mode=0o600)
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    tmp.replace(path)


def say(text: str) -> None:
    print(f"demo: {text}", flush=True)


def clicktrail(*args: str) -> str:
    """Run one ``clicktrail`` command; its standard output, or exit naming what failed."""
    done = subprocess.run(
        [sys.executable, "-m", "clicktrail.cli", *args], capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(f"demo: clicktrail {args[0]} {args[1]} failed:\n{done.stderr or done.stdout}")
    return done.stdout


def register_site(settings: Settings, base: str) -> str:
    """The demo site (the shop's origins, its pages and the simulated ones internal); a new
    write key, returned."""
    key, digest = generate_write_key()
    host = loopback(settings.reports_bind).rsplit(":", 1)[0]
    port = base.rsplit(":", 1)[1]
    origins = (base,) if host != "127.0.0.1" else (base, f"http://localhost:{port}")
    with edit_sites(settings.sites_file) as sites:
        sites[SITE_ID] = Site(
            SITE_ID,
            name="Clicktrail demo shop",
            origins=origins,
            write_key_sha256=digest,
            internal_hosts=(host, "localhost", SIMULATED_HOST),
        )
    return key


def import_catalog(settings: Settings, base: str) -> None:
    feed = settings.data_dir / "demo" / "catalog.csv"
    feed.write_text(feed_csv(Shop.build(), base))
    clicktrail("catalog", "import", str(feed), "--site", SITE_ID, "--replace")


def apply_campaigns(settings: Settings, base: str) -> None:
    campaigns = settings.data_dir / "demo" / "campaigns.yaml"
    campaigns.write_text(CAMPAIGNS.read_text().replace("{base}", base))
    clicktrail("campaigns", "apply", str(campaigns), "--site", SITE_ID, "--prune")


def pipeline_events(settings: Settings) -> float:
    """Events the pipeline worker of ``make up`` has committed (its /metrics)."""
    port = ports.BASE_PORTS["pipeline_metrics"] + settings.port_offset
    url = f"http://127.0.0.1:{port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    found = re.search(r"^clicktrail_pipeline_events_total (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def feed_traffic(settings: Settings, key: str, visitors: int, days: int) -> int:
    """``days`` simulated days up to yesterday through the collector, on their own days
    (``traffic.replay``); waits until the pipeline committed them. Returns the events the
    collector accepted."""
    today = dt.datetime.now(dt.UTC).date()
    collector = f"http://{loopback(settings.collector_bind)}"
    say(f"simulating {visitors} visitors over the {days} days before {today} into {collector}")
    batches = traffic.history(SITE_ID, visitors, days, SEED, today, settings.geoip_db)
    before = pipeline_events(settings)
    summary = traffic.replay(batches, collector, key)
    say(summary.as_text())
    if summary.failed or summary.rejected:
        sys.exit("demo: the collector did not take every simulated event")
    deadline = time.monotonic() + 300
    while pipeline_events(settings) < before + summary.accepted:
        if time.monotonic() > deadline:
            sys.exit("demo: the pipeline did not load the simulated events within 5 minutes")
        time.sleep(0.5)
    say(f"the pipeline loaded the {summary.accepted} events")
    return summary.accepted


def seed(settings: Settings, visitors: int, days: int) -> dict[str, Any]:
    path = seed_record(settings)
    state = read_state(path)
    base = shop_base(settings)
    if state.get("base") != base or not state.get("write_key"):
        state.update(base=base, write_key=register_site(settings, base), catalog="", campaigns="")
        write_state(path, state)
        say(f"site {SITE_ID} registered for {base}/demo/")
    if state.get("catalog") != base:
        import_catalog(settings, base)
        state["catalog"] = base
        write_state(path, state)
        say(f"catalog imported ({len(Shop.build().catalog.products)} products)")
    if state.get("campaigns") != base:
        apply_campaigns(settings, base)
        state["campaigns"] = base
        write_state(path, state)
        say("campaigns applied (reports/demo/campaigns.yaml)")
    if not state.get("password"):
        password = secrets.token_urlsafe(12)
        clicktrail(
            "accounts", "add", ACCOUNT, "--role", "marketer", "--site", SITE_ID,
            "--password", password, "--replace",
        )  # fmt: skip
        state.update(account=ACCOUNT, password=password)
        write_state(path, state)
        say(f"dashboard account {ACCOUNT!r} made (marketer of {SITE_ID})")
    if not state.get("traffic"):
        state["traffic"] = feed_traffic(settings, state["write_key"], visitors, days)
        write_state(path, state)
    return state


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reports.demo.seed", description=__doc__)
    parser.add_argument("--visitors", type=int, default=int(os.environ.get("DEMO_VISITORS", 400)))
    parser.add_argument("--days", type=int, default=int(os.environ.get("DEMO_DAYS", 3)))
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if not settings.demo:
        say("CLICKTRAIL_DEMO is off: nothing seeded (DEMO=1 make up turns it on)")
        return 0
    seed(settings, args.visitors, args.days)
    return 0


if __name__ == "__main__":
    sys.exit(main())
