"""``make bench-pipeline``: one pipeline worker over 500,000 simulated events in Kafka.

Runs, each a fresh consumer group reading the same preloaded topic, each a worker process of
its own (``clicktrail pipeline --exit-when-idle``):

- the ClickHouse path alone, the profile path alone, and both, on the ClickHouse server;
- both on chdb;
- lag: both sinks while records arrive at 5,000 events/s, accepted → visible in ClickHouse
  and Redis (the worker measures now − ``received_at`` after both sinks acknowledged).

Ceilings in the same run: raw Kafka consume rate, raw columnar insert rate of each engine.

    python -m bench.pipeline [--events 500000] [--skip-chdb]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.collector import cpu_seconds
from bench.report import Figure, report
from clicktrail import ports, services
from clicktrail.contract.record import LogRecord
from clicktrail.settings import (
    Settings,
    parse_clickhouse_url,
    parse_event_log_url,
    parse_redis_url,
)
from clicktrail.simulator.devices import load_user_agents
from clicktrail.simulator.geography import load_network_pool
from clicktrail.simulator.records import records_of
from clicktrail.simulator.simulation import SimulationConfig, run_simulation
from clicktrail.sites.model import Site
from clicktrail.sites.registry import edit_sites
from pipelines.eventlog.kafka import KafkaLog

ROOT = Path(__file__).parents[1]
LAG_RATE = 5_000  # events/s
LAG_SECONDS = 20


def simulate(events: int, geoip: Path) -> list[LogRecord]:
    visitors = max(100, events // 60)  # about 60 events per simulated person over 14 days
    config = SimulationConfig(seed=7, visitors=visitors, days=14, site_id="shop")
    result = run_simulation(config, load_network_pool(geoip, config.seed), load_user_agents())
    records: list[LogRecord] = []
    total = 0
    for record in records_of(result.batches, Site("shop")):
        records.append(record)
        total += len(record.events)
        if total >= events:
            break
    return records


def preload(log: KafkaLog, records: list[LogRecord]) -> float:
    started = time.perf_counter()
    for start in range(0, len(records), 2000):
        log.append(records[start : start + 2000], timeout=60)
    return time.perf_counter() - started


def raw_consume_rate(log: KafkaLog, expected_records: int) -> float:
    reader = log.reader(f"raw-{uuid.uuid4().hex[:6]}", "raw")
    got = 0
    started = None
    while got < expected_records:
        messages = reader.read(10_000, timeout=5)
        if not messages:
            break
        started = started or time.perf_counter()
        got += len(messages)
    elapsed = time.perf_counter() - (started or time.perf_counter())
    reader.close()
    return got / elapsed if elapsed else 0.0


BOTH = "warehouse,profiles"


def run_worker(env: dict[str, str], sinks: str, idle: float = 4.0) -> tuple[dict, float, dict]:
    """A worker process until idle; its stats (with ``peak_rss_mb``, read from outside), its
    CPU seconds, and the services' CPU."""
    stats_file = Path(tempfile.mkstemp(suffix=".json")[1])
    worker_log = tempfile.TemporaryFile()  # noqa: SIM115 - closed after the worker ends
    service_cpu_before = services_cpu()
    load_at_start = os.getloadavg()[0]
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "clicktrail.cli",
            "pipeline",
            "--exit-when-idle",
            str(idle),
            "--sinks",
            sinks,
            "--stats-json",
            str(stats_file),
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=worker_log,
    )
    peak_mb, cpu = watch(worker)
    worker_log.seek(0)
    stderr = worker_log.read().decode(errors="replace")
    worker_log.close()
    if worker.returncode != 0:
        raise RuntimeError(stderr[-3000:])
    service_cpu = {k: v - service_cpu_before[k] for k, v in services_cpu().items()}
    stats = json.loads(stats_file.read_text())
    stats_file.unlink()
    stats["peak_rss_mb"] = peak_mb
    stats["load_at_start"] = load_at_start
    return stats, cpu, service_cpu


