"""``make bench-profiles``: the profile sink on simulator traffic against the real profile Redis.

Simulator batches become log records (one record per batch, one partition per visitor key);
their events become rows with the fields profiles read, location and device from the
simulator's ground truth standing in for enrichment. Records are applied in worker-sized
batches. Figures: events/s and µs/event of ``ProfileSink.apply`` (and of the pure aggregation
alone), Redis CPU per event, round trips per batch, a replay of the last batches (all skipped
by the watermarks), the memory a profile takes (``MEMORY USAGE`` of each profile hash, and the
instance's growth per visitor; ``seen:`` keys, the event ids remembered per visitor id, apart),
and the same log with a share of its records sent again at later positions (a client resending
after a 503 whose first copy was written): its rate, and how many events the profiles counted
beyond the distinct ones (0 when every copy was caught).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import zlib
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository's `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis  # noqa: E402

from bench.report import Figure, report  # noqa: E402
from clicktrail import services  # noqa: E402
from clicktrail.settings import Settings  # noqa: E402
from clicktrail.simulator.devices import load_user_agents  # noqa: E402
from clicktrail.simulator.geography import load_network_pool  # noqa: E402
from clicktrail.simulator.simulation import SimulationConfig, run_simulation  # noqa: E402
from pipelines.profiles import Position, ProfileConfig, ProfileSink  # noqa: E402
from pipelines.profiles.aggregate import aggregate  # noqa: E402

SITE = "benchprofiles"
PARTITIONS = 4
DATABASE = 13  # away from a running engine's profiles and from the tests'

Record = tuple[Position, list[dict[str, Any]]]


def simulated_records(visitors: int, days: int, geoip_db: Path) -> list[Record]:
    networks = load_network_pool(geoip_db, seed=1)
    result = run_simulation(
        SimulationConfig(seed=1, visitors=visitors, days=days, site_id=SITE),
        networks,
        load_user_agents(),
    )
    truth = result.truth["visitors"]
    offsets = [0] * PARTITIONS
    records: list[Record] = []
    for batch in result.batches:
        partition = zlib.crc32(f"{SITE}:{batch.visitor_id}".encode()) % PARTITIONS
        offsets[partition] += 1
        known = truth.get(batch.visitor_id, {})
        rows = [_row(event, known) for event in json.loads(batch.body)["events"]]
        records.append((Position(f"events/{partition}", offsets[partition]), rows))
    return records


def _row(event: dict[str, Any], known: dict[str, Any]) -> dict[str, Any]:
    device = known.get("device", {})
    items = event.get("items") or []
    return {
        "site_id": SITE,
        "visitor_id": event["visitor_id"],
        "created_ms": event["created_at"],
        "event_id": event["event_id"],
        "event_type": event["event_type"],
        "user_id": event.get("user_id", ""),
        "replaced_visitor_id": "",
        "session_id": event.get("session_id", ""),
        "sku": event.get("sku", ""),
        "category": event.get("category", []),
        "order_id": event.get("order_id", ""),
        "item_skus": [item["sku"] for item in items],
        "country": known.get("country", ""),
        "city": known.get("city") or "",
        "latitude": 0.0,
        "longitude": 0.0,
        "device_type": device.get("class", ""),
        "browser": "",
        "os": "",
        "is_bot": int(bool(known.get("is_bot"))),
    }


def batches(records: list[Record], events_per_batch: int) -> list[list[Record]]:
    out: list[list[Record]] = [[]]
    size = 0
    for record in records:
        if size >= events_per_batch:
            out.append([])
            size = 0
        out[-1].append(record)
        size += len(record[1])
    return out


def with_resends(records: list[Record], share: float, seed: int = 2) -> list[Record]:
    """The log with ``share`` of its records sent again: each copy is logged 1–50 records
    after its original (seconds to minutes on a busy site), at a new position of the same
    partition, as when a client resends after a 503 and the first copy had been written."""
    rng = random.Random(seed)
    due: dict[int, list[Record]] = {}
    order: list[Record] = []
    for i, record in enumerate(records):
        order.append(record)
        order.extend(due.pop(i, []))
        if rng.random() < share:
            due.setdefault(i + rng.randint(1, 50), []).append(record)
    order.extend(copy for i in sorted(due) for copy in due[i])
    offsets: dict[str, int] = {}
    out: list[Record] = []
    for position, rows in order:
        offsets[position.partition] = offsets.get(position.partition, 0) + 1
        out.append((Position(position.partition, offsets[position.partition]), rows))
    return out


def timed_apply(sink: ProfileSink, work: list[list[Record]]) -> tuple[float, float, int]:
    """Seconds, Redis CPU seconds and round trips of applying every batch."""
    trips, cpu = sink.round_trips, redis_cpu(sink.client)
    began = time.perf_counter()
    for batch in work:
        sink.apply(batch)
    seconds = time.perf_counter() - began
    return seconds, redis_cpu(sink.client) - cpu, sink.round_trips - trips


def key_sizes(client: redis.Redis, pattern: str, holding: str = "") -> list[int]:
    """``MEMORY USAGE`` of every key matching ``pattern`` (hashes: only those with field
    ``holding``, e.g. profiles holding data rather than aliases)."""
    return [
        int(client.memory_usage(key, samples=0) or 0)
        for key in client.scan_iter(match=pattern, count=1000)
        if not holding or client.hexists(key, holding)
    ]


WARM_UP = "warm-up"  # the visitor of the row that loads the script before the timed run


def counted_events(client: redis.Redis) -> int:
    """Events counted over every profile of the site, the warm-up row's left out."""
    return sum(
        int(client.hget(key, "events") or 0)
        for key in client.scan_iter(match=f"profile:{SITE}:*", count=1000)
        if key != f"profile:{SITE}:v:{WARM_UP}".encode()
    )


