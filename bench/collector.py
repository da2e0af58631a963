"""``make bench-collector``: the collector under gunicorn on the real event logs, loaded by wrk.

Scenarios, each with the same gunicorn settings: 20-event batches and single-event requests
against the collector and against a bare endpoint (reads the body, answers a constant 202: the
ceiling), then single events paced at about half the collector's maximum for latency. Payloads
are simulator traffic sent as a browser would (``text/plain``, an allowed ``Origin``).

Rates count accepted (``202``) answers only: a ``503`` under saturation is backpressure, not
throughput. Every log is measured in the same run, beside the same ceiling: Kafka through the
default producer (confluent-kafka), Kafka through kafka-python, and Redis Streams. The issue's
figure names (``batched events/s`` ...) are the default's; the others carry their log's name
first.
The machine's load average is written beside the figures: on a busy machine every figure,
the ceiling's too, drops, and the ratio is the figure to read.
"""

from __future__ import annotations

import argparse
import io
import ipaddress
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from bench.profile_split import format_split, split
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
local spread = os.getenv("BENCH_SPREAD") == "1"
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/plain"
wrk.headers["Origin"] = os.getenv("BENCH_ORIGIN")
request = function()
  n = n % #bodies + 1
  if spread then  -- browsers behind a trusted proxy: 4,016 end-user addresses
    wrk.headers["X-Forwarded-For"] = "198.18." .. (n % 16) .. "." .. (n % 251 + 1)
  end
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
    requests_per_s: float  # every answer
    accepted_per_s: float  # 2xx answers only: what the figures count
    p50_ms: float
    p99_ms: float
    non2xx: int
    requests: int
    cpu_server: float  # cores
    cpu_broker: float
    cpu_wrk: float
    worker_rss_mb: float


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # gone (or going) since it was listed
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


def service_pid(name: str) -> int:
    """The process of a service ``scripts/services`` started (``kafka``, ``redis-state``)."""
    pidfile = services.run_dir() / name / f"{name}.pid"
    return int(pidfile.read_text().split()[0])


def load_average() -> float:
    return os.getloadavg()[0]


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
    server: Server,
    bodies: Path,
    seconds: int,
    connections: int,
    delay_ms: float = 0.0,
    log_service: str = "kafka",
) -> Load:
    script = bodies.with_suffix(".lua")
    script.write_text(WRK_SCRIPT)
    env = {
        **os.environ,
        "BENCH_BODIES": str(bodies),
        "BENCH_ORIGIN": ORIGIN,
        "BENCH_DELAY_MS": str(delay_ms),
        "BENCH_SPREAD": "1",
    }
    pids = server.pids()
    broker = service_pid(log_service)
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
        accepted_per_s=(result["requests"] - result["non2xx"]) / result["seconds"],
        p50_ms=result["p50_ms"],
        p99_ms=result["p99_ms"],
        non2xx=result["non2xx"] + result["socket_errors"],
        requests=result["requests"],
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