def watch(process: subprocess.Popen, every: float = 0.05) -> tuple[float, float]:
    """Wait for ``process``; return its peak resident memory in MB, read from outside, and its
    CPU seconds. The peak is the kernel's high-water mark of the process's memory map
    (``VmHWM``), sampled until it exits: the last sample holds the peak up to then. Not
    ``ru_maxrss``: Linux carries that across exec, so a worker started by this big process
    would report this one's size."""
    peak_kb = 0
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            return peak_kb / 1024, usage.ru_utime + usage.ru_stime
        try:
            text = Path(f"/proc/{process.pid}/status").read_text()
        except FileNotFoundError:
            text = ""
        for line in text.splitlines():
            if line.startswith("VmHWM:"):
                peak_kb = max(peak_kb, int(line.split()[1]))
        time.sleep(every)


def services_cpu() -> dict[str, float]:
    found = {}
    for name, status in services.status(["clickhouse", "kafka", "redis-profile"]).items():
        found[name] = cpu_seconds(status.pid) if status.pid else 0.0
    return found


def step_figures(label: str, stats: dict, cpu: float, service_cpu: dict) -> list[Figure]:
    events = stats["events"]
    busy = stats["busy_seconds"]
    per_event = {
        "decode": stats["seconds"]["decode"],
        **{name: seconds for name, seconds in stats["enrich_seconds"].items()},
        "enrich (all steps, rows)": stats["seconds"]["enrich"],
        "ClickHouse insert": stats["seconds"].get("warehouse", 0.0),
        "profile update": stats["seconds"].get("profiles", 0.0),
        "commit": stats["seconds"]["commit"],
    }
    figures = [
        Figure(f"{label}: events/s", stats["events_per_second"] or 0, "events/s", 20_000),
        Figure(f"{label}: worker CPU", cpu / busy if busy else 0, "cores"),
        # read from outside the worker (VmHWM sampled until it exits); no target of its own:
        # the target is on the named figure of the server's both-sinks run
        Figure(f"{label}: worker peak RSS", stats["peak_rss_mb"], "MB", None, "lower"),
        Figure(f"{label}: machine load at start", stats["load_at_start"], "runnable (1 min)"),
    ]
    for name, seconds in service_cpu.items():
        figures.append(Figure(f"{label}: {name} CPU", seconds / busy if busy else 0, "cores"))
    for name, seconds in per_event.items():
        if seconds:
            figures.append(Figure(f"{label}: {name}", seconds / events * 1e6, "µs/event"))
    figures.append(
        Figure(
            f"{label}: wall time of the batch steps",
            sum(per_event.values()) / busy * 100 if busy else 0,
            "% of busy",
        )
    )
    for name, cache in stats["caches"].items():
        figures.append(Figure(f"{label}: {name} cache hit rate", cache["hit_rate"] * 100, "%"))
    return figures


def lag_run(env: dict[str, str], log: KafkaLog, records: list[LogRecord]) -> list[Figure]:
    """Records appended at LAG_RATE events/s with a fresh received_at while a worker runs."""
    stats_file = Path(tempfile.mkstemp(suffix=".json")[1])
    worker_log = tempfile.TemporaryFile()  # noqa: SIM115 - closed after the worker ends
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "clicktrail.cli",
            "pipeline",
            "--sinks",
            BOTH,
            "--exit-when-idle",
            "30",
            "--stats-json",
            str(stats_file),
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        # A file, not a pipe: nobody reads while the producer runs, and a full pipe would
        # stall the worker on its next log line.
        stderr=worker_log,
    )
    time.sleep(10)  # worker start-up: imports, GeoIP, migrations, group join (idle: 30 s)
    sent = 0
    started = time.monotonic()
    index = 0
    while time.monotonic() - started < LAG_SECONDS:
        due = int((time.monotonic() - started) * LAG_RATE)
        chunk = []
        while sent < due:
            record = records[index % len(records)]
            index += 1
            now = int(time.time() * 1000)
            # A new received_at (and new ids, so nothing collapses): fresh traffic.
            events = [dict(e, event_id=str(uuid.uuid4())) for e in record.events]
            chunk.append(dataclasses.replace(record, received_at=now, events=events))
            sent += len(events)
        if chunk:
            log.append(chunk, timeout=10)
        time.sleep(0.01)
    worker.wait(timeout=120)
    worker_log.seek(0)
    stderr = worker_log.read()
    worker_log.close()
    if worker.returncode != 0:
        raise RuntimeError(stderr.decode()[-3000:])
    stats = json.loads(stats_file.read_text())
    stats_file.unlink()
    lag = stats["lag_ms"]
    if not lag["count"]:
        print(
            f"lag run: the worker wrote {stats['events']} events; its log:\n"
            f"{stderr.decode()[-3000:]}",
            file=sys.stderr,
        )
    return [
        Figure("lag at 5,000 events/s: offered rate", sent / LAG_SECONDS, "events/s"),
        Figure("lag at 5,000 events/s: events measured", lag["count"], "events"),
        Figure("lag at 5,000 events/s: p50", lag["p50"] or 0, "ms", None, "lower"),
        Figure("lag at 5,000 events/s: max", lag["max"] or 0, "ms", None, "lower"),
        Figure("lag p95 ms", lag["p95"] or 0, "ms", 2000, "lower"),
    ]


