"""The demo shop's assortment: the traffic simulator's catalog (the same seed as the simulated
traffic, so the products people browsed are the ones on the shelves), looked up by slug, and
the feed ``clicktrail catalog import`` reads. Pure: no I/O."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from clicktrail.simulator.catalog import Catalog, Category, Product, build_catalog

SEED = 1  # the simulator's default seed: `clicktrail simulate` draws from this catalog
PAGE_SIZE = 24  # products on a category page (the most popular first)
FEED_FIELDS = ("sku", "title", "category", "price", "currency", "image_url", "url", "available")


@dataclass(frozen=True)
class Shop:
    """The catalog, and where its pages live (``base``: the shop's URL, no trailing slash)."""

    catalog: Catalog

    @classmethod
    def build(cls, seed: int = SEED) -> Shop:
        return cls(build_catalog(seed))

    @property
    def currency(self) -> str:
        return self.catalog.currency

    @property
    def categories(self) -> tuple[Category, ...]:
        return self.catalog.categories

    @cached_property
    def _categories(self) -> dict[str, Category]:
        return {category.slug: category for category in self.catalog.categories}

    @cached_property
    def _products(self) -> dict[str, Product]:
        return {product.slug: product for product in self.catalog.products}

    @cached_property
    def _by_sku(self) -> dict[str, Product]:
        return {product.sku: product for product in self.catalog.products}

    def category(self, slug: str) -> Category | None:
        return self._categories.get(slug)

    def product(self, slug: str) -> Product | None:
        return self._products.get(slug)

    def by_sku(self, sku: str) -> Product | None:
        return self._by_sku.get(sku)

    def category_of(self, product: Product) -> Category:
        return next(c for c in self.catalog.categories if c.name == product.category[0])

    def shelf(self, category: Category, page: int = 1) -> tuple[Product, ...]:
        """One page of the category's products, the most popular first."""
        start = (max(page, 1) - 1) * PAGE_SIZE
        return category.products[start : start + PAGE_SIZE]

    def pages(self, category: Category) -> int:
        return max(1, -(-len(category.products) // PAGE_SIZE))


def product_path(product: Product) -> str:
    return f"/demo/p/{product.slug}"


def category_path(category: Category) -> str:
    return f"/demo/c/{category.slug}"


def feed_rows(shop: Shop, base: str) -> Iterator[dict[str, str]]:
    """The catalog as the personalizer's feed rows (docs/personalizer.md, "Catalog"): links to
    the shop's own product pages under ``base`` (e.g. ``http://127.0.0.1:17082``)."""
    for product in shop.catalog.products:
        yield {
            "sku": product.sku,
            "title": product.name,
            "category": "/".join(product.category),
            "price": str(product.price),
            "currency": shop.currency,
            "image_url": f"{base}/demo/static/product.svg",
            "url": f"{base}{product_path(product)}",
            "available": "true",
        }


def feed_csv(shop: Shop, base: str) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FEED_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(feed_rows(shop, base))
    return out.getvalue()