def start_profile(server: Server, prefix: Path, log: str, seconds: int) -> subprocess.Popen:
    """py-spy on the first worker, sampling what its Python threads run (not idle waits)."""
    worker = children(server.process.pid)[0]
    return subprocess.Popen(
        [
            "py-spy",
            "record",
            "--pid",
            str(worker),
            "--duration",
            str(max(1, seconds - 2)),
            "--rate",
            "200",
            "--format",
            "raw",
            "--nonblocking",
            "--output",
            f"{prefix}.{log}.txt",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def finish_profile(recorder: subprocess.Popen, output: Path) -> None:
    recorder.wait(timeout=60)
    if not output.exists():
        print(f"  py-spy wrote no profile to {output} (exit {recorder.returncode})")
        return
    print(f"  profile of one worker ({output}):")
    print(textwrap.indent(format_split(split(output.read_text().splitlines())), "    "))


# Each log the benchmark measures: (figure prefix, environment, the process that serves it).
LOGS = {
    "kafka": ("", {"CLICKTRAIL_KAFKA_PRODUCER": "confluent"}, "kafka"),
    "kafka-python": ("kafka-python: ", {"CLICKTRAIL_KAFKA_PRODUCER": "kafka-python"}, "kafka"),
    "redis": ("redis streams: ", {}, "redis-state"),
}


def log_url(log: str, name: str) -> str:
    if log == "redis":
        return f"redis://127.0.0.1:{ports.port('redis_state')}/0?stream={name}"
    return f"kafka://127.0.0.1:{ports.port('kafka')}/{name}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=16, help="gthread only")
    parser.add_argument("--worker-class", default="gevent", choices=("gevent", "gthread"))
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--visitors", type=int, default=1500)
    parser.add_argument(
        "--logs", default=",".join(LOGS), help=f"comma-separated, of {', '.join(LOGS)}"
    )
    parser.add_argument(
        "--fast-path-ab",
        type=int,
        metavar="PAIRS",
        help="only the served collector with and without its fast path, single events,"
        " PAIRS pairs in ABBA order beside the bare endpoint (printed)",
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="only the in-process comparison of the fast path against Flask alone (printed)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="record one worker with py-spy during each log's single-event run (raw stacks"
        " written to PROFILE.<log>.txt) and print the split per step (bench/profile_split.py)",
    )
    args = parser.parse_args()
    logs = [log for log in args.logs.split(",") if log]
    if not logs or set(logs) - set(LOGS):
        parser.error(f"--logs: choose among {', '.join(LOGS)}")

    services.start(["kafka", "redis-state"])
    folder = Path(tempfile.mkdtemp(prefix="clicktrail-bench-"))
    with edit_sites(folder / "sites.json") as sites:
        sites["shop"] = Site("shop", origins=(ORIGIN,))
    batch_file, single_file = make_payloads(folder, args.visitors)
    if args.in_process:
        print_in_process(folder, single_file, batch_file)
        return
    port = ports.port("collector") + 50
    load_before = load_average()
    run_id = int(time.time())

    def measure(
        app: str,
        bodies: Path,
        log: str = "kafka",
        delay_ms: float = 0.0,
        profile: bool = False,
        extra_env: dict[str, str] | None = None,
    ) -> Load:
        env = {
            "CLICKTRAIL_DATA_DIR": str(folder),
            "CLICKTRAIL_EVENT_LOG_URL": log_url(log, f"bench-{run_id}-{log}"),
            "CLICKTRAIL_LOG_LEVEL": "WARNING",
            # The load comes as browsers behind a proxy (BENCH_SPREAD): each end user's
            # address is counted by the rate limiter, which stays on as in production.
            "CLICKTRAIL_TRUSTED_PROXIES": "127.0.0.1/32",
            **LOGS[log][1],
            **(extra_env or {}),
        }
        server = Server(app, env, port, args.workers, args.threads, args.worker_class)
        try:
            run_wrk(server, bodies, 2, args.connections, log_service=LOGS[log][2])  # warm-up
            if profile and args.profile is not None:
                recorder = start_profile(server, args.profile, log, args.seconds)
                try:
                    return run_wrk(
                        server, bodies, args.seconds, args.connections, delay_ms, LOGS[log][2]
                    )
                finally:
                    finish_profile(recorder, Path(f"{args.profile}.{log}.txt"))
            return run_wrk(server, bodies, args.seconds, args.connections, delay_ms, LOGS[log][2])
        finally:
            server.stop()

    bare_app = "bench.bare_collector:app"
    if args.fast_path_ab:
        print_fast_path_ab(measure, single_file, args.fast_path_ab)
        return
    bare_single = measure(bare_app, single_file)
    bare_batch = measure(bare_app, batch_file)
    figures = [
        Figure("bare endpoint single requests/s", bare_single.accepted_per_s, "req/s"),
        Figure("bare endpoint batched requests/s", bare_batch.accepted_per_s, "req/s"),
        Figure(
            "bare endpoint CPU µs per single request",
            bare_single.cpu_server / max(1.0, bare_single.accepted_per_s) * 1e6,
            "µs",
            None,
            "lower",
        ),
    ]
    for log in logs:
        figures += measure_log(
            LOGS[log][0],
            partial(measure, log=log),
            batch_file,
            single_file,
            bare_single,
            args.connections,
        )
    figures += limiter_cost(measure, logs[0], single_file)
    load_after = load_average()
    cores = os.cpu_count() or 1
    figures += [
        Figure("load average (1 min) at the start", load_before, "load"),
        Figure("load average (1 min) at the end", load_after, "load"),
    ]
    report("collector", figures)
    for figure in figures:  # the table rounds to 0.01: shares are judged at 0.001
        if figure.metric.endswith("non-202 share"):
            print(f"  {figure.metric}: {figure.value:.4f} (target {figure.target:g})")
    print(
        f"  gunicorn: {args.workers} {args.worker_class} workers"
        f"{f' x {args.threads} threads' if args.worker_class == 'gthread' else ''}; "
        f"wrk: 1 thread, {args.connections} connections, {args.seconds} s per run"
    )
    if max(load_before, load_after) > cores:
        print(
            f"  DISTURBED: the load average ({load_before:.1f} at the start, {load_after:.1f}"
            f" at the end) exceeded the {cores} cores: other work shared the CPU, so the"
            " absolute figures (the ceiling's too) are low; the ratio to the bare endpoint"
            " and the CPU per request are the figures to compare"
        )


def in_process(
    folder: Path, bodies: list[bytes], log: str = "redis", rounds: int = 10, requests: int = 500
) -> dict[str, list[float]]:
    """CPU µs per request of the collector called as gunicorn calls it (a WSGI environ, the
    answer's iterable consumed and closed), with ``FastCollect`` in front and with Flask
    alone, in interleaved rounds (the order alternates), as browsers behind a trusted proxy
    with the limiter on. The process's CPU (the log client's threads too) per request."""
    from clicktrail.settings import Settings, parse_event_log_url
    from tracker.app import create_app

    settings = Settings.from_env(
        {},
        port_offset=ports.port_offset(),
        data_dir=folder,
        sites_file=folder / "sites.json",
        secrets_file=folder / "secrets.json",
        event_log_url=parse_event_log_url(log_url(log, f"bench-inprocess-{int(time.time())}")),
        trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),),
        log_level="WARNING",
    )
    app = create_app(settings)
    fast = app.wsgi_app
    modes = {"fast path": fast, "flask": fast.wsgi_app}  # type: ignore[attr-defined]
    sent = 0
    statuses: dict[str, int] = {}

    def call(body: bytes) -> None:
        nonlocal sent
        sent += 1
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/v1/events",
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "RAW_URI": "/v1/events",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8080",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_PORT": "40000",
            "CONTENT_TYPE": "text/plain",
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_HOST": "127.0.0.1:8080",
            "HTTP_ORIGIN": ORIGIN,
            "HTTP_X_FORWARDED_FOR": f"198.18.{sent % 16}.{sent % 251 + 1}",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "wsgi.input_terminated": True,
        }

        def start_response(status: str, headers: list, exc_info: object = None) -> None:
            statuses[status] = statuses.get(status, 0) + 1

        answer = app(environ, start_response)
        for _ in answer:
            pass
        getattr(answer, "close", lambda: None)()

    for body in bodies[:200]:  # warm-up
        call(body)
    cpu: dict[str, list[float]] = {mode: [] for mode in modes}
    for round_ in range(rounds):
        order = list(modes) if round_ % 2 == 0 else list(reversed(modes))
        for mode in order:
            app.wsgi_app = modes[mode]  # type: ignore[method-assign]
            started = time.process_time()
            for n in range(requests):
                call(bodies[(round_ * requests + n) % len(bodies)])
            cpu[mode].append((time.process_time() - started) / requests * 1e6)
    app.wsgi_app = fast  # type: ignore[method-assign]
    app.extensions["clicktrail"].event_log.close()
    refused = {status: n for status, n in statuses.items() if not status.startswith("202")}
    if refused:
        print(f"  answers not 202 in process: {refused} of {sent}")
    return cpu


