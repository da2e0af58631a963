"""Rollups on both engines: built from ``events FINAL`` per site-local day by the pipeline's
rollup step, exact against figures computed in Python from the simulator's JSONL output; a
late replay into a closed day makes that day's rollup exact again; a site at UTC+3:30 and one
at UTC-8 count the same events into their own days; an expired day is never rebuilt."""

from __future__ import annotations

import itertools
import zlib
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from clicktrail.simulator.devices import load_user_agents
from clicktrail.simulator.geography import load_network_pool
from clicktrail.simulator.output import write_batches
from clicktrail.simulator.simulation import SimulationConfig, run_simulation
from clicktrail.sites.model import Site
from pipelines.steps.base import PreparedBatch
from pipelines.steps.rollups import RollupStep
from pipelines.warehouse.rollups import SESSION_DIMENSIONS, RollupBuilder
from pipelines.warehouse.sink import WarehouseSink
from tests.unit.reports import expected

SIMULATION = SimulationConfig(seed=21, visitors=50, days=2, site_id="shop")
SITES = {
    "tehran": Site("tehran", timezone="Asia/Tehran"),  # UTC+3:30
    "la": Site("la", timezone="America/Los_Angeles"),  # UTC-8 in January
}
LATE_DAY = date(2025, 1, 7)
NOW = datetime(2025, 1, 20, 12, tzinfo=UTC).timestamp()  # every simulated day is closed


@pytest.fixture(scope="module")
def rows(shared_small_geoip_db: Path, tmp_path_factory) -> list[dict]:
    networks = load_network_pool(shared_small_geoip_db, SIMULATION.seed)
    simulation = run_simulation(SIMULATION, networks, load_user_agents())
    path = tmp_path_factory.mktemp("sim") / "shop.jsonl"
    write_batches(path, simulation.batches)
    return expected.rows_from_jsonl(path, shared_small_geoip_db, SITES)


def ticking(start: float):  # noqa: ANN201
    """A clock that moves a millisecond per reading, as a real one would between statements."""
    ticks = itertools.count()
    return lambda: start + next(ticks) / 1000


def late(row: dict) -> bool:
    """Held back: a third of the visitors' events of LATE_DAY (in each site's own zone)."""
    zone = SITES[row["site_id"]].timezone
    return (
        expected.local_day(row["derived_ms"], zone) == LATE_DAY
        and zlib.crc32(row["visitor_id"].encode()) % 3 == 0
    )


def feed(warehouse, step: RollupStep, rows: list[dict], size: int = 1000) -> None:
    """What the worker does: every batch to the warehouse step and to the rollup step."""
    sink = WarehouseSink(warehouse)
    for begin in range(0, len(rows), size):
        chunk = rows[begin : begin + size]
        sink.write(chunk)
        days = expected.touched(chunk, lambda site_id: SITES[site_id].timezone)
        step.write(PreparedBatch([], touched_days=days))


def stored_sessions(warehouse, site_id: str) -> dict[tuple, tuple]:
    db = warehouse.database
    result = warehouse.query(
        f"SELECT day, visitor_id, session_id, is_bot, {', '.join(SESSION_DIMENSIONS)},"
        " events, page_views, product_views, engaged_ms"
        f" FROM {db}.rollup_sessions WHERE site_id = %(site)s AND (site_id, day, generation) IN"
        f" (SELECT site_id, day, max(generation) FROM {db}.rollup_days GROUP BY site_id, day)",
        {"site": site_id},
    )
    got = {row[:3]: row[3:] for row in result.rows}
    assert len(got) == len(result.rows)  # one row per session and day
    return got


def expected_sessions(rows: list[dict], site_id: str) -> dict[tuple, tuple]:
    return {
        (s.day, s.visitor_id, s.session_id): (
            s.is_bot,
            *(s.dims[name] for name in SESSION_DIMENSIONS),
            s.events,
            s.page_views,
            s.product_views,
            s.engaged_ms,
        )
        for s in expected.sessions(rows, site_id, SITES[site_id].timezone)
    }


