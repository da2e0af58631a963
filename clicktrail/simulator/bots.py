"""How a crawler behaves: many fast page views, no engagement, and no cookie kept."""

from __future__ import annotations

import random

from clicktrail.simulator import difficulty
from clicktrail.simulator.events import EventWriter, product_fields
from clicktrail.simulator.population import Person
from clicktrail.simulator.sessions import SiteContext


def crawl(person: Person, site: SiteContext, rng: random.Random) -> EventWriter:
    """A crawl on ``BOT_DAILY_VISIT_SHARE`` of the days (one at least), each under a fresh
    visitor id.

    Scripted crawlers render the page, so the page's automatic events (page views, product
    views) fire; what a human adds (pings, clicks, carts) never does.
    """
    writer = EventWriter(site.site_id, person.person_id, person.device.user_agent, rng)
    calendar = site.calendar
    shop = site.shop
    categories = site.catalog.categories
    currency = site.catalog.currency
    # Every bot crawls at least once, so the share of bots among visitors seen is fixed.
    days = {day for day in range(calendar.days) if rng.random() < difficulty.BOT_DAILY_VISIT_SHARE}
    days.add(rng.randrange(calendar.days))
    for day in sorted(days):
        at = calendar.start_ms + day * 86_400_000 + rng.randrange(86_400_000 - 3_600_000)
        writer.new_visitor()
        writer.new_session(at, person.connection.line.address_on(day))
        referrer = None
        low, high = difficulty.BOT_PAGES_PER_SESSION
        for _ in range(rng.randint(low, high)):
            category = rng.choice(categories)
            if rng.random() < 0.3:
                page = shop.category(category)
            else:
                page = shop.product(rng.choice(category.products), category)
            writer.new_page(page.url)
            view = {"title": page.title}
            if referrer is not None:
                view["referrer"] = referrer
            if person.device.screen is not None:
                view["screen"] = person.device.screen
                view["viewport"] = person.device.screen
            if person.language is not None:
                view["language"] = person.language
            writer.add("page_view", at, view)
            if page.product is not None:
                fields = product_fields(page.product, currency)
                writer.add("product_view", at + rng.randint(20, 150), fields)
            referrer = page.url
            at += rng.randint(*difficulty.BOT_PAGE_GAP_MS)
    return writer