def chdb_floor() -> Figure:
    """Peak RSS of a process that only opens a chdb folder and answers ``SELECT 1``: what the
    embedded engine costs the worker before any pipeline code, read from outside."""
    folder = tempfile.mkdtemp(prefix="chdb-floor-")
    script = (
        "import chdb.session, sys\n"
        "session = chdb.session.Session(sys.argv[1])\n"
        "session.query('SELECT 1')\n"
        "session.close()\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script, folder], cwd=ROOT)
    peak_mb, _ = watch(process, every=0.01)
    if process.returncode != 0:
        raise RuntimeError(f"chdb floor: exit {process.returncode}")
    return Figure("chdb: engine alone (open, SELECT 1) peak RSS", peak_mb, "MB", None, "lower")


def insert_ceilings(skip_chdb: bool) -> list[Figure]:
    from bench.warehouse import python_rows
    from clicktrail.settings import ChdbTarget, ClickHouseServerTarget
    from pipelines.warehouse.factory import open_warehouse
    from pipelines.warehouse.migrate import migrate
    from pipelines.warehouse.sink import WarehouseSink

    rows = python_rows(50_000)
    targets = [
        (
            "server",
            ClickHouseServerTarget(
                "127.0.0.1", ports.port("clickhouse_native"), f"ceiling_{uuid.uuid4().hex[:6]}"
            ),
        )
    ]
    if not skip_chdb:
        targets.append(("chdb", ChdbTarget(Path(tempfile.mkdtemp()), "ceiling")))
    figures = []
    for name, target in targets:
        with open_warehouse(target, timeout=600) as warehouse:
            migrate(warehouse)
            sink = WarehouseSink(warehouse)
            started = time.perf_counter()
            for start in range(0, len(rows), 10_000):
                sink.write(rows[start : start + 10_000])
            rate = len(rows) / (time.perf_counter() - started)
            warehouse.execute(f"DROP DATABASE IF EXISTS {target.database}")
        figures.append(Figure(f"ceiling: raw {name} insert, 75 columns", rate, "rows/s"))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--skip-chdb", action="store_true")
    parser.add_argument("--skip-lag", action="store_true")
    parser.add_argument("--only-lag", action="store_true")
    parser.add_argument(
        "--batch-events",
        type=int,
        default=Settings.from_env({}).pipeline_batch_events,  # the product's default
    )
    args = parser.parse_args()

    services.start(["redis-state", "redis-profile", "kafka", "clickhouse"])
    work = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    settings = Settings.from_env({}, data_dir=work)
    geoip = settings.geoip_db
    sites = work / "sites.json"
    with edit_sites(sites) as registry:
        registry["shop"] = Site("shop", origins=("https://shop.example.test",))

    started = time.perf_counter()
    records = simulate(args.events, geoip)
    events = sum(len(r.events) for r in records)
    print(
        f"simulated {events:,} events in {len(records):,} records "
        f"({time.perf_counter() - started:.1f}s)",
        file=sys.stderr,
    )
    topic = f"bench-{uuid.uuid4().hex[:8]}"
    kafka = f"127.0.0.1:{ports.port('kafka')}"
    log = KafkaLog([kafka], topic, partitions=4, ack_timeout=60)
    log.ensure_created()
    load_seconds = preload(log, records)
    figures = [
        Figure("preload: events", events, "events"),
        Figure("preload: distinct IPs", len({r.ip for r in records}), "addresses"),
        Figure("preload: distinct user agents", len({r.user_agent for r in records}), "strings"),
        Figure("preload: producer rate", events / load_seconds, "events/s"),
        Figure(
            "ceiling: raw Kafka consume",
            raw_consume_rate(log, len(records)) * events / len(records),
            "events/s",
        ),
    ]
    figures += insert_ceilings(args.skip_chdb)
    if not args.skip_chdb:
        figures.append(chdb_floor())

    base = Settings.from_env(
        None,
        data_dir=work,
        sites_file=sites,
        event_log_url=parse_event_log_url(f"kafka://{kafka}/{topic}"),
        pipeline_batch_events=args.batch_events,
        pipeline_batch_ms=1000,
    )

    def worker_env(settings: Settings) -> dict[str, str]:
        return {**os.environ, **settings.to_env()}

    server_url = f"clickhouse://127.0.0.1:{ports.port('clickhouse_native')}"
    runs = [
        ("server, ClickHouse only", "warehouse", f"{server_url}/bench_a", 1),
        ("server, profiles only", "profiles", f"{server_url}/bench_b", 2),
        # the two sinks the figures name; the rollups step's cost is the reports bench's figure
        ("server, both sinks", BOTH, f"{server_url}/bench_c", 3),
    ]
    if not args.skip_chdb:
        runs.append(("chdb, both sinks", BOTH, f"chdb://{work}/chdb", 4))
    for label, sinks, url, profile_db in [] if args.only_lag else runs:
        env = worker_env(
            base.replace(
                clickhouse_url=parse_clickhouse_url(url),
                profile_url=parse_redis_url(
                    f"redis://127.0.0.1:{ports.port('redis_profile')}/{profile_db}"
                ),
                pipeline_group=f"bench-{uuid.uuid4().hex[:6]}",
            )
        )
        _flush_profiles(env["CLICKTRAIL_PROFILE_URL"])
        stats, cpu, service_cpu = run_worker(env, sinks)
        if stats["events"] != events:
            print(f"WARNING {label}: worker saw {stats['events']} of {events}", file=sys.stderr)
        figures += step_figures(label, stats, cpu, service_cpu)
        if label == "server, both sinks":
            # the figures (issue 13), named as it names them
            figures += [
                Figure(
                    "server both sinks events/s",
                    stats["events_per_second"] or 0,
                    "events/s",
                    20_000,
                ),
                Figure("server both sinks peak RSS MB", stats["peak_rss_mb"], "MB", 250, "lower"),
            ]
    if not args.skip_lag:
        lag_topic = f"bench-lag-{uuid.uuid4().hex[:8]}"
        lag_log = KafkaLog([kafka], lag_topic, partitions=4, ack_timeout=10)
        lag_log.ensure_created()
        env = worker_env(
            base.replace(
                event_log_url=parse_event_log_url(f"kafka://{kafka}/{lag_topic}"),
                clickhouse_url=parse_clickhouse_url(f"{server_url}/bench_lag"),
                profile_url=parse_redis_url(f"redis://127.0.0.1:{ports.port('redis_profile')}/5"),
                pipeline_group=f"bench-{uuid.uuid4().hex[:6]}",
            )
        )
        _flush_profiles(env["CLICKTRAIL_PROFILE_URL"])
        figures += lag_run(env, lag_log, records)
        lag_log.close()
    log.close()
    _drop_databases(server_url)
    report("pipeline", figures)


def _flush_profiles(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()


def _drop_databases(server_url: str) -> None:
    from clicktrail.settings import parse_clickhouse_url
    from pipelines.warehouse.factory import open_warehouse

    with open_warehouse(parse_clickhouse_url(f"{server_url}/default")) as warehouse:
        for name in ("bench_a", "bench_b", "bench_c", "bench_lag"):
            warehouse.execute(f"DROP DATABASE IF EXISTS {name}")


if __name__ == "__main__":
    main()
