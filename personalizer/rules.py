"""Targeting rules: who a campaign is for. Pure.

A rule is written as a one-key mapping (YAML or JSON), combinable with ``all``, ``any`` and
``not``::

    all:
      - country: [DE, AT]
      - any:
          - interest: {category: Shoes, above: 0.5}
          - visited: {categories: [Shoes], days: 7}
      - not: {device: [tablet]}

``parse_rule`` validates a mapping into a ``Rule`` (``RuleError`` names the path of every
problem); ``Rule.matches(visitor)`` decides, ``Rule.explain(visitor)`` says why, rule by rule.
Text comparisons ignore case. Times of day and weekdays are the visitor's own (their GeoIP time
zone, else the site's). Rules about history (visited, interest, returning, segment) read the
profile, which is empty without consent: they then do not match.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from personalizer.visitor import Visitor

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_MS = 86_400_000
EARTH_RADIUS_KM = 6371.0088
MAX_DEPTH = 16
MAX_VALUES = 1000


class RuleError(ValueError):
    """A rule that cannot be used; the message names where (``rules.all[1].near.km``)."""


@dataclass(frozen=True)
class Explained:
    """One rule's verdict for one visitor, with its parts (for ``all``, ``any``, ``not``)."""

    rule: str
    matched: bool
    detail: str = ""
    parts: tuple[Explained, ...] = ()

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"rule": self.rule, "matched": self.matched}
        if self.detail:
            data["detail"] = self.detail
        if self.parts:
            data["parts"] = [part.as_json() for part in self.parts]
        return data


class Rule(ABC):
    kind: ClassVar[str]

    @abstractmethod
    def matches(self, visitor: Visitor) -> bool: ...

    def explain(self, visitor: Visitor) -> Explained:
        return Explained(self.kind, self.matches(visitor), self.describe(visitor))

    def describe(self, visitor: Visitor) -> str:
        return ""


# --- combinators -----------------------------------------------------------------------------


@dataclass(frozen=True)
class All(Rule):
    kind: ClassVar[str] = "all"
    rules: tuple[Rule, ...]

    def matches(self, visitor: Visitor) -> bool:
        # a loop, not all() of a generator (a frame per call): every decision runs these
        for rule in self.rules:  # noqa: SIM110
            if not rule.matches(visitor):
                return False
        return True

    def explain(self, visitor: Visitor) -> Explained:
        parts = tuple(rule.explain(visitor) for rule in self.rules)
        return Explained(self.kind, all(part.matched for part in parts), parts=parts)


@dataclass(frozen=True)
class Any_(Rule):
    kind: ClassVar[str] = "any"
    rules: tuple[Rule, ...]

    def matches(self, visitor: Visitor) -> bool:
        for rule in self.rules:  # noqa: SIM110
            if rule.matches(visitor):
                return True
        return False

    def explain(self, visitor: Visitor) -> Explained:
        parts = tuple(rule.explain(visitor) for rule in self.rules)
        return Explained(self.kind, any(part.matched for part in parts), parts=parts)


@dataclass(frozen=True)
class Not(Rule):
    kind: ClassVar[str] = "not"
    rule: Rule

    def matches(self, visitor: Visitor) -> bool:
        return not self.rule.matches(visitor)

    def explain(self, visitor: Visitor) -> Explained:
        inner = self.rule.explain(visitor)
        return Explained(self.kind, not inner.matched, parts=(inner,))


EVERYONE = All(())  # no rules: everyone matches


# --- where ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OneOf(Rule):
    """A visitor attribute among listed values (case-insensitive)."""

    kind: ClassVar[str] = ""
    values: frozenset[str]

    @abstractmethod
    def read(self, visitor: Visitor) -> str: ...

    def matches(self, visitor: Visitor) -> bool:
        memo = visitor.memo
        folded = memo.get(self.kind)
        if folded is None:
            folded = memo[self.kind] = self.read(visitor).casefold()
        return folded in self.values

    def describe(self, visitor: Visitor) -> str:
        return f"{self.read(visitor) or '(unknown)'} in {sorted(self.values)}"


