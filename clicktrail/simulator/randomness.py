"""Seeded randomness helpers: derived seeds, Zipf weights, Dirichlet-like draws, short ids."""

from __future__ import annotations

import hashlib
import itertools
import math
import random
from collections.abc import Sequence

ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def derive_seed(seed: int, *labels: str | int) -> int:
    """A 64-bit seed for one named part of the simulation.

    Each part (a person, the catalog, the GeoIP sample) gets its own stream, so adding a
    draw in one part does not shift the numbers of every other part.
    """
    text = "/".join([str(seed), *(str(label) for label in labels)])
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def derived_random(seed: int, *labels: str | int) -> random.Random:
    return random.Random(derive_seed(seed, *labels))


def zipf_cumulative_weights(count: int, exponent: float) -> list[float]:
    """Cumulative weights for ``random.choices(cum_weights=...)``: rank k has weight 1/k^s."""
    return list(itertools.accumulate(1.0 / (rank**exponent) for rank in range(1, count + 1)))


def dirichlet_like(rng: random.Random, count: int, concentration: float) -> list[float]:
    """``count`` positive weights summing to 1 (normalised gamma draws)."""
    draws = [max(rng.gammavariate(concentration, 1.0), 1e-9) for _ in range(count)]
    total = math.fsum(draws)
    return [draw / total for draw in draws]


def weighted_sample(
    rng: random.Random, items: Sequence[str], weights: Sequence[float], count: int
) -> list[str]:
    """``count`` distinct items, each draw weighted among the items not drawn yet."""
    remaining = list(zip(items, weights, strict=True))
    chosen: list[str] = []
    for _ in range(min(count, len(remaining))):
        index = rng.choices(range(len(remaining)), weights=[w for _, w in remaining])[0]
        chosen.append(remaining.pop(index)[0])
    return chosen


def random_id(rng: random.Random, length: int = 22) -> str:
    """An id matching ``^[A-Za-z0-9_-]+$``; 22 characters carry 132 random bits."""
    return "".join(rng.choices(ID_ALPHABET, k=length))
