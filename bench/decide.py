"""``make bench-decide``: the decision endpoint under gunicorn, loaded by wrk, beside its ceilings.

The world: one site with 200 campaigns (five priority tiers, two placements, rules of every
kind, caps, goals with pacing, holdouts, region and global defaults), 50,000 products, and
100,000 visitor profiles written by the pipeline's own ``ProfileSink`` into the real profile
Redis (database 11, away from the engine's and the tests'), with co-views. Visitors are
realistic: user agents drawn Zipf-weighted from the project's corpus (the simulator's pool), IP
addresses from the networks of the GeoIP database (the setting's, GeoLite2 City by default),
sent as a browser behind a trusted proxy would (``X-Forwarded-For`` from 127.0.0.1, which the
bench's ``CLICKTRAIL_TRUSTED_PROXIES`` trusts), with an allowed ``Origin``. Nine visitors in
ten have a profile.

Measured in one run, same machine, same gunicorn settings (``personalizer.gunicorn_conf``: two
gthread workers of 8 threads), decision logging as ``personalizer/app.py`` wires it:

- ``in-process p50 us``: ``DecisionService.decide`` without HTTP (the app's own service);
- ``max decisions/s``: wrk, closed loop, 32 connections;
- the bare ceiling: a trivial endpoint (reads the body, answers a constant JSON) on the same
  server configuration, and ``ratio to bare``;
- ``p50 ms at 1000 rps`` / ``p99 ms at 1000 rps``: wrk paced to a fixed schedule of 1,000
  requests/s (wrk2 is not packaged for Debian: wrk's LuaJIT reads a monotonic clock and hands
  each request the next slot of the schedule; a slot that could not be kept because every
  connection was busy is counted and reported, so a latency hidden by waiting would show);
- a raw Redis read: one profile read (the ``read.lua`` round trip) from Python, and
  ``redis-benchmark`` GETs.

``--smoke`` builds a tiny world and runs each part for a moment (tests/integration run it; no
speed is asserted there). ``--in-process-only`` builds a smaller world (200 campaigns, 10,000
products, 20,000 profiles, in the Redis databases 12) in seconds and measures the in-process part
only, with the time a worker takes to load the catalog; ``--profile`` adds the functions that cost
most (cProfile), ``--split`` the CPU per decision of each part of it (thread CPU around each) —
for working on the decision's speed, never written to bench/results.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis  # noqa: E402
from flask import Flask, Response  # noqa: E402

from bench.collector import children, cpu_seconds  # noqa: E402
from bench.report import Figure, report  # noqa: E402
from clicktrail import ports, services  # noqa: E402
from clicktrail.identity import request_facts  # noqa: E402
from clicktrail.serving.heap import freeze_loaded  # noqa: E402
from clicktrail.settings import Settings  # noqa: E402
from clicktrail.simulator.devices import build_user_agent_pool  # noqa: E402
from clicktrail.simulator.geography import load_network_pool  # noqa: E402
from clicktrail.sites.model import Site  # noqa: E402
from clicktrail.sites.registry import edit_sites  # noqa: E402
from personalizer.campaign_store import CampaignStore  # noqa: E402
from personalizer.campaigns import Campaign, parse_campaign  # noqa: E402
from personalizer.catalog import Product  # noqa: E402
from personalizer.catalog_store import CatalogStore  # noqa: E402
from personalizer.request import parse_body  # noqa: E402
from pipelines.profiles import Position, ProfileConfig, ProfileSink  # noqa: E402
from pipelines.profiles.redis_store import READ_SCRIPT, READ_SHA  # noqa: E402

ROOT = Path(__file__).parents[1]
SITE = "benchdecide"
ORIGIN = "https://shop.bench.test"
DATABASE = 11  # of both Redis servers: away from a running engine's (0) and the tests'
SMOKE_DATABASE = 10
USER_AGENTS = Path("/work/shared/data/user_agents.txt")
PLACEMENTS = ("top", "side")
TOP_CATEGORIES = (
    "Shoes", "Books", "Garden", "Toys", "Kitchen", "Sports", "Music", "Beauty", "Office", "Pets",
    "Outdoor", "Games", "Tools", "Baby", "Fashion", "Health", "Auto", "Travel", "Food", "Home",
)  # fmt: skip
SUBCATEGORIES = 10
COUNTRIES = ("DE", "US", "GB", "FR", "IT", "ES", "NL", "PL", "SE", "JP", "BR", "IN", "CN", "CA")
LANGUAGES = ("de-DE", "en-US", "en-GB", "fr-FR", "it-IT", "es-ES", "nl-NL", "pl-PL", "ja-JP")
SOURCES = ("google", "facebook", "newsletter", "bing", "instagram")


@dataclass(frozen=True)
class World:
    campaigns: int
    products: int
    profiles: int
    events_per_profile: int = 6


FULL = World(campaigns=200, products=50_000, profiles=100_000)
SMOKE = World(campaigns=20, products=500, profiles=300, events_per_profile=4)
QUICK = World(campaigns=200, products=10_000, profiles=20_000)
QUICK_DATABASE = 12


# --- the world --------------------------------------------------------------------------------


def categories() -> list[str]:
    return [f"{top}/{top}-{n}" for top in TOP_CATEGORIES for n in range(SUBCATEGORIES)]


def sku_of(n: int) -> str:
    return f"p{n:06d}"


def category_of(n: int) -> str:
    paths = categories()
    return paths[n % len(paths)]


def make_products(count: int) -> list[Product]:
    rng = random.Random(5)
    return [
        Product(
            sku=sku_of(n),
            title=f"Product {n}",
            category=category_of(n),
            price=rng.randint(100, 50_000),
            currency="EUR",
            image_url=f"https://cdn.bench.test/p/{n}.jpg",
            url=f"https://shop.bench.test/p/{n}",
            available=rng.random() > 0.03,
            regions=frozenset(rng.sample(COUNTRIES, 3)) if rng.random() < 0.1 else frozenset(),
        )
        for n in range(count)
    ]


def _creatives(cid: str, rng: random.Random) -> list[dict[str, Any]]:
    out = []
    for placement in rng.sample(PLACEMENTS, rng.choice((1, 2))):
        for k in range(rng.randint(1, 3)):
            out.append(
                {
                    "id": f"{cid}-{placement}-{k}",
                    "placement": placement,
                    "image_url": f"https://cdn.bench.test/{cid}/{placement}-{k}.png",
                    "alt": f"{cid} {k}",
                    "headline": f"Offer {cid}",
                    "landing_url": f"https://shop.bench.test/landing/{cid}",
                    "width": 300,
                    "height": 250,
                }
            )
    return out


def _rule(rng: random.Random) -> dict[str, Any]:
    """One leaf rule of a random kind, with values real visitors have."""
    kind = rng.choice(
        ("country", "country", "device", "browser", "os", "language", "interest", "visited",
         "hours", "weekday", "near", "referrer", "utm", "page", "returning", "identified")
    )  # fmt: skip
    category = rng.choice(categories())
    makers: dict[str, Any] = {
        "country": lambda: {"country": rng.sample(COUNTRIES, rng.randint(1, 4))},
        "device": lambda: {"device": [rng.choice(("desktop", "mobile", "tablet"))]},
        "browser": lambda: {"browser": rng.sample(("Chrome", "Firefox", "Safari", "Edge"), 2)},
        "os": lambda: {"os": [rng.choice(("Windows", "Android", "iOS", "Mac OS X", "Linux"))]},
        "language": lambda: {"language": [rng.choice(("de", "en", "fr", "es"))]},
        "interest": lambda: {"interest": {"category": category.split("/")[0], "above": 0.5}},
        "visited": lambda: {"visited": {"categories": [category], "days": 7}},
        "hours": lambda: {"hours": {"from": rng.randint(0, 11), "to": rng.randint(12, 24)}},
        "weekday": lambda: {"weekday": rng.sample(("mon", "tue", "wed", "thu", "fri"), 3)},
        "near": lambda: {"near": {"lat": 52.52, "lon": 13.405, "km": rng.choice((50, 500))}},
        "referrer": lambda: {"referrer": {"medium": ["search", "social"]}},
        "utm": lambda: {"utm": {"source": [rng.choice(SOURCES)]}},
        "page": lambda: {"page": {"categories": [category.split("/")[0]]}},
        "returning": lambda: {"returning": rng.random() < 0.5},
        "identified": lambda: {"identified": False},
    }
    rule: dict[str, Any] = makers[kind]()
    return rule


def make_campaigns(count: int, now: datetime) -> list[Campaign]:
    """``count`` campaigns: a global default, region defaults, and targeted ones over five
    tiers (most in the low tiers) with caps, goals, pacing, holdouts and schedules."""
    rng = random.Random(11)
    out: list[dict[str, Any]] = [
        {"id": "global", "name": "global", "default": True,
         "creatives": _creatives("global", random.Random(0))},
    ]  # fmt: skip
    for placement in PLACEMENTS:  # the global default covers every placement
        out[0]["creatives"] += [
            dict(c, id=f"global-{placement}-x", placement=placement)
            for c in _creatives("g", random.Random(1))[:1]
        ]
    for country in COUNTRIES[:4]:
        out.append(
            {"id": f"default-{country.lower()}", "name": f"default {country}", "default": True,
             "rules": {"country": [country]}, "creatives": _creatives(country, rng)}
        )  # fmt: skip
    for n in range(count - len(out)):
        cid = f"c{n:03d}"
        leaves = [_rule(rng) for _ in range(rng.choice((1, 1, 2, 3)))]
        rules: Any = leaves[0] if len(leaves) == 1 else {"all": leaves}
        if rng.random() < 0.1:
            rules = {"any": leaves} if len(leaves) > 1 else {"not": leaves[0]}
        campaign: dict[str, Any] = {
            "id": cid,
            "name": cid,
            "priority": rng.choices((0, 1, 2, 3, 4), weights=(40, 25, 20, 10, 5))[0],
            "rules": rules,
            "creatives": _creatives(cid, rng),
        }
        if rng.random() < 0.4:
            campaign["frequency_cap"] = {"impressions": rng.randint(2, 10), "hours": 24}
        if rng.random() < 0.3:
            campaign["daily_impressions"] = rng.randint(1_000, 100_000)
            campaign["pacing"] = rng.choice(("even", "asap"))
        elif rng.random() < 0.2:
            campaign["total_impressions"] = rng.randint(10_000, 1_000_000)
            campaign["pacing"] = "asap"
        if rng.random() < 0.2:
            campaign["holdout_percent"] = rng.choice((5, 10))
        if rng.random() < 0.1:
            start = now + timedelta(days=rng.choice((-30, 2)))
            campaign["schedule"] = {"start": start.isoformat(), "end": None}
        if rng.random() < 0.05:
            campaign["status"] = "paused"
        out.append(campaign)
    return [parse_campaign({**c, "site_id": SITE}) for c in out]


def profile_rows(world: World, now_ms: int) -> Iterator[tuple[Position, list[dict[str, Any]]]]:
    """Each visitor's recent events (views in one or two favourite categories, some
    purchases), as the worker hands them to ``ProfileSink``."""
    rng = random.Random(3)
    per_category = max(1, world.products // len(categories()))
    for n in range(world.profiles):
        favourites = rng.sample(range(len(categories())), 2)
        at = now_ms - rng.randint(0, 6 * 86_400_000)
        rows = []
        for k in range(world.events_per_profile):
            category = favourites[0] if rng.random() < 0.7 else favourites[1]
            rank = min(per_category - 1, int(rng.paretovariate(1.2)) - 1)
            product = category + len(categories()) * rank
            purchase = k == world.events_per_profile - 1 and rng.random() < 0.15
            at += rng.randint(10_000, 300_000)
            rows.append(_row(n, k, at, sku_of(product), category_of(product), purchase))
        yield Position("events/0", n + 1), rows


def _row(visitor: int, k: int, at: int, sku: str, category: str, purchase: bool) -> dict:
    return {
        "site_id": SITE,
        "visitor_id": visitor_id(visitor),
        "created_ms": at,
        "event_id": f"e{visitor}-{k}",
        "event_type": "purchase" if purchase else "product_view",
        "user_id": "",
        "replaced_visitor_id": "",
        "session_id": f"s{visitor}",
        "sku": "" if purchase else sku,
        "category": category.split("/"),
        "order_id": f"o{visitor}" if purchase else "",
        "item_skus": [sku] if purchase else [],
        "country": COUNTRIES[visitor % len(COUNTRIES)],
        "city": "",
        "latitude": 0.0,
        "longitude": 0.0,
        "device_type": "desktop",
        "browser": "",
        "os": "",
        "is_bot": 0,
    }


def visitor_id(n: int) -> str:
    return f"bv{n:07d}"


def fill_profiles(settings: Settings, world: World) -> float:
    """Write the profiles unless this world's are there (a marker key, a day long); seconds."""
    client = redis.Redis.from_url(settings.profile_url.url)
    marker = f"bench:decide:{world.profiles}:{world.events_per_profile}"
    if client.get("bench:decide:profiles") == marker.encode():
        return 0.0
    client.flushdb()
    sink = ProfileSink(client, ProfileConfig.from_settings(settings))
    started = time.perf_counter()
    batch: list[tuple[Position, list[dict[str, Any]]]] = []
    for record in profile_rows(world, int(time.time() * 1000)):
        batch.append(record)
        if len(batch) >= 2_000:
            sink.apply(batch)
            batch = []
    if batch:
        sink.apply(batch)
    client.set("bench:decide:profiles", marker, ex=86_400)
    return time.perf_counter() - started


