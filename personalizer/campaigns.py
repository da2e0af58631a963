"""Campaigns and creatives as marketers write them (YAML, JSON, the management API), validated.
Pure: storage lives elsewhere.

A campaign shows one of its creatives in a placement to visitors its rules match, within its
schedule, goals, pacing and per-visitor frequency cap; a share of matching visitors (the
holdout) gets the default instead, so the campaign's lift can be measured. A *default*
campaign (``default: true``) is the fallback of its placements: it ignores goals, pacing and
caps; one with rules (a region's) is preferred to one without (the global one).
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cached_property
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from personalizer.rules import EVERYONE, Rule, RuleError, parse_rule

SLUG = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
Slug = Annotated[str, Field(pattern=SLUG)]


class CampaignError(ValueError):
    """A campaign that cannot be used; the message names each field at fault."""


def http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an absolute http(s) URL")
    return value


class Creative(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Slug
    placement: Slug
    image_url: Annotated[str, Field(max_length=2048)]
    alt: Annotated[str, Field(min_length=1, max_length=256)]  # no image without a text
    headline: Annotated[str, Field(max_length=256)] = ""
    landing_url: Annotated[str, Field(max_length=2048)]
    width: Annotated[int, Field(ge=1, le=4096)]
    height: Annotated[int, Field(ge=1, le=4096)]

    _check_image = field_validator("image_url")(http_url)
    _check_landing = field_validator("landing_url")(http_url)


class FrequencyCap(BaseModel):
    """At most ``impressions`` per visitor in each ``hours``-long period."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    impressions: Annotated[int, Field(ge=1, le=1_000_000)]
    hours: Annotated[float, Field(gt=0, le=24 * 366)]

    @property
    def seconds(self) -> int:
        return max(1, round(self.hours * 3600))


class Schedule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    start: datetime | None = None  # aware; none: from now on
    end: datetime | None = None  # aware, excluded; none: until paused

    @model_validator(mode="after")
    def _aware_and_ordered(self) -> Schedule:
        for name in ("start", "end"):
            value = getattr(self, name)
            if value is not None and value.utcoffset() is None:
                raise ValueError(f"{name} needs a time zone, e.g. 2026-12-01T00:00:00+01:00")
        if self.start and self.end and self.end <= self.start:
            raise ValueError("end must be after start")
        return self

    def contains(self, now: datetime) -> bool:
        return (self.start is None or self.start <= now) and (self.end is None or now < self.end)


class Campaign(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    id: Slug
    site_id: Slug
    name: Annotated[str, Field(min_length=1, max_length=200)]
    status: Literal["active", "paused", "archived"] = "active"
    default: bool = False
    priority: Annotated[int, Field(ge=0, le=1000)] = 0  # the highest eligible tier wins
    schedule: Schedule = Schedule()
    daily_impressions: Annotated[int, Field(ge=1)] | None = None
    total_impressions: Annotated[int, Field(ge=1)] | None = None
    pacing: Literal["even", "asap"] = "even"
    frequency_cap: FrequencyCap | None = None
    holdout_percent: Annotated[float, Field(ge=0, le=50)] = 0.0
    rules: Any = None  # the mapping form; ``rule`` is the parsed one
    creatives: Annotated[list[Creative], Field(min_length=1, max_length=100)]

    @field_validator("rules")
    @classmethod
    def _rules_parse(cls, value: Any) -> Any:
        try:
            parse_rule(value)
        except RuleError as exc:
            raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Campaign:
        ids = [creative.id for creative in self.creatives]
        if len(set(ids)) != len(ids):
            raise ValueError("creative ids must be unique within a campaign")
        if self.default and (
            self.daily_impressions or self.total_impressions or self.frequency_cap
        ):
            raise ValueError("a default campaign has no goals or caps: it is the fallback")
        if self.default and self.holdout_percent:
            raise ValueError("a default campaign has no holdout: holdout visitors get it")
        paced_total = self.pacing == "even" and self.total_impressions
        if paced_total and not self.daily_impressions and self.schedule.end is None:
            raise ValueError("even pacing of a total goal needs daily_impressions or an end")
        return self

    @cached_property
    def rule(self) -> Rule:
        """The parsed rules (parsed once per campaign object)."""
        return parse_rule(self.rules) if self.rules is not None else EVERYONE

    @cached_property
    def placements(self) -> frozenset[str]:
        return frozenset(creative.placement for creative in self.creatives)

    @cached_property
    def _by_placement(self) -> dict[str, list[Creative]]:
        index: dict[str, list[Creative]] = {}
        for creative in self.creatives:
            index.setdefault(creative.placement, []).append(creative)
        return index

    def creatives_for(self, placement: str) -> list[Creative]:
        return self._by_placement.get(placement, [])

    def creative(self, creative_id: str) -> Creative | None:
        return next((c for c in self.creatives if c.id == creative_id), None)

    def live(self, now: datetime) -> bool:
        return self.status == "active" and self.schedule.contains(now)


def parse_campaign(data: Any) -> Campaign:
    """A ``Campaign`` from its mapping form; ``CampaignError`` lists every problem by field."""
    try:
        return Campaign.model_validate(data)
    except ValidationError as exc:
        raise CampaignError(describe(exc)) from None


def describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors(include_url=False):
        where = ".".join(str(part) for part in item["loc"]) or "campaign"
        message = re.sub(r"^Value error, ", "", item["msg"])
        parts.append(f"{where}: {message}")
    return "; ".join(parts)
