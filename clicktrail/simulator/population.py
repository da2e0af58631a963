"""The simulated people: persona, device, language, connection and account, fixed by the seed."""

from __future__ import annotations

import random
from dataclasses import dataclass

from clicktrail.simulator import difficulty
from clicktrail.simulator.catalog import Catalog
from clicktrail.simulator.connections import Connection, Line, new_line
from clicktrail.simulator.devices import Device, UserAgentPool, draw_bot_device, draw_device
from clicktrail.simulator.geography import Network, NetworkPool
from clicktrail.simulator.personas import Persona, draw_persona
from clicktrail.simulator.randomness import derived_random, random_id

# Browser language by country; other countries get en-US. Only the first match of a country
# matters, so a few big languages cover most of the address space the sampler finds.
COUNTRY_LANGUAGES = {
    "US": "en-US",
    "GB": "en-GB",
    "CA": "en-CA",
    "AU": "en-AU",
    "IE": "en-IE",
    "NZ": "en-NZ",
    "DE": "de-DE",
    "AT": "de-AT",
    "CH": "de-CH",
    "FR": "fr-FR",
    "BE": "fr-BE",
    "NL": "nl-NL",
    "ES": "es-ES",
    "MX": "es-MX",
    "AR": "es-AR",
    "CO": "es-CO",
    "IT": "it-IT",
    "PT": "pt-PT",
    "BR": "pt-BR",
    "SE": "sv-SE",
    "NO": "nb-NO",
    "DK": "da-DK",
    "FI": "fi-FI",
    "PL": "pl-PL",
    "CZ": "cs-CZ",
    "RU": "ru-RU",
    "UA": "uk-UA",
    "TR": "tr-TR",
    "JP": "ja-JP",
    "KR": "ko-KR",
    "CN": "zh-CN",
    "TW": "zh-TW",
    "HK": "zh-HK",
    "IN": "en-IN",
    "ID": "id-ID",
    "VN": "vi-VN",
    "TH": "th-TH",
    "IL": "he-IL",
    "SA": "ar-SA",
    "EG": "ar-EG",
    "ZA": "en-ZA",
    "GR": "el-GR",
}


@dataclass(frozen=True)
class Person:
    index: int
    person_id: str
    is_bot: bool
    persona: Persona | None  # None for bots: they crawl everything alike
    device: Device
    connection: Connection
    language: str | None
    user_id: str | None  # the account of a person who has one
    household: str | None  # people sharing a home line share this id

    @property
    def location(self) -> Network:
        return self.connection.line.network


def build_population(
    seed: int,
    count: int,
    catalog: Catalog,
    agents: UserAgentPool,
    networks: NetworkPool,
    noise_share: float = difficulty.NOISE_SHARE,
) -> list[Person]:
    """``count`` people, ``BOT_SHARE`` of them bots, in a fixed order; ``noise_share``: the
    off-persona share of each human's choices."""
    group_rng = derived_random(seed, "population")
    bots = set(group_rng.sample(range(count), round(count * difficulty.BOT_SHARE)))
    builder = _Places(group_rng, networks)
    people = []
    for index in range(count):
        rng = person_random(seed, index)
        if index in bots:
            people.append(_bot(index, rng, agents, networks))
        else:
            people.append(_human(index, rng, catalog, agents, builder, noise_share))
    return people


def person_random(seed: int, index: int) -> random.Random:
    """Each person's own stream: attributes first, then the behaviour that uses them."""
    return derived_random(seed, "person", index)


def _bot(index: int, rng: random.Random, agents: UserAgentPool, networks: NetworkPool) -> Person:
    # A crawler runs from one data-centre address.
    line = new_line(rng, rng.choice(networks.ipv4))
    return Person(
        index=index,
        person_id=f"p{index}",
        is_bot=True,
        persona=None,
        device=draw_bot_device(rng, agents),
        connection=Connection(line),
        language=None if rng.random() < 0.5 else "en-US",
        user_id=None,
        household=None,
    )


def _human(
    index: int,
    rng: random.Random,
    catalog: Catalog,
    agents: UserAgentPool,
    places: _Places,
    noise_share: float,
) -> Person:
    persona = draw_persona(rng, catalog, noise_share)
    device = draw_device(rng, agents)
    line, household = places.line_for(device)
    carrier: tuple[Network, ...] = ()
    if device.device_class == "mobile" and rng.random() < difficulty.CELLULAR_SHARE:
        carrier = places.carrier_for(line.network.country)
    language = COUNTRY_LANGUAGES.get(line.network.country, "en-US")
    if rng.random() < difficulty.LANGUAGE_OVERRIDE_SHARE:
        language = "en-US"
    has_account = rng.random() < difficulty.IDENTIFIED_SHARE
    return Person(
        index=index,
        person_id=f"p{index}",
        is_bot=False,
        persona=persona,
        device=device,
        connection=Connection(line, carrier),
        language=language,
        user_id=f"user-{random_id(rng, 12)}" if has_account else None,
        household=household,
    )


class _Places:
    """Hands out home lines (filled household by household) and office NAT addresses."""

    def __init__(self, rng: random.Random, networks: NetworkPool) -> None:
        self._rng = rng
        self._networks = networks
        self._home: Line | None = None
        self._home_id = ""
        self._home_free = 0
        self._office: Line | None = None
        self._office_free = 0
        self._households = 0

    def line_for(self, device: Device) -> tuple[Line, str | None]:
        if device.device_class == "desktop" and self._rng.random() < difficulty.OFFICE_SHARE:
            return self._office_line(), None
        if self._home is None or self._home_free == 0:
            self._households += 1
            self._home = new_line(self._rng, self._home_network())
            self._home_id = f"h{self._households}"
            self._home_free = self._rng.choices(
                difficulty.HOUSEHOLD_SIZES, weights=difficulty.HOUSEHOLD_SIZE_WEIGHTS
            )[0]
        self._home_free -= 1
        return self._home, self._home_id

    def carrier_for(self, country: str) -> tuple[Network, ...]:
        # The country's first sampled networks stand in for its mobile carriers, so phones of
        # one country share carrier addresses with each other.
        candidates = self._networks.by_country.get(country, ())
        return candidates[: difficulty.CARRIER_NETWORKS_PER_COUNTRY]

    def _home_network(self) -> Network:
        if self._networks.ipv6 and self._rng.random() < difficulty.IPV6_HOUSEHOLD_SHARE:
            return self._rng.choice(self._networks.ipv6)
        return self._rng.choice(self._networks.ipv4)

    def _office_line(self) -> Line:
        if self._office is None or self._office_free == 0:
            low, high = difficulty.OFFICE_SIZE
            self._office = new_line(self._rng, self._rng.choice(self._networks.ipv4))
            self._office_free = self._rng.randint(low, high)
        self._office_free -= 1
        return self._office


def utc_offset_ms(person: Person) -> int:
    return person.location.utc_offset_hours * 3_600_000
