"""``python -m clicktrail.services.welcome [--no-wait]``: the engine's addresses, each checked
to answer, and how to sign in to the dashboard; what ``make up`` ends with and ``make status``
shows. Exit 1 when a part does not answer (within 60 s, unless ``--no-wait``).

With ``CLICKTRAIL_DEMO`` on, the demo shop is one of the parts, and the sign-in is the demo
account ``reports.demo.seed`` made (read from ``<data dir>/demo/seed.json``)."""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import shutil
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from clicktrail import ports
from clicktrail.services.base import REPO_ROOT
from clicktrail.services.demo import seed_record
from clicktrail.settings import Settings

WAIT_SECONDS = 60.0


@dataclass(frozen=True)
class Part:
    name: str
    url: str  # what a person opens
    probe: str  # what must answer 200


def _loopback(bind: str) -> str:
    host, _, port = bind.rpartition(":")
    if host in ("", "0.0.0.0", "::", "[::]"):
        host = "127.0.0.1"
    return f"http://{host}:{port}"


def parts(settings: Settings) -> list[Part]:
    collector = _loopback(settings.collector_bind)
    personalizer = _loopback(settings.personalizer_bind)
    reports = _loopback(settings.reports_bind)
    pipeline = f"http://127.0.0.1:{ports.BASE_PORTS['pipeline_metrics'] + settings.port_offset}"
    found = [
        Part("dashboard", f"{reports}/dashboard/", f"{reports}/dashboard/sign-in"),
        Part("collector", f"{collector}/v1/clicktrail.js", f"{collector}/readyz"),
        Part("personalizer", f"{personalizer}/v1/decide", f"{personalizer}/readyz"),
        Part("reports API", f"{reports}/v1/reports", f"{reports}/readyz"),
        Part("pipeline", f"{pipeline}/metrics", f"{pipeline}/readyz"),
    ]
    if settings.demo:
        found.insert(1, Part("demo shop", f"{reports}/demo/", f"{reports}/demo/"))
    return found


def answer(url: str) -> int:
    """The HTTP status of a GET (0: no answer)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def command() -> str:
    """How to run the ``clicktrail`` command here: the console script when the installed
    package is this checkout (``make up``'s pip step) and the script is on ``PATH``; else the
    module, which works from the checkout's folder whatever was installed."""
    here = False
    # The checkout's own clicktrail.egg-info (no direct_url.json) may come first on sys.path.
    for found in importlib.metadata.distributions(name="clicktrail"):
        try:
            url = str(json.loads(found.read_text("direct_url.json") or "{}").get("url", ""))
        except ValueError:
            continue
        if url.startswith("file://"):
            here = here or Path(urllib.parse.urlsplit(url).path) == REPO_ROOT
    if here and shutil.which("clicktrail"):
        return "clicktrail"
    found = shutil.which("python3")
    same = found is not None and os.path.realpath(found) == os.path.realpath(sys.executable)
    return f"{'python3' if same else sys.executable} -m clicktrail.cli"


def sign_in(settings: Settings) -> str:
    dashboard = f"{_loopback(settings.reports_bind)}/dashboard/"
    seeded = seed_record(settings)
    if settings.demo and seeded.is_file():
        state = json.loads(seeded.read_text())
        if state.get("password"):
            return (
                f"Sign in at {dashboard} as {state['account']!r} with the password "
                f"{state['password']!r} (kept in {seeded})."
            )
    return (
        f"Sign in at {dashboard} with an account: {command()} accounts add <name> --role admin "
        "--site '*'"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m clicktrail.services.welcome")
    parser.add_argument("--no-wait", action="store_true", help="check once, do not wait")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    deadline = time.monotonic() + (0 if args.no_wait else WAIT_SECONDS)
    failed = []
    lines = []
    for part in parts(settings):
        status = answer(part.probe)
        while status != 200 and time.monotonic() < deadline:
            time.sleep(0.25)
            status = answer(part.probe)
        state = "ok" if status == 200 else f"NOT ANSWERING ({status or 'no answer'})"
        if status != 200:
            failed.append(part.name)
        lines.append(f"  {part.name:<13} {part.url:<44} {state}")
    print("Clicktrail:" if not failed else "Clicktrail (not every part answers):")
    print("\n".join(lines))
    print(sign_in(settings))
    print(f"Add your own site: {command()} sites add <id> --origin https://<your site>")
    if failed and settings.demo and "demo shop" in failed:
        print(
            "The demo shop needs the reports service started with CLICKTRAIL_DEMO on: "
            "make down, then DEMO=1 make up.",
            file=sys.stderr,
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