def flask_alone() -> object:
    """The collector without ``FastCollect``, for gunicorn: ``bench.collector:flask_alone()``."""
    from tracker.app import create_app

    app = create_app()
    app.wsgi_app = app.wsgi_app.wsgi_app  # type: ignore[attr-defined, method-assign]
    return app


def print_fast_path_ab(measure: Callable[..., Load], single_file: Path, pairs: int) -> None:
    """Single events served with the fast path (A), with Flask alone (B) and by the bare
    endpoint, in the order A B bare B A bare ...: medians of each, the ratio of the medians."""
    apps = {
        "fast path": "tracker.wsgi:app",
        "flask alone": "bench.collector:flask_alone()",
        "bare": "bench.bare_collector:app",
    }
    runs: dict[str, list[Load]] = {name: [] for name in apps}
    load = [load_average()]
    for pair in range(pairs):
        order = ["fast path", "flask alone"] if pair % 2 == 0 else ["flask alone", "fast path"]
        for name in [*order, "bare"]:
            runs[name].append(measure(apps[name], single_file))
        load.append(load_average())
    rate = {k: statistics.median(r.accepted_per_s for r in v) for k, v in runs.items()}
    cpu = {
        k: statistics.median(r.cpu_server / max(1.0, r.accepted_per_s) for r in v) * 1e6
        for k, v in runs.items()
    }
    p50 = {k: statistics.median(r.p50_ms for r in v) for k, v in runs.items()}
    cores = {k: statistics.median(r.cpu_server for r in v) for k, v in runs.items()}
    print(f"single events, {pairs} pairs, load {min(load):.1f}-{max(load):.1f}, medians:")
    for name in apps:
        each = ", ".join(f"{r.accepted_per_s:,.0f}" for r in runs[name])
        print(
            f"  {name:<12} {rate[name]:7,.0f} req/s ({each}), {cpu[name]:5,.0f} µs CPU a request,"
            f" {cores[name]:.2f} cores, p50 {p50[name]:.1f} ms,"
            f" ratio to bare {rate[name] / max(1.0, rate['bare']):.2f}"
        )


