"""Turns a batch of enriched event rows into per-visitor profile deltas. Pure: no I/O, no clock.

A delta holds one visitor's rows of one partition, cut into segments wherever an identity
link starts (a new ``user_id``, or a ``replaced_visitor_id`` not linked yet in this delta): the
profile script applies a segment's link before the segment's rows, so splitting a visitor's
rows into batches anywhere gives the same profile as one big batch. Each segment carries the
first and last log positions of its records, which the script checks against the watermark.

An event counts once however often it was logged: a row whose event (``event_id`` and
``created_ms``, as the warehouse collapses them) came earlier in the batch, or is among the
``known`` ones, adds nothing; its position still moves the delta's ``through``, so the
watermark passes it. Each segment carries its events' hashes, which the script checks against
the ones the visitor's earlier batches applied.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import Any

from pipelines.profiles import decay, recency, stored
from pipelines.profiles.config import ProfileConfig
from pipelines.profiles.position import Position
from pipelines.warehouse.columns import COLUMN, EventRow, event_row

# An enriched event: the pipeline's compact row (values in the order of the columns of
# pipelines/warehouse/columns.py), or a row keyed by those column names (rebuilds, tools).
Row = EventRow | Mapping[str, Any]

# Where each field this module reads sits in a compact row.
_SITE = COLUMN["site_id"]
_VISITOR = COLUMN["visitor_id"]
_CREATED = COLUMN["created_ms"]
_EVENT_ID = COLUMN["event_id"]
_TYPE = COLUMN["event_type"]
_ID_SOURCE = COLUMN["id_source"]
_REPLACED = COLUMN["replaced_visitor_id"]
_USER = COLUMN["user_id"]
_SESSION = COLUMN["session_id"]
_COUNTRY = COLUMN["country"]
_REGION = COLUMN["region"]
_CITY = COLUMN["city"]
_LATITUDE = COLUMN["latitude"]
_LONGITUDE = COLUMN["longitude"]
_BROWSER = COLUMN["browser"]
_OS = COLUMN["os"]
_DEVICE_TYPE = COLUMN["device_type"]
_IS_BOT = COLUMN["is_bot"]
_CONSENT = COLUMN["consent"]
_SKU = COLUMN["sku"]
_CATEGORY = COLUMN["category"]
_ORDER = COLUMN["order_id"]
_ITEM_SKUS = COLUMN["item_skus"]
_ITEM_CATEGORIES = COLUMN["item_categories"]

# The event types whose category counts as a category the visitor looked at.
VIEW_TYPES = frozenset({"page_view", "product_view"})
CATEGORY_SEPARATOR = "/"

Batch = Iterable[tuple[Position | None, Sequence[Row]]]
# Event hashes (stored.event_id_hash) already applied, by (site, visitor): their rows are copies.
Known = Mapping[tuple[str, str], Set[bytes]]


@dataclass
class Fragment:
    """What a run of rows adds to a profile; every part merges without regard to order."""

    first_ms: int
    last_ms: int
    events: int
    sessions: dict[str, int]  # session id -> earliest time
    scores: dict[str, float]  # category path -> interest, valid at last_ms
    categories: recency.Recent  # recently viewed category paths
    views: list[tuple[str, int]]  # every product view (sku, ms) in log order: co-views
    purchased: recency.Recent
    orders: recency.Recent  # every distinct order id: purchases are counted by order
    location: str  # stored.LOCATION's encoding, or ""
    device: str  # stored.DEVICE's encoding, or ""


@dataclass
class Segment:
    first: Position | None  # None: no watermark (a rebuild)
    last: Position | None
    user_id: str  # link this visitor to that user before applying, or ""
    replaced: tuple[str, ...]  # merge these visitor ids' profiles in before applying
    fragment: Fragment
    ids: bytes = b""  # stored.event_id_hash of each row with an event id, in log order


@dataclass
class VisitorDelta:
    site_id: str
    visitor_id: str
    partition: str  # "" without positions
    segments: list[Segment]  # none when every row was a copy
    through: Position | None = None  # the last position of its records, copies included
    duplicates: int = 0  # rows left out: copies of an event of the batch or of ``known``

    @property
    def events(self) -> int:
        return sum(segment.fragment.events for segment in self.segments)


def category_paths(category: Sequence[str]) -> list[str]:
    """``["Books", "Fiction"]`` -> ``["Books", "Books/Fiction"]``: each level is scored."""
    paths: list[str] = []
    for level in category:
        paths.append(f"{paths[-1]}{CATEGORY_SEPARATOR}{level}" if paths else level)
    return paths


# What the engine showed a visitor, not what the visitor did: it must not make them look
# active (last seen, event count) nor returning. A click on a banner is their doing and counts.
SHOWN_TYPES = frozenset({"decision", "banner_impression"})


def compact(row: Row) -> EventRow:
    """The row as a compact one (a compact row is returned as it is)."""
    return row if type(row) is tuple else event_row(row)  # type: ignore[arg-type]


def owner(row: Row) -> tuple[str, str]:
    """(site id, visitor id) of the row."""
    row = compact(row)
    return row[_SITE], row[_VISITOR]


def replaces(row: Row) -> bool:
    """Whether the row replaces its visitor id by another one (a cross-domain link)."""
    row = compact(row)
    replaced = row[_REPLACED]
    return bool(replaced) and replaced != row[_VISITOR]


def counts(row: Row, config: ProfileConfig) -> bool:
    """Whether a row goes into profiles at all."""
    row = compact(row)
    if row[_IS_BOT] and not config.include_bots:
        return False
    if row[_TYPE] in SHOWN_TYPES:
        return False
    # No profile without consent: a cookieless id is also a daily-changing one, so a profile
    # of it would be both unwanted and useless.
    return row[_CONSENT] != "denied" and row[_ID_SOURCE] != "cookieless"


@dataclass
class _FragmentBuilder:
    config: ProfileConfig
    first_ms: int = 0
    last_ms: int = 0
    events: int = 0
    sessions: dict[str, int] = field(default_factory=dict)
    contributions: list[tuple[int, float, list[str]]] = field(default_factory=list)
    categories: dict[str, int] = field(default_factory=dict)
    views: list[tuple[str, int]] = field(default_factory=list)
    purchased: dict[str, int] = field(default_factory=dict)
    orders: dict[str, int] = field(default_factory=dict)
    location: tuple[int, list[object]] = (-1, [])
    device: tuple[int, list[object]] = (-1, [])

    def add(self, row: EventRow) -> None:
        at = int(row[_CREATED])
        self.first_ms = at if not self.events else min(self.first_ms, at)
        self.last_ms = at if not self.events else max(self.last_ms, at)
        self.events += 1
        kind = row[_TYPE] or ""
        session = row[_SESSION] or ""
        if session and at < self.sessions.get(session, at + 1):
            self.sessions[session] = at
        paths = category_paths(row[_CATEGORY] or ())
        weight = self.config.weights.get(kind, 0.0)
        if paths and weight > 0:
            self.contributions.append((at, weight, paths))
        elif kind == "purchase" and weight > 0:
            # A purchase names its items' categories, not one of its own.
            for text in dict.fromkeys(row[_ITEM_CATEGORIES] or ()):
                if text:
                    item_paths = category_paths(text.split(CATEGORY_SEPARATOR))
                    self.contributions.append((at, weight, item_paths))
        if paths and kind in VIEW_TYPES:
            recency.note(self.categories, paths[-1], at)
        sku = row[_SKU] or ""
        if kind == "product_view" and sku:
            self.views.append((sku, at))
        if kind == "purchase":
            for item in row[_ITEM_SKUS] or ([sku] if sku else []):
                recency.note(self.purchased, item, at)
            order = row[_ORDER] or row[_EVENT_ID] or ""
            if order:
                recency.note(self.orders, order, at)
        if row[_COUNTRY] and at >= self.location[0]:
            place = [at, row[_COUNTRY], row[_REGION], row[_CITY]]
            place += [round(row[_LATITUDE], 4), round(row[_LONGITUDE], 4)]
            self.location = _later(self.location, at, place)
        if (row[_DEVICE_TYPE] or row[_BROWSER]) and at >= self.device[0]:
            gear = [at, row[_DEVICE_TYPE], row[_BROWSER], row[_OS]]
            self.device = _later(self.device, at, gear)

    def build(self) -> Fragment:
        config = self.config
        return Fragment(
            first_ms=self.first_ms,
            last_ms=self.last_ms,
            events=self.events,
            sessions=self.sessions,
            scores=decay.scores_at(self.contributions, self.last_ms, config.half_life_ms),
            categories=recency.newest(self.categories, config.recent_categories),
            # Log order, not time order: the script pairs views in the order of the visitor's
            # log across batches too, so a batch boundary never changes the pairs.
            views=self.views,
            purchased=recency.newest(self.purchased, config.purchased_items),
            orders=recency.newest(self.orders, len(self.orders)),
            location=_encode(self.location[1]) if self.location[1] else "",
            device=_encode(self.device[1]) if self.device[1] else "",
        )


def _later(
    best: tuple[int, list[object]], at: int, candidate: list[object]
) -> tuple[int, list[object]]:
    """The value of the later event; at equal times the greater encoding, as the script does."""
    if at > best[0] or _encode(candidate) > _encode(best[1]):
        return (at, candidate)
    return best


def _encode(value: list[object]) -> str:
    # Only this side ever encodes these values; the script compares the strings as they are,
    # so equal times are broken the same way everywhere.
    return stored.encode_array(value)


@dataclass
class _SegmentBuilder:
    config: ProfileConfig
    user_id: str = ""
    replaced: tuple[str, ...] = ()
    first: Position | None = None
    last: Position | None = None
    rows: _FragmentBuilder | None = None
    ids: list[bytes] = field(default_factory=list)

    def add(self, position: Position | None, row: EventRow, event: bytes) -> None:
        if self.rows is None:
            self.rows = _FragmentBuilder(self.config)
        self.rows.add(row)
        if event:
            self.ids.append(event)
        if position is not None:
            self.first = position if self.first is None else min(self.first, position)
            self.last = position if self.last is None else max(self.last, position)

    def build(self) -> Segment:
        assert self.rows is not None, "a segment holds at least one row"
        return Segment(
            self.first,
            self.last,
            self.user_id,
            self.replaced,
            self.rows.build(),
            b"".join(self.ids),
        )


@dataclass
class _DeltaBuilder:
    config: ProfileConfig
    visitor_id: str
    segments: list[_SegmentBuilder] = field(default_factory=list)
    user_id: str = ""
    linked: set[str] = field(default_factory=set)
    through: Position | None = None  # rows come in log order: the latest is the last
    duplicates: int = 0
    events: set[bytes] = field(default_factory=set)  # hashes of the rows added

    def skip(self, position: Position | None) -> None:
        """A copy of an event already counted: only its position counts."""
        self.duplicates += 1
        if position is not None:
            self.through = position

    def add(self, position: Position | None, row: EventRow, event: bytes) -> None:
        if position is not None:
            self.through = position
        user = row[_USER] or ""
        replaced = row[_REPLACED] or ""
        new_user = bool(user) and user != self.user_id
        new_link = bool(replaced) and replaced != self.visitor_id and replaced not in self.linked
        if new_user or new_link or not self.segments:
            segment = self.segments[-1] if self.segments else None
            if segment is None or segment.rows is not None:
                segment = _SegmentBuilder(self.config)
                self.segments.append(segment)
            if new_user:
                segment.user_id = self.user_id = user
            if new_link:
                segment.replaced += (replaced,)
                self.linked.add(replaced)
        self.segments[-1].add(position, row, event)


def event_hash(row: Row) -> bytes:
    """The row's event as ``seen:`` remembers it, or b"" for a row without an event id."""
    row = compact(row)
    event_id = row[_EVENT_ID]
    return stored.event_id_hash(event_id, int(row[_CREATED])) if event_id else b""


