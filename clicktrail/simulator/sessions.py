"""How a person browses the shop: sessions of page views, engagement, carts and orders."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

from clicktrail.simulator import difficulty
from clicktrail.simulator.catalog import Catalog, Category, Product
from clicktrail.simulator.events import EventWriter, product_fields
from clicktrail.simulator.pages import Page, Shop
from clicktrail.simulator.personas import InterestPicker
from clicktrail.simulator.population import Person, utc_offset_ms
from clicktrail.simulator.schedule import Calendar, return_rate
from clicktrail.simulator.sources import Arrival, draw_arrival

# Median engaged seconds per page kind; engagement is log-normal around it.
ENGAGED_MEDIAN_S = {
    "home": 8,
    "category": 12,
    "product": 25,
    "search": 10,
    "cart": 15,
    "checkout": 60,
    "confirmation": 10,
}
ENGAGED_SIGMA = 0.9
MAX_ENGAGED_MS = 30 * 60 * 1000
FREE_SHIPPING_FROM = 5000  # minor units
SHIPPING = 495
# Where a visit lands, by how it arrived.
LANDING_WEIGHTS = {
    "direct": {"home": 0.6, "category": 0.2, "product": 0.2},
    "search": {"home": 0.1, "category": 0.4, "product": 0.5},
    "social": {"home": 0.2, "category": 0.2, "product": 0.6},
    "email": {"home": 0.2, "category": 0.4, "product": 0.4},
    "campaign": {"home": 0.0, "category": 0.4, "product": 0.6},
    "referral": {"home": 0.1, "category": 0.2, "product": 0.7},
}
# Next page kind while browsing (home, category, search, product pages).
BROWSE_WEIGHTS = {"product": 0.6, "category": 0.25, "search": 0.1, "home": 0.05}


@dataclass
class CartLine:
    product: Product
    quantity: int


@dataclass
class Visit:
    """The state of one session while it runs."""

    cart: list[CartLine] = field(default_factory=list)
    just_added: bool = False
    signs_up: bool = False  # a newsletter sign-up on the next home page
    logs_in: bool = False  # an account holder logging in on the landing page


@dataclass(frozen=True)
class SiteContext:
    site_id: str
    shop: Shop
    catalog: Catalog
    calendar: Calendar
    # The purchase-chance factor of each simulated day (``demand.SalesPattern.factors``);
    # empty: 1.0 every day.
    purchase_factors: tuple[float, ...] = ()

    @property
    def slugs(self) -> list[str]:
        return [category.slug for category in self.catalog.categories]


class HumanBrowsing:
    """All sessions of one human, in time order, written to an ``EventWriter``."""

    def __init__(self, person: Person, site: SiteContext, rng: random.Random) -> None:
        assert person.persona is not None
        self.person = person
        self.site = site
        self.rng = rng
        self.writer = EventWriter(site.site_id, person.person_id, person.device.user_agent, rng)
        self.interests = InterestPicker(person.persona, site.slugs)
        self._categories = {c.slug: c for c in site.catalog.categories}
        self._dominant = person.persona.dominant
        self._offset_ms = utc_offset_ms(person)

    def run(self) -> EventWriter:
        calendar = self.site.calendar
        rate = return_rate(self.rng)
        self.writer.new_visitor()
        start: int | None = calendar.first_session(self.rng, rate, self._offset_ms)
        sessions = 0
        while start is not None and sessions < difficulty.MAX_SESSIONS_PER_PERSON:
            if sessions and self.rng.random() < difficulty.COOKIE_RESET_SHARE:
                self.writer.new_visitor()
            end = self._session(start)
            sessions += 1
            if rate is None:
                break
            start = calendar.next_session(self.rng, rate, end, self._offset_ms)
        return self.writer

    # --- one session ------------------------------------------------------------------------

    def _session(self, start: int) -> int:
        rng = self.rng
        writer = self.writer
        day = self.site.calendar.day_of(start)
        writer.new_session(start, self.person.connection.address_for_session(rng, day))
        self.interests.start_session(rng)
        visit = Visit(
            signs_up=rng.random() < difficulty.NEWSLETTER_SIGNUP_SHARE,
            logs_in=(
                self.person.user_id is not None
                and writer.user_id is None
                and rng.random() < difficulty.LOGIN_SESSION_SHARE
            ),
        )
        arrival = draw_arrival(rng, self.interests.focus)
        page = self._landing(arrival)
        url = page.url + arrival.query
        referrer = arrival.referrer
        at = start
        for count in range(1, difficulty.MAX_PAGES_PER_SESSION + 1):
            end = self._page(page, url, referrer, at, visit)
            if page.kind == "checkout" and not self._continues_checkout(end):
                return end
            leave = difficulty.BOUNCE_SHARE if count == 1 else difficulty.EXIT_SHARE
            if page.kind != "checkout" and rng.random() < leave:
                return end
            following = self._next_page(page, visit)
            if rng.random() < difficulty.TRACKED_CLICK_SHARE:
                writer.add("click", end, {"target_url": following.url, "label": following.label})
            referrer, url, page = page.url, following.url, following
            at = end + rng.randint(300, 2500)
        return at

    def _continues_checkout(self, at: int) -> bool:
        chance = difficulty.CHECKOUT_TO_PURCHASE_SHARE
        factors = self.site.purchase_factors
        if factors:  # a planted sales pattern (demand.py); the same draw either way
            day = self.site.calendar.day_of(at)
            chance *= factors[min(max(day, 0), len(factors) - 1)]
        return self.rng.random() < chance

    def _page(self, page: Page, url: str, referrer: str | None, at: int, visit: Visit) -> int:
        """Writes the events of one page view starting at ``at``; returns when it is left."""
        rng = self.rng
        writer = self.writer
        device = self.person.device
        writer.new_page(url)
        view: dict[str, Any] = {"title": page.title}
        if referrer is not None:
            view["referrer"] = referrer
        if device.screen is not None:
            view["screen"] = device.screen
            view["viewport"] = device.viewport
        if self.person.language is not None:
            view["language"] = self.person.language
        writer.add("page_view", at, view)

        engaged = self._engaged_ms(page.kind)
        dwell = round(engaged * rng.uniform(1.1, 1.8)) + 1000
        actions = self._page_actions(page, at, dwell, visit)
        pings = min(engaged // difficulty.HEARTBEAT_MS, difficulty.MAX_PINGS_PER_PAGE)
        stretch = dwell / max(engaged, 1)
        for k in range(1, pings + 1):
            ping_at = at + round(k * difficulty.HEARTBEAT_MS * stretch)
            while actions and actions[0][0] <= ping_at:
                self._write_action(*actions.pop(0))
            writer.add("page_ping", ping_at, {"engaged_ms": k * difficulty.HEARTBEAT_MS})
        for action in actions:
            self._write_action(*action)
        return at + dwell

    def _page_actions(
        self, page: Page, at: int, dwell: int, visit: Visit
    ) -> list[tuple[int, str, dict[str, Any]]]:
        """The page's events after the page view, as (time, type, fields) in time order."""
        rng = self.rng
        currency = self.site.catalog.currency
        actions: list[tuple[int, str, dict[str, Any]]] = []
        visit.just_added = False
        if page.kind == "product":
            assert page.product is not None and page.category is not None
            product = page.product
            viewed_at = at + rng.randint(100, 600)
            actions.append((viewed_at, "product_view", product_fields(product, currency)))
            chance = difficulty.ADD_TO_CART_SHARE
            if page.category.slug in self._dominant:
                chance *= difficulty.ADD_TO_CART_INTEREST_FACTOR
            if rng.random() < chance:
                quantity = 1 if rng.random() < 0.85 else 2
                fields = {**product_fields(product, currency), "quantity": quantity}
                added_at = max(viewed_at + 1, at + round(dwell * rng.uniform(0.3, 0.95)))
                actions.append((added_at, "add_to_cart", fields))
                visit.cart.append(CartLine(product, quantity))
                visit.just_added = True
        elif page.kind == "search":
            properties = {"query": page.query, "results": rng.randint(0, 48)}
            actions.append((at + 200, "custom", {"name": "search", "properties": properties}))
        elif page.kind == "checkout" and self.person.user_id and self.writer.user_id is None:
            # Account holders log in to check out; guests stay anonymous.
            actions.append((at + round(dwell * 0.4), "identify", {}))
        elif page.kind == "confirmation" and visit.cart:
            actions.append((at + rng.randint(200, 900), "purchase", self._order(page, visit)))
            visit.cart = []
        if visit.logs_in:
            visit.logs_in = False
            actions.append((at + round(dwell * rng.uniform(0.1, 0.5)), "identify", {}))
        if visit.signs_up and page.kind == "home":
            visit.signs_up = False
            fields = {"name": "newsletter_signup", "properties": {"source": "footer"}}
            actions.append((at + round(dwell * 0.9), "custom", fields))
        actions.sort(key=lambda action: action[0])
        return actions

    def _write_action(self, at: int, event_type: str, fields: dict[str, Any]) -> None:
        if event_type == "identify":
            self._identify(at)
        else:
            self.writer.add(event_type, at, fields)

    def _identify(self, at: int) -> None:
        # From the identify on, the site knows the account and sends it with every event.
        self.writer.user_id = self.person.user_id
        self.writer.add("identify", at)

    def _order(self, page: Page, visit: Visit) -> dict[str, Any]:
        lines = visit.cart[:100]  # the contract's limit of line items
        items = [
            {
                "sku": line.product.sku,
                "name": line.product.name,
                "category": list(line.product.category),
                "price": line.product.price,
                "quantity": line.quantity,
            }
            for line in lines
        ]
        subtotal = sum(line.product.price * line.quantity for line in lines)
        shipping = 0 if subtotal >= FREE_SHIPPING_FROM else SHIPPING
        return {
            "order_id": page.order_id,
            "items": items,
            "total": subtotal + shipping,
            "shipping": shipping,
            "currency": self.site.catalog.currency,
        }

    def _engaged_ms(self, kind: str) -> int:
        median_ms = ENGAGED_MEDIAN_S[kind] * 1000
        engaged = self.rng.lognormvariate(math.log(median_ms), ENGAGED_SIGMA)
        return min(MAX_ENGAGED_MS, round(engaged))

    # --- navigation -------------------------------------------------------------------------

    def _landing(self, arrival: Arrival) -> Page:
        weights = LANDING_WEIGHTS[arrival.kind]
        kind = self.rng.choices(list(weights), weights=list(weights.values()))[0]
        return self._page_of_kind(kind)

    def _next_page(self, page: Page, visit: Visit) -> Page:
        rng = self.rng
        shop = self.site.shop
        if page.kind == "checkout":
            return shop.confirmation(f"O{random_order_number(rng)}")
        if page.kind == "cart" and visit.cart and rng.random() < difficulty.CART_TO_CHECKOUT_SHARE:
            return shop.checkout()
        if visit.just_added and rng.random() < 0.5:
            return shop.cart()
        if visit.cart and rng.random() < 0.05:
            return shop.cart()
        if page.kind == "product" and page.category is not None and rng.random() < 0.4:
            # "You may also like": another product of the same category.
            return self._product_page(page.category)
        kind = rng.choices(list(BROWSE_WEIGHTS), weights=list(BROWSE_WEIGHTS.values()))[0]
        return self._page_of_kind(kind)

    def _page_of_kind(self, kind: str) -> Page:
        shop = self.site.shop
        if kind == "home":
            return shop.home()
        category = self._categories[self.interests.pick(self.rng)]
        if kind == "category":
            return shop.category(category)
        if kind == "search":
            return shop.search(self.rng.choice(category.subcategories).lower())
        return self._product_page(category)

    def _product_page(self, category: Category) -> Page:
        weights = category.popularity_cum_weights
        product = self.rng.choices(category.products, cum_weights=weights)[0]
        return self.site.shop.product(product, category)


def random_order_number(rng: random.Random) -> str:
    return f"{rng.getrandbits(48):012X}"