@dataclass(frozen=True)
class Country(OneOf):
    kind: ClassVar[str] = "country"

    def read(self, visitor: Visitor) -> str:
        return visitor.geo.country


@dataclass(frozen=True)
class Region(OneOf):
    """``DE-BY``: the country and its ISO 3166-2 subdivision."""

    kind: ClassVar[str] = "region"

    def read(self, visitor: Visitor) -> str:
        return f"{visitor.geo.country}-{visitor.geo.region}" if visitor.geo.region else ""


@dataclass(frozen=True)
class City(OneOf):
    kind: ClassVar[str] = "city"

    def read(self, visitor: Visitor) -> str:
        return visitor.geo.city


@dataclass(frozen=True)
class Near(Rule):
    """Within ``km`` of a point (great-circle distance)."""

    kind: ClassVar[str] = "near"
    latitude: float
    longitude: float
    km: float

    def distance(self, visitor: Visitor) -> float | None:
        if visitor.geo.latitude is None or visitor.geo.longitude is None:
            return None
        return great_circle_km(
            self.latitude, self.longitude, visitor.geo.latitude, visitor.geo.longitude
        )

    def matches(self, visitor: Visitor) -> bool:
        distance = self.distance(visitor)
        return distance is not None and distance <= self.km

    def describe(self, visitor: Visitor) -> str:
        distance = self.distance(visitor)
        where = "unknown location" if distance is None else f"{distance:.1f} km"
        return f"{where} from ({self.latitude}, {self.longitude}), limit {self.km} km"


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


# --- who ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceType(OneOf):
    kind: ClassVar[str] = "device"

    def read(self, visitor: Visitor) -> str:
        return visitor.device_type


@dataclass(frozen=True)
class Browser(OneOf):
    kind: ClassVar[str] = "browser"

    def read(self, visitor: Visitor) -> str:
        return visitor.browser


@dataclass(frozen=True)
class OperatingSystem(OneOf):
    kind: ClassVar[str] = "os"

    def read(self, visitor: Visitor) -> str:
        return visitor.os


@dataclass(frozen=True)
class Language(Rule):
    """``de`` matches ``de``, ``de-DE`` and ``de-AT``; ``de-CH`` only itself."""

    kind: ClassVar[str] = "language"
    values: frozenset[str]

    def matches(self, visitor: Visitor) -> bool:
        memo = visitor.memo
        tags = memo.get(self.kind)
        if tags is None:  # "de-de-1996" matches "de-de-1996", "de-de" and "de"
            parts = visitor.language.casefold().replace("_", "-").split("-")
            tags = memo[self.kind] = {"-".join(parts[:n]) for n in range(1, len(parts) + 1)}
        return not tags.isdisjoint(self.values)

    def describe(self, visitor: Visitor) -> str:
        return f"{visitor.language or '(unknown)'} in {sorted(self.values)}"


@dataclass(frozen=True)
class Flag(Rule):
    kind: ClassVar[str] = ""
    wanted: bool

    @abstractmethod
    def read(self, visitor: Visitor) -> bool: ...

    def matches(self, visitor: Visitor) -> bool:
        return self.read(visitor) is self.wanted

    def describe(self, visitor: Visitor) -> str:
        return f"{self.read(visitor)}, wanted {self.wanted}"


@dataclass(frozen=True)
class Returning(Flag):
    kind: ClassVar[str] = "returning"

    def read(self, visitor: Visitor) -> bool:
        return visitor.returning


@dataclass(frozen=True)
class Identified(Flag):
    kind: ClassVar[str] = "identified"

    def read(self, visitor: Visitor) -> bool:
        return visitor.identified


@dataclass(frozen=True)
class Consent(Flag):
    kind: ClassVar[str] = "consent"

    def read(self, visitor: Visitor) -> bool:
        return visitor.consent


@dataclass(frozen=True)
class Segment(Rule):
    """Member of any of the named segments (RFM, lifecycle: see the reports)."""

    kind: ClassVar[str] = "segment"
    values: frozenset[str]

    def matches(self, visitor: Visitor) -> bool:
        memo = visitor.memo
        names = memo.get(self.kind)
        if names is None:
            names = memo[self.kind] = frozenset(name.casefold() for name in visitor.segments)
        return not self.values.isdisjoint(names)

    def describe(self, visitor: Visitor) -> str:
        return f"segments {sorted(visitor.segments)}, wanted any of {sorted(self.values)}"