def bench_settings(folder: Path, database: int) -> Settings:
    """The engine's settings with the bench's own folder, Redis databases, event log stream and
    warehouse database; the bench's proxy (127.0.0.1) trusted."""
    base = Settings.from_env()
    state = base.state_url.url.rsplit("/", 1)[0]
    profile = base.profile_url.url.rsplit("/", 1)[0]
    server = f"clickhouse://127.0.0.1:{ports.port('clickhouse_native')}/bench_decide_{database}"
    return Settings.from_env(
        {
            **os.environ,
            "CLICKTRAIL_DATA_DIR": str(folder),
            "CLICKTRAIL_SITES_FILE": str(folder / "sites.json"),
            "CLICKTRAIL_TOKENS_FILE": str(folder / "tokens.json"),
            "CLICKTRAIL_SECRETS_FILE": str(folder / "secrets.json"),
            "CLICKTRAIL_LOG_LEVEL": "WARNING",
            "CLICKTRAIL_TRUSTED_PROXIES": "127.0.0.0/8",
            "CLICKTRAIL_STATE_URL": f"{state}/{database}",
            "CLICKTRAIL_PROFILE_URL": f"{profile}/{database}",
            "CLICKTRAIL_EVENT_LOG_URL": f"{state}/{database}?stream=bench-decide",
            "CLICKTRAIL_CLICKHOUSE_URL": server,
            "CLICKTRAIL_PERSONALIZER_WORKERS": "2",
        }
    )