def print_in_process(folder: Path, single_file: Path, batch_file: Path) -> None:
    for name, bodies in (("single", single_file), ("20-event batch", batch_file)):
        loaded = [line.encode() for line in bodies.read_text().splitlines()]
        for log in ("redis",):  # one request at a time waits out Kafka's linger: idle
            load = load_average()
            cpu = in_process(folder, loaded, log)
            medians = {mode: statistics.median(values) for mode, values in cpu.items()}
            change = medians["fast path"] / medians["flask"] - 1
            print(
                f"{name}, {log} log (load {load:.1f}): CPU µs per request, ten interleaved rounds"
                f" of 500: fast path median {medians['fast path']:,.0f} (least"
                f" {min(cpu['fast path']):,.0f}) against Flask alone {medians['flask']:,.0f}"
                f" (least {min(cpu['flask']):,.0f}): {change:+.0%}"
            )


def limiter_cost(measure: Callable[..., Load], log: str, single_file: Path) -> list[Figure]:
    """The rate limiter's share of the collector's work: single requests (where it weighs
    most) with the limiter on and off in ABBA order, twice (consecutive runs differ by up to a
    quarter on a shared machine, and the later of two is often the slower: the order cancels
    out), medians of each. ``make bench-ratelimit`` measures the limiter itself."""
    app = "tracker.wsgi:app"
    off = {
        "CLICKTRAIL_COLLECTOR_RATE_LIMIT": "off",
        "CLICKTRAIL_COLLECTOR_SERVER_RATE_LIMIT": "off",
    }
    runs: dict[str, list[Load]] = {"on": [], "off": []}
    for kind in ("on", "off", "off", "on", "on", "off", "off", "on"):
        runs[kind].append(
            measure(app, single_file, log=log, extra_env=off if kind == "off" else {})
        )
    rate = {k: statistics.median(r.accepted_per_s for r in v) for k, v in runs.items()}
    cpu = {
        k: statistics.median(r.cpu_server / max(1.0, r.accepted_per_s) for r in v) * 1e6
        for k, v in runs.items()
    }
    return [
        Figure(
            "rate limiter cost share (single requests/s)",
            1 - rate["on"] / rate["off"],
            "share",
            0.05,
            "lower",
        ),
        Figure(
            "rate limiter cost share (CPU per request)",
            cpu["on"] / cpu["off"] - 1,
            "share",
            0.05,
            "lower",
        ),
        Figure("single requests/s, limiter off", rate["off"], "req/s"),
    ]


