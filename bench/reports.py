"""``make bench-reports``: every report's query hot over simulated events, on both engines;
the rollup step's cost to the pipeline; the sales forecast's back-test.

1. **Load** (a fast bulk path, no event log): the simulator's people (seed 7, site ``shop``
   in UTC, ``--days`` days from 2025-01-06, a planted sales trend of +1 % a day and a weekly
   rhythm) browse until ``--events`` events are made; their batches become log records and
   rows exactly as the collector and the pipeline's ``RowBuilder`` make them, inserted in
   large batches through the warehouse sink into chdb and the ClickHouse 18.16 server.
   Then the rollups are built one site-local day at a time, as the pipeline's step does.
2. **Reports hot**: each report of the catalog over the last 30 simulated days (today is
   ``QUIET_DAYS`` + 1 later and every day before it is built, so nothing is read raw), one
   warm-up then the median of ``--repeat`` runs, through the reports' own run functions
   (query and Python, as the API answers, without HTTP): ``<report> <engine> ms``.
3. **Forecast back-test**: the sales report's daily orders (and revenue) over the whole
   period, rolling-origin 4-week forecasts vs the seasonal naive (``reports.forecast``):
   ``forecast error ratio to seasonal naive`` (ratio of mean absolute errors) and
   ``forecast interval coverage`` (share of actual days inside the 95 % interval).
4. **Rollup step cost**: pipeline workers (``clicktrail pipeline --exit-when-idle``, as
   ``bench.pipeline`` runs them) over ``--pipeline-events`` events in Kafka on the server,
   with the warehouse and profile steps, with and without the rollups step, 3 runs each:
   ``rollup step cost share`` = 1 - median events/s with / median events/s without.

    python -m bench.reports [--events 10000000] [--copies 10] [--days 84] [--repeat 5]
        [--pipeline-events 200000] [--skip-pipeline] [--engine both|server|chdb] [--keep]
        [--database NAME]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import orjson

from bench.report import Figure, report
from clicktrail import ports, services
from clicktrail.settings import ChdbTarget, ClickHouseServerTarget, Settings
from clicktrail.simulator import difficulty
from clicktrail.simulator.batching import make_batches
from clicktrail.simulator.bots import crawl
from clicktrail.simulator.catalog import build_catalog
from clicktrail.simulator.demand import SalesPattern
from clicktrail.simulator.devices import build_user_agent_pool, load_user_agents
from clicktrail.simulator.geography import load_network_pool
from clicktrail.simulator.pages import Shop
from clicktrail.simulator.population import build_population
from clicktrail.simulator.randomness import derived_random
from clicktrail.simulator.records import records_of
from clicktrail.simulator.schedule import Calendar
from clicktrail.simulator.sessions import HumanBrowsing, SiteContext
from clicktrail.simulator.simulation import SimulationConfig
from clicktrail.sites.model import Site
from pipelines.enrich import DeviceDetector, GeoLocator
from pipelines.rows import RowBuilder
from pipelines.warehouse.base import Warehouse
from pipelines.warehouse.factory import open_warehouse
from pipelines.warehouse.migrate import migrate
from pipelines.warehouse.reader import WarehouseEventStore
from pipelines.warehouse.rollups import RollupBuilder
from pipelines.warehouse.sink import WarehouseSink
from reports.catalog import REPORTS
from reports.forecast import backtest
from reports.query import parse_query
from reports.source import RollupSource

SITE = Site("shop")
ZONE = "UTC"
SEED = 7
SALES = SalesPattern(trend=0.01, weekly=(1.0, 0.9, 0.9, 1.0, 1.15, 1.4, 1.25))
QUIET_DAYS = 8  # built, empty days after the simulated ones
CHUNK_EVENTS = 200_000  # events made, turned into rows and inserted at a time
INSERT_ROWS = 50_000
# Each report's question: the last 30 days, with the parameters a marketer would use.
QUESTIONS: dict[str, dict[str, str]] = {
    "interests": {"by": "country,device"},
    "audience": {},
    "products": {},
    "campaigns": {},
    "funnels": {"steps": "page_view,product_view,add_to_cart,purchase", "within": "1d"},
    "retention": {},
    "sales": {},
}
ENGINES = ("chdb", "server")
KEPT = Path(__file__).parents[1] / ".cache" / "bench-reports"  # chdb folders --keep leaves


def simulated_rows(events: int, days: int, geoip: Path) -> Iterator[list[Any]]:
    """Warehouse rows of about ``events`` simulated events, ``CHUNK_EVENTS`` at a time: the
    simulator's people (as ``run_simulation`` makes them) browse one after another until
    enough events are made; each chunk's batches become log records and rows."""
    config = SimulationConfig(
        seed=SEED, visitors=max(200, events // 60), days=days, site_id=SITE.site_id, sales=SALES
    )
    networks = load_network_pool(geoip, config.seed)
    catalog = build_catalog(config.seed)
    agents = build_user_agent_pool(load_user_agents(), config.seed)
    people = build_population(
        config.seed, config.visitors, catalog, agents, networks, difficulty.NOISE_SHARE
    )
    site = SiteContext(
        config.site_id,
        Shop(config.site_id),
        catalog,
        Calendar(config.start_ms, config.days),
        config.sales.factors(config.start, config.days),
    )
    made = 0
    exposure_rng = derived_random(config.seed, "exposures", 0)
    with GeoLocator(geoip) as geo:
        builder = RowBuilder(geo, DeviceDetector(), {SITE.site_id: SITE}.get)
        keyed: list[tuple[int, int, int, Any]] = []
        chunk = 0
        for person in people:
            rng = derived_random(config.seed, "behaviour", person.index)
            writer = (
                crawl(person, site, rng)
                if person.is_bot
                else HumanBrowsing(person, site, rng).run()
            )
            batches = make_batches(writer.events, config.site_id, rng, config.batch_size)
            keyed.extend((b.sent_at, person.index, n, b) for n, b in enumerate(batches))
            chunk += sum(b.event_count for b in batches)
            if chunk >= CHUNK_EVENTS or made + chunk >= events:
                keyed.sort(key=lambda item: item[:3])
                rows = [
                    row
                    for record in records_of([item[3] for item in keyed], SITE)
                    for row in builder.build(record).events
                ]
                rows += exposures(rows, exposure_rng)
                made += len(rows)
                keyed, chunk = [], 0
                yield rows
                if made >= events:
                    return
    if made < events:
        print(f"WARNING: the population made only {made:,} events", file=sys.stderr)


# The personalizer's side of the traffic (the simulator makes none): campaigns, each with
# creatives, shown in two placements; a share of human page views get a decision, most of
# those an impression, a few a click, and a tenth of the decisions are holdouts.
CAMPAIGNS = tuple(f"camp{n:02d}" for n in range(12))
CREATIVES = 3
PLACEMENTS = ("hero", "sidebar")
DECIDED_SHARE, SHOWN_SHARE, VIEWABLE_SHARE, CLICK_SHARE, HOLDOUT_SHARE = 0.3, 0.8, 0.6, 0.02, 0.1


def exposures(rows: list[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    """Decision, impression and click events beside ``rows``' human page views, as the
    personalizer and the browser would send them (1, 2 and 3 ms after the page view)."""
    out = []
    for row in rows:
        if row.get("event_type") != "page_view" or row.get("is_bot"):
            continue
        if rng.random() >= DECIDED_SHARE:
            continue
        chosen = rng.choice(CAMPAIGNS)
        holdout = rng.random() < HOLDOUT_SHARE
        shown = {
            **row,
            "decision_id": f"{row['event_id']}-d",
            "campaign_id": "" if holdout else chosen,
            "creative_id": "" if holdout else f"{chosen}-{rng.randrange(CREATIVES)}",
            "placement": rng.choice(PLACEMENTS),
            "holdout": int(holdout),
        }
        held = orjson.dumps({"held_out_campaign": chosen}).decode() if holdout else ""
        out.append(_exposure(shown, "decision", 1, properties=held))
        if holdout or rng.random() >= SHOWN_SHARE:
            continue
        viewable = int(rng.random() < VIEWABLE_SHARE)
        out.append(_exposure(shown, "banner_impression", 2, viewable=viewable))
        if rng.random() < CLICK_SHARE:
            out.append(_exposure(shown, "banner_click", 3))
    return out


_SUFFIX = {"decision": "d", "banner_impression": "i", "banner_click": "c"}


def _exposure(shown: dict[str, Any], kind: str, after_ms: int, **extra: Any) -> dict[str, Any]:
    return {
        **shown,
        **extra,
        "event_type": kind,
        "event_id": f"{shown['event_id']}-{_SUFFIX[kind]}",
        "created_ms": shown["created_ms"] + after_ms,
        "derived_ms": shown["derived_ms"] + after_ms,
    }


# The columns naming a person, a visit, an event or an order: a copy renames them all, so it
# is another crowd doing the same things, never a replay the warehouse would collapse.
RENAMED = (
    "event_id",
    "visitor_id",
    "replaced_visitor_id",
    "user_id",
    "session_id",
    "page_view_id",
    "order_id",
    "decision_id",
)


def copied(rows: list[dict[str, Any]], copy: int) -> list[dict[str, Any]]:
    """``rows`` as copy number ``copy`` (0: themselves): every identifier column that holds a
    value gets the suffix ``.c<copy>``; places, devices, pages, products and times stay."""
    if copy == 0:
        return rows
    suffix = f".c{copy}"
    out = []
    for row in rows:
        row = dict(row)
        for name in RENAMED:
            if row.get(name):
                row[name] += suffix
        out.append(row)
    return out


def load(
    warehouses: dict[str, Warehouse], events: int, days: int, geoip: Path, copies: int = 1
) -> int:
    """Load about ``events`` events. With ``copies`` > 1 the simulator makes 1/``copies`` of
    them and each chunk is inserted ``copies`` times under renamed identifiers (``copied``):
    the fast bulk path the issue allows, since simulating and enriching, not inserting, is
    the slow part (about 3,000 events a CPU-second)."""
    sinks = {name: WarehouseSink(warehouse) for name, warehouse in warehouses.items()}
    total = 0
    started = time.perf_counter()
    for rows in simulated_rows(-(-events // copies), days, geoip):
        for copy in range(copies):
            batch = copied(rows, copy)
            for sink in sinks.values():
                for start in range(0, len(batch), INSERT_ROWS):
                    sink.write(batch[start : start + INSERT_ROWS])
            total += len(batch)
        rate = total / (time.perf_counter() - started)
        print(f"  loaded {total:,} events ({rate:,.0f} events/s)", file=sys.stderr)
    return total


def build_rollups(warehouse: Warehouse, first: dt.date, last: dt.date) -> float:
    builder = RollupBuilder(warehouse)
    started = time.perf_counter()
    day = first
    while day <= last:
        builder.build(SITE.site_id, day, ZONE)
        day += dt.timedelta(days=1)
    return time.perf_counter() - started


def hot_ms(warehouse: Warehouse, name: str, last: dt.date, today: dt.date, repeat: int) -> float:
    kind = REPORTS[name]
    params = {"since": "30d", "until": last.isoformat()}
    query = parse_query(
        {**params, **QUESTIONS[name]},
        SITE.site_id,
        ZONE,
        today,
        kind.breakdowns,
        kind.breakdown_name,
        kind.multiple,
        kind.extra,
    )
    source = RollupSource(WarehouseEventStore(warehouse))
    answer = kind.run(source, query)  # warm-up
    if answer.summary.get("raw_days"):
        print(f"WARNING {name}: raw days {answer.summary['raw_days']}", file=sys.stderr)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        kind.run(source, query)
        times.append((time.perf_counter() - started) * 1000)
    print(f"  {name}: {len(answer.rows)} rows, {statistics.median(times):.0f} ms", file=sys.stderr)
    return statistics.median(times)


def backtest_figures(
    warehouse: Warehouse, first: dt.date, last: dt.date, today: dt.date
) -> list[Figure]:
    kind = REPORTS["sales"]
    query = parse_query(
        {"since": first.isoformat(), "until": last.isoformat()},
        SITE.site_id,
        ZONE,
        today,
        extra=kind.extra,
        breakdown_name=kind.breakdown_name,
    )
    answer = kind.run(RollupSource(WarehouseEventStore(warehouse)), query)
    actual = [row for row in answer.rows if row[2] == "actual" and row[1] == "EUR"]
    orders = backtest([float(row[3]) for row in actual])
    revenue = backtest([float(row[4]) for row in actual])
    print(f"  back-test orders: {orders}\n  back-test revenue: {revenue}", file=sys.stderr)
    return [
        Figure("forecast error ratio to seasonal naive", orders.error_ratio, "ratio", 1.0, "lower"),
        Figure("forecast interval coverage", orders.coverage, "share"),  # of the 95 % interval
        Figure("forecast back-test origins", orders.origins, "origins"),
        Figure("forecast orders per day (mean)", sum(r[3] for r in actual) / len(actual), "orders"),
        Figure(
            "forecast error ratio to seasonal naive (revenue)",
            revenue.error_ratio,
            "ratio",
            1.0,
            "lower",
        ),
        Figure("forecast interval coverage (revenue)", revenue.coverage, "share"),
    ]


def rollup_cost(pipeline_events: int, runs: int) -> list[Figure]:
    """Pipeline workers on the server with and without the rollups step (bench.pipeline)."""
    from bench.pipeline import BOTH, _flush_profiles, preload, run_worker, simulate
    from clicktrail.settings import parse_clickhouse_url, parse_event_log_url, parse_redis_url
    from clicktrail.sites.registry import edit_sites
    from pipelines.eventlog.kafka import KafkaLog

    services.start(["redis-state", "redis-profile", "kafka", "clickhouse"])
    work = Path(tempfile.mkdtemp(prefix="bench-reports-"))
    sites = work / "sites.json"
    with edit_sites(sites) as registry:
        registry["shop"] = Site("shop", origins=("https://shop.example.test",))
    geoip = Settings.from_env({}, data_dir=work).geoip_db
    records = simulate(pipeline_events, geoip)
    events = sum(len(r.events) for r in records)
    topic = f"bench-{uuid.uuid4().hex[:8]}"
    kafka = f"127.0.0.1:{ports.port('kafka')}"
    log = KafkaLog([kafka], topic, partitions=4, ack_timeout=60)
    log.ensure_created()
    preload(log, records)
    base = Settings.from_env(
        None,
        data_dir=work,
        sites_file=sites,
        event_log_url=parse_event_log_url(f"kafka://{kafka}/{topic}"),
        pipeline_batch_events=10_000,
        pipeline_batch_ms=1000,
    )
    server = f"clickhouse://127.0.0.1:{ports.port('clickhouse_native')}"
    rates: dict[str, list[float]] = {"without": [], "with": []}
    for n in range(runs):
        for label, sinks in (("without", BOTH), ("with", f"{BOTH},rollups")):
            database = f"bench_r{uuid.uuid4().hex[:6]}"
            settings = base.replace(
                clickhouse_url=parse_clickhouse_url(f"{server}/{database}"),
                profile_url=parse_redis_url(f"redis://127.0.0.1:{ports.port('redis_profile')}/5"),
                pipeline_group=f"bench-{uuid.uuid4().hex[:6]}",
            )
            env = {**os.environ, **settings.to_env()}
            _flush_profiles(env["CLICKTRAIL_PROFILE_URL"])
            stats, _cpu, _services = run_worker(env, sinks)
            rates[label].append(stats["events_per_second"] or 0.0)
            print(
                f"  run {n + 1} {label} rollups: {rates[label][-1]:,.0f} events/s", file=sys.stderr
            )
            with open_warehouse(settings.clickhouse_url) as warehouse:
                warehouse.execute(f"DROP DATABASE IF EXISTS {database}")
    without, with_ = statistics.median(rates["without"]), statistics.median(rates["with"])
    return [
        Figure("rollup step cost share", 1 - with_ / without, "share", 0.10, "lower"),
        Figure("pipeline events/s without rollups (median)", without, "events/s"),
        Figure("pipeline events/s with rollups (median)", with_, "events/s"),
        Figure("pipeline run events", events, "events"),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument(
        "--copies", type=int, default=1, help="simulate events/copies, insert each copies times"
    )
    parser.add_argument("--days", type=int, default=84)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--engine", choices=("both", *ENGINES), default="both")
    parser.add_argument(
        "--keep",
        action="store_true",
        help=f"keep what was loaded (the server's database, chdb's folder under {KEPT})",
    )
    parser.add_argument(
        "--database", help="measure a database --keep loaded (same --days): no load, no rollups"
    )
    parser.add_argument("--pipeline-events", type=int, default=200_000)
    parser.add_argument("--pipeline-runs", type=int, default=3)
    parser.add_argument("--skip-pipeline", action="store_true")
    parser.add_argument("--skip-backtest", action="store_true")
    parser.add_argument("--name", default="reports", help="bench/results/<name>.json")
    args = parser.parse_args(argv)
    engines = ENGINES if args.engine == "both" else (args.engine,)
    geoip = Settings.from_env({}).geoip_db
    first = SimulationConfig().start
    last = first + dt.timedelta(days=args.days - 1)  # the last simulated day
    # Today is a week and a day later, and those empty days are built too: the campaigns
    # report reads orders up to its window (7 days) after the period, up to today, and
    # every report then reads built days only.
    today = last + dt.timedelta(days=QUIET_DAYS + 1)
    database = args.database or f"bench_{uuid.uuid4().hex[:8]}"
    keep = args.keep or bool(args.database)
    figures: list[Figure] = []
    with ExitStack() as stack:
        warehouses: dict[str, Warehouse] = {}
        if "server" in engines:
            services.start(["clickhouse"])
            target = ClickHouseServerTarget("127.0.0.1", ports.port("clickhouse_native"), database)
            warehouses["server"] = stack.enter_context(open_warehouse(target, timeout=1800))
        if "chdb" in engines:
            if keep:
                folder = KEPT / database
                folder.mkdir(parents=True, exist_ok=True)
            else:
                folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            warehouses["chdb"] = stack.enter_context(open_warehouse(ChdbTarget(folder, database)))
        if args.database:
            for name, warehouse in warehouses.items():
                loaded = warehouse.query(f"SELECT count() FROM {database}.events").scalar()
                figures.append(Figure(f"events loaded ({name})", loaded, "events"))
        else:
            for warehouse in warehouses.values():
                migrate(warehouse)
            started = time.perf_counter()
            loaded = load(warehouses, args.events, args.days, geoip, args.copies)
            figures.append(Figure("events loaded", loaded, "events"))
            figures.append(Figure("events simulated", -(-args.events // args.copies), "events"))
            figures.append(Figure("load seconds", time.perf_counter() - started, "s"))
            for name, warehouse in warehouses.items():
                seconds = build_rollups(warehouse, first, today - dt.timedelta(days=1))
                days = args.days + QUIET_DAYS
                figures.append(Figure(f"rollup build {name} s per day", seconds / days, "s"))
        for name, warehouse in warehouses.items():
            for report_name in QUESTIONS:
                elapsed = hot_ms(warehouse, report_name, last, today, args.repeat)
                figures.append(Figure(f"{report_name} {name} ms", elapsed, "ms", 300.0, "lower"))
        if not args.skip_backtest:
            figures += backtest_figures(next(iter(warehouses.values())), first, last, today)
        for name, warehouse in warehouses.items():
            if keep:
                print(f"  kept {name}'s database {database}", file=sys.stderr)
            else:
                warehouse.execute(f"DROP DATABASE IF EXISTS {database}")
    if not args.skip_pipeline:
        figures += rollup_cost(args.pipeline_events, args.pipeline_runs)
    figures.append(Figure("load average at the end", os.getloadavg()[0], "load"))
    report(args.name, figures)


if __name__ == "__main__":
    main()
