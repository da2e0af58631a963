"""``make bench-dashboard``: each dashboard page's server time and its largest contentful paint
in headless Chromium, over simulated events on the ClickHouse 18.16 server.

1. **Load**: as ``bench.reports`` loads (the simulator's people, seed 7, site ``shop`` in UTC,
   ``--days`` days from 2025-01-06; rows as the pipeline makes them, straight into the
   warehouse), then the rollups built day by day up to a week after the last simulated day.
2. **Serve**: the reports service under gunicorn (its production configuration, one worker)
   over that database, an account signed in.
3. **Server time**: each page of the dashboard over the last 30 simulated days, fetched over
   HTTP with the session cookie: one warm-up, then the median of ``--repeat`` requests, from
   the request to the last byte (``<page> server ms``; the issue's target: 500 ms).
4. **LCP**: each page loaded in Chromium (playwright-core, Debian's chromium, a fresh tab,
   1280 x 900): the ``largest-contentful-paint`` entry's start time, median of ``--repeat``
   loads (``<page> LCP ms``; target 1,500 ms). The charts are canvases, which are not LCP
   candidates: the LCP is the headline figures' or a table's text.

    python -m bench.dashboard [--events 10000000] [--copies 10] [--days 84] [--repeat 5]
        [--database NAME]
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.cookiejar
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

from bench.harness.browser import Browser
from bench.report import Figure, report
from bench.reports import QUIET_DAYS, SITE, build_rollups, load
from clicktrail import ports, services
from clicktrail.accounts.model import new_account
from clicktrail.accounts.registry import edit_accounts
from clicktrail.settings import ClickHouseServerTarget, Settings
from clicktrail.simulator.simulation import SimulationConfig
from clicktrail.sites.registry import edit_sites
from pipelines.warehouse.base import Warehouse
from pipelines.warehouse.factory import open_warehouse
from pipelines.warehouse.migrate import migrate
from reports.dashboard.pages import PAGES

ROOT = Path(__file__).parents[1]
PORT = ports.port("reports") + 770  # this bench's own
ACCOUNT, PASSWORD = "bench", "a bench password"
SERVER_TARGET_MS = 500.0
LCP_TARGET_MS = 1500.0
LCP = """new Promise((resolve) => {
  new PerformanceObserver((list) => {
    const entries = list.getEntries()
    resolve(entries[entries.length - 1].startTime)
  }).observe({ type: 'largest-contentful-paint', buffered: true })
  setTimeout(() => resolve(null), 5000)
})"""


def bench_settings(work: Path, target: ClickHouseServerTarget) -> Settings:
    """A reports bench's settings in ``work``, on the run's own services
    (CLICKTRAIL_PORT_OFFSET) and ``target``, with the site and the bench's account made."""
    settings = Settings.from_env(
        {},
        port_offset=ports.port_offset(),
        data_dir=work,
        sites_file=work / "sites.json",
        tokens_file=work / "tokens.json",
        accounts_file=work / "accounts.json",
        clickhouse_url=target,
        dashboard_signin_limit="1000 per minute",
    )
    with edit_sites(settings.sites_file) as sites:
        sites[SITE.site_id] = SITE
    with edit_accounts(settings.accounts_file) as accounts:
        accounts[ACCOUNT] = new_account(ACCOUNT, PASSWORD, "admin", ("*",), 0)
    return settings


def server_world(
    days: int, database: str | None
) -> tuple[dt.date, dt.date, str, ClickHouseServerTarget]:
    """A reports bench's simulated period (its first and last day, of ``days``) and the server
    database it reads: ``database`` (one ``bench.reports --keep`` loaded) or a new name; the
    services it needs started."""
    services.start(["redis-state", "clickhouse"])
    first = SimulationConfig().start
    last = first + dt.timedelta(days=days - 1)
    name = database or f"bench_{uuid.uuid4().hex[:8]}"
    target = ClickHouseServerTarget("127.0.0.1", ports.port("clickhouse_native"), name)
    return first, last, name, target


def filled(
    warehouse: Warehouse,
    args: argparse.Namespace,
    settings: Settings,
    first: dt.date,
    last: dt.date,
) -> list[Figure]:
    """The events of the bench's period in ``warehouse`` (``args.events``, ``args.days``,
    ``args.copies``) with the rollups built to a week after it, or, when ``args.database``
    names a kept database, only counted; the figures of that."""
    if args.database:
        loaded = warehouse.query(f"SELECT count() FROM {args.database}.events").scalar()
        return [Figure("events loaded", loaded, "events")]
    migrate(warehouse)
    started = time.perf_counter()
    loaded = load({"server": warehouse}, args.events, args.days, settings.geoip_db, args.copies)
    seconds = time.perf_counter() - started
    build_rollups(warehouse, first, last + dt.timedelta(days=QUIET_DAYS))
    return [Figure("events loaded", loaded, "events"), Figure("load seconds", seconds, "s")]