def fill_warehouse(settings: Settings, world: World, events: int) -> None:
    """Product views of the last days, so popularity (by country, overall, trending) is what a
    running shop has; the personalizer computes it from here as it does in production."""
    from pipelines.warehouse.columns import EVENT_COLUMNS, empty_value
    from pipelines.warehouse.factory import open_warehouse
    from pipelines.warehouse.migrate import migrate
    from pipelines.warehouse.sink import WarehouseSink

    target = settings.clickhouse_url
    rng = random.Random(23)
    now_ms = int(time.time() * 1000)
    base = {name: empty_value(kind) for name, kind in EVENT_COLUMNS.items()}
    rows = []
    for n in range(events):
        product = min(world.products - 1, int(rng.paretovariate(0.8)) - 1)
        product = (product * 7919) % world.products  # popular products spread over categories
        rows.append(
            dict(
                base,
                site_id=SITE,
                visitor_id=f"w{rng.randrange(events // 3 + 1)}",
                created_ms=now_ms - rng.randrange(10 * 86_400_000),
                event_id=f"00000000-0000-4000-8000-{n:012d}",
                event_type="product_view",
                url=f"https://shop.bench.test/p/{product}",
                category=category_of(product).split("/"),
                sku=sku_of(product),
                country=rng.choice(COUNTRIES),
            )
        )
    with open_warehouse(target) as warehouse:
        warehouse.execute(f"DROP DATABASE IF EXISTS {target.database}")
        migrate(warehouse)
        sink = WarehouseSink(warehouse)
        for start in range(0, len(rows), 20_000):
            sink.write(rows[start : start + 20_000])


