"""``make bench-collector``: the collector under gunicorn on the real Kafka log, loaded by wrk.

Scenarios, each with the same gunicorn settings: 20-event batches and single-event requests
against the collector and against a bare endpoint (reads the body, answers a constant 202: the
ceiling), then single events paced at about half the collector's maximum for latency. Payloads
are simulator traffic sent as a browser would (``text/plain``, an allowed ``Origin``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench.report import Figure, report
from clicktrail import ports, services
from clicktrail.sites.model import Site
from clicktrail.sites.registry import edit_sites

ROOT = Path(__file__).parents[1]
ORIGIN = "https://shop.example.test"
TICKS = os.sysconf("SC_CLK_TCK")

WRK_SCRIPT = r"""
local bodies = {}
for line in io.lines(os.getenv("BENCH_BODIES")) do bodies[#bodies + 1] = line end
local pace = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/plain"
wrk.headers["Origin"] = os.getenv("BENCH_ORIGIN")
request = function()
  n = n % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[n])
end
if pace > 0 then
  delay = function() return pace end
end
done = function(summary, latency, requests)
  io.write(string.format(
    'RESULT {"requests": %d, "seconds": %f, "non2xx": %d, "socket_errors": %d, '
    .. '"p50_ms": %f, "p99_ms": %f}\n',
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


@dataclass
class Load:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    non2xx: int
    cpu_server: float  # cores
    cpu_broker: float
    cpu_wrk: float
    worker_rss_mb: float


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return []
    return [int(child) for child in text.split()]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def kafka_pid() -> int:
    pidfile = services.run_dir() / "kafka" / "kafka.pid"
    return int(pidfile.read_text().split()[0])


class Server:
    """gunicorn with the collector's config, serving ``app`` (the collector or the bare one)."""

    def __init__(
        self,
        app: str,
        env: dict[str, str],
        port: int,
        workers: int,
        threads: int,
        worker_class: str,
    ):
        self.base = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "python:tracker.gunicorn_conf",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                app,
            ],
            env={**os.environ, **env},
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.base + "/healthz", timeout=1).read()
                time.sleep(1.0)  # let every worker finish starting (Kafka warm-up)
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{app} did not start")

    def pids(self) -> list[int]:
        return [self.process.pid, *children(self.process.pid)]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


def run_wrk(
    server: Server, bodies: Path, seconds: int, connections: int, delay_ms: float = 0.0
) -> Load:
    script = bodies.with_suffix(".lua")
    script.write_text(WRK_SCRIPT)
    env = {
        **os.environ,
        "BENCH_BODIES": str(bodies),
        "BENCH_ORIGIN": ORIGIN,
        "BENCH_DELAY_MS": str(delay_ms),
    }
    pids = server.pids()
    broker = kafka_pid()
    before = [cpu_seconds(pid) for pid in pids], cpu_seconds(broker)
    started = time.monotonic()
    wrk = subprocess.Popen(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "5s",
            "-s",
            str(script),
            server.base + "/v1/events",
        ],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    output, _ = wrk.communicate()
    elapsed = time.monotonic() - started
    wrk_cpu = _child_cpu()
    server_cpu = sum(cpu_seconds(pid) for pid in pids) - sum(before[0])
    broker_cpu = cpu_seconds(broker) - before[1]
    line = next(row for row in output.splitlines() if row.startswith("RESULT "))
    result = json.loads(line[len("RESULT ") :])
    workers = children(server.process.pid)
    return Load(
        requests_per_s=result["requests"] / result["seconds"],
        p50_ms=result["p50_ms"],
        p99_ms=result["p99_ms"],
        non2xx=result["non2xx"] + result["socket_errors"],
        cpu_server=server_cpu / elapsed,
        cpu_broker=broker_cpu / elapsed,
        cpu_wrk=wrk_cpu / elapsed,
        worker_rss_mb=max(rss_mb(pid) for pid in workers),
    )


_children_cpu_seen = 0.0


def _child_cpu() -> float:
    """CPU seconds of the last finished child (wrk), from this process's child totals."""
    global _children_cpu_seen
    times = os.times()
    total = times.children_user + times.children_system
    spent, _children_cpu_seen = total - _children_cpu_seen, total
    return spent


