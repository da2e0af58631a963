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

    A person's choices still stray off the persona ``noise_share`` of the time (uniformly over
    the categories the persona does not name), so observed behaviour is the persona blurred by
    that noise, and that share of the person's product views is off-persona in expectation.
    """

    weights: dict[str, float]
    noise_share: float = difficulty.NOISE_SHARE

    def __post_init__(self) -> None:
        if not 0.0 <= self.noise_share < 1.0:
            raise ValueError(f"noise_share must be in [0, 1), got {self.noise_share}")

    @property
    def dominant(self) -> frozenset[str]:
        return frozenset(self.weights)

    def expected_shares(self, all_slugs: list[str]) -> dict[str, float]:
        """The long-run share of each category among the person's choices, noise included."""
        outside = [slug for slug in all_slugs if slug not in self.weights]
        noise = self.noise_share if outside else 0.0
        return {
            slug: (1 - noise) * self.weights[slug] if slug in self.weights else noise / len(outside)
            for slug in all_slugs
        }


def draw_persona(
    rng: random.Random, catalog: Catalog, noise_share: float = difficulty.NOISE_SHARE
) -> Persona:
    slugs = [category.slug for category in catalog.categories]
    count = rng.choices(
        difficulty.DOMINANT_CATEGORY_COUNTS, weights=difficulty.DOMINANT_CATEGORY_COUNT_WEIGHTS
    )[0]
    chosen = weighted_sample(rng, slugs, catalog.category_popularity, count)
    shares = dirichlet_like(rng, len(chosen), difficulty.PERSONA_CONCENTRATION)
    return Persona(dict(zip(chosen, shares, strict=True)), noise_share)


class InterestPicker:
    """Picks the category of the next product or category page a person looks at.

    A session has a focus category (people shop for one thing at a time); a persona-driven
    choice keeps to it ``SESSION_FOCUS_SHARE`` of the time. Noise is decided first and lands
    off the persona, so the off-persona share of all choices is exactly the persona's
    ``noise_share`` in expectation.
    """

    def __init__(self, persona: Persona, all_slugs: list[str]) -> None:
        self._persona = persona
        self._slugs = list(persona.weights)
        self._weights = list(persona.weights.values())
        self._outside = [slug for slug in all_slugs if slug not in persona.weights]
        self.focus = self._slugs[0]

    def start_session(self, rng: random.Random) -> None:
        self.focus = self._from_persona(rng)

    def pick(self, rng: random.Random) -> str:
        if rng.random() < self._persona.noise_share and self._outside:
            return rng.choice(self._outside)
        if rng.random() < difficulty.SESSION_FOCUS_SHARE:
            return self.focus
        return self._from_persona(rng)

    def _from_persona(self, rng: random.Random) -> str:
        return rng.choices(self._slugs, weights=self._weights)[0]
