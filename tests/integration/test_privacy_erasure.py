"""Erasure end to end, on both engines: a person with three visitor ids (two devices logged in
as one user, one cross-domain id) is forgotten on site A; site B got the same traffic without
them. Afterwards no store holds anything of the person, and A equals B in every store (reports,
co-views, the other visitors' profiles); the person's events arriving later are dropped by the
pipeline's tombstones."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import redis

from clicktrail.contract.deadletter import DeadLetter
from clicktrail.privacy.person import Subject
from clicktrail.sites.model import Site
from clicktrail.sites.registry import edit_sites
from pipelines.eventlog import open_event_log
from pipelines.privacy.erase import Eraser
from pipelines.privacy.factory import open_stores
from pipelines.runner import run_worker
from pipelines.warehouse.factory import open_warehouse
from tests.integration.conftest import ENGINES, make_engine, warehouse_target
from tests.integration.privacy_world import RAW_IP, ZONE, build_world, event, new_id, views


def engine_with_sites(tmp_path, engine_name, chdb_folder, geoip):
    engine = make_engine(
        tmp_path,
        "redis",
        clickhouse_url=warehouse_target(engine_name, chdb_folder),
        geoip_db=geoip,
        pipeline_batch_ms=200,
        pipeline_batch_events=200,
        pipeline_group=f"privacy-{new_id()[:8]}",
        privacy_tombstone_refresh_ms=100,
    )
    a, b = f"pa{new_id()[:10]}", f"pb{new_id()[:10]}"
    with edit_sites(engine.settings.sites_file) as sites:
        for site_id in (a, b):
            sites[site_id] = Site(site_id, origins=("https://shop.example.test",), timezone=ZONE)
    return engine, a, b


def load(engine, records) -> None:
    log = open_event_log(engine.settings, ack_timeout=10)
    log.ensure_created()
    for start in range(0, len(records), 50):
        log.append(records[start : start + 50], timeout=10)
    log.close()


def drain(engine) -> None:
    run_worker(engine.settings, threading.Event(), idle_exit_seconds=1.0)


def add_dead_letters(engine, site_a: str, person_visitor: str, other_visitor: str) -> None:
    """A dead letter of the person's (its raw record) and one of someone else's."""
    log = open_event_log(engine.settings, ack_timeout=10)
    letters = []
    for visitor in (person_visitor, other_visitor):
        payload = json.dumps(
            {"site_id": site_a, "visitor_id": visitor, "ip": RAW_IP, "events": [{}]}
        ).encode()
        letters.append(DeadLetter.of("pipeline", "event 0: test", 1, payload, site_a, "test"))
    log.append_dead_letters(letters, timeout=5)
    log.close()


def rollup_rows(warehouse, site_id: str) -> dict[str, list]:
    """The rows reports read for a site: every rollup table's rows of each day's latest
    generation (site and generation left out, sorted), and the raw events of the open day
    (visitor, session, type, sku), which reports read raw."""
    db = warehouse.database
    tables = [
        row[0]
        for row in warehouse.query(
            "SELECT DISTINCT table FROM system.columns WHERE database = %(db)s"
            " AND name = 'generation' AND table LIKE 'rollup%%'",
            {"db": db},
        ).rows
    ]
    out = {}
    for table in sorted(tables):
        if table == "rollup_days":
            continue
        columns = [
            row[0]
            for row in warehouse.query(
                "SELECT name FROM system.columns WHERE database = %(db)s AND table = %(t)s",
                {"db": db, "t": table},
            ).rows
            if row[0] not in ("site_id", "generation")
        ]
        rows = warehouse.query(
            f"SELECT {', '.join(columns)} FROM `{db}`.`{table}` WHERE site_id = %(s)s"
            f" AND (site_id, day, generation) IN (SELECT site_id, day, max(generation)"
            f" FROM `{db}`.rollup_days WHERE site_id = %(s)s GROUP BY site_id, day)",
            {"s": site_id},
        ).rows
        out[table] = sorted(map(repr, rows))
    return out


def report_rows(warehouse, site_id: str) -> tuple[list, list]:
    """The audience and interests reports of the site over the world's days (reports/)."""
    from pipelines.warehouse.reader import WarehouseEventStore
    from reports.catalog import REPORTS
    from reports.query import parse_query
    from reports.source import RollupSource

    today = datetime.now(ZoneInfo(ZONE)).date()
    source = RollupSource(WarehouseEventStore(warehouse))
    params = {"since": (today - timedelta(days=6)).isoformat(), "until": today.isoformat()}
    out = []
    for name in ("audience", "interests"):
        kind = REPORTS[name]
        query = parse_query(
            params,
            site_id,
            ZONE,
            today,
            kind.breakdowns,
            kind.breakdown_name,
            kind.multiple,
            kind.extra,
        )
        out.append(kind.run(source, query).rows)
    return out[0], out[1]


