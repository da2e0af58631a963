"""``make bench-warehouse``: exact counting with FINAL on millions of rows, on both engines.

Rows are generated inside ClickHouse (``numbers()``), with realistic shapes: 30 days, 300k
visitors, Zipf-ish categories and countries, and a share of replayed duplicates so FINAL has real
work. Each report-shaped query runs several times; the median is reported. Also measures the
columnar insert rate from Python (the ceiling of the pipeline's warehouse step).

    python -m bench.warehouse [--rows 3000000] [--engine server|chdb|both]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from bench.report import Figure, report
from clicktrail import ports
from clicktrail.settings import ChdbTarget, ClickHouseServerTarget
from pipelines.warehouse.base import Warehouse
from pipelines.warehouse.columns import EVENT_COLUMNS, empty_value
from pipelines.warehouse.factory import open_warehouse
from pipelines.warehouse.migrate import migrate
from pipelines.warehouse.sink import WarehouseSink

END_MS = 1_764_000_000_000
DAY_MS = 86_400_000
REPLAY_SHARE = 50  # one row in 50 is inserted twice (a resend after an unconfirmed beacon)

GENERATE = """
INSERT INTO {db}.events (site_id, visitor_id, created_ms, event_id, event_type, session_id,
    received_ms, derived_ms, country, city, device_type, browser, category, sku, is_bot,
    ref_medium, utm_campaign, price, currency)
SELECT
    if(number % 10 = 0, 'blog', 'shop') AS site_id,
    concat('v', toString(intHash32(number) % 300000)) AS visitor_id,
    {end} - (intHash64(number) % (30 * {day})) AS created_ms,
    concat(toString(number), '-', toString(intHash64(number * 7))) AS event_id,
    ['page_view', 'page_view', 'product_view', 'product_view', 'page_ping', 'click',
     'add_to_cart', 'purchase'][intHash32(number * 3) % 8 + 1] AS event_type,
    concat('s', toString(intHash32(number) % 900000)) AS session_id,
    created_ms + 300 AS received_ms,
    created_ms + 100 AS derived_ms,
    ['US', 'US', 'US', 'DE', 'DE', 'GB', 'FR', 'JP', 'BR', 'IN'][intHash32(number * 5) % 10 + 1]
        AS country,
    ['New York', 'Berlin', 'London', 'Paris', 'Tokyo'][intHash32(number * 11) % 5 + 1] AS city,
    ['desktop', 'desktop', 'mobile', 'mobile', 'mobile', 'tablet', 'bot']
        [intHash32(number * 13) % 7 + 1] AS device_type,
    ['Chrome', 'Safari', 'Firefox', 'Edge'][intHash32(number * 17) % 4 + 1] AS browser,
    [['Shoes', 'Running'], ['Shoes', 'Trail'], ['Apparel', 'Jackets'], ['Outdoor', 'Tents'],
     ['Apparel', 'Shirts'], ['Shoes', 'Running'], ['Outdoor', 'Bags']]
        [intHash32(number * 19) % 7 + 1] AS category,
    concat('sku-', toString(intHash32(number * 23) % 5000)) AS sku,
    toUInt8(device_type = 'bot') AS is_bot,
    ['direct', 'search', 'social', 'email', 'paid'][intHash32(number * 29) % 5 + 1] AS ref_medium,
    ['', '', 'spring', 'summer'][intHash32(number * 31) % 4 + 1] AS utm_campaign,
    toUInt64(intHash32(number * 37) % 20000) AS price,
    'EUR' AS currency
