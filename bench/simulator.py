"""``make bench-simulator``: how fast the simulator makes traffic, and what its inputs cost.

Figures: sampling networks from the configured GeoIP database (the 2018 GeoLite2 City file by
default), loading and ranking the user-agent corpus, and generating a run of about 130k events
(people, sessions, batching and JSON encoding included, writing the file excluded).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository's `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import Figure, report  # noqa: E402
from clicktrail.settings import Settings  # noqa: E402
from clicktrail.simulator.devices import build_user_agent_pool, load_user_agents  # noqa: E402
from clicktrail.simulator.geography import load_network_pool  # noqa: E402
from clicktrail.simulator.output import write_batches  # noqa: E402
from clicktrail.simulator.simulation import SimulationConfig, run_simulation  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visitors", type=int, default=3000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--geoip-db", type=Path, default=None)
    args = parser.parse_args()
    db = args.geoip_db or Settings.from_env().geoip_db

    began = time.perf_counter()
    networks = load_network_pool(db, seed=1)
    geoip_s = time.perf_counter() - began

    began = time.perf_counter()
    agents = load_user_agents()
    build_user_agent_pool(agents, seed=1)
    agents_s = time.perf_counter() - began

    config = SimulationConfig(seed=1, visitors=args.visitors, days=args.days)
    began = time.perf_counter()
    result = run_simulation(config, networks, agents)
    generate_s = time.perf_counter() - began
    events = result.event_count

    with tempfile.TemporaryDirectory() as folder:
        began = time.perf_counter()
        write_batches(Path(folder) / "out.jsonl", result.batches)
        write_s = time.perf_counter() - began

    rate = events / generate_s
    report(
        "simulator",
        [
            Figure("geoip_sample_seconds", geoip_s, "s", better="lower"),
            Figure("geoip_networks_sampled", len(networks.ipv4) + len(networks.ipv6), "networks"),
            Figure("user_agent_pool_seconds", agents_s, "s", better="lower"),
            Figure("events_generated", events, "events"),
            Figure("generate_events_per_second", rate, "events/s"),
            Figure("generate_100k_events_seconds", 100_000 / rate, "s", better="lower"),
            Figure("write_events_per_second", events / write_s, "events/s"),
            Figure("events_per_batch", events / len(result.batches), "events", better="higher"),
        ],
    )


if __name__ == "__main__":
    main()
