"""The demo shop's assortment is the simulator's catalog, and its feed is one the
personalizer's catalog import accepts row by row."""

from __future__ import annotations

import csv
import io

from clicktrail.simulator.catalog import build_catalog
from personalizer.catalog import Product
from reports.demo.shop import PAGE_SIZE, SEED, Shop, category_path, feed_csv, product_path

BASE = "http://127.0.0.1:17082"


def test_the_shelves_hold_the_simulators_catalog_every_product_once() -> None:
    shop = Shop.build()
    simulated = build_catalog(SEED).products
    shelved = [
        product
        for category in shop.categories
        for page in range(1, shop.pages(category) + 1)
        for product in shop.shelf(category, page)
    ]
    assert sorted(p.sku for p in shelved) == sorted(p.sku for p in simulated)
    assert all(len(shop.shelf(c, 1)) == min(PAGE_SIZE, len(c.products)) for c in shop.categories)
    assert shop.shelf(shop.categories[0], shop.pages(shop.categories[0]) + 1) == ()


def test_pages_find_their_product_and_category_by_slug() -> None:
    shop = Shop.build()
    for product in shop.catalog.products[::50]:
        assert shop.product(product_path(product).rsplit("/", 1)[1]) == product
        category = shop.category_of(product)
        assert category.name == product.category[0]
        assert shop.category(category_path(category).rsplit("/", 1)[1]) == category
    assert shop.product("no-such-product") is None
    assert shop.category("no-such-category") is None


def test_the_feed_is_valid_for_the_personalizer_and_links_to_the_shops_pages() -> None:
    shop = Shop.build()
    rows = list(csv.DictReader(io.StringIO(feed_csv(shop, BASE))))
    assert len(rows) == len(shop.catalog.products)
    products = [Product.model_validate(row) for row in rows]
    first = shop.by_sku(products[0].sku)
    assert first is not None
    assert products[0].url == BASE + product_path(first)
    assert products[0].category == "/".join(first.category)
    assert products[0].price == first.price and products[0].currency == "EUR"
