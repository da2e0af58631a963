"""Where a demo visitor may say they browse from: a few countries, each with an address the
bundled GeoLite2 City database (maxminddb-geolite2, 2018) places there. On one machine every
visitor comes from 127.0.0.1, which has no location; the demo's front states the chosen
address to the collector instead (docs/demo.md). Only these addresses can be chosen."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Place:
    code: str  # ISO 3166 alpha-2, as the pipeline's enrichment gives it
    name: str
    address: str


PLACES: tuple[Place, ...] = (
    Place("DE", "Germany (Berlin)", "85.214.132.117"),
    Place("FR", "France (Paris)", "195.154.0.1"),
    Place("SE", "Sweden (Stockholm)", "89.160.20.112"),
    Place("US", "United States (San Francisco)", "151.101.0.1"),
)
COOKIE = "ct_demo_from"  # the chosen place's code, set by the picker


def place(code: str | None) -> Place | None:
    """The place of a picker code; None for no choice or anything else."""
    return next((p for p in PLACES if p.code == code), None)