def make_payloads(folder: Path, visitors: int) -> tuple[Path, Path]:
    """Simulator traffic as browser bodies: 20-event batches, and the same events one by one."""
    simulated = folder / "simulated.jsonl"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "clicktrail.cli",
            "simulate",
            "--seed",
            "7",
            "--visitors",
            str(visitors),
            "--days",
            "2",
            "--site",
            "shop",
            "--batch-size",
            "20",
            "--out",
            str(simulated),
        ],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    batches, singles = [], []
    for line in simulated.read_text().splitlines():
        envelope = json.loads(line)
        events = [
            {k: v for k, v in event.items() if k not in ("ip", "user_agent")}
            for event in envelope["events"]
        ]
        if len(events) == 20:
            batches.append({**envelope, "events": events})
        singles += [{**envelope, "events": [event]} for event in events]
    batch_file, single_file = folder / "batch20.jsonl", folder / "single.jsonl"
    batch_file.write_text("".join(json.dumps(b, separators=(",", ":")) + "\n" for b in batches))
    single_file.write_text(
        "".join(json.dumps(s, separators=(",", ":")) + "\n" for s in singles[:50_000])
    )
    return batch_file, single_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=16, help="gthread only")
    parser.add_argument("--worker-class", default="gevent", choices=("gevent", "gthread"))
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--visitors", type=int, default=1500)
    args = parser.parse_args()

    services.start(["kafka", "redis-state"])
    folder = Path(tempfile.mkdtemp(prefix="clicktrail-bench-"))
    with edit_sites(folder / "sites.json") as sites:
        sites["shop"] = Site("shop", origins=(ORIGIN,))
    topic = f"bench-{int(time.time())}"
    env = {
        "CLICKTRAIL_DATA_DIR": str(folder),
        "CLICKTRAIL_EVENT_LOG_URL": f"kafka://127.0.0.1:{ports.port('kafka')}/{topic}",
        "CLICKTRAIL_LOG_LEVEL": "WARNING",
    }
    batch_file, single_file = make_payloads(folder, args.visitors)
    port = ports.port("collector") + 50

    def measure(app: str, bodies: Path, delay_ms: float = 0.0) -> Load:
        server = Server(app, env, port, args.workers, args.threads, args.worker_class)
        try:
            run_wrk(server, bodies, 2, args.connections)  # warm-up
            return run_wrk(server, bodies, args.seconds, args.connections, delay_ms)
        finally:
            server.stop()

    collector_app, bare_app = "tracker.wsgi:app", "bench.bare_collector:app"
    batch = measure(collector_app, batch_file)
    single = measure(collector_app, single_file)
    bare_single = measure(bare_app, single_file)
    bare_batch = measure(bare_app, batch_file)
    # wrk's delay() paces each connection: a connection sends every delay + latency, so the
    # delay is calibrated once against the rate a first paced run achieved.
    target_rate = single.requests_per_s / 2
    delay_ms = args.connections / target_rate * 1000
    paced = measure(collector_app, single_file, delay_ms=delay_ms)
    delay_ms = max(0.1, delay_ms - (args.connections / paced.requests_per_s * 1000 - delay_ms))
    paced = measure(collector_app, single_file, delay_ms=delay_ms)

    figures = [
        Figure("batched (20 events) events/s", batch.requests_per_s * 20, "events/s", 20000),
        Figure("batched (20 events) requests/s", batch.requests_per_s, "req/s"),
        Figure("batched bare endpoint requests/s", bare_batch.requests_per_s, "req/s"),
        Figure("single-event requests/s", single.requests_per_s, "req/s", 2500),
        Figure("single-event bare endpoint requests/s", bare_single.requests_per_s, "req/s"),
        Figure(
            "single-event ratio to bare endpoint",
            single.requests_per_s / bare_single.requests_per_s,
            "ratio",
            0.6,
        ),
        Figure("paced rate offered (half the maximum)", target_rate, "req/s"),
        Figure("paced rate achieved", paced.requests_per_s, "req/s"),
        Figure("paced p50 latency", paced.p50_ms, "ms", None, "lower"),
        Figure("paced p99 latency", paced.p99_ms, "ms", 25, "lower"),
        Figure("worker RSS (max, single-event run)", single.worker_rss_mb, "MB", 80, "lower"),
        Figure("collector CPU (single-event run)", single.cpu_server, "cores", None, "lower"),
        Figure("broker CPU (single-event run)", single.cpu_broker, "cores", None, "lower"),
        Figure("wrk CPU (single-event run)", single.cpu_wrk, "cores", None, "lower"),
        Figure("collector CPU (batched run)", batch.cpu_server, "cores", None, "lower"),
        Figure("broker CPU (batched run)", batch.cpu_broker, "cores", None, "lower"),
        Figure("non-202 answers at the paced rate", paced.non2xx, "count", 0, "lower"),
        Figure(
            "503 answers at saturation (backpressure)",
            batch.non2xx + single.non2xx,
            "count",
            None,
            "lower",
        ),
    ]
    report("collector", figures)
    print(
        f"  gunicorn: {args.workers} {args.worker_class} workers"
        f"{f' x {args.threads} threads' if args.worker_class == 'gthread' else ''}; "
        f"wrk: 1 thread, {args.connections} connections, {args.seconds} s per run"
    )


if __name__ == "__main__":
    main()
