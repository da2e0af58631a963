"""``python -m bench.privacy``: what the pipeline's tombstone filter costs.

The filter wraps the worker's ``RowBuilder`` (decode is before it, the sinks after it), so its
cost is measured where it runs: the simulator's records enriched by the same ``RowBuilder``
bare, behind the filter with no tombstone on the site (every site without erasures), and
behind the filter with 10,000 tombstones on the site (each record's visitor id hashed and
looked up; none matches, so every event is still enriched). The filter reads the tombstones'
version from a real state Redis (its own database here, so the benchmark's tombstones reach no
running pipeline) once a second, as in the worker. Passes alternate and the median counts.

Figures: ``enrich events/s bare``, ``enrich events/s filter, no tombstones``,
``enrich events/s filter, 10,000 tombstones``, the filter's cost in per cent of the bare rate
for each (``tombstone filter cost ...``: within the noise of a shared machine), and the
filter's own lookups timed apart from enrichment (``tombstone check us per record`` and ``per
event``), which a shared machine's noise cannot hide.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository's `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis  # noqa: E402

from bench.report import Figure, report  # noqa: E402
from clicktrail import ports  # noqa: E402
from clicktrail.privacy import tombstones  # noqa: E402
from clicktrail.settings import Settings  # noqa: E402
from clicktrail.simulator.devices import load_user_agents  # noqa: E402
from clicktrail.simulator.geography import load_network_pool  # noqa: E402
from clicktrail.simulator.records import records_of  # noqa: E402
from clicktrail.simulator.simulation import SimulationConfig, run_simulation  # noqa: E402
from clicktrail.sites.model import Site  # noqa: E402
from pipelines.enrich import DeviceDetector, GeoLocator  # noqa: E402
from pipelines.privacy.filter import TombstoneFilter  # noqa: E402
from pipelines.privacy.tombstones import KEY, VERSION_KEY, TombstoneStore  # noqa: E402
from pipelines.rows import RowBuilder  # noqa: E402

BENCH_DB = 7  # a database of the state Redis no service uses


def rate(builder, records) -> float:  # noqa: ANN001
    events = 0
    began = time.perf_counter()
    for record in records:
        events += len(builder.build_compact(record).events)
    return events / (time.perf_counter() - began)


def check_us_per_record(found: frozenset[str], records) -> float:  # noqa: ANN001
    """The filter's own work per record, apart from enrichment: the lookups it makes for a
    record of a site with tombstones (visitor id, replaced id, each distinct user id)."""
    began = time.perf_counter()
    for record in records:
        site = record.site_id
        tombstones.forgotten(found, site, "v", record.visitor_id)
        tombstones.forgotten(found, site, "v", record.replaced_visitor_id)
        for user in {event.get("user_id") for event in record.events} - {None, ""}:
            tombstones.forgotten(found, site, "u", user)
    return (time.perf_counter() - began) / len(records) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visitors", type=int, default=1500)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--passes", type=int, default=9)
    parser.add_argument("--tombstones", type=int, default=10_000)
    args = parser.parse_args()

    settings = Settings.from_env()
    site = Site("demo")
    networks = load_network_pool(settings.geoip_db, seed=1)
    simulation = run_simulation(
        SimulationConfig(seed=1, visitors=args.visitors, days=args.days, site_id="demo"),
        networks,
        load_user_agents(),
    )
    records = list(records_of(simulation.batches, site))
    events = sum(len(r.events) for r in records)
    print(f"{len(records):,} records, {events:,} events")

    client = redis.Redis.from_url(f"redis://127.0.0.1:{ports.port('redis_state')}/{BENCH_DB}")
    client.delete(KEY, VERSION_KEY)
    store = TombstoneStore(client)
    geo = GeoLocator(settings.geoip_db)
    builder = RowBuilder(geo, DeviceDetector(), {"demo": site}.get)
    empty = TombstoneFilter(builder, store, refresh_seconds=1.0)
    until = int(time.time() * 1000) + 3_600_000
    fake = {
        f"demo:{tombstones.digest('demo', 'v', f'gone-{n}')}": until for n in range(args.tombstones)
    }
    client.zadd(KEY, fake)
    client.incr(VERSION_KEY)
    full = TombstoneFilter(builder, store, refresh_seconds=1.0)
    assert len(full) == args.tombstones and len(empty) == 0
    empty.tombstones = tombstones.Tombstones({}, empty.tombstones.version)  # stays empty

    rate(builder, records)  # warm the caches once: every run then sees the same hit rates
    runs: dict[str, list[float]] = {"bare": [], "empty": [], "full": []}
    for _ in range(args.passes):
        runs["bare"].append(rate(builder, records))
        runs["empty"].append(rate(empty, records))
        runs["full"].append(rate(full, records))
    assert full.dropped_events == 0
    check_us = statistics.median(
        check_us_per_record(full.tombstones.site("demo"), records) for _ in range(args.passes)
    )
    events_per_record = events / len(records)
    client.delete(KEY, VERSION_KEY)
    client.close()
    geo.close()
    median = {name: statistics.median(values) for name, values in runs.items()}
    print("passes (events/s):", {name: [round(v) for v in values] for name, values in runs.items()})
    report(
        "privacy",
        [
            Figure("enrich events/s bare", median["bare"], "events/s"),
            Figure("enrich events/s filter, no tombstones", median["empty"], "events/s"),
            Figure(
                f"enrich events/s filter, {args.tombstones:,} tombstones",
                median["full"],
                "events/s",
            ),
            Figure(
                f"tombstone check us per record, {args.tombstones:,} tombstones",
                check_us,
                "us",
                better="lower",
            ),
            Figure(
                f"tombstone check us per event, {args.tombstones:,} tombstones",
                check_us / events_per_record,
                "us",
                better="lower",
            ),
            Figure(
                "tombstone filter cost, no tombstones",
                100 * (1 - median["empty"] / median["bare"]),
                "%",
                better="lower",
            ),
            Figure(
                f"tombstone filter cost, {args.tombstones:,} tombstones",
                100 * (1 - median["full"] / median["bare"]),
                "%",
                better="lower",
            ),
        ],
    )


if __name__ == "__main__":
    main()