def build_world(settings: Settings, world: World) -> dict[str, float]:
    """Sites, campaigns, catalog and profiles; the seconds each took."""
    with edit_sites(settings.sites_file) as sites:
        sites[SITE] = Site(SITE, origins=(ORIGIN,), timezone="Europe/Berlin")
    state = redis.Redis.from_url(settings.state_url.url)
    state.flushdb()
    timings = {}
    started = time.perf_counter()
    store = CampaignStore(state)
    wanted = make_campaigns(world.campaigns, datetime.now(UTC))
    store.apply(SITE, store.plan(SITE, wanted, prune=True), "bench")
    timings["campaigns"] = time.perf_counter() - started
    started = time.perf_counter()
    CatalogStore(state).import_products(SITE, make_products(world.products), replace=True)
    timings["catalog"] = time.perf_counter() - started
    timings["profiles"] = fill_profiles(settings, world)
    started = time.perf_counter()
    fill_warehouse(settings, world, world.products * 2)
    timings["warehouse"] = time.perf_counter() - started
    return timings


# --- visitors -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    ip: str
    user_agent: str
    body: str


def make_requests(settings: Settings, world: World, count: int) -> list[Request]:
    rng = random.Random(17)
    agents = [line for line in USER_AGENTS.read_text().splitlines() if line.strip()]
    pool = build_user_agent_pool(agents, seed=17)
    networks = load_network_pool(settings.geoip_db, seed=17)
    devices = list(pool.humans)
    out = []
    for _ in range(count):
        network = rng.choice(networks.ipv4)
        user_agent = pool.humans[rng.choice(devices)].draw(rng)
        if rng.random() < 0.9:
            who = visitor_id(rng.randrange(world.profiles))
        else:
            who = f"new{rng.randrange(10**9)}"
        n = rng.randrange(world.products)
        page: dict[str, str] = {"url": f"https://shop.bench.test/p/{n}", "sku": sku_of(n)}
        page["category"] = category_of(n)
        if rng.random() < 0.3:
            page["url"] += f"?utm_source={rng.choice(SOURCES)}&utm_medium=cpc"
        if rng.random() < 0.5:
            page["referrer"] = rng.choice(
                ("https://www.google.com/", "https://facebook.com/", "https://shop.bench.test/")
            )
        body = {
            "site_id": SITE,
            "visitor_id": who,
            "placements": list(PLACEMENTS),
            "offers": 6,
            "language": rng.choice(LANGUAGES),
            "page": page,
        }
        out.append(Request(network.host(rng.randrange(1 << 20)), user_agent, json.dumps(body)))
    return out


