"""Each site's retention_days on raw events, on both engines: back-dated rows, and exactly
the expired site-local days go; other sites, the rollups and the kept days stay."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest

from clicktrail.privacy.retention import cut
from clicktrail.sites.model import Site
from pipelines.privacy.retention import RetentionJob, RetentionStep
from pipelines.privacy.warehouse import PersonWarehouse
from pipelines.warehouse.columns import EVENT_COLUMN_NAMES, event_row
from pipelines.warehouse.rollups import day_bounds
from pipelines.warehouse.sink import LINK_COLUMNS
from tests.integration.conftest import ENGINES

ZONE = "Pacific/Auckland"  # far from UTC: a UTC day is not the site's day
KEPT_DAYS = 5


def rows_of_days(site_id: str, days) -> list[tuple]:
    """Per local day, an event in its first and in its last minute."""
    rows = []
    for day in days:
        start, end = day_bounds(day, ZONE)
        for at in (start + 30_000, end - 30_000):
            rows.append(
                event_row(
                    {
                        "site_id": site_id,
                        "visitor_id": f"v{day.isoformat()}",
                        "event_id": str(uuid.uuid4()),
                        "event_type": "page_view",
                        "created_ms": at,
                        "derived_ms": at,
                        "received_ms": at,
                    }
                )
            )
    return rows


def local_days(warehouse, site_id: str) -> list:
    db = warehouse.database
    return [
        row[0]
        for row in warehouse.query(
            f"SELECT DISTINCT toDate(derived_time, %(tz)s) AS d FROM `{db}`.events"
            " WHERE site_id = %(s)s ORDER BY d",
            {"tz": ZONE, "s": site_id},
        ).rows
    ]


def test_retention_removes_exactly_the_expired_days(warehouse):
    now = time.time()
    site = Site("shop", timezone=ZONE, retention_days=KEPT_DAYS)
    other = Site("blog", timezone=ZONE)  # the default retention: 395 days
    first_kept = cut("shop", KEPT_DAYS, ZONE, now).first_kept_day
    days = [first_kept + timedelta(days=n) for n in range(-4, KEPT_DAYS + 1)]
    warehouse.insert("events", EVENT_COLUMN_NAMES, rows_of_days("shop", days))
    warehouse.insert("events", EVENT_COLUMN_NAMES, rows_of_days("blog", days))
    old_ms = day_bounds(days[0], ZONE)[0] + 60_000
    kept_ms = day_bounds(first_kept, ZONE)[0] + 60_000
    warehouse.insert(
        "identity_links",
        LINK_COLUMNS,
        [("shop", "old", "user", "u1", old_ms, "e1"), ("shop", "new", "user", "u1", kept_ms, "e2")],
    )
    db = warehouse.database
    warehouse.insert(
        "rollup_sessions",
        ("site_id", "day", "generation", "visitor_id", "session_id"),
        [("shop", days[0], 1, "v", "s")],
    )

    job = RetentionJob(warehouse, lambda: {"shop": site, "blog": other}, clock=lambda: now)
    done = {result.cut.site_id: result for result in job.run(wait=True)}

    assert local_days(warehouse, "shop") == [d for d in days if d >= first_kept]
    assert done["shop"].events == 8 and done["shop"].identity_links == 1
    assert local_days(warehouse, "blog") == days and done["blog"].events == 0
    links = warehouse.query(f"SELECT visitor_id FROM `{db}`.identity_links").rows
    assert links == [("new",)]
    rollup = warehouse.query(f"SELECT count() FROM `{db}`.rollup_sessions").scalar()
    assert rollup == 1  # the rollups stay: the expired day's figures are final
    assert job.run(wait=True)[1].events == 0  # nothing more to do (sorted: blog, shop)


@pytest.mark.redis
def test_the_pipeline_step_runs_once_per_interval_in_the_background(warehouse):
    """Its schedule lives in the state Redis: the first poll only starts the clock (a fresh
    warehouse is never trimmed behind its writer's back), then once per interval."""
    import redis

    from clicktrail import ports
    from pipelines.privacy.retention import RetentionSchedule

    now = time.time()
    site = Site("shop", timezone=ZONE, retention_days=KEPT_DAYS)
    first_kept = cut("shop", KEPT_DAYS, ZONE, now).first_kept_day
    old = first_kept - timedelta(days=1)
    warehouse.insert("events", EVENT_COLUMN_NAMES, rows_of_days("shop", [old, first_kept]))
    client = redis.Redis.from_url(f"redis://127.0.0.1:{ports.port('redis_state')}/0")
    ticks = iter([now, now + 10, now + 4000, now + 4010])
    schedule = RetentionSchedule(client, f"test-{uuid.uuid4()}", 3600, clock=lambda: next(ticks))
    step = RetentionStep(
        RetentionJob(warehouse, lambda: {"shop": site}, clock=lambda: now), schedule
    )

    def wait_until_only_kept() -> list:
        PersonWarehouse(warehouse).wait_for_mutations("events")
        deadline = time.monotonic() + 60  # chdb's background mutation, too
        while local_days(warehouse, "shop") != [first_kept] and time.monotonic() < deadline:
            time.sleep(0.2)
        return local_days(warehouse, "shop")

    step.poll()  # the clock starts
    step.poll()  # 10 s later
    assert local_days(warehouse, "shop") == [old, first_kept]
    step.poll()  # past the interval: it runs
    assert wait_until_only_kept() == [first_kept]
    warehouse.insert("events", EVENT_COLUMN_NAMES, rows_of_days("shop", [old]))
    step.poll()  # 10 s after the run: not again
    assert local_days(warehouse, "shop") == [old, first_kept]
    client.delete(schedule.key)
    client.close()


@pytest.mark.redis
def test_the_redis_dead_letter_log_keeps_what_the_event_log_keeps(warehouse):
    """Dead letters hold raw records (raw IP addresses): the retention job trims them to the
    event log's retention."""
    import redis

    from clicktrail import ports
    from clicktrail.contract.deadletter import DeadLetter
    from pipelines.privacy.deadletters import RedisDeadLetters

    client = redis.Redis.from_url(f"redis://127.0.0.1:{ports.port('redis_state')}/0")
    letters = RedisDeadLetters(client, f"test-{uuid.uuid4().hex[:10]}")
    now_ms = int(time.time() * 1000)
    hour = 3_600_000
    for age_hours in (200, 169, 100, 1):
        letter = DeadLetter.of("pipeline", "test", 1, b'{"ip": "81.2.69.160"}', "shop")
        client.xadd(letters.name, {"v": letter.encode()}, id=f"{now_ms - age_hours * hour}-0")
    job = RetentionJob(warehouse, dict, letters, 168 * hour, clock=lambda: now_ms / 1000)
    job.run()
    kept = [int(entry_id.split(b"-")[0]) for entry_id, _ in client.xrange(letters.name)]
    assert kept == [now_ms - 100 * hour, now_ms - hour]
    client.delete(letters.name)
    client.close()


@pytest.mark.redis
@pytest.mark.parametrize("engine_name", ENGINES)
def test_an_idle_worker_still_enforces_retention(tmp_path, engine_name, chdb_folder):
    """No record flows: the worker's loop polls the retention step all the same, and the
    expired days go once the schedule is due (an idle deployment purges on time)."""
    import threading

    import redis

    from clicktrail.sites.registry import edit_sites
    from pipelines.privacy.retention import RetentionSchedule
    from pipelines.runner import run_worker
    from pipelines.warehouse.factory import open_warehouse
    from pipelines.warehouse.migrate import migrate
    from tests.integration.conftest import make_engine, warehouse_target

    engine = make_engine(
        tmp_path,
        "redis",
        clickhouse_url=warehouse_target(engine_name, chdb_folder),
        pipeline_batch_ms=100,
        pipeline_group=f"idle-{uuid.uuid4().hex[:8]}",
    )
    settings = engine.settings
    with edit_sites(settings.sites_file) as sites:
        sites["shop"] = Site("shop", timezone=ZONE, retention_days=KEPT_DAYS)
    first_kept = cut("shop", KEPT_DAYS, ZONE, time.time()).first_kept_day
    old = first_kept - timedelta(days=2)
    with open_warehouse(settings.clickhouse_url) as warehouse:
        migrate(warehouse)
        warehouse.insert("events", EVENT_COLUMN_NAMES, rows_of_days("shop", [old, first_kept]))
    state = redis.Redis.from_url(settings.state_url.url)
    interval = settings.retention_interval_minutes * 60
    schedule = RetentionSchedule(state, repr(settings.clickhouse_url), interval)
    state.set(schedule.key, repr(time.time() - 2 * interval), ex=3600)  # the last run: long ago

    run_worker(settings, threading.Event(), idle_exit_seconds=1.0, steps=["retention"])

    with open_warehouse(settings.clickhouse_url) as warehouse:
        PersonWarehouse(warehouse).wait_for_mutations("events")
        deadline = time.monotonic() + 30  # chdb's background mutation, too
        while local_days(warehouse, "shop") != [first_kept] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert local_days(warehouse, "shop") == [first_kept]
    assert float(state.get(schedule.key)) > time.time() - 60  # the run was recorded
    state.delete(schedule.key)
    state.close()