def measure_log(
    prefix: str,
    measure: Callable[..., Load],
    batch_file: Path,
    single_file: Path,
    bare_single: Load,
    connections: int = 32,
) -> list[Figure]:
    """The figures of one event log: batched, single, and paced at half the single maximum."""
    collector_app = "tracker.wsgi:app"
    batch = measure(collector_app, batch_file)
    single = measure(collector_app, single_file, profile=True)
    # wrk's delay() paces each connection: a connection sends every delay + latency, so the
    # delay is calibrated once against the rate a first paced run achieved.
    target_rate = max(1.0, single.accepted_per_s / 2)
    delay_ms = connections / target_rate * 1000
    paced = measure(collector_app, single_file, delay_ms=delay_ms)
    achieved = max(1.0, paced.requests_per_s)
    delay_ms = max(0.1, delay_ms - (connections / achieved * 1000 - delay_ms))
    paced = measure(collector_app, single_file, delay_ms=delay_ms)
    cpu_us = single.cpu_server / max(1.0, single.accepted_per_s) * 1e6
    batch_cpu_us = batch.cpu_server / max(1.0, batch.accepted_per_s * 20) * 1e6
    return [
        Figure(f"{prefix}batched events/s", batch.accepted_per_s * 20, "events/s", 25000),
        Figure(f"{prefix}batched requests/s", batch.accepted_per_s, "req/s"),
        Figure(f"{prefix}single requests/s", single.accepted_per_s, "req/s", 2500),
        Figure(
            f"{prefix}single ratio to bare",
            single.accepted_per_s / max(1.0, bare_single.accepted_per_s),
            "ratio",
            0.6,
        ),
        Figure(f"{prefix}paced rate offered", target_rate, "req/s"),
        Figure(f"{prefix}paced rate achieved", paced.requests_per_s, "req/s"),
        Figure(f"{prefix}paced p50 ms", paced.p50_ms, "ms", None, "lower"),
        Figure(f"{prefix}paced p99 ms", paced.p99_ms, "ms", 25, "lower"),
        Figure(
            f"{prefix}paced non-202 share",
            paced.non2xx / max(1, paced.requests),
            "share",
            0.001,
            "lower",
        ),
        Figure(f"{prefix}worker RSS MB", single.worker_rss_mb, "MB", 80, "lower"),
        Figure(f"{prefix}collector CPU µs per single request", cpu_us, "µs", None, "lower"),
        Figure(f"{prefix}collector CPU µs per batched event", batch_cpu_us, "µs", None, "lower"),
        Figure(f"{prefix}collector CPU (single run)", single.cpu_server, "cores", None, "lower"),
        Figure(f"{prefix}log server CPU (single run)", single.cpu_broker, "cores", None, "lower"),
        Figure(f"{prefix}wrk CPU (single run)", single.cpu_wrk, "cores", None, "lower"),
        Figure(
            f"{prefix}503 answers at saturation (backpressure)",
            batch.non2xx + single.non2xx,
            "count",
            None,
            "lower",
        ),
    ]


if __name__ == "__main__":
    main()