def stored_interests(warehouse, site_id: str) -> dict[tuple, tuple]:
    db = warehouse.database
    result = warehouse.query(
        f"SELECT day, visitor_id, session_id, category, product_views, engaged_ms"
        f" FROM {db}.rollup_interests WHERE site_id = %(site)s AND (site_id, day, generation) IN"
        f" (SELECT site_id, day, max(generation) FROM {db}.rollup_days GROUP BY site_id, day)",
        {"site": site_id},
    )
    return {row[:4]: row[4:] for row in result.rows}


def expected_interests(rows: list[dict], site_id: str) -> dict[tuple, tuple]:
    return {
        (s.day, s.visitor_id, s.session_id, category): (views, ms)
        for s in expected.sessions(rows, site_id, SITES[site_id].timezone)
        for category, (views, ms) in s.categories.items()
    }


def stored_products(warehouse, site_id: str) -> dict[tuple, dict]:
    db = warehouse.database
    names = ("is_bot", *expected.PRODUCT_DIMENSIONS, "views", "carts", "orders", "units", "revenue")
    result = warehouse.query(
        f"SELECT day, visitor_id, session_id, sku, category, currency, {', '.join(names)}"
        f" FROM {db}.rollup_products WHERE site_id = %(site)s AND (site_id, day, generation) IN"
        f" (SELECT site_id, day, max(generation) FROM {db}.rollup_days GROUP BY site_id, day)",
        {"site": site_id},
    )
    return {row[:6]: dict(zip(names, row[6:], strict=True)) for row in result.rows}


def test_rollups_are_exact_and_a_late_replay_fixes_its_day(warehouse, rows):
    early = [row for row in rows if not late(row)]
    held = [row for row in rows if late(row)]
    assert held and early
    step = RollupStep(RollupBuilder(warehouse, clock=ticking(NOW)), SITES.get, clock=ticking(NOW))
    feed(warehouse, step, early)
    step.close()  # the worker's last batch is written: what is left is built
    for site_id in SITES:
        assert stored_sessions(warehouse, site_id) == expected_sessions(early, site_id)
        assert stored_interests(warehouse, site_id) == expected_interests(early, site_id)
        zone = SITES[site_id].timezone
        assert stored_products(warehouse, site_id) == expected.product_lines(early, site_id, zone)
    lines = expected.product_lines(rows, "tehran", "Asia/Tehran").values()
    assert sum(line["orders"] for line in lines) > 0 and sum(line["carts"] for line in lines) > 0
    before = stored_sessions(warehouse, "tehran")

    # Late: the held-back events, and a replay of events already stored (must count once).
    replayed = [row for row in early if row["site_id"] == "tehran"][:300]
    step = RollupStep(
        RollupBuilder(warehouse, clock=ticking(NOW + 60)), SITES.get, ticking(NOW + 60)
    )
    feed(warehouse, step, held + replayed)
    step.close()
    for site_id in SITES:
        assert stored_sessions(warehouse, site_id) == expected_sessions(rows, site_id)
        assert stored_interests(warehouse, site_id) == expected_interests(rows, site_id)
        zone = SITES[site_id].timezone
        assert stored_products(warehouse, site_id) == expected.product_lines(rows, site_id, zone)
    after = stored_sessions(warehouse, "tehran")
    changed = {key[0] for key, _ in set(after.items()) ^ set(before.items())}
    assert changed == {LATE_DAY}  # only the late day moved
    # The rebuilt days' older generations are deleted, one delete a table for all of them.
    assert superseded_rows(warehouse) == {}


