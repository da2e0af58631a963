"""Popularity and trending from the real warehouse, on both engines."""

from __future__ import annotations

from datetime import date

from clicktrail.settings import ChdbTarget
from personalizer.popularity import PopularityCache, compute
from pipelines.warehouse.factory import open_reader
from pipelines.warehouse.reader import WarehouseEventStore
from pipelines.warehouse.sink import WarehouseSink
from tests.warehouse_rows import product_view_row

TODAY = date(2025, 11, 24)
NOON = 1_763_985_600_000  # 2025-11-24 12:00 UTC
DAY = 86_400_000


def view(visitor: str, sku: str, country: str, at: int = NOON, **fields) -> dict:
    site_id = fields.pop("site_id", "shop")
    return product_view_row(
        site_id, visitor, sku, at, received_ms=at + 500, country=country, **fields
    )


def test_rankings_by_country_overall_and_trending(warehouse):
    rows = [
        # Germany likes A (3 visitors) over B (1); Sweden likes B
        *(view(f"de{n}", "A", "DE") for n in range(3)),
        view("de9", "B", "DE"),
        *(view(f"se{n}", "B", "SE") for n in range(2)),
        # one visitor reloading C ten times is one visitor
        *(view("se9", "C", "SE", NOON + n) for n in range(10)),
        # T rises today: 5 views today, 2 in the six days before
        *(view(f"t{n}", "T", "US") for n in range(5)),
        view("t8", "T", "US", NOON - 3 * DAY),
        view("t9", "T", "US", NOON - 4 * DAY),
        # bots and other sites do not count
        *(view(f"bot{n}", "Z", "DE", is_bot=1) for n in range(9)),
        view("x", "Z", "DE", site_id="other"),
    ]
    WarehouseSink(warehouse).write(rows)
    popularity = compute(WarehouseEventStore(warehouse), "shop", 14, 10, TODAY)
    assert popularity.by_country["DE"] == ("A", "B")
    assert popularity.by_country["SE"][0] == "B"
    assert popularity.overall[:2] == ("T", "A")  # 7 visitors, then 3
    assert "Z" not in popularity.overall
    assert popularity.trending[0] == "T"


def test_a_cache_serves_the_last_ranking_while_the_warehouse_is_away(warehouse, tmp_path):
    WarehouseSink(warehouse).write([view("v1", "A", "DE")])
    clock = [0.0]
    cache = PopularityCache(
        WarehouseEventStore(warehouse),
        refresh_seconds=10,
        clock=lambda: clock[0],
        today=lambda: TODAY,
    )
    assert cache.refresh_now("shop").overall == ("A",)

    # The warehouse goes away for real: a reader of a chdb folder that no process owns.
    cache._store = open_reader(ChdbTarget(tmp_path / "nobody", "shop"), timeout=1)
    clock[0] = 60.0
    assert cache.get("shop").overall == ("A",)  # stale, served; a refresh failed behind it
    cache._run("shop")
    assert cache.get("shop").overall == ("A",)