def aggregate(
    batch: Batch, config: ProfileConfig, known: Known | None = None
) -> list[VisitorDelta]:
    """One delta per (site, visitor, partition) of the batch, in order of first appearance.

    ``batch`` is in log order: a partition's records by increasing position. A position of
    ``None`` (a rebuild) means the delta carries no watermark. A row is left out (counted in
    ``duplicates``) when its event appeared earlier in the delta, or is in ``known`` for its
    site and visitor.
    """
    builders: dict[tuple[str, str, str], _DeltaBuilder] = {}
    for position, rows in batch:
        partition = position.partition if position is not None else ""
        for given in rows:
            row = compact(given)
            if not counts(row, config):
                continue
            site, visitor = row[_SITE], row[_VISITOR]
            key = (site, visitor, partition)
            builder = builders.get(key)
            if builder is None:
                builder = builders[key] = _DeltaBuilder(config, visitor)
            event = event_hash(row)
            if event:
                # A visitor's records stay in one partition; a copy in another one is left to
                # the script, which checks what the visitor id applied in any partition.
                if event in builder.events or (known and event in known.get((site, visitor), ())):
                    builder.skip(position)
                    continue
                builder.events.add(event)
            builder.add(position, row, event)
    return [
        VisitorDelta(
            site,
            visitor,
            partition,
            [s.build() for s in builder.segments],
            builder.through,
            builder.duplicates,
        )
        for (site, visitor, partition), builder in builders.items()
    ]