def serve(
    env: dict[str, str], port: int = PORT, workers: int = 1, ready: str = "/healthz"
) -> subprocess.Popen:
    """The reports service under its own gunicorn configuration (as ``make up`` runs it, one
    worker unless told), on a bench's port; returns once ``ready`` answers. A port already
    served (a bench killed before it stopped its service) is refused: its answers would be
    another run's."""
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}{ready}", timeout=1).read()
    except urllib.error.HTTPError:
        pass  # it answers, if not ready: busy all the same (below)
    except OSError:  # nothing listens: the port is this run's
        return _started(env, port, workers, ready)
    raise RuntimeError(f"port {port} already serves: stop what listens there first")


def _started(env: dict[str, str], port: int, workers: int, ready: str) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:reports.gunicorn_conf"]
        + ["--bind", f"127.0.0.1:{port}", "--workers", str(workers), "reports.wsgi:app"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{ready}", timeout=1).read()
            return process
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.terminate()
                raise RuntimeError("the reports service did not start") from None
            time.sleep(0.2)


def sign_in(port: int = PORT) -> tuple[urllib.request.OpenerDirector, http.cookiejar.CookieJar]:
    """An HTTP client with a session of the bench's account, and its cookies."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    base = f"http://127.0.0.1:{port}/dashboard"
    page = opener.open(f"{base}/sign-in", timeout=30).read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    form = {"csrf_token": token, "method": "account", "username": ACCOUNT, "password": PASSWORD}
    opener.open(f"{base}/sign-in", urllib.parse.urlencode(form).encode(), timeout=30).read()
    return opener, jar


def server_ms(opener: urllib.request.OpenerDirector, url: str, repeat: int) -> float:
    with opener.open(url, timeout=120) as answer:  # warm-up
        body = answer.read().decode()
        if answer.status != 200 or "/sign-in" in answer.url:
            raise RuntimeError(f"{url}: {answer.status} {answer.url}")
    if "data-problem" in body:
        raise RuntimeError(f"{url}: the page shows a problem")
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        with opener.open(url, timeout=120) as answer:
            answer.read()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def lcp_ms(browser: Browser, url: str, repeat: int) -> float:
    found = []
    for _ in range(repeat):
        status = browser.goto(url)  # a new navigation: its own LCP entries
        if status != 200:
            raise RuntimeError(f"{url}: {status} in Chromium")
        value = browser.evaluate(LCP)
        if value is None:
            raise RuntimeError(f"{url}: no largest-contentful-paint entry")
        found.append(value)
    return statistics.median(found)


def browser_signed_in(browser: Browser) -> None:
    browser.newContext()
    browser.goto(f"http://127.0.0.1:{PORT}/dashboard/sign-in")
    browser.evaluate(
        f"""(() => {{
          const form = document.querySelector('#account-form')
          form.querySelector('[name=username]').value = {ACCOUNT!r}
          form.querySelector('[name=password]').value = {PASSWORD!r}
          form.submit()
        }})()"""
    )
    browser.waitForURL("/dashboard/overview")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=84)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--copies", type=int, default=1, help="simulate events/copies, insert each copies times"
    )
    parser.add_argument(
        "--database",
        help="a server database bench.reports --keep loaded (same --days): read, not loaded,"
        " and kept",
    )
    parser.add_argument("--name", default="dashboard", help="bench/results/<name>.json")
    args = parser.parse_args(argv)
    first, last, database, target = server_world(args.days, args.database)
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as folder:
        settings = bench_settings(Path(folder), target)
        with open_warehouse(target, timeout=1800) as warehouse:
            figures += filled(warehouse, args, settings, first, last)
            env = {**os.environ, **settings.to_env()}
            env.pop("PROMETHEUS_MULTIPROC_DIR", None)
            browser = Browser("none")  # before the service: a browser that fails leaves none
            process = serve(env)
            try:
                opener, _ = sign_in()
                browser_signed_in(browser)
                query = urllib.parse.urlencode(
                    {"site": SITE.site_id, "since": "30d", "until": last.isoformat()}
                )
                for name in PAGES:
                    url = f"http://127.0.0.1:{PORT}/dashboard/{name}?{query}"
                    server = server_ms(opener, url, args.repeat)
                    paint = lcp_ms(browser, url, args.repeat)
                    print(f"  {name}: server {server:.0f} ms, LCP {paint:.0f} ms", file=sys.stderr)
                    figures.append(
                        Figure(f"{name} server ms", server, "ms", SERVER_TARGET_MS, "lower")
                    )
                    figures.append(Figure(f"{name} LCP ms", paint, "ms", LCP_TARGET_MS, "lower"))
                problems = browser.errors()
                if problems:
                    print(f"WARNING: page errors in Chromium: {problems}", file=sys.stderr)
            finally:
                browser.close()
                process.terminate()
                process.wait(timeout=30)
                if not args.database:
                    warehouse.execute(f"DROP DATABASE IF EXISTS {database}")
    figures.append(Figure("load average at the end", os.getloadavg()[0], "load"))
    report(args.name, figures)


if __name__ == "__main__":
    main()