def profile_state(client: redis.Redis, site_id: str) -> dict:
    """Every key of the site in the profile Redis, by its name without the site, with its
    content (watermarks left out: the two sites' records sit at other log positions)."""
    state = {}
    for raw in client.scan_iter(match=f"*:{site_id}:*", count=1000):
        key = raw.decode()
        kind = client.type(raw).decode()
        if kind == "hash":
            value = {
                k.decode(): v.decode()
                for k, v in client.hgetall(raw).items()
                if not k.startswith(b"wm:")
            }
            if "cs" in value:  # interest scores: equal up to float rounding (docs/profiles.md)
                scores = json.loads(value["cs"]) or {}
                value["cs"] = {name: round(score, 9) for name, score in scores.items()}
        elif kind == "zset":
            value = sorted((m.decode(), s) for m, s in client.zrange(raw, 0, -1, withscores=True))
        else:
            value = client.get(raw)
        state[key.replace(site_id, "SITE")] = value
    return state


def mentions_anywhere(client: redis.Redis, ids: set[str], match: str = "*") -> list[str]:
    """Keys of this Redis (named like ``match``) whose name or content holds one of ``ids``.
    The keys of the whole test run are read, not only this test's: in pipelined pages."""
    readers = {
        b"hash": lambda p, k: p.hgetall(k),
        b"zset": lambda p, k: p.zrange(k, 0, -1),
        b"string": lambda p, k: p.get(k),
        b"set": lambda p, k: p.smembers(k),
        b"list": lambda p, k: p.lrange(k, 0, -1),
        b"stream": lambda p, k: p.xrange(k),
    }
    found = []
    cursor = 0
    while True:
        cursor, keys = client.scan(cursor, match=match, count=1000)
        with client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.type(key)
            kinds = pipe.execute()
        with client.pipeline(transaction=False) as pipe:
            for key, kind in zip(keys, kinds, strict=True):
                readers.get(kind, lambda p, k: p.exists(k))(pipe, key)
            contents = pipe.execute()
        for key, content in zip(keys, contents, strict=True):
            text = key.decode(errors="replace") + repr(content)
            if any(value in text for value in ids):
                found.append(key.decode(errors="replace"))
        if cursor == 0:
            return found


def warehouse_mentions(warehouse, ids: set[str]) -> dict[str, int]:
    """Rows of any table of the test's database with a string column holding one of ``ids``
    (arrays of strings included): every table, so a new table is searched too. One query a
    table (a query a column cost chdb half a minute a call)."""
    db = warehouse.database
    columns = warehouse.query(
        "SELECT table, name, type FROM system.columns WHERE database = %(db)s", {"db": db}
    ).rows
    by_table: dict[str, list[tuple[str, str]]] = {}
    for table, name, kind in columns:
        if "String" in kind:
            by_table.setdefault(table, []).append((name, kind))
    values = tuple(sorted(ids))
    found = {}
    for table, named in by_table.items():
        tests = [
            f"countIf(hasAny({name}, %(list)s))"
            if kind.startswith("Array")
            else f"countIf({name} IN %(ids)s)"
            for name, kind in named
        ]
        [counts] = warehouse.query(
            f"SELECT {', '.join(tests)} FROM `{db}`.`{table}`",
            {"ids": values, "list": list(values)},
        ).rows
        for (name, _), count in zip(named, counts, strict=True):
            if count:
                found[f"{table}.{name}"] = count
    return found


