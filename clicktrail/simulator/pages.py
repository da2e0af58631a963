"""The simulated shop's pages: kinds, URLs and titles."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote_plus

from clicktrail.simulator.catalog import Category, Product


@dataclass(frozen=True, slots=True)
class Page:
    kind: str  # home, category, product, search, cart, checkout, confirmation
    url: str
    title: str
    label: str  # the text of a link to this page (a click event's label)
    product: Product | None = None
    category: Category | None = None
    query: str | None = None  # of a search page
    order_id: str | None = None  # of an order confirmation page


class Shop:
    """URLs of one site: ``https://www.<site_id>.example`` (a reserved, never-real domain)."""

    def __init__(self, site_id: str) -> None:
        self.base = f"https://www.{site_id.lower()}.example"
        self.name = f"{site_id.replace('-', ' ').replace('_', ' ').title()} Shop"

    def home(self) -> Page:
        return Page("home", f"{self.base}/", self.name, "Home")

    def category(self, category: Category) -> Page:
        return Page(
            "category",
            f"{self.base}/c/{category.slug}",
            f"{category.name} | {self.name}",
            category.name,
            category=category,
        )

    def product(self, product: Product, category: Category) -> Page:
        return Page(
            "product",
            f"{self.base}/p/{product.slug}",
            f"{product.name} | {self.name}",
            product.name,
            product=product,
            category=category,
        )

    def search(self, query: str) -> Page:
        return Page(
            "search",
            f"{self.base}/search?q={quote_plus(query)}",
            f"Search: {query} | {self.name}",
            "Search",
            query=query,
        )

    def cart(self) -> Page:
        return Page("cart", f"{self.base}/cart", f"Your cart | {self.name}", "Cart")

    def checkout(self) -> Page:
        return Page("checkout", f"{self.base}/checkout", f"Checkout | {self.name}", "Checkout")

    def confirmation(self, order_id: str) -> Page:
        return Page(
            "confirmation",
            f"{self.base}/checkout/done?order={order_id}",
            f"Thank you for your order | {self.name}",
            "Place order",
            order_id=order_id,
        )
