"""Bounded "most recent first" lists, whose content does not depend on arrival order.

An item keeps its latest time; the list is the ``limit`` items with the latest times, ties
broken by the name's code points. Keeping the top of a union equals the top of the tops, so
merging bounded lists in any order or grouping gives the same list (the profile script merges
with the same rule and tie-break).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping

Recent = list[tuple[str, int]]  # (name, UTC ms), newest first


def note(latest: dict[str, int], name: str, at_ms: int) -> None:
    """Record that ``name`` was seen at ``at_ms``; an item keeps its latest time."""
    if at_ms > latest.get(name, -1):
        latest[name] = at_ms


def newest(latest: Mapping[str, int], limit: int) -> Recent:
    return heapq.nsmallest(limit, latest.items(), key=lambda item: (-item[1], item[0]))


def merge(lists: Iterable[Recent], limit: int) -> Recent:
    latest: dict[str, int] = {}
    for items in lists:
        for name, at_ms in items:
            note(latest, name, at_ms)
    return newest(latest, limit)
