"""One simulation run: people, their traffic as batches in send order, and the ground truth.

Pure apart from its inputs: the caller loads the GeoIP sample and the user-agent corpus.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from clicktrail.simulator import difficulty
from clicktrail.simulator.batching import DEFAULT_BATCH_SIZE, Batch, make_batches
from clicktrail.simulator.bots import crawl
from clicktrail.simulator.catalog import build_catalog
from clicktrail.simulator.demand import SalesPattern
from clicktrail.simulator.devices import build_user_agent_pool
from clicktrail.simulator.events import EventWriter
from clicktrail.simulator.geography import NetworkPool
from clicktrail.simulator.pages import Shop
from clicktrail.simulator.population import Person, build_population
from clicktrail.simulator.randomness import derived_random
from clicktrail.simulator.schedule import Calendar
from clicktrail.simulator.sessions import HumanBrowsing, SiteContext

DEFAULT_START = dt.date(2025, 1, 6)  # fixed, so runs without --start are reproducible
DEFAULT_SITE = "demo"


@dataclass(frozen=True)
class SimulationConfig:
    seed: int = 1
    visitors: int = 1000  # simulated people, bots included
    days: int = 7
    start: dt.date = DEFAULT_START
    site_id: str = DEFAULT_SITE
    batch_size: int = DEFAULT_BATCH_SIZE
    # Off-persona share of each person's category choices (so of their product views).
    noise_share: float = difficulty.NOISE_SHARE
    # A planted trend and weekly rhythm in purchases (demand.py); flat by default.
    sales: SalesPattern = SalesPattern()

    @property
    def start_ms(self) -> int:
        midnight = dt.datetime.combine(self.start, dt.time(), tzinfo=dt.UTC)
        return int(midnight.timestamp()) * 1000


@dataclass(frozen=True)
class SimulationResult:
    batches: list[Batch]  # in send order
    truth: dict[str, Any]

    @property
    def event_count(self) -> int:
        return sum(batch.event_count for batch in self.batches)


def run_simulation(
    config: SimulationConfig, networks: NetworkPool, user_agents: list[str]
) -> SimulationResult:
    if config.visitors < 1 or config.days < 1:
        raise ValueError("visitors and days must be at least 1")
    if not 0.0 <= config.noise_share < 1.0:
        raise ValueError(f"noise_share must be in [0, 1), got {config.noise_share}")
    catalog = build_catalog(config.seed)
    agents = build_user_agent_pool(user_agents, config.seed)
    people = build_population(
        config.seed, config.visitors, catalog, agents, networks, config.noise_share
    )
    site = SiteContext(
        config.site_id,
        Shop(config.site_id),
        catalog,
        Calendar(config.start_ms, config.days),
        config.sales.factors(config.start, config.days),
    )
    keyed: list[tuple[int, int, int, Batch]] = []
    visitors: dict[str, dict[str, Any]] = {}
    for person in people:
        rng = derived_random(config.seed, "behaviour", person.index)
        if person.is_bot:
            writer = crawl(person, site, rng)
        else:
            writer = HumanBrowsing(person, site, rng).run()
        batches = make_batches(writer.events, config.site_id, rng, config.batch_size)
        keyed.extend((b.sent_at, person.index, n, b) for n, b in enumerate(batches))
        visitors.update(_visitor_truth(person, writer))
    # Send order is time order; ties keep each person's own order.
    keyed.sort(key=lambda item: item[:3])
    truth = {
        "schema": 1,
        "seed": config.seed,
        "noise_share": config.noise_share,
        "site_id": config.site_id,
        "start": config.start.isoformat(),
        "days": config.days,
        "people": len(people),
        "bots": sum(person.is_bot for person in people),
        "difficulty": difficulty.as_dict(),
        "catalog": catalog.as_json(),
        "visitors": visitors,
    }
    if not config.sales.flat:
        truth["sales_pattern"] = config.sales.as_json()
    return SimulationResult([item[3] for item in keyed], truth)


def _visitor_truth(person: Person, writer: EventWriter) -> dict[str, dict[str, Any]]:
    location = person.location
    shared = {
        "person_id": person.person_id,
        "is_bot": person.is_bot,
        "persona": dict(person.persona.weights) if person.persona else None,
        "country": location.country,
        "city": location.city,
        "network": location.cidr,
        "household": person.household,
        "device": person.device.as_json(),
        "language": person.language,
        "user_id": person.user_id,
    }
    return {
        record.visitor_id: {
            **shared,
            "sessions": record.sessions,
            "first_seen": record.first_seen,
            "ips": sorted(record.ips),
        }
        for record in writer.visitors
    }