def redis_cpu(client: redis.Redis) -> float:
    info: Any = client.info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visitors", type=int, default=3000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--batch-events", type=int, default=10_000)
    parser.add_argument("--resent-share", type=float, default=0.02)
    args = parser.parse_args()
    settings = Settings.from_env()
    services.start(["redis-profile"])

    records = simulated_records(args.visitors, args.days, settings.geoip_db)
    events = sum(len(rows) for _, rows in records)
    work = batches(records, args.batch_events)
    config = ProfileConfig.from_settings(settings)

    began = time.perf_counter()
    deltas = sum(len(aggregate(batch, config)) for batch in work)
    aggregate_s = time.perf_counter() - began

    client = redis.Redis.from_url(settings.profile_url.url.rsplit("/", 1)[0] + f"/{DATABASE}")
    sink = ProfileSink(client, config)
    sink.clear_site(SITE)
    warm_up = {**work[0][0][1][0], "visitor_id": WARM_UP, "is_bot": 0}
    sink.apply([(None, [warm_up])])  # loads the script: the timed run measures steady state
    memory_before = int(client.info("memory")["used_memory"])
    apply_s, redis_s, trips = timed_apply(sink, work)
    memory_after = int(client.info("memory")["used_memory"])
    sizes = key_sizes(client, f"profile:{SITE}:*", holding="events")
    seen = key_sizes(client, f"seen:{SITE}:*") or [0]
    visitors = len({rows[0]["visitor_id"] for _, rows in records})
    counted = counted_events(client)

    replayed = work[-3:]
    replay_events = sum(len(rows) for batch in replayed for _, rows in batch)
    replay_s, _, _ = timed_apply(sink, replayed)
    memory: Any = client.info("memory")
    profiles = sum(1 for _ in client.scan_iter(match=f"profile:{SITE}:*", count=1000))

    sink.clear_site(SITE)
    resent = with_resends(records, args.resent_share)
    resent_events = sum(len(rows) for _, rows in resent)
    resent_s, resent_redis_s, resent_trips = timed_apply(sink, batches(resent, args.batch_events))
    resent_extra = counted_events(client) - counted
    sink.clear_site(SITE)
    client.close()

    report(
        "profiles",
        [
            Figure("events", events, "events"),
            Figure("batches", len(work), "batches"),
            Figure("visitor_deltas_per_batch", deltas / len(work), "deltas"),
            Figure("apply_events_per_second", events / apply_s, "events/s", target=20_000),
            Figure("apply_us_per_event", apply_s / events * 1e6, "µs", better="lower"),
            Figure("aggregate_us_per_event", aggregate_s / events * 1e6, "µs", better="lower"),
            Figure("redis_cpu_us_per_event", redis_s / events * 1e6, "µs", better="lower"),
            Figure("round_trips_per_batch", trips / len(work), "trips", better="lower"),
            Figure("replay_events_per_second", replay_events / replay_s, "events/s"),
            Figure("profile_keys", profiles, "keys"),
            Figure("redis_used_memory_mb", memory["used_memory"] / 2**20, "MiB", better="lower"),
            Figure("profile_hash_bytes_median", statistics.median(sizes), "B", better="lower"),
            Figure("profile_hash_bytes_mean", statistics.fmean(sizes), "B", better="lower"),
            Figure(
                "profile_hash_bytes_p90", statistics.quantiles(sizes, n=10)[-1], "B", better="lower"
            ),
            Figure("profile_hash_bytes_max", max(sizes), "B", better="lower"),
            Figure("seen_keys", len(seen), "keys"),
            Figure("seen_key_bytes_median", statistics.median(seen), "B", better="lower"),
            Figure("seen_key_bytes_mean", statistics.fmean(seen), "B", better="lower"),
            Figure("seen_key_bytes_max", max(seen), "B", better="lower"),
            Figure(
                "memory_per_visitor",
                (memory_after - memory_before) / visitors,
                "B",
                better="lower",
            ),
            Figure("resent_share", args.resent_share * 100, "%"),
            Figure("resent_events_per_second", resent_events / resent_s, "events/s"),
            Figure(
                "resent_redis_cpu_us_per_event",
                resent_redis_s / resent_events * 1e6,
                "µs",
                better="lower",
            ),
            Figure(
                "resent_round_trips_per_batch",
                resent_trips / len(batches(resent, args.batch_events)),
                "trips",
                better="lower",
            ),
            Figure("resent_events_counted_twice", resent_extra, "events", target=0, better="lower"),
        ],
    )


if __name__ == "__main__":
    main()
