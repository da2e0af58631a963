"""Where a person's requests come from: a home line, an office NAT, a cellular carrier.

Shared and changing addresses are what make IP-based identity hard: a household shares one
address, an office hides many people behind one, a phone on a carrier changes address from
session to session (and shares it with strangers), and an IPv6 home rotates its interface id
every day (privacy extensions).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from clicktrail.simulator import difficulty
from clicktrail.simulator.geography import Network
from clicktrail.simulator.randomness import derive_seed


@dataclass(frozen=True, slots=True)
class Line:
    """A fixed connection: a home line (IPv4 address or IPv6 /64) or an office's NAT address."""

    network: Network
    host: int  # IPv4: the host offset; IPv6: the index of the home's /64 within the network
    salt: int  # seeds the daily IPv6 interface id

    def address_on(self, day: int) -> str:
        network = self.network
        if network.version == 4:
            return network.host(self.host)
        interface_id = derive_seed(self.salt, day)  # 64 bits, new every day
        if network.prefix <= 64:
            subnet = self.host % (1 << (64 - network.prefix))
            return network.address_of(network.first | subnet << 64 | interface_id)
        return network.host(self.host ^ interface_id)


@dataclass(frozen=True)
class Connection:
    line: Line  # home or office; its network gives the person's true location
    carrier: tuple[Network, ...] = ()  # cellular networks, for phones that use them

    def address_for_session(self, rng: random.Random, day: int) -> str:
        if self.carrier and rng.random() < difficulty.CELLULAR_SESSION_SHARE:
            network = rng.choice(self.carrier)
            return network.host(rng.randrange(difficulty.CARRIER_ADDRESSES_PER_NETWORK))
        return self.line.address_on(day)


def new_line(rng: random.Random, network: Network) -> Line:
    if network.version == 4:
        host = rng.randrange(max(1, network.size - 2))
    else:
        host = rng.getrandbits(max(0, 64 - network.prefix))
    return Line(network, host, rng.getrandbits(64))