# --- in process ---------------------------------------------------------------------------------


def in_process(
    settings: Settings, requests: list[Request], seconds: float, profile: bool = False
) -> dict[str, float]:
    """``DecisionService.decide`` of the app ``create_app`` builds, without HTTP: µs each;
    ``profile``: print what cost most (cProfile, which slows every call: figures of such a run
    are not the bench's)."""
    service, site, prepared, seconds_to = _ready(settings, requests)
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    times = []
    degraded = 0
    cpu = time.process_time()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for wanted, facts in prepared:
            started = time.perf_counter()
            decision = service.decide(wanted, site, facts)
            times.append(time.perf_counter() - started)
            degraded += bool(decision.degraded)
            if len(times) % 256 == 0 and time.monotonic() > deadline:
                break
    cpu = time.process_time() - cpu
    if profiler is not None:
        import pstats

        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    times.sort()
    return {
        "app_seconds": seconds_to["app"],
        "catalog_seconds": seconds_to["catalog"],
        "cpu_us": cpu / len(times) * 1e6,
        "p50_us": times[len(times) // 2] * 1e6,
        "p99_us": times[int(len(times) * 0.99)] * 1e6,
        "decisions": len(times),
        "degraded": degraded / len(times),
    }


def _ready(
    settings: Settings, requests: list[Request]
) -> tuple[Any, Site, list[tuple[Any, Any]], dict[str, float]]:
    """The app's ``DecisionService`` (``create_app``), the site, the requests parsed as the
    view parses them, warmed up (caches loaded, scripts known); and the seconds the app and
    the site's catalog took to load."""
    from personalizer.app import create_app

    started = time.perf_counter()
    app = create_app(settings)
    seconds_to = {"app": time.perf_counter() - started}
    shared = app.extensions["personalizer"]
    site = shared.sites.get(SITE)
    assert site is not None
    prepared = [(parse_body(item.body.encode()), _facts(settings, site, item)) for item in requests]
    started = time.perf_counter()
    shared.catalogs.site(SITE)
    seconds_to["catalog"] = time.perf_counter() - started
    for wanted, facts in prepared[:200]:
        shared.service.decide(wanted, site, facts)
    freeze_loaded()  # as a served worker does once it has loaded (personalizer.gunicorn_conf)
    return shared.service, site, prepared, seconds_to


def redis_read(settings: Settings, seconds: float) -> dict[str, float]:
    """One profile read (the ``read.lua`` round trip) from Python, and redis-benchmark GETs."""
    client = redis.Redis.from_url(settings.profile_url.url, socket_timeout=10)
    client.script_load(READ_SCRIPT)
    times = []
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        key = f"profile:{SITE}:v:{visitor_id(n % 1000)}"
        started = time.perf_counter()
        client.evalsha(READ_SHA, 1, key)
        times.append(time.perf_counter() - started)
        n += 1
    times.sort()
    port, database = settings.profile_url.url.rsplit(":", 1)[1].split("/")[:2]
    bench = subprocess.run(
        ["redis-benchmark", "-p", port, "-t", "get", "-n", "100000", "-c", "32", "-q",
         "--csv", "--dbnum", database],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    gets = 0.0
    for line in bench.stdout.splitlines():
        cells = [cell.strip('"') for cell in line.split(",")]
        if cells and cells[0] == "GET":
            gets = float(cells[1])
    return {"read_p50_us": times[len(times) // 2] * 1e6, "gets_per_s": gets}


# --- over HTTP ----------------------------------------------------------------------------------


def bare_app() -> Flask:
    """The ceiling: the same server, an endpoint that reads the body and answers constant JSON."""
    app = Flask(__name__)
    answer = json.dumps({"decision_id": "0" * 32, "placements": {}, "offers": []})

    @app.post("/v1/decide")
    def decide() -> Response:
        app.logger.debug("%d bytes", len(_body()))
        return Response(answer, 200, mimetype="application/json")

    @app.get("/readyz")
    def ready() -> Response:
        return Response("ok")

    return app


def _body() -> bytes:
    from flask import request

    return request.get_data(cache=False)


class Server:
    """gunicorn with ``personalizer.gunicorn_conf`` serving ``app``."""

    def __init__(self, app: str, env: dict[str, str], port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:personalizer.gunicorn_conf",
             "--bind", f"127.0.0.1:{port}", app],
            env={**os.environ, **env}, cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.base + "/readyz", timeout=1).read()
                return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"{app} did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


WRK_SCRIPT = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock, bench_timespec *t);
]]
local now_ts = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, now_ts)
  return tonumber(now_ts.tv_sec) * 1000 + tonumber(now_ts.tv_nsec) / 1e6
