"""A forgotten person's contributions to the co-view counts, recomputed from their events.
Pure.

The profile script pairs each visitor id's product views in log order (``apply.lua``,
``add_views``); ``pairs`` replays the same rule on the person's events from the warehouse, so
the eraser can subtract exactly what they added. Where it cannot be exact (docs/privacy.md):
events already gone from the warehouse (its retention) added pairs nobody can recompute; a
visitor id whose profile expired between two views (``profile_ttl_days`` without events)
started a fresh history in Redis; a pair trimmed from a product's list (it keeps its top
``coview_kept``) and added again counts from the re-add. Subtracting never takes a count
below zero: a pair left at zero or less is removed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from pipelines.profiles import recency
from pipelines.profiles.aggregate import counts
from pipelines.profiles.config import ProfileConfig

Pair = tuple[str, str]  # (product, the product viewed near it): coview:<site>:<product> member


def pairs(rows: Iterable[Mapping[str, Any]], config: ProfileConfig) -> Counter[Pair]:
    """Every pair one visitor id's rows (in log order, deduplicated) added, both directions."""
    added: Counter[Pair] = Counter()
    window = config.coview_window_ms
    recent: recency.Recent = []
    for row in rows:
        if row.get("event_type") != "product_view" or not row.get("sku"):
            continue
        if not counts(row, config):
            continue
        sku, at = str(row["sku"]), int(row["created_ms"])
        own = next((item for item in recent if item[0] == sku), None)
        if own is None or own[1] < at - window:
            paired = 0
            for other, seen_at in recent:
                if paired >= config.coview_neighbours or seen_at < at - window:
                    break
                if other != sku and seen_at <= at:
                    added[(sku, other)] += 1
                    added[(other, sku)] += 1
                    paired += 1
        recent = recency.merge([recent, [(sku, at)]], config.recent_products)
    return added


def person_pairs(
    by_visitor: Mapping[str, Iterable[Mapping[str, Any]]], config: ProfileConfig
) -> Counter[Pair]:
    total: Counter[Pair] = Counter()
    for rows in by_visitor.values():
        total.update(pairs(rows, config))
    return total