# --- what they did -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Visited(Rule):
    """Viewed a listed product, or a page of a listed category (or one below it), within the
    last ``days`` days (from the profile's recent lists)."""

    kind: ClassVar[str] = "visited"
    categories: frozenset[str]
    products: frozenset[str]
    days: float

    def hits(self, visitor: Visitor) -> list[str]:
        since = visitor.now_ms - self.days * DAY_MS
        found = [
            sku
            for sku, at in visitor.profile.recent_products
            if at >= since and sku.casefold() in self.products
        ]
        found += [
            path
            for path, at in visitor.profile.recent_categories
            if at >= since and _under_any(path.casefold(), self.categories)
        ]
        return found

    def matches(self, visitor: Visitor) -> bool:
        since = visitor.now_ms - self.days * DAY_MS
        if self.products and any(
            at >= since and sku in self.products for sku, at in visitor.recent_products_folded
        ):
            return True
        return bool(self.categories) and any(
            at >= since and _under_any(path, self.categories)
            for path, at in visitor.recent_categories_folded
        )

    def describe(self, visitor: Visitor) -> str:
        hits = self.hits(visitor)
        return f"seen in {self.days:g} days: {hits}" if hits else f"none in {self.days:g} days"


@dataclass(frozen=True)
class Interest(Rule):
    """The decayed interest score of a category path, now, is above a threshold."""

    kind: ClassVar[str] = "interest"
    category: str
    above: float

    def score(self, visitor: Visitor) -> float:
        return visitor.interest_scores.get(self.category, 0.0)

    def matches(self, visitor: Visitor) -> bool:
        return self.score(visitor) > self.above

    def describe(self, visitor: Visitor) -> str:
        return f"{self.category}: {self.score(visitor):.3f}, above {self.above}"


@dataclass(frozen=True)
class PageIs(Rule):
    """The page being decided for shows a listed product or category (or one below it)."""

    kind: ClassVar[str] = "page"
    categories: frozenset[str]
    products: frozenset[str]

    def matches(self, visitor: Visitor) -> bool:
        page = visitor.page
        return page.sku.casefold() in self.products or (
            bool(page.category) and _under_any(page.category.casefold(), self.categories)
        )

    def describe(self, visitor: Visitor) -> str:
        return f"page sku {visitor.page.sku!r}, category {visitor.page.category!r}"


@dataclass(frozen=True)
class Referrer(Rule):
    kind: ClassVar[str] = "referrer"
    mediums: frozenset[str]
    sources: frozenset[str]

    def matches(self, visitor: Visitor) -> bool:
        page = visitor.page
        return (not self.mediums or page.referrer_medium.casefold() in self.mediums) and (
            not self.sources or page.referrer_source.casefold() in self.sources
        )

    def describe(self, visitor: Visitor) -> str:
        return f"{visitor.page.referrer_medium or '-'}/{visitor.page.referrer_source or '-'}"


@dataclass(frozen=True)
class Utm(Rule):
    """Every listed ``utm_*`` parameter has one of its listed values."""

    kind: ClassVar[str] = "utm"
    wanted: Mapping[str, frozenset[str]]

    def matches(self, visitor: Visitor) -> bool:
        utm = visitor.page.utm
        return all(utm.get(name, "").casefold() in values for name, values in self.wanted.items())

    def describe(self, visitor: Visitor) -> str:
        return f"utm {dict(visitor.page.utm)}"


# --- when (the visitor's own clock) ------------------------------------------------------------


@dataclass(frozen=True)
class Weekday(Rule):
    kind: ClassVar[str] = "weekday"
    days: frozenset[int]  # 0 = Monday

    def matches(self, visitor: Visitor) -> bool:
        return visitor.local_time().weekday() in self.days

    def describe(self, visitor: Visitor) -> str:
        local = visitor.local_time()
        return f"{WEEKDAYS[local.weekday()]} {local:%H:%M} {local.tzname()}"