def superseded_rows(warehouse, wait_s: float = 30.0) -> dict[str, int]:
    """Rows of every rollup table whose generation is older than its day's latest build,
    once the deletes have run (the server's are asynchronous)."""
    import time

    from pipelines.warehouse.rollups import DAY_DERIVED, DAY_TABLES

    db = warehouse.database
    # A day's latest build is in rollup_days; a derived table's later days are rescored under
    # generations of their own (the RFM segments after a late purchase), its own latest.
    latest = {t: "rollup_days" for t, _, _ in DAY_TABLES} | {t: t for t, _ in DAY_DERIVED}
    deadline = time.monotonic() + wait_s
    while True:
        found = {}
        for table, source in latest.items():
            count = warehouse.query(
                f"SELECT count() FROM `{db}`.`{table}` WHERE (site_id, day, generation) NOT IN"
                f" (SELECT site_id, day, max(generation) FROM `{db}`.`{source}`"
                " GROUP BY site_id, day)"
            ).scalar()
            if count:
                found[table] = count
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_a_restarted_worker_builds_what_its_predecessor_marked(warehouse, rows):
    chosen = [row for row in rows if row["site_id"] == "la"][:800]
    step = RollupStep(RollupBuilder(warehouse, clock=ticking(NOW)), SITES.get, clock=ticking(NOW))
    feed(warehouse, step, chosen)  # no close: the process died after its last batch
    fresh = RollupStep(
        RollupBuilder(warehouse, clock=ticking(NOW + 1)), SITES.get, ticking(NOW + 1)
    )
    fresh.write(PreparedBatch([]))  # its first batch (empty here) loads the marks
    fresh.close()
    assert stored_sessions(warehouse, "la") == expected_sessions(chosen, "la")
    assert RollupBuilder(warehouse).pending() == set()


def test_time_zones_put_the_same_events_into_their_own_days(warehouse, rows):
    builder = RollupBuilder(warehouse, clock=ticking(NOW))
    WarehouseSink(warehouse).write(rows)
    per_day = {}
    for site_id, site in SITES.items():
        wanted = expected_sessions(rows, site_id)
        days = sorted({key[0] for key in wanted})
        for day in days:
            builder.build(site_id, day, site.timezone)
        assert stored_sessions(warehouse, site_id) == wanted
        per_day[site_id] = {day: sum(1 for key in wanted if key[0] == day) for day in days}
    # Tehran's days start 11.5 hours before Los Angeles': they hold other sessions.
    assert per_day["tehran"] != per_day["la"]
    assert date(2025, 1, 5) in per_day["la"]  # the evening of the 5th in LA: the 6th in UTC
    assert date(2025, 1, 8) in per_day["tehran"]  # after 20:30 UTC on the 7th in Tehran


def test_a_day_older_than_the_retention_is_never_rebuilt(warehouse, rows):
    site = Site("tehran", timezone="Asia/Tehran", retention_days=3)
    sites = {"tehran": site}
    early = [row for row in rows if row["site_id"] == "tehran" and not late(row)]
    held = [row for row in rows if row["site_id"] == "tehran" and late(row)]
    first = datetime(2025, 1, 8, 12, tzinfo=UTC).timestamp()  # LATE_DAY closed, the 8th open
    step = RollupStep(RollupBuilder(warehouse, clock=ticking(first)), sites.get, ticking(first))
    feed(warehouse, step, early)
    step.close()
    built = stored_sessions(warehouse, "tehran")
    closed = {
        k: v for k, v in expected_sessions(early, "tehran").items() if k[0] < date(2025, 1, 8)
    }
    assert built == closed  # the 8th is still open in Tehran: not built
    much_later = datetime(2025, 1, 11, 12, tzinfo=UTC).timestamp()  # LATE_DAY: 4 days old
    step = RollupStep(
        RollupBuilder(warehouse, clock=ticking(much_later)), sites.get, lambda: much_later
    )
    feed(warehouse, step, held)
    step.close()
    now = stored_sessions(warehouse, "tehran")
    assert {k: v for k, v in now.items() if k[0] == LATE_DAY} == {
        k: v for k, v in built.items() if k[0] == LATE_DAY
    }  # final: its raw events may be gone
    assert {k[0] for k in now} - {k[0] for k in built} == {date(2025, 1, 8)}  # closed since
