"""``clicktrail offers export`` on the real stores: user profiles in the profile Redis (written by
the profile sink), the catalog in the durable Redis, popularity from the warehouse on both
engines."""

from __future__ import annotations

import csv
import io
import time
import uuid
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner

from clicktrail import ports
from clicktrail.cli import cli
from personalizer.catalog import Product
from personalizer.catalog_store import CatalogStore
from pipelines.profiles import ProfileConfig, ProfileSink
from pipelines.profiles.clients import writer_client
from pipelines.warehouse.columns import EVENT_COLUMNS, empty_value
from pipelines.warehouse.factory import open_warehouse
from pipelines.warehouse.migrate import migrate
from pipelines.warehouse.sink import WarehouseSink
from tests.integration.conftest import ENGINES, warehouse_target

pytestmark = pytest.mark.redis

PROFILES = f"redis://127.0.0.1:{ports.port('redis_profile')}/14"  # away from a running engine's
STATE = f"redis://127.0.0.1:{ports.port('redis_state')}/0"
NOW = int(time.time() * 1000)
HOUR = 3_600_000


def product(sku: str, category: str, **fields) -> Product:
    return Product(
        sku=sku,
        title=f"Title {sku}",
        category=category,
        price=1999,
        currency="EUR",
        url=f"https://shop.example.test/{sku}",
        **fields,
    )


def event(site: str, visitor: str, sku: str, country: str, **fields) -> dict:
    row = {name: empty_value(kind) for name, kind in EVENT_COLUMNS.items()}
    row.update(
        site_id=site,
        visitor_id=visitor,
        created_ms=NOW - HOUR,
        event_id=str(uuid.uuid4()),
        event_type="product_view",
        received_ms=NOW - HOUR + 500,
        derived_ms=NOW - HOUR,
        sku=sku,
        country=country,
    )
    row.update(fields)
    return row


@pytest.fixture
def site():
    name = f"x{uuid.uuid4().hex[:10]}"
    yield name
    client = redis.Redis.from_url(PROFILES)
    ProfileSink(client, ProfileConfig()).clear_site(name)
    client.close()
    writer_client(STATE).delete(f"catalog:{name}")


@pytest.mark.parametrize("engine", ENGINES)
def test_the_offers_of_a_list_of_users_as_csv(tmp_path: Path, chdb_folder, engine, site):
    CatalogStore(writer_client(STATE)).import_products(
        site,
        [
            product("A", "Shoes/Running"),
            product("D", "Shoes/Trail"),
            product("B", "Books/Novels"),
            product("C", "Books/Novels", regions=frozenset({"FR"})),
            product("E", "Books/Novels", available=False),
        ],
    )
    # popular: A (5 visitors), D (3), B (2), C (1)
    rows = [event(site, f"a{n}", "A", "GB") for n in range(5)]
    rows += [event(site, f"d{n}", "D", "GB") for n in range(3)]
    rows += [event(site, f"b{n}", "B", "GB") for n in range(2)]
    rows += [event(site, "c0", "C", "FR")]
    target = warehouse_target(engine, chdb_folder)
    with open_warehouse(target) as warehouse:
        migrate(warehouse)
        WarehouseSink(warehouse).write(rows)
    # user u1, in Germany, reads novels (B) and bought the trail shoe D
    u1 = [
        event(site, "v1", "B", "DE", category=["Books", "Novels"], user_id="u1"),
        event(site, "v1", "B", "DE", category=["Books", "Novels"], user_id="u1"),
        event(
            site,
            "v1",
            "",
            "DE",
            event_type="purchase",
            user_id="u1",
            order_id="o1",
            item_skus=["D"],
            item_categories=["Shoes/Trail"],
        ),
    ]
    ProfileSink.from_url(PROFILES, ProfileConfig()).apply([(None, [row]) for row in u1])

    users = tmp_path / "users.txt"
    users.write_text("u1\n\nnobody\nu1\n\x07bad\n")
    database = target.database
    url = (
        f"clickhouse://127.0.0.1:{ports.port('clickhouse_native')}/{database}"
        if engine == "server"
        else f"chdb://{chdb_folder}?database={database}"
    )
    env = {
        "CLICKTRAIL_DATA_DIR": str(tmp_path),
        "CLICKTRAIL_PROFILE_URL": PROFILES,
        "CLICKTRAIL_CLICKHOUSE_URL": url,
    }
    try:
        result = CliRunner().invoke(
            cli,
            ["offers", "export", "--users", str(users), "--site", site, "--count", "3"],
            env=env,
            catch_exceptions=False,
        )
    finally:
        with open_warehouse(target) as warehouse:
            warehouse.execute(f"DROP DATABASE IF EXISTS {database}")
    assert result.exit_code == 0, result.output
    assert "line 5: not a user id" in result.stderr
    assert "2 users, 5 offers" in result.stderr
    table = list(csv.reader(io.StringIO(result.stdout)))
    assert table[0] == [
        "user_id", "rank", "sku", "title", "url", "image_url", "price", "currency", "reason",
    ]  # fmt: skip
    assert table[1] == [
        "u1", "1", "B", "Title B", "https://shop.example.test/B", "", "1999", "EUR",
        "category_affinity",
    ]  # fmt: skip
    # u1: their novels first (viewed last; C is not sold in Germany, E is out of stock), then
    # the shoes their purchase made them like (D itself is bought)
    assert [(r[0], r[2], r[8]) for r in table[1:]] == [
        ("u1", "B", "category_affinity"),
        ("u1", "A", "category_affinity"),
        # nobody known: popular overall, at most 2 of one top category in a strip of 3
        ("nobody", "A", "fallback"),
        ("nobody", "D", "fallback"),
        ("nobody", "B", "fallback"),
    ]
