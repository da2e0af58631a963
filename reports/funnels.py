"""The funnels report: visitors through any ordered list of steps within a time window.

``steps=page_view,product_view:category=Shoes,add_to_cart,purchase&within=1d``: each step an
event type, optionally with one condition ``category=`` (any level of the event's category
path; a purchase's items' paths), ``sku=`` (the product, or an item of the purchase) or
``path=`` (the page's URL path, exact). A visitor reaches step ``i`` when, from an event of step
1 in the period, events of steps 2 to ``i`` follow in that order, each strictly after the one
before, the last at most ``within`` after the first (every step in the period). Step 1's
visitors are the entrants: exact distinct visitors. With ``by=country`` and/or ``device``, a
funnel is followed per visitor and value (an event counts under its own country and device).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from clicktrail.contract.event import EVENT_TYPES
from pipelines.warehouse.report_queries import SourcedQuery
from pipelines.warehouse.report_queries_funnels import (
    FUNNEL_BREAKDOWNS,
    MAX_STEPS,
    STEP_FIELDS,
    fast_funnel_query,
    funnel_query,
)
from pipelines.warehouse.rollups_funnels import FAST_TYPES
from reports.audience import _summary
from reports.query import ReportError, ReportQuery
from reports.source import Read, RollupSource
from reports.table import Report

# public name -> rollup column
BREAKDOWNS: dict[str, str] = {"country": "country", "device": "device_type"}
ALIASES = {"cart_add": "add_to_cart"}  # the issue's own example says cart_add
DEFAULT_WITHIN = "1d"
_UNITS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
MAX_WITHIN_MS = 90 * 86_400_000
_WITHIN = re.compile(r"^([1-9][0-9]{0,6})([smhd])$")
_VALUE = re.compile(r"^[^\x00-\x1f\x7f]{1,512}$")
FIGURES = ("step", "name", "visitors", "conversion", "step_conversion")


@dataclass(frozen=True)
class Step:
    event_type: str
    field: str = ""  # category, sku, path or "" (any event of the type)
    value: str = ""

    @property
    def name(self) -> str:
        return f"{self.event_type}:{self.field}={self.value}" if self.field else self.event_type


def parse_steps(text: str) -> tuple[Step, ...]:
    """``type[:field=value],...``: 2 to MAX_STEPS steps. Raises ``ReportError`` naming the
    bad step. Pure."""
    if not text:
        raise ReportError("steps is required: event types in order, e.g. page_view,purchase")
    parts = text.split(",")
    if not 2 <= len(parts) <= MAX_STEPS:
        raise ReportError(f"steps must list 2 to {MAX_STEPS} steps, got {len(parts)}")
    steps = []
    for number, part in enumerate(parts, 1):
        kind, _, condition = part.strip().partition(":")
        kind = ALIASES.get(kind, kind)
        if kind not in EVENT_TYPES:
            raise ReportError(
                f"step {number} ({part!r}): unknown event type {kind!r}; "
                f"known: {', '.join(EVENT_TYPES)}"
            )
        if not condition:
            if ":" in part:
                raise ReportError(f"step {number} ({part!r}): an empty condition after ':'")
            steps.append(Step(kind))
            continue
        field, equals, value = condition.partition("=")
        if not equals or field not in STEP_FIELDS or not _VALUE.match(value):
            raise ReportError(
                f"step {number} ({part!r}): a condition is {', '.join(STEP_FIELDS)}=<value>,"
                f" e.g. product_view:category=Shoes"
            )
        steps.append(Step(kind, field, value))
    return tuple(steps)


def parse_within(text: str) -> int:
    """``<n>s|m|h|d`` to milliseconds, at most 90 days. Pure."""
    match = _WITHIN.match(text)
    if not match or int(match.group(1)) * _UNITS[match.group(2)] > MAX_WITHIN_MS:
        raise ReportError(f"within must be <n>s, <n>m, <n>h or <n>d, at most 90 days, got {text!r}")
    return int(match.group(1)) * _UNITS[match.group(2)]


def step_rows(steps: Sequence[Step], counts: Sequence[int]) -> list[tuple[Any, ...]]:
    """(step, name, visitors, conversion from step 1, conversion from the step before). Pure."""
    rows = []
    for index, (step, visitors) in enumerate(zip(steps, counts, strict=True)):
        entrants, before = counts[0], counts[index - 1] if index else counts[0]
        rows.append(
            (
                index + 1,
                step.name,
                int(visitors),
                visitors / entrants if entrants else None,
                visitors / before if before else None,
            )
        )
    return rows


def funnel_read(steps: Sequence[Step]) -> tuple[SourcedQuery, dict[str, Any]]:
    """The read for these steps and its step parameters: steps of event types alone read the
    table with each visitor-day's times by type; a step with a condition, the general one."""
    if not any(step.field for step in steps) and all(s.event_type in FAST_TYPES for s in steps):
        return fast_funnel_query(tuple(step.event_type for step in steps)), {}
    params: dict[str, Any] = {"step_types": sorted({step.event_type for step in steps})}
    for number, step in enumerate(steps, 1):
        params[f"s{number}_type"] = step.event_type
        if step.field:
            params[f"s{number}_value"] = step.value
    return funnel_query(tuple(step.field for step in steps)), params


def funnels(source: RollupSource, query: ReportQuery) -> Report:
    steps = parse_steps(query.option("steps", ""))
    within_ms = parse_within(query.option("within", DEFAULT_WITHIN))
    chosen = [BREAKDOWNS[name] for name in query.breakdown]
    read, params = funnel_read(steps)
    params.update(
        within_ms=within_ms,
        limit=query.limit,
        **{f"by_{d}": int(d in chosen) for d in FUNNEL_BREAKDOWNS},
    )
    window = source.window(query)
    reads = [Read(read, window=window, params=params)]
    if chosen:  # a visitor may be in two groups: the totals are counted over all of them
        overall_params = {**params, **{f"by_{d}": 0 for d in FUNNEL_BREAKDOWNS}}
        reads.append(Read(read, window=window, params=overall_params))
    found = source.run_many(query, reads)
    result = found[0]
    width = len(FUNNEL_BREAKDOWNS)
    names = [name for name, column in BREAKDOWNS.items() if column in chosen]
    keep = [FUNNEL_BREAKDOWNS.index(BREAKDOWNS[name]) for name in names]
    rows: list[tuple[Any, ...]] = []
    for row in result.rows:
        counts = [int(count) for count in row[width:]]
        group = tuple(row[i] for i in keep)
        rows.extend((*group, *line) for line in step_rows(steps, counts))
    result = found[-1]
    overall = [int(count) for count in result.rows[0][width:]] if result.rows else [0] * len(steps)
    totals = {
        "entrants": overall[0],
        "completed": overall[-1],
        "conversion": overall[-1] / overall[0] if overall[0] else None,
        "steps": [dict(zip(FIGURES, line, strict=True)) for line in step_rows(steps, overall)],
    }
    summary = _summary(query, totals, window.raw)
    summary["steps"] = [step.name for step in steps]
    summary["within_ms"] = within_ms
    return Report("funnels", (*names, *FIGURES), rows, summary)