@pytest.mark.redis
@pytest.mark.slow
@pytest.mark.parametrize("engine_name", ENGINES)
def test_forget_removes_the_person_everywhere_and_nothing_else(
    tmp_path, engine_name, chdb_folder, shared_small_geoip_db
):
    engine, site_a, site_b = engine_with_sites(
        tmp_path, engine_name, chdb_folder, shared_small_geoip_db
    )
    settings = engine.settings
    world = build_world()
    load(engine, world.records(site_a) + world.records(site_b, with_person=False))
    drain(engine)
    other = world.others[0][0]
    add_dead_letters(engine, site_a, world.person_visitors[1], other)
    state = redis.Redis.from_url(settings.state_url.url)
    profile = redis.Redis.from_url(settings.profile_url.url)
    caps = {
        f"pz:cap:{site_a}:spring:{world.person_visitors[0]}:123": 2,
        f"pz:cap:{site_a}:spring:{other}:123": 1,
    }
    for key, value in caps.items():
        state.set(key, value, ex=3600)
    ids = set(world.person_visitors) | {world.user_id}
    target = settings.clickhouse_url

    with open_warehouse(target) as warehouse:
        assert warehouse_mentions(warehouse, ids)["events.visitor_id"] > 0  # they were there
        # Raw addresses never reach ClickHouse or the profiles (truncated per site).
        assert warehouse_mentions(warehouse, {RAW_IP}) == {}
        before_b = rollup_rows(warehouse, site_b)
        assert rollup_rows(warehouse, site_a) != before_b  # the person counts on A
        assert len(before_b["rollup_sessions"]) >= 10  # three closed days of five visitors
        reports_b = report_rows(warehouse, site_b)
        assert report_rows(warehouse, site_a) != reports_b
    assert mentions_anywhere(profile, set(world.person_visitors))
    assert mentions_anywhere(profile, {RAW_IP}) == []

    with open_stores(settings) as stores:
        receipt = Eraser(stores).forget(Subject(site_a, "user", world.user_id), "test")
    data = receipt.to_json()
    assert set(data["person"]["visitor_ids"]) == set(world.person_visitors)  # linked ids too
    assert data["person"]["user_ids"] == [world.user_id]  # not the shared computer's other user
    assert data["person"]["shared_visitor_ids"] == [world.shared_visitor]
    # The shared computer's rows of the other user's login had gone to their profile: named.
    assert any(
        world.shared_visitor in note and world.other_user in note for note in data["not_removed"]
    )
    assert receipt.removed("clickhouse:events") >= 9
    assert receipt.removed("clickhouse:identity_links") >= 3
    assert receipt.removed("redis-profile:profiles") > 0
    assert receipt.removed("redis-profile:coviews") > 0
    assert receipt.removed("redis-state:caps") == 1
    assert receipt.removed("event-log:dead-letters") == 1
    assert data["finished_at"] and data["tombstone_until"]

    # Every store searched: nothing of the person.
    with open_warehouse(target) as warehouse:
        assert warehouse_mentions(warehouse, ids) == {}
        # What the reports read of A adds up for everyone else: exactly B's.
        assert rollup_rows(warehouse, site_a) == before_b
        # and the reports (audience, interests) of A are B's
        assert report_rows(warehouse, site_a) == reports_b
    assert mentions_anywhere(profile, ids) == []
    # The state Redis also holds every test's event log (whole streams): its keys of site A.
    assert mentions_anywhere(state, ids, match=f"*{site_a}*") == []
    log = open_event_log(settings, ack_timeout=5)
    letters = log.read_dead_letters(100, timeout=2)
    assert not [letter for letter in letters if any(i in letter.payload for i in ids)]
    assert [letter for letter in letters if other in letter.payload]  # others' stay
    log.close()
    assert state.get(f"pz:cap:{site_a}:spring:{other}:123") == b"1"
    # Co-views and the other visitors' profiles of A are B's, key for key, but the profile of
    # the shared computer's other user (a sum, which holds its rows of their login: named in
    # the receipt, `clicktrail profiles rebuild` recomputes it).
    theirs = f"u:{world.other_user}"
    after_a, after_b = profile_state(profile, site_a), profile_state(profile, site_b)
    assert {k for k in after_a if theirs in k} == {k for k in after_b if theirs in k} != set()
    assert {k: v for k, v in after_a.items() if theirs not in k + repr(v)} == {
        k: v for k, v in after_b.items() if theirs not in k + repr(v)
    }

    # Their events still in (or coming to) the event log are dropped by the pipeline.
    late_at = int(time.time() * 1000) - 60_000
    stranger = new_id()
    late = world.records(site_a)[:0]
    from clicktrail.contract.record import LogRecord

    late = [
        LogRecord(
            site_a,
            world.person_visitors[1],
            "collector_cookie",
            late_at + 1000,
            views(late_at, new_id(), ("mug-4",)),
        ),
        LogRecord(
            site_a,
            stranger,
            "collector_cookie",
            late_at + 1000,
            [
                event("identify", late_at, new_id(), user_id=world.user_id),
                *views(late_at + 1, new_id(), ("lamp-3",)),
            ],
        ),
        LogRecord(
            site_a,
            new_id(),
            "url",
            late_at + 1000,
            views(late_at, new_id(), ("pen-5",)),
            replaced_visitor_id=world.person_visitors[2],
        ),
        LogRecord(
            site_a, other, "collector_cookie", late_at + 1000, views(late_at, new_id(), ("book-2",))
        ),
    ]
    load(engine, late)
    drain(engine)
    with open_warehouse(target) as warehouse:
        assert warehouse_mentions(warehouse, ids) == {}
        db = warehouse.database
        kept = warehouse.query(
            f"SELECT visitor_id, sku FROM `{db}`.events WHERE site_id = %(s)s"
            " AND created_ms >= %(at)s ORDER BY sku",
            {"s": site_a, "at": late_at},
        ).rows
    # The stranger's own view stays: only its identify, naming the forgotten user, is dropped.
    assert kept == [(other, "book-2"), (stranger, "lamp-3")]
    assert mentions_anywhere(profile, ids) == []
    state.delete(*caps)
    state.close()
    profile.close()


