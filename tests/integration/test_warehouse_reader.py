"""The read side on both real engines: named queries give the same exact answers in the owner's
process, through ``open_reader`` (the server's pool, the chdb owner's socket), and replays,
bots, other sites and other days never count."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from clicktrail import ports
from clicktrail.settings import ChdbTarget, ClickHouseServerTarget
from pipelines.warehouse.base import Warehouse, WarehouseError, WarehouseUnavailable
from pipelines.warehouse.columns import EVENT_COLUMNS, empty_value
from pipelines.warehouse.embedded import ChdbWarehouse
from pipelines.warehouse.factory import open_reader
from pipelines.warehouse.host import ChdbHost
from pipelines.warehouse.named import NamedQuery
from pipelines.warehouse.queries import (
    DailyEvents,
    DayRange,
    ProductPopularity,
    TimelineEvent,
    daily_events,
    popular_products,
    visitor_timeline,
)
from pipelines.warehouse.reader import EventStore, WarehouseEventStore
from pipelines.warehouse.server import ServerWarehouse
from pipelines.warehouse.sink import WarehouseSink
from pipelines.warehouse.sql import QueryError

TODAY = date(2025, 11, 24)
NOON = 1_763_985_600_000  # 2025-11-24 12:00 UTC
DAY_MS = 86_400_000
DAYS = DayRange.last(3, today=TODAY)  # 22nd to 24th


def event(visitor: str, kind: str, at: int, **fields) -> dict:
    row = {name: empty_value(kind) for name, kind in EVENT_COLUMNS.items()}
    row.update(
        site_id="shop",
        visitor_id=visitor,
        created_ms=at,
        event_id=str(uuid.uuid4()),
        event_type=kind,
        received_ms=at + 500,
        derived_ms=at,
    )
    row.update(fields)
    return row


def shop_history() -> tuple[list[dict], list[dict]]:
    """The shop's events, and a replay of one of them (written later, so it lands in another
    part: within one insert chdb collapses it already)."""
    purchase = event(
        "v1",
        "purchase",
        NOON + 3000,
        order_id="o1",
        item_skus=("A", "B"),
        item_quantities=(2, 1),
        item_prices=(1000, 500),
    )
    return [
        event("v1", "page_view", NOON - DAY_MS, url="https://shop.example.test/"),
        event("v1", "product_view", NOON, sku="A"),
        event("v1", "product_view", NOON + 1000, sku="A"),
        event("v1", "add_to_cart", NOON + 2000, sku="A"),
        purchase,
        event("v2", "page_view", NOON, url="https://shop.example.test/b"),
        event("v2", "product_view", NOON + 10, sku="B"),
        event("v2", "product_view", NOON + 20, sku="C"),
        *(event("bot", "product_view", NOON + n, sku="Z", is_bot=1) for n in range(5)),
        event("v3", "product_view", NOON - 5 * DAY_MS, sku="Z"),  # before the range
        event("v4", "product_view", NOON + DAY_MS, sku="Z"),  # after it
        event("v1", "product_view", NOON, sku="Z", site_id="other"),
    ], [dict(purchase, received_ms=purchase["received_ms"] + 60_000)]


def target_of(warehouse: Warehouse, chdb_folder: Path) -> ClickHouseServerTarget | ChdbTarget:
    if warehouse.flavor == "server":
        return ClickHouseServerTarget(
            "127.0.0.1", ports.port("clickhouse_native"), warehouse.database
        )
    return ChdbTarget(chdb_folder, warehouse.database)


@pytest.fixture(params=["in the owner", "open_reader"])
def store(
    request: pytest.FixtureRequest, warehouse: Warehouse, chdb_folder: Path
) -> Iterator[EventStore]:
    """The shop's history, read in the process that holds the warehouse, or as a serving
    process reads it (on chdb: through the owner's socket)."""
    history, replay = shop_history()
    WarehouseSink(warehouse).write(history)
    WarehouseSink(warehouse).write(replay)  # counts once
    if request.param == "in the owner":
        yield WarehouseEventStore(warehouse)  # not closed: the fixture owns the warehouse
        return
    host = ChdbHost(warehouse) if isinstance(warehouse, ChdbWarehouse) else None
    try:
        with open_reader(target_of(warehouse, chdb_folder)) as reader:
            yield reader
    finally:
        if host is not None:
            host.close()


def test_popular_products_are_exact(store: EventStore):
    assert popular_products(store, "shop", DAYS) == [
        # v1 bought one (the replay counts once), v2 viewed it
        ProductPopularity("B", visitors=2, views=1, carts=0, units=1),
        # v1 viewed A twice, carted it and bought two
        ProductPopularity("A", visitors=1, views=2, carts=1, units=2),
        ProductPopularity("C", visitors=1, views=1, carts=0, units=0),
    ]  # Z: only bots in range, and people outside it or on another site
    assert [p.sku for p in popular_products(store, "shop", DAYS, limit=2)] == ["B", "A"]
    assert popular_products(store, "nobody", DAYS) == []


def test_daily_events_are_exact(store: EventStore):
    assert daily_events(store, "shop", DAYS) == [
        DailyEvents(date(2025, 11, 23), events=1, visitors=1, page_views=1),
        DailyEvents(date(2025, 11, 24), events=7, visitors=2, page_views=1),
    ]


def test_a_visitors_timeline_is_in_device_order(store: EventStore):
    timeline = visitor_timeline(store, "shop", "v1", DAYS)
    assert [(e.event_type, e.sku) for e in timeline] == [
        ("page_view", ""),
        ("product_view", "A"),
        ("product_view", "A"),
        ("add_to_cart", "A"),
        ("purchase", ""),
    ]
    assert timeline[0] == TimelineEvent(
        NOON - DAY_MS, "page_view", timeline[0].event_id, "", "https://shop.example.test/"
    )
    assert len(visitor_timeline(store, "shop", "v1", DAYS, limit=2)) == 2


def test_bad_parameters_are_refused_before_anything_is_sent(store: EventStore):
    with pytest.raises(QueryError, match="missing"):
        store.run(POPULAR, site_id="shop")
    with pytest.raises(QueryError, match="site_id must be str"):
        store.run(POPULAR, site_id=["shop"], start=DAYS.start, end=DAYS.end, limit=1)
    with pytest.raises(WarehouseError, match="^broken: "):  # the engine's error names the query
        store.run(BROKEN)
    assert store.ping()


POPULAR = NamedQuery(
    "popular",
    "SELECT sku FROM {events} WHERE site_id = %(site_id)s"
    " AND day >= %(start)s AND day < %(end)s LIMIT %(limit)s",
    params={"site_id": str, "start": date, "end": date, "limit": int},
)
BROKEN = NamedQuery("broken", "SELECT no_such_column FROM {events}")


def test_threads_share_one_reader(store: EventStore):
    expected = daily_events(store, "shop", DAYS)
    answers: list[list[DailyEvents]] = []
    errors: list[BaseException] = []

    def read() -> None:
        try:
            for _ in range(5):
                answers.append(daily_events(store, "shop", DAYS))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and answers == [expected] * 30


# --- the server's pool ------------------------------------------------------------------------


def server() -> ClickHouseServerTarget:
    return ClickHouseServerTarget("127.0.0.1", ports.port("clickhouse_native"), "default")


@pytest.mark.clickhouse
def test_server_readers_run_at_once_on_a_pool():
    with ServerWarehouse(server(), timeout=10, pool_size=3) as warehouse:
        started = time.monotonic()
        threads = [
            threading.Thread(target=warehouse.query, args=("SELECT sleep(1)",)) for _ in range(3)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
    assert elapsed < 2.0, f"three 1 s reads took {elapsed:.1f} s: they ran one at a time"


@pytest.mark.clickhouse
def test_a_busy_server_pool_answers_unavailable_after_its_wait():
    with ServerWarehouse(server(), timeout=10, pool_size=1, pool_wait=0.2) as warehouse:
        busy = threading.Thread(target=warehouse.query, args=("SELECT sleep(1.5)",))
        busy.start()
        time.sleep(0.3)
        started = time.monotonic()
        with pytest.raises(WarehouseUnavailable, match="busy"):
            warehouse.query("SELECT 1")
        assert time.monotonic() - started < 1.0
        busy.join()
        assert warehouse.query("SELECT 1").scalar() == 1


@pytest.mark.clickhouse
def test_a_server_statement_over_its_timeout_leaves_the_pool_usable():
    with ServerWarehouse(server(), timeout=1, pool_size=1) as warehouse:
        with pytest.raises(WarehouseUnavailable):
            warehouse.query("SELECT sleep(2)")
        assert warehouse.query("SELECT 7 AS seven").rows == [(7,)]
