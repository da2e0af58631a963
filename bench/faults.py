"""``make bench-faults``: the fault table of docs/reliability.md at full size.

Runs the fault tests of `make test` with ``BENCH_FAULT_SCALE=full`` (a 60 s Kafka outage over
the production 30 s delivery timeout, a 60 s ClickHouse outage, 10 SIGKILLs over ~100,000
events; tests/integration/fault_scale.py), so the benchmark and the tests are the same code,
and collects the figures each records. Prints the table, writes bench/results/faults.json.
About 10 minutes; needs the services of `make services`."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.report import RESULTS

ROOT = Path(__file__).parents[1]

FAULTS = {
    "worker": "tests/integration/test_pipeline.py::"
    "test_worker_killed_repeatedly_while_events_flow_counts_exactly",
    "kafka": "tests/integration/test_kafka_restart.py",
    "clickhouse": "tests/integration/test_pipeline.py::"
    "test_clickhouse_stopped_during_ingest_loses_and_doubles_nothing",
    "chdb-owner": "tests/integration/test_pipeline.py::"
    "test_the_chdb_owner_stopped_during_ingest_loses_and_doubles_nothing",
    "redis": "tests/integration/test_personalizer_redis_away.py",
    "disk": "tests/integration/test_fault_disk_full.py",
}


def run(name: str, target: str, report: Path, scale: str) -> dict:
    env = {**os.environ, "BENCH_FAULT_REPORT": str(report)}
    if scale == "full":
        env["BENCH_FAULT_SCALE"] = "full"
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-s", target],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    summary = (result.stdout.strip().splitlines() or ["(no output)"])[-1]
    print(f"  {name}: {summary} ({time.monotonic() - started:.0f} s)", flush=True)
    if result.returncode != 0:
        print(result.stdout[-4000:], result.stderr[-2000:], sep="\n")
    return {"held": result.returncode == 0, "pytest": summary}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("faults", nargs="*", help=f"some of: {', '.join(FAULTS)}")
    parser.add_argument("--small", action="store_true", help="make test's sizes (a smoke run)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.faults) - set(FAULTS))
    if unknown:
        parser.error(f"no fault {', '.join(unknown)}: choose from {', '.join(FAULTS)}")
    scale = "small" if args.small else "full"
    chosen = args.faults or list(FAULTS)
    report = Path(tempfile.mkdtemp(prefix="clicktrail-faults-")) / "figures.jsonl"
    print(f"faults at {scale} size: {', '.join(chosen)}", flush=True)
    outcomes = {name: run(name, FAULTS[name], report, scale) for name in chosen}
    figures = (
        [json.loads(line) for line in report.read_text().splitlines()] if report.exists() else []
    )
    document = {
        "bench": "faults",
        "cores": os.cpu_count(),
        "scale": scale,
        "outcomes": outcomes,
        "figures": figures,
        "load_average": os.getloadavg()[0],
    }
    for row in figures:
        fault = row.pop("fault")
        row.pop("full", None)
        print(f"  {fault}: " + ", ".join(f"{k} {v}" for k, v in row.items()))
        row["fault"] = fault
    if scale == "full":
        RESULTS.mkdir(exist_ok=True)
        path = RESULTS / "faults.json"
        if args.faults and path.exists():  # a rerun of some faults keeps the others' figures
            earlier = json.loads(path.read_text())
            names = {row["fault"] for row in figures}
            document["outcomes"] = {**earlier.get("outcomes", {}), **outcomes}
            document["figures"] = [
                row for row in earlier.get("figures", []) if row["fault"] not in names
            ] + figures
        path.write_text(json.dumps(document, indent=2) + "\n")
    return document


if __name__ == "__main__":
    document = main()
    sys.exit(0 if all(o["held"] for o in document["outcomes"].values()) else 1)
