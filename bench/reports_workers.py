"""``make bench-reports-workers``: how many requests a second the reports service answers with
1, 2 and 3 gunicorn workers, for a dashboard page and for a report from the API, on the
ClickHouse 18.16 server.

1. **Load**: as ``bench.reports`` loads (the simulator's people, site ``shop`` in UTC, ``--days``
   days; each simulated chunk inserted ``--copies`` times under renamed people), then the
   rollups built day by day up to a week after the last simulated day.
2. **Serve**: the reports service under gunicorn with its production configuration
   (``reports.gunicorn_conf``: gthread, ``CLICKTRAIL_WAREHOUSE_CONNECTIONS`` threads a worker),
   only ``--workers`` changed, on this bench's own port.
3. **Load it**: wrk, ``--connections`` connections (closed loop), ``--seconds`` per run after a
   warm-up run of 5 s, on three requests over the last 30 simulated days: the overview page of
   the dashboard (a session cookie; the page asks its reports side by side), the interests
   report from the API (``by=country,device``, a bearer token) and the audience report, a light
   one. Figures per worker count: requests a second, p50 and p99, non-2xx answers, the CPU of
   the reports processes (all of gunicorn's, from ``/proc``) a request and in cores, the
   ClickHouse server's CPU in cores over the same run (the whole server: other clients'
   queries count too), and the reports processes' memory (PSS) after the run.

wrk, the ClickHouse server and the service share the machine's cores: the figures say what one
machine of this size serves with everything on it, which is how ``make up`` runs it.

    python -m bench.reports_workers [--events 1000000] [--copies 10] [--days 35]
        [--workers 1,2,3] [--connections 8] [--seconds 20] [--keep] [--database NAME]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench.collector import cpu_seconds as process_cpu_seconds
from bench.dashboard import bench_settings, filled, serve, server_world, sign_in
from bench.report import Figure, report
from bench.reports import SITE
from clicktrail import ports, services
from clicktrail.services import memory
from clicktrail.tokens.model import new_token
from clicktrail.tokens.registry import edit_tokens
from pipelines.warehouse.factory import open_warehouse

ROOT = Path(__file__).parents[1]
PORT = ports.port("reports") + 780  # this bench's own


@dataclass(frozen=True)
class Run:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int


def session_cookie() -> str:
    """A signed-in session of the bench's account, as a ``Cookie`` header's value."""
    _, jar = sign_in(PORT)
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def cpu_seconds(pid: int) -> float:
    """User and system CPU of ``pid`` and every process below it, so far."""
    return sum(process_cpu_seconds(each) for each in memory.tree(pid))


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, header: str, connections: int, seconds: int) -> Run:
    threads = min(2, connections)
    out = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency"]
        + ["--timeout", "30s", "-H", header, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    count = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return Run(rate, p50, p99, count, int(bad.group(1)) if bad else 0)


def measure(
    env: dict[str, str],
    workers: int,
    requests: dict[str, tuple[str, str]],
    args: argparse.Namespace,
) -> list[Figure]:
    """Each request loaded by wrk against the service with ``workers`` workers."""
    figures: list[Figure] = []
    warehouse_pid = services.status(["clickhouse"])["clickhouse"].pid
    process = serve(env, PORT, workers, ready="/readyz")
    try:
        cookie = session_cookie()
        for name, (url, template) in requests.items():
            header = template.format(cookie=cookie)
            wrk(url, header, args.connections, 5)  # warm-up: every worker has served
            before = cpu_seconds(process.pid)
            server_before = cpu_seconds(warehouse_pid) if warehouse_pid else 0.0
            run = wrk(url, header, args.connections, args.seconds)
            cpu = cpu_seconds(process.pid) - before
            server = (cpu_seconds(warehouse_pid) - server_before) if warehouse_pid else 0.0
            held = memory.measure(process.pid)
            per_request = cpu * 1000 / max(run.requests, 1)
            print(
                f"  {workers} worker(s), {name}: {run.requests_per_second:.1f} req/s,"
                f" p50 {run.p50_ms:.0f} ms, p99 {run.p99_ms:.0f} ms, {run.non_2xx} non-2xx;"
                f" reports {per_request:.1f} ms CPU a request ({cpu / args.seconds:.2f} cores),"
                f" ClickHouse server {server / args.seconds:.2f} cores;"
                f" PSS {held.pss_bytes / 2**20:.0f} MiB",
                file=sys.stderr,
            )
            key = f"{name} {workers}w"
            figures += [
                Figure(f"{key} req/s", run.requests_per_second, "req/s"),
                Figure(f"{key} p50 ms", run.p50_ms, "ms", better="lower"),
                Figure(f"{key} p99 ms", run.p99_ms, "ms", better="lower"),
                Figure(f"{key} non-2xx", run.non_2xx, "answers", 0, "lower"),
                Figure(f"{key} reports CPU ms a request", per_request, "ms", better="lower"),
                Figure(f"{key} reports cores", cpu / args.seconds, "cores", better="lower"),
                Figure(f"{key} server cores", server / args.seconds, "cores", better="lower"),
                Figure(f"{key} PSS MiB", held.pss_bytes / 2**20, "MiB", better="lower"),
            ]
    finally:
        process.terminate()
        process.wait(timeout=30)
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--days", type=int, default=35)
    parser.add_argument("--workers", default="1,2,3")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the loaded database")
    parser.add_argument(
        "--database", help="a database --keep loaded (same --days): read, not loaded, kept"
    )
    parser.add_argument("--name", default="reports-workers", help="bench/results/<name>.json")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.workers.split(",")]
    first, last, database, target = server_world(args.days, args.database)
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="bench-reports-workers-") as folder:
        settings = bench_settings(Path(folder), target)
        secret, token = new_token(SITE.site_id, "read", 0)
        with edit_tokens(settings.tokens_file) as tokens:
            tokens[token.token_id] = token
        with open_warehouse(target, timeout=1800) as warehouse:
            try:
                figures += filled(warehouse, args, settings, first, last)
                env = {**os.environ, **settings.to_env()}
                env.pop("PROMETHEUS_MULTIPROC_DIR", None)
                query = urllib.parse.urlencode(
                    {"site": SITE.site_id, "since": "30d", "until": last.isoformat()}
                )
                base = f"http://127.0.0.1:{PORT}"
                bearer = f"Authorization: Bearer {secret}"
                requests = {
                    "overview page": (f"{base}/dashboard/overview?{query}", "Cookie: {cookie}"),
                    "interests API": (
                        f"{base}/v1/reports/interests?{query}&by=country%2Cdevice",
                        bearer,
                    ),
                    "audience API": (f"{base}/v1/reports/audience?{query}", bearer),
                }
                for workers in counts:
                    figures += measure(env, workers, requests, args)
            finally:
                if args.keep or args.database:
                    print(f"  kept the database {database}", file=sys.stderr)
                else:
                    warehouse.execute(f"DROP DATABASE IF EXISTS {database}")
    figures.append(Figure("load average at the end", os.getloadavg()[0], "load"))
    report(args.name, figures)


if __name__ == "__main__":
    main()
