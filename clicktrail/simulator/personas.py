"""Personas: what a person is interested in, as weights over the catalog's top categories."""

from __future__ import annotations

import random
from dataclasses import dataclass

from clicktrail.simulator import difficulty
from clicktrail.simulator.catalog import Catalog
from clicktrail.simulator.randomness import dirichlet_like, weighted_sample


@dataclass(frozen=True)
class Persona:
    """``weights`` maps category slugs to shares summing to 1; categories not named get none.

    A person's choices still stray outside the persona ``noise_share`` of the time (uniform over
    all categories), so observed behaviour is the persona blurred by that noise.
    """

    weights: dict[str, float]
    noise_share: float = difficulty.NOISE_SHARE

    @property
    def dominant(self) -> frozenset[str]:
        return frozenset(self.weights)

    def expected_shares(self, all_slugs: list[str]) -> dict[str, float]:
        """The long-run share of each category among the person's choices, noise included."""
        uniform = self.noise_share / len(all_slugs)
        return {
            slug: uniform + (1 - self.noise_share) * self.weights.get(slug, 0.0)
            for slug in all_slugs
        }


def draw_persona(rng: random.Random, catalog: Catalog) -> Persona:
    slugs = [category.slug for category in catalog.categories]
    count = rng.choices(
        difficulty.DOMINANT_CATEGORY_COUNTS, weights=difficulty.DOMINANT_CATEGORY_COUNT_WEIGHTS
    )[0]
    chosen = weighted_sample(rng, slugs, catalog.category_popularity, count)
    shares = dirichlet_like(rng, len(chosen), difficulty.PERSONA_CONCENTRATION)
    return Persona(dict(zip(chosen, shares, strict=True)))


class InterestPicker:
    """Picks the category of the next product or category page a person looks at.

    A session has a focus category (people shop for one thing at a time); a persona-driven
    choice keeps to it ``SESSION_FOCUS_SHARE`` of the time. Noise is decided first, so its
    share of all choices is exactly ``NOISE_SHARE`` in expectation.
    """

    def __init__(self, persona: Persona, all_slugs: list[str]) -> None:
        self._persona = persona
        self._all_slugs = all_slugs
        self._slugs = list(persona.weights)
        self._weights = list(persona.weights.values())
        self.focus = self._slugs[0]

    def start_session(self, rng: random.Random) -> None:
        self.focus = self._from_persona(rng)

    def pick(self, rng: random.Random) -> str:
        if rng.random() < self._persona.noise_share:
            return rng.choice(self._all_slugs)
        if rng.random() < difficulty.SESSION_FOCUS_SHARE:
            return self.focus
        return self._from_persona(rng)

    def _from_persona(self, rng: random.Random) -> str:
        return rng.choices(self._slugs, weights=self._weights)[0]