@dataclass(frozen=True)
class Hours(Rule):
    """Local hour in ``[start, end)``; ``start > end`` wraps past midnight (22 to 6)."""

    kind: ClassVar[str] = "hours"
    start: int
    end: int

    def matches(self, visitor: Visitor) -> bool:
        hour = visitor.local_time().hour
        if self.start <= self.end:
            return self.start <= hour < self.end
        return hour >= self.start or hour < self.end

    def describe(self, visitor: Visitor) -> str:
        local = visitor.local_time()
        return f"{local:%H:%M} {local.tzname()}, wanted {self.start}-{self.end}"


def _under_any(path: str, prefixes: frozenset[str]) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in prefixes)


# --- parsing -------------------------------------------------------------------------------


def parse_rule(data: Any, where: str = "rules") -> Rule:
    """A ``Rule`` from its mapping form; ``None`` or ``{}`` is ``EVERYONE``.
    Raises ``RuleError`` naming the path of the problem."""
    return _parse(data, where, 0)


def _parse(data: Any, where: str, depth: int) -> Rule:
    if depth > MAX_DEPTH:
        raise RuleError(f"{where}: rules nested deeper than {MAX_DEPTH}")
    if data is None or data == {}:
        return EVERYONE
    if isinstance(data, list):  # a bare list means all of them
        return All(tuple(_parse(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(data)))
    if not isinstance(data, Mapping) or len(data) != 1:
        raise RuleError(
            f"{where}: a rule is a mapping with exactly one key, e.g. {{country: [DE]}}"
        )
    ((kind, value),) = data.items()
    parser = _PARSERS.get(kind)
    if parser is None:
        raise RuleError(f"{where}: unknown rule {kind!r}; known: {', '.join(sorted(_PARSERS))}")
    return parser(value, f"{where}.{kind}", depth)


def _rules(value: Any, where: str, depth: int) -> tuple[Rule, ...]:
    if not isinstance(value, list) or not value:
        raise RuleError(f"{where}: must be a non-empty list of rules")
    return tuple(_parse(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value))


def _texts(value: Any, where: str) -> frozenset[str]:
    items = [value] if isinstance(value, str) else value
    if (
        not isinstance(items, list)
        or not items
        or len(items) > MAX_VALUES
        or not all(isinstance(item, str) and item.strip() for item in items)
    ):
        raise RuleError(f"{where}: must be a text or a non-empty list of texts")
    return frozenset(item.strip().casefold() for item in items)


def _number(value: Any, where: str, low: float, high: float) -> float:
    # value != value: NaN, without math.isnan's float() (an int past 1e308 overflows it)
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise RuleError(f"{where}: must be a number")
    if not low <= value <= high:
        raise RuleError(f"{where}: must be between {low:g} and {high:g}, got {value}")
    return float(value)


def _mapping(value: Any, where: str, allowed: Sequence[str], required: Sequence[str]) -> dict:
    if not isinstance(value, Mapping):
        raise RuleError(f"{where}: must be a mapping with {', '.join(allowed)}")
    unknown = sorted(set(value) - set(allowed), key=str)  # YAML keys may be numbers
    if unknown:
        raise RuleError(
            f"{where}: unknown {', '.join(map(str, unknown))}; allowed: {', '.join(allowed)}"
        )
    missing = [name for name in required if name not in value]
    if missing:
        raise RuleError(f"{where}: missing {', '.join(missing)}")
    return dict(value)


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise RuleError(f"{where}: must be true or false")
    return value


def _near(value: Any, where: str, depth: int) -> Rule:
    data = _mapping(value, where, ("lat", "lon", "km"), ("lat", "lon", "km"))
    return Near(
        _number(data["lat"], f"{where}.lat", -90, 90),
        _number(data["lon"], f"{where}.lon", -180, 180),
        _number(data["km"], f"{where}.km", 0, 20_100),
    )


def _visited(value: Any, where: str, depth: int) -> Rule:
    data = _mapping(value, where, ("categories", "products", "days"), ("days",))
    if "categories" not in data and "products" not in data:
        raise RuleError(f"{where}: needs categories or products")
    return Visited(
        _texts(data["categories"], f"{where}.categories") if "categories" in data else frozenset(),
        _texts(data["products"], f"{where}.products") if "products" in data else frozenset(),
        _number(data["days"], f"{where}.days", 0, 3650),
    )


def _interest(value: Any, where: str, depth: int) -> Rule:
    data = _mapping(value, where, ("category", "above"), ("category", "above"))
    if not isinstance(data["category"], str) or not data["category"].strip():
        raise RuleError(f"{where}.category: must be a category path, e.g. Shoes/Running")
    return Interest(
        data["category"].strip().casefold(), _number(data["above"], f"{where}.above", 0, 1e12)
    )


def _page(value: Any, where: str, depth: int) -> Rule:
    data = _mapping(value, where, ("categories", "products"), ())
    if not data:
        raise RuleError(f"{where}: needs categories or products")
    return PageIs(
        _texts(data["categories"], f"{where}.categories") if "categories" in data else frozenset(),
        _texts(data["products"], f"{where}.products") if "products" in data else frozenset(),
    )


def _referrer(value: Any, where: str, depth: int) -> Rule:
    data = _mapping(value, where, ("medium", "source"), ())
    if not data:
        raise RuleError(f"{where}: needs medium or source")
    return Referrer(
        _texts(data["medium"], f"{where}.medium") if "medium" in data else frozenset(),
        _texts(data["source"], f"{where}.source") if "source" in data else frozenset(),
    )


UTM_NAMES = ("source", "medium", "campaign", "term", "content")


def _utm(value: Any, where: str, depth: int) -> Rule:
    data = _mapping(value, where, UTM_NAMES, ())
    if not data:
        raise RuleError(f"{where}: needs one of {', '.join(UTM_NAMES)}")
    return Utm({name: _texts(texts, f"{where}.{name}") for name, texts in data.items()})


def _weekday(value: Any, where: str, depth: int) -> Rule:
    names = _texts(value, where)
    unknown = sorted(names - set(WEEKDAYS))
    if unknown:
        raise RuleError(f"{where}: unknown day {', '.join(unknown)}; use {', '.join(WEEKDAYS)}")
    return Weekday(frozenset(WEEKDAYS.index(name) for name in names))


def _hours(value: Any, where: str, depth: int) -> Rule:
    data = _mapping(value, where, ("from", "to"), ("from", "to"))
    start = _number(data["from"], f"{where}.from", 0, 23)
    end = _number(data["to"], f"{where}.to", 0, 24)
    if start != int(start) or end != int(end) or start == end:
        raise RuleError(f"{where}: whole hours, from and to different (to 24 means midnight)")
    return Hours(int(start), int(end) % 24 if end == 24 and start != 0 else int(end))


_PARSERS: dict[str, Callable[[Any, str, int], Rule]] = {
    "all": lambda value, where, depth: All(_rules(value, where, depth)),
    "any": lambda value, where, depth: Any_(_rules(value, where, depth)),
    "not": lambda value, where, depth: Not(_parse(value, where, depth + 1)),
    "country": lambda value, where, depth: Country(_texts(value, where)),
    "region": lambda value, where, depth: Region(_texts(value, where)),
    "city": lambda value, where, depth: City(_texts(value, where)),
    "near": _near,
    "device": lambda value, where, depth: DeviceType(_texts(value, where)),
    "browser": lambda value, where, depth: Browser(_texts(value, where)),
    "os": lambda value, where, depth: OperatingSystem(_texts(value, where)),
    "language": lambda value, where, depth: Language(_texts(value, where)),
    "returning": lambda value, where, depth: Returning(_flag(value, where)),
    "identified": lambda value, where, depth: Identified(_flag(value, where)),
    "consent": lambda value, where, depth: Consent(_flag(value, where)),
    "segment": lambda value, where, depth: Segment(_texts(value, where)),
    "visited": _visited,
    "interest": _interest,
    "page": _page,
    "referrer": _referrer,
    "utm": _utm,
    "weekday": _weekday,
    "hours": _hours,
}
RULE_KINDS = tuple(sorted(_PARSERS))