end

local lines = {}
for line in io.lines(os.getenv("BENCH_REQUESTS")) do lines[#lines + 1] = line end
local rate = tonumber(os.getenv("BENCH_RATE") or "0")  -- requests/s of this thread; 0: as fast
local n = 0
local slot = nil
late = 0
wrk.method = "POST"

request = function()
  n = n % #lines + 1
  local ip, agent, body = lines[n]:match("^([^\t]*)\t([^\t]*)\t(.*)$")
  return wrk.format(nil, "/v1/decide", {
    ["Content-Type"] = "application/json",
    ["Origin"] = os.getenv("BENCH_ORIGIN"),
    ["X-Forwarded-For"] = ip,
    ["User-Agent"] = agent,
  }, body)
end

if rate > 0 then
  local interval = 1000 / rate
  delay = function()
    local now = now_ms()
    if slot == nil then slot = now end
    slot = slot + interval
    local wait = slot - now
    if wait < -1 then late = late + 1 end
    if wait < 0 then return 0 end
    return math.floor(wait + 0.5)
  end
end

local threads = {}
setup = function(thread) threads[#threads + 1] = thread end

done = function(summary, latency, requests)
  local missed = 0
  for _, thread in ipairs(threads) do missed = missed + (thread:get("late") or 0) end
  io.write(string.format(
    'RESULT {"requests": %d, "seconds": %f, "non2xx": %d, "socket_errors": %d, '
    .. '"p50_ms": %f, "p99_ms": %f, "late_slots": %d}\n',
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, missed))
end
"""


def run_wrk(
    base: str, requests_file: Path, seconds: float, connections: int, rate: float = 0.0
) -> dict[str, float]:
    script = requests_file.with_suffix(".lua")
    script.write_text(WRK_SCRIPT)
    threads = 2 if connections >= 2 else 1
    env = {
        **os.environ,
        "BENCH_REQUESTS": str(requests_file),
        "BENCH_ORIGIN": ORIGIN,
        "BENCH_RATE": str(rate / threads),
    }
    output = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
         "--timeout", "5s", "-s", str(script), base + "/v1/decide"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    line = next(row for row in output.splitlines() if row.startswith("RESULT "))
    result = json.loads(line[len("RESULT ") :])
    result["rate"] = result["requests"] / result["seconds"]
    return result


def warm_up(base: str, requests_file: Path, limit: float = 240.0) -> dict[str, float]:
    """Light load until a run has no error and a p99 under a second: each worker has loaded
    the site's campaigns and catalog (50,000 products take seconds to validate, during which
    a worker answers nothing), popularity, and its caches; the seconds that took."""
    started = time.monotonic()
    good = 0
    while True:
        # 8 connections reach both workers; a stalled worker leaves its requests unanswered,
        # so a run must also have answered many
        result = run_wrk(base, requests_file, 3, 8)
        fine = result["non2xx"] + result["socket_errors"] == 0 and result["p99_ms"] < 1000
        good = good + 1 if fine and result["requests"] >= 30 else 0
        if good == 2:
            return {"seconds": time.monotonic() - started}
        if time.monotonic() - started > limit:
            raise RuntimeError(f"{base} still fails or stalls after {limit:g} s: {result}")


def over_http(
    settings: Settings, requests_file: Path, seconds: float, connections: int, rate: float
) -> dict[str, dict[str, float]]:
    env = {**settings.to_env(), "CLICKTRAIL_PERSONALIZER_WORKERS": "2"}
    port = ports.port("personalizer") + 60
    results = {}
    for name, app in (("bare", "bench.decide:bare_app()"), ("decide", "personalizer.wsgi:app")):
        server = Server(app, env, port)
        try:
            results[f"{name} warm-up"] = warm_up(server.base, requests_file)
            workers = children(server.process.pid)
            before = sum(cpu_seconds(pid) for pid in workers)
            results[name] = run_wrk(server.base, requests_file, seconds, connections)
            spent = sum(cpu_seconds(pid) for pid in workers) - before
            results[name]["cpu_ms"] = spent / max(1, results[name]["requests"]) * 1000
            if name == "decide":
                run_wrk(server.base, requests_file, 2, 64, rate)  # warm-up at the rate
                results["paced"] = run_wrk(server.base, requests_file, seconds, 64, rate)
                results["workers"] = {"count": float(len(children(server.process.pid)))}
        finally:
            server.stop()
    return results


# --- the run ------------------------------------------------------------------------------------


def decision_logging() -> str:
    """What ``create_app`` does with decisions, as this tree wires it."""
    text = (ROOT / "personalizer" / "app.py").read_text()
    if "UnloggedDecisions()" in text:
        return "decision logging NOT wired in personalizer/app.py yet (UnloggedDecisions)"
    return "decision logging on, as personalizer/app.py wires it"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="a tiny world, seconds per part")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument(
        "--in-process-only", action="store_true", help="a smaller world, in process only"
    )
    parser.add_argument("--profile", action="store_true", help="with --in-process-only: cProfile")
    parser.add_argument(
        "--split", action="store_true", help="with --in-process-only: CPU per decision by part"
    )
    args = parser.parse_args(argv)
    if args.in_process_only:
        return quick(args.seconds, args.requests, args.profile, args.split)
    world = SMOKE if args.smoke else FULL
    seconds = 1.0 if args.smoke else args.seconds
    count = 200 if args.smoke else args.requests

    services.start(["redis-state", "redis-profile"])
    folder = Path(tempfile.mkdtemp(prefix="clicktrail-bench-decide-"))
    settings = bench_settings(folder, SMOKE_DATABASE if args.smoke else DATABASE)
    timings = build_world(settings, world)
    requests = make_requests(settings, world, count)
    requests_file = folder / "requests.tsv"
    requests_file.write_text(
        "".join(f"{r.ip}\t{r.user_agent.replace(chr(9), ' ')}\t{r.body}\n" for r in requests)
    )
    inside = in_process(settings, requests, seconds * 2)
    raw = redis_read(settings, 1.0 if args.smoke else 3.0)
    http = over_http(settings, requests_file, seconds, args.connections, args.rate)
    decide, bare, paced = http["decide"], http["bare"], http["paced"]

    notes = [
        decision_logging(),
        f"{world.campaigns} campaigns, {world.products} products, {world.profiles} profiles",
        f"wrk: {args.connections} connections closed loop; paced: 64 connections, "
        f"{args.rate:g} requests/s offered, {paced['rate']:.0f} achieved, "
        f"{paced['late_slots']:.0f} slots sent late by > 1 ms (every connection busy)",
        f"setup seconds: {', '.join(f'{k} {v:.1f}' for k, v in timings.items())}",
        f"until the personalizer served without errors or stalls (catalog loads): "
        f"{http['decide warm-up']['seconds']:.0f} s",
        f"in-process: {inside['degraded']:.1%} of decisions degraded (a store's timeout)",
        f"other work shares the machine's {os.cpu_count()} cores; "
        f"load average {os.getloadavg()[0]:.1f} at the end",
    ]
    figures = [
        Figure("p50 ms at 1000 rps", paced["p50_ms"], "ms", 2, "lower"),
        Figure("p99 ms at 1000 rps", paced["p99_ms"], "ms", 10, "lower"),
        Figure("max decisions/s", decide["rate"], "req/s"),
        Figure("bare endpoint requests/s", bare["rate"], "req/s"),
        Figure("ratio to bare", decide["rate"] / bare["rate"], "ratio", 0.45),
        Figure("in-process p50 us", inside["p50_us"], "us", 200, "lower"),
        Figure("in-process p99 us", inside["p99_us"], "us", None, "lower"),
        Figure("in-process CPU us per decision", inside["cpu_us"], "us", None, "lower"),
        Figure("server CPU ms per decision", decide["cpu_ms"], "ms", None, "lower"),
        Figure("bare server CPU ms per request", bare["cpu_ms"], "ms", None, "lower"),
        Figure("raw Redis profile read p50 us", raw["read_p50_us"], "us", None, "lower"),
        Figure("raw Redis GETs/s (redis-benchmark, 32 clients)", raw["gets_per_s"], "req/s"),
        Figure("paced rate achieved", paced["rate"], "req/s"),
        Figure(
            "non-200 answers (paced and max)",
            paced["non2xx"] + paced["socket_errors"] + decide["non2xx"] + decide["socket_errors"],
            "count",
            0,
            "lower",
        ),
    ]
    document = {"figures": {f.metric: f.value for f in figures}, "notes": notes}
    if not args.smoke:  # a smoke run's figures mean nothing: never in bench/results
        path = report("decide", figures)
        written = json.loads(path.read_text())
        written["notes"] = notes
        path.write_text(json.dumps(written, indent=2) + "\n")
    for figure in figures:
        print(f"  {figure.metric}: {figure.value:,.2f} {figure.unit}")
    for note in notes:
        print(f"  {note}")
    return document


def quick(seconds: float, count: int, profile: bool, split: bool = False) -> dict[str, Any]:
    """The in-process part on ``QUICK``'s world; printed, not written to bench/results."""
    services.start(["redis-state", "redis-profile"])
    folder = Path(tempfile.mkdtemp(prefix="clicktrail-bench-decide-"))
    settings = bench_settings(folder, QUICK_DATABASE)
    timings = build_world(settings, QUICK)
    requests = make_requests(settings, QUICK, min(count, 5_000))
    inside = in_process(settings, requests, seconds, profile)
    print(f"  setup seconds: {', '.join(f'{k} {v:.1f}' for k, v in timings.items())}")
    for name, value in inside.items():
        print(f"  {name}: {value:,.3f}")
    if split:
        print("  CPU per decision by part (thread CPU; the timers add ~1 us each):")
        for name, value in cpu_split(settings, requests, seconds).items():
            print(f"    {name}: {value:,.1f} us")
    print(f"  load average {os.getloadavg()[0]:.1f}")
    return inside


# (label, attribute path from the app's DecisionService, method): nested parts are indented
SPLIT_PARTS = (
    ("profile read and decode", "", "_profile"),
    ("  the round trip", "profiles", "_call"),
    ("visitor (geo, device, page, referrer)", "", "_visitor"),
    ("placements", "", "_place"),
    ("  counters (their round trip included)", "counters", "snapshot"),
    ("  signed URLs", "", "_signed"),
    ("offers", "", "_offers"),
    ("decision queued for the log", "decisions", "record"),
)


def cpu_split(settings: Settings, requests: list[Request], seconds: float) -> dict[str, float]:
    """Thread CPU per decision of each part of ``DecisionService.decide`` (``SPLIT_PARTS``),
    the rest of the call, and what other threads (the attribution flusher) spent meanwhile."""
    service, site, prepared, _ = _ready(settings, requests)
    spent = dict.fromkeys([label for label, _, _ in SPLIT_PARTS], 0.0)
    wrapped = []
    for label, path, method in SPLIT_PARTS:
        owner = getattr(service, path) if path else service
        original = getattr(owner, method)

        def timed(*args: Any, _original: Any = original, _label: str = label, **kw: Any) -> Any:
            started = time.thread_time()
            try:
                return _original(*args, **kw)
            finally:
                spent[_label] += time.thread_time() - started

        setattr(owner, method, timed)  # an instance attribute: the class is untouched
        wrapped.append((owner, method))
    decisions = 0
    thread, process = time.thread_time(), time.process_time()
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            for wanted, facts in prepared:
                service.decide(wanted, site, facts)
                decisions += 1
    finally:
        for owner, method in wrapped:
            delattr(owner, method)
    thread, process = time.thread_time() - thread, time.process_time() - process
    out = {label: value / decisions * 1e6 for label, value in spent.items()}
    top = sum(value for label, value in out.items() if not label.startswith(" "))
    out["rest of decide (ids, identity, bookkeeping)"] = thread / decisions * 1e6 - top
    out["decide in all"] = thread / decisions * 1e6
    out["other threads (attribution flusher)"] = (process - thread) / decisions * 1e6
    return out


def _facts(settings: Settings, site: Site, item: Request) -> Any:
    return request_facts(
        site,
        peer="127.0.0.1",
        headers={"X-Forwarded-For": item.ip, "User-Agent": item.user_agent},
        cookies={},
        trusted_proxies=settings.trusted_proxies,
    )


if __name__ == "__main__":
    main()