FROM numbers({rows})
{where}
"""

QUERIES = {
    "count 30 days (FINAL)": (
        "SELECT count(), uniq(visitor_id) FROM {db}.events FINAL"
        " WHERE site_id = 'shop' AND day >= toDate('2025-10-25') AND is_bot = 0"
    ),
    "interest by country x category (FINAL)": (
        "SELECT country, category[1] AS top, count() AS views, uniq(visitor_id) AS visitors"
        " FROM {db}.events FINAL"
        " WHERE site_id = 'shop' AND day >= toDate('2025-10-25') AND is_bot = 0"
        " AND event_type IN ('product_view', 'add_to_cart', 'purchase')"
        " GROUP BY country, top ORDER BY views DESC LIMIT 100"
    ),
    "daily by device, 7 days (FINAL)": (
        "SELECT day, device_type, count() FROM {db}.events FINAL"
        " WHERE site_id = 'shop' AND day >= toDate('2025-11-17')"
        " GROUP BY day, device_type ORDER BY day, device_type"
    ),
    "campaigns 30 days (FINAL)": (
        "SELECT utm_campaign, ref_medium, uniq(visitor_id), countIf(event_type = 'purchase'),"
        " sumIf(price, event_type = 'purchase') FROM {db}.events FINAL"
        " WHERE site_id = 'shop' AND day >= toDate('2025-10-25') AND is_bot = 0"
        " GROUP BY utm_campaign, ref_medium"
    ),
    "count 30 days (no FINAL, inexact)": (
        "SELECT count(), uniq(visitor_id) FROM {db}.events"
        " WHERE site_id = 'shop' AND day >= toDate('2025-10-25') AND is_bot = 0"
    ),
    "visitor timeline (FINAL)": (
        "SELECT created_ms, event_type, sku FROM {db}.events FINAL"
        " WHERE site_id = 'shop' AND visitor_id = 'v4242' ORDER BY created_ms"
    ),
}


def median_ms(warehouse: Warehouse, sql: str, repeat: int) -> float:
    warehouse.query(sql)  # warm the caches once, as a dashboard would
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        warehouse.query(sql)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def python_rows(count: int) -> list[dict]:
    base = {name: empty_value(kind) for name, kind in EVENT_COLUMNS.items()}
    rows = []
    for n in range(count):
        row = dict(base)
        row.update(
            site_id="shop",
            visitor_id=f"v{n % 5000}",
            created_ms=END_MS - n,
            event_id=str(uuid.uuid4()),
            event_type="product_view",
            url=f"https://shop.example.test/p/{n % 700}",
            category=["Shoes", "Running"],
            sku=f"sku-{n % 700}",
            country="DE",
            browser="Chrome",
        )
        rows.append(row)
    return rows


def run_engine(name: str, warehouse: Warehouse, rows: int, repeat: int) -> list[Figure]:
    db = warehouse.database
    migrate(warehouse)
    figures = []
    sample = python_rows(50_000)
    sink = WarehouseSink(warehouse)
    started = time.perf_counter()
    for start in range(0, len(sample), 10_000):
        sink.write(sample[start : start + 10_000])
    rate = len(sample) / (time.perf_counter() - started)
    figures.append(Figure(f"{name}: insert from Python, 10k-row batches", rate, "rows/s"))
    warehouse.execute(f"TRUNCATE TABLE {db}.events")

    started = time.perf_counter()
    warehouse.execute(GENERATE.format(db=db, end=END_MS, day=DAY_MS, rows=rows, where=""))
    warehouse.execute(
        GENERATE.format(
            db=db, end=END_MS, day=DAY_MS, rows=rows, where=f"WHERE number % {REPLAY_SHARE} = 0"
        )
    )
    print(
        f"{name}: generated {rows:,} rows (+{rows // REPLAY_SHARE:,} replays) "
        f"in {time.perf_counter() - started:.1f}s"
    )
    stored = warehouse.query(f"SELECT count() FROM {db}.events").scalar()
    exact = warehouse.query(f"SELECT count() FROM {db}.events FINAL").scalar()
    figures.append(Figure(f"{name}: rows stored (with replays)", stored, "rows"))
    figures.append(Figure(f"{name}: rows counted with FINAL", exact, "rows"))
    for label, sql in QUERIES.items():
        elapsed = median_ms(warehouse, sql.format(db=db), repeat)
        target = 300.0 if "FINAL)" in label else None
        figures.append(Figure(f"{name}: {label}", elapsed, "ms", target, "lower"))
    # Steady state: background merges have collapsed the parts (and the replays) by now.
    warehouse.execute(f"OPTIMIZE TABLE {db}.events FINAL")
    for label in ("count 30 days (FINAL)", "interest by country x category (FINAL)"):
        elapsed = median_ms(warehouse, QUERIES[label].format(db=db), repeat)
        figures.append(Figure(f"{name}: {label}, parts merged", elapsed, "ms", 300.0, "lower"))
    warehouse.execute(f"DROP DATABASE IF EXISTS {db}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--engine", choices=("server", "chdb", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    database = f"bench_{uuid.uuid4().hex[:8]}"
    figures: list[Figure] = []
    if args.engine in ("server", "both"):
        from clicktrail import services

        services.start(["clickhouse"])
        target = ClickHouseServerTarget("127.0.0.1", ports.port("clickhouse_native"), database)
        with open_warehouse(target, timeout=1800) as warehouse:
            figures += run_engine("server 18.16", warehouse, args.rows, args.repeat)
    if args.engine in ("chdb", "both"):
        with (
            tempfile.TemporaryDirectory() as folder,
            open_warehouse(ChdbTarget(Path(folder), database)) as warehouse,
        ):
            figures += run_engine("chdb", warehouse, args.rows, args.repeat)
    report(f"warehouse-{args.rows // 1_000_000}m", figures)


if __name__ == "__main__":
    main()
