"""The catalog in the real durable Redis: what an import stored loads back as the same products
without validating them again, anything else is validated, and a changed catalog is reloaded
in the background while the last copy serves."""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest

from personalizer.catalog import Product
from personalizer.catalog_store import (
    SITES_KEY,
    CatalogCache,
    CatalogStore,
    catalog_key,
    version_key,
)

pytestmark = pytest.mark.redis


@pytest.fixture
def store(state_redis):
    return CatalogStore(state_redis)


@pytest.fixture
def site(store) -> str:
    site_id = f"t{uuid.uuid4().hex[:10]}"
    yield site_id
    store.client.delete(catalog_key(site_id), version_key(site_id))
    store.client.srem(SITES_KEY, site_id)


def product(sku: str, **fields) -> Product:
    data = {"sku": sku, "title": sku.title(), "url": f"https://shop.example.test/{sku}"}
    return Product.model_validate({**data, **fields})


def test_a_stored_catalog_loads_as_the_products_imported(store, site):
    wanted = [
        product("a", category="Shoes/Running", price=1200, currency="EUR", regions="de,fr"),
        product("b", image_url="https://cdn.example.test/b.png", available=False),
        product("c", title="Ünïcode ✓"),
    ]
    store.import_products(site, wanted)
    loaded = store.load(site)
    assert sorted(loaded.by_sku.values(), key=lambda p: p.sku) == wanted
    assert loaded.get("a").regions == frozenset({"DE", "FR"})
    assert loaded.top_of == {"a": "Shoes", "b": "", "c": ""}


def test_a_product_not_as_an_import_wrote_it_is_validated(store, site):
    store.import_products(site, [product("a")])
    # hand-written: a price as text and a lower-case region (validated and fixed), a bad URL
    # (skipped), a field this process does not know (skipped)
    base = {"title": "X", "category": " Toys / Cars ", "currency": "", "image_url": ""}
    store.client.hset(
        catalog_key(site),
        mapping={
            "b": json.dumps({**base, "sku": "b", "url": "https://s.test/b", "regions": ["de"]}),
            "c": json.dumps({**base, "sku": "c", "url": "ftp://nope", "regions": []}),
            "d": json.dumps({**base, "sku": "d", "url": "https://s.test/d", "colour": "red"}),
        },
    )
    loaded = store.load(site)
    assert sorted(loaded.by_sku) == ["a", "b"]
    assert loaded.get("b").regions == frozenset({"DE"})
    assert loaded.get("b").category == "Toys/Cars"


def test_a_changed_catalog_is_reloaded_in_the_background_the_last_copy_serving(store, site):
    store.import_products(site, [product("a")])
    loading = threading.Event()
    release = threading.Event()
    slow = CatalogStore(store.client)
    real_load = slow.load

    def held_load(site_id: str):
        if loading.is_set():  # the reload: held until the test lets it go
            release.wait(5)
        loading.set()
        return real_load(site_id)

    slow.load = held_load  # type: ignore[method-assign]
    cache = CatalogCache(slow, poll_seconds=0)
    cache.preload([site])
    assert loading.is_set() and set(cache.site(site).by_sku) == {"a"}

    store.import_products(site, [product("b")])
    assert set(cache.site(site).by_sku) == {"a"}  # the reload waits; the last copy serves
    assert set(cache.site(site).by_sku) == {"a"}
    release.set()
    deadline = time.monotonic() + 5
    while set(cache.site(site).by_sku) != {"a", "b"}:
        assert time.monotonic() < deadline, "the new catalog was never swapped in"
        time.sleep(0.01)
