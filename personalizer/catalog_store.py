"""The catalog's durable home (``CLICKTRAIL_STATE_URL``) and the in-memory copy each
personalizer process ranks from.

- ``pz:catalog:<site>``: hash, sku -> the product's JSON;
- ``pz:version:catalog:<site>``: bumped by every import that changes the site's catalog;
  caches reload that site when it changes.

An import replaces what it lists (idempotent: the same feed twice changes nothing) and, with
``replace=True``, removes what it does not list.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import redis

from clicktrail.serving.heap import refreeze
from personalizer.catalog import Catalog, Product
from personalizer.versioned import VersionedCache

SITES_KEY = "pz:catalog-sites"
MAX_PRODUCTS = 1_000_000
PAUSE_EVERY = 500
# The JSON types of what ``_json`` writes for each field of a product.
_STORED_TYPES: dict[str, type] = {
    "sku": str,
    "title": str,
    "category": str,
    "price": int,
    "currency": str,
    "image_url": str,
    "url": str,
    "available": bool,
    "regions": list,
}
log = logging.getLogger("clicktrail.personalizer")


class CatalogUnavailable(Exception):
    """The durable Redis did not answer; nothing was changed."""


def catalog_key(site_id: str) -> str:
    return f"pz:catalog:{site_id}"


def version_key(site_id: str) -> str:
    return f"pz:version:catalog:{site_id}"


@dataclass(frozen=True)
class ImportResult:
    written: int  # products added or changed
    unchanged: int
    removed: int


class CatalogStore:
    def __init__(self, client: redis.Redis, pause: Callable[[], None] = lambda: time.sleep(0)):
        """``pause``: called every ``PAUSE_EVERY`` products a load reads, so a load in a
        greenlet lets requests run (``time.sleep(0)`` yields under gevent, and lets another
        thread take the GIL otherwise)."""
        self.client = client
        self._pause = pause

    def load(self, site_id: str) -> Catalog:
        try:
            stored: Any = self.client.hgetall(catalog_key(site_id))
        except redis.RedisError as exc:
            raise CatalogUnavailable(str(exc)) from exc
        products = []
        for n, (sku, text) in enumerate(stored.items(), start=1):
            # What ``import_products`` wrote was validated then: taken as it is when it has
            # the shape it wrote (validating 50,000 products again costs seconds); anything
            # else (hand-edited, a newer process's field) is validated in full.
            product = _trusted(text)
            if product is None:
                try:
                    product = Product.model_validate(json.loads(text))
                except ValueError as exc:
                    log.error("product %s of %s is not usable: %s", sku, site_id, exc)
                    continue
            products.append(product)
            if n % PAUSE_EVERY == 0:
                self._pause()
        return Catalog(products)

    def version(self, site_id: str) -> int:
        try:
            return int(self.client.get(version_key(site_id)) or 0)
        except redis.RedisError as exc:
            raise CatalogUnavailable(str(exc)) from exc

    def sites(self) -> list[str]:
        try:
            members: Any = self.client.smembers(SITES_KEY)
        except redis.RedisError as exc:
            raise CatalogUnavailable(str(exc)) from exc
        return sorted(member.decode() for member in members)

    def import_products(
        self, site_id: str, products: Iterable[Product], replace: bool = False
    ) -> ImportResult:
        wanted = {p.sku: _json(p) for p in products}
        if len(wanted) > MAX_PRODUCTS:
            raise ValueError(f"a catalog holds at most {MAX_PRODUCTS} products")
        try:
            current: Any = self.client.hgetall(catalog_key(site_id))
            present = {sku.decode(): text.decode() for sku, text in current.items()}
            changed: dict[Any, Any] = {
                sku: text for sku, text in wanted.items() if present.get(sku) != text
            }
            removed = [sku for sku in present if sku not in wanted] if replace else []
            pipe = self.client.pipeline(transaction=True)
            if changed:
                pipe.hset(catalog_key(site_id), mapping=changed)
            if removed:
                pipe.hdel(catalog_key(site_id), *removed)
            pipe.sadd(SITES_KEY, site_id)
            if changed or removed:
                pipe.incr(version_key(site_id))
            pipe.execute()
        except redis.RedisError as exc:
            raise CatalogUnavailable(str(exc)) from exc
        return ImportResult(len(changed), len(wanted) - len(changed), len(removed))


def _json(product: Product) -> str:
    return json.dumps(product.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)


def _trusted(text: bytes | str) -> Product | None:
    """The product ``_json`` wrote, without validating it again; ``None`` if ``text`` is not
    exactly that shape (every field, each of its JSON type)."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if type(data) is not dict or len(data) != len(_STORED_TYPES):
        return None
    for name, value in data.items():
        if type(value) is not _STORED_TYPES.get(name):
            return None
    if not all(type(code) is str for code in data["regions"]):
        return None
    data["regions"] = frozenset(data["regions"])
    return Product.model_construct(**data)


class CatalogCache:
    """Each site's catalog in memory (``VersionedCache``), the last one while the store is
    away."""

    def __init__(
        self,
        store: CatalogStore,
        poll_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        # A changed catalog is reloaded in a thread (greenlet) of its own: no request waits.
        self._cache: VersionedCache[Catalog] = VersionedCache(
            "catalog",
            lambda site_id: self._store.version(site_id),
            lambda site_id: self._store.load(site_id),
            (CatalogUnavailable,),
            poll_seconds,
            clock,
            background=True,
            # a reloaded catalog joins the first one out of the collector's view (the worker
            # froze what it loaded before serving: clicktrail.serving.heap)
            on_reloaded=refreeze,
        )

    def site(self, site_id: str) -> Catalog:
        return self._cache.get(site_id) or Catalog(())

    def preload(self, site_ids: Iterable[str] | None = None) -> None:
        """Load these sites' catalogs now (default: every site's; a worker before it serves);
        a store that is away is logged, and the sites are loaded on their first requests."""
        try:
            self._cache.preload(self._store.sites() if site_ids is None else site_ids)
        except CatalogUnavailable as exc:
            log.warning("catalogs not preloaded, the store is away: %s", exc)

    def refresh(self, force: bool = False) -> None:
        self._cache.refresh(force)