@pytest.mark.redis
@pytest.mark.slow
@pytest.mark.parametrize("engine_name", ENGINES)
def test_forget_reaches_devices_only_the_rollups_remember(
    tmp_path, engine_name, chdb_folder, shared_small_geoip_db
):
    """Retention took the person's first two days' events and identity links; the rollups of
    those days stay, and their rows of both devices are found through the visitor and user id
    pairs the rollups keep, and erased."""
    from pipelines.privacy.retention import RetentionJob

    engine, site_a, _ = engine_with_sites(tmp_path, engine_name, chdb_folder, shared_small_geoip_db)
    world = build_world()
    load(engine, world.records(site_a))
    drain(engine)
    first, second, cross_domain, _ = world.person_visitors
    ids = set(world.person_visitors) | {world.user_id}
    short = Site(site_a, timezone=ZONE, retention_days=1)  # the first two of the four days go
    with open_warehouse(engine.settings.clickhouse_url) as warehouse:
        RetentionJob(warehouse, lambda: {site_a: short}).run(wait=True)
        left = warehouse_mentions(warehouse, {first, second})
        assert "events.visitor_id" not in left and "identity_links.visitor_id" not in left
        assert left["rollup_sessions.visitor_id"] > 0  # the rollups remember both devices
        assert warehouse_mentions(warehouse, {cross_domain})["events.visitor_id"] > 0
        assert warehouse_mentions(warehouse, {world.other_user})["events.user_id"] > 0

    with open_stores(engine.settings) as stores:
        receipt = Eraser(stores).forget(Subject(site_a, "user", world.user_id), "test")
    assert set(receipt.person.visitor_ids) == set(world.person_visitors)
    assert receipt.person.shared_visitor_ids == {world.shared_visitor}  # its logins of 2 days
    with open_warehouse(engine.settings.clickhouse_url) as warehouse:
        assert warehouse_mentions(warehouse, ids) == {}
        # The other user of the shared computer keeps their phone's rows.
        assert warehouse_mentions(warehouse, {world.other_user})["events.user_id"] > 0


@pytest.mark.redis
@pytest.mark.slow
@pytest.mark.parametrize("engine_name", ENGINES)
def test_the_export_holds_the_persons_rollup_rows(
    tmp_path, engine_name, chdb_folder, shared_small_geoip_db
):
    """The right of access: besides events and links, what the rollups hold about the person
    (sessions, funnel times, visitor days with their user id and orders, RFM segments), of the
    latest generation only."""
    from pipelines.privacy.export import export_person

    engine, site_a, _ = engine_with_sites(tmp_path, engine_name, chdb_folder, shared_small_geoip_db)
    world = build_world()
    load(engine, world.records(site_a))
    drain(engine)
    with open_stores(engine.settings) as stores:
        held = export_person(stores, Subject(site_a, "user", world.user_id))
    rollups = held["clickhouse"]["rollups"]
    mine = set(world.person_visitors)
    assert {"rollup_sessions", "rollup_funnel_events", "rollup_visitor_days"} <= set(rollups)
    assert {"rollup_segments", "rollup_orders", "rollup_funnel_visitors"} <= set(rollups)
    for table, rows in rollups.items():
        assert all(row["site_id"] == site_a for row in rows), table
        assert all(
            row["visitor_id"] in mine or row.get("user_id") in (world.user_id,) for row in rows
        )
    # Closed days only (today is read raw): the person's three closed days, one row a session.
    sessions = rollups["rollup_sessions"]
    assert len(sessions) == len({(r["day"], r["session_id"]) for r in sessions}) >= 6
    assert {r["user_id"] for r in rollups["rollup_visitor_days"]} >= {world.user_id}
    assert sum(r["orders"] for r in rollups["rollup_visitor_days"]) == 1
    assert [r["revenue"] for r in rollups["rollup_orders"]] == [2500]
    assert {r["customer"] for r in rollups["rollup_segments"]} == {world.user_id}
    assert all(r["times"] for r in rollups["rollup_funnel_events"])
    json.dumps(held)  # as the API answers it
