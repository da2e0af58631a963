"""From a log record to warehouse rows: the enrichment chain for one record, pure apart from
the enrichers' caches.

One record holds one visitor's events from one request, with the request's IP and user agent,
so geolocation and device detection run once per record, not per event. The raw IP is used for
geolocation and then truncated per site before it is stored.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from time import perf_counter
from typing import Any

import orjson

from clicktrail.contract.event import Event
from clicktrail.contract.record import LogRecord
from clicktrail.contract.timing import derived_time
from clicktrail.sites.model import Site
from pipelines.enrich import (
    DeviceDetector,
    GeoLocator,
    Page,
    classify_referrer,
    page_fields,
    parse_campaign,
)
from pipelines.enrich.cache import stats_of
from pipelines.warehouse.columns import COLUMN, EMPTY_ROW, EventRow, Row, row_dict

# Event fields copied unchanged (same name in the event and the row), with their column.
_COPIED = {
    name: COLUMN[name]
    for name in (
        "event_id",
        "event_type",
        "user_id",
        "session_id",
        "session_index",
        "page_view_id",
        "url",
        "title",
        "referrer",
        "screen",
        "viewport",
        "language",
        "engaged_ms",
        "consent",
        "sku",
        "product_name",
        "price",
        "currency",
        "quantity",
        "order_id",
        "total",
        "tax",
        "shipping",
        "target_url",
        "label",
        "banner_id",
        "campaign_id",
        "placement",
        "decision_id",
        "creative_id",
    )
}
# Every field this release's contract declares; an event field beyond them (from a newer
# schema) is kept in the context column, as the contract's policy says.
_DECLARED = frozenset(Event.model_fields)
# Event booleans stored as UInt8 (0 where the event does not say).
_FLAGS = tuple((name, COLUMN[name]) for name in ("viewable", "holdout"))


def _runs(names: tuple[str, ...]) -> tuple[slice, ...]:
    """The columns of ``names`` (in this order) as runs of adjacent columns, so a row takes
    their values with a slice assignment each."""
    runs: list[slice] = []
    for name in names:
        index = COLUMN[name]
        if runs and runs[-1].stop == index:
            runs[-1] = slice(runs[-1].start, index + 1)
        else:
            runs.append(slice(index, index + 1))
    return tuple(runs)


def _cut(values: tuple[Any, ...], runs: tuple[slice, ...]) -> tuple[tuple[Any, ...], ...]:
    """``values`` (one per column of ``runs``, in order) cut into one tuple per run."""
    pieces = []
    at = 0
    for run in runs:
        width = run.stop - run.start
        pieces.append(values[at : at + width])
        at += width
    return tuple(pieces)


# What the record gives every event of it, and what a page's URL and referrer give.
_RECORD_COLUMNS = (
    "site_id",
    "visitor_id",
    "schema_version",
    "id_source",
    "replaced_visitor_id",
    "sent_ms",
    "received_ms",
    "ip",
    "country",
    "region",
    "city",
    "postal",
    "latitude",
    "longitude",
    "accuracy_km",
    "time_zone",
    "browser",
    "browser_version",
    "os",
    "os_version",
    "device_type",
    "device_brand",
    "device_model",
    "is_bot",
)
_URL_COLUMNS = (
    "host",
    "path",
    "ref_medium",
    "ref_source",
    "ref_term",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "click_id",
    "click_id_kind",
)
_RECORD_RUNS = _runs(_RECORD_COLUMNS)
_URL_RUNS = _runs(_URL_COLUMNS)
_CREATED = COLUMN["created_ms"]
_DERIVED = COLUMN["derived_ms"]
_EVENT_ID = COLUMN["event_id"]
_SKU = COLUMN["sku"]
_CATEGORY = COLUMN["category"]
_ITEMS = slice(COLUMN["item_skus"], COLUMN["item_categories"] + 1)
_EVENT_NAME = COLUMN["event_name"]
_PROPERTIES = COLUMN["properties"]
_CONTEXT = COLUMN["context"]
_NO_ITEMS = ((), (), (), (), ())
assert _ITEMS.stop - _ITEMS.start == len(_NO_ITEMS), "the item columns must be adjacent"


@dataclass(frozen=True)
class EventFailure:
    """An event of a record that could not be turned into a row (it is dead-lettered alone;
    the record's other events are kept)."""

    index: int
    reason: str


@dataclass
class CompactRows:
    events: list[EventRow]  # compact rows: values in column order (pipelines.warehouse.columns)
    links: list[Row]  # identity_links rows
    failures: list[EventFailure]


@dataclass
class RecordRows:
    events: list[Row]  # rows keyed by column name
    links: list[Row]  # identity_links rows
    failures: list[EventFailure]


class RowBuilder:
    def __init__(
        self,
        geo: GeoLocator,
        devices: DeviceDetector,
        site_of: Callable[[str], Site | None],
        url_cache_size: int = 8192,
        ip_cache_size: int = 32768,
    ) -> None:
        self._geo = geo
        self._devices = devices
        self._site_of = site_of
        # Seconds spent per step, for the benchmark's µs/event (a few clock reads per event).
        # "url": the cached page/campaign/referrer lookup; "page", "campaign", "referrer": the
        # parsing done on its misses.
        self.seconds = dict.fromkeys(("geo", "device", "url", "page", "campaign", "referrer"), 0.0)
        # A page view's pings and clicks repeat its URL and referrer, close together: parse
        # each pair once. Keyed by the Site object's id, and the value holds the Site, so a
        # reloaded registry (new objects) never meets a stale entry and an id cannot be reused
        # while cached. Measured on the benchmark's 500,000 events: 8,192 entries hit 75.5 %,
        # 32,768 hit 79.9 % for 25 MB more (an entry keeps its URL and referrer strings). The
        # 4.4 % more misses cost about 0.7 µs an event at the first machine's ~16 µs a parse
        # (3.4 µs on the loaded 2-core machine of docs/benchmarks.md): memory was the target.
        self._url_facts = functools.lru_cache(maxsize=url_cache_size)(self._parse_url_facts)
        self._truncated_ip = functools.lru_cache(maxsize=ip_cache_size)(self._truncate_ip)

    def cache_stats(self) -> dict[str, dict[str, float]]:
        stats = {
            "geo": self._geo.cache_stats(),
            "device": self._devices.cache_stats(),
            "url": stats_of(self._url_facts),
        }
        return {
            name: {"hits": s.hits, "misses": s.misses, "size": s.size, "hit_rate": s.hit_rate}
            for name, s in stats.items()
        }

    def build(self, record: LogRecord) -> RecordRows:
        """The record's rows keyed by column name (tools, tests)."""
        built = self.build_compact(record)
        return RecordRows(list(map(row_dict, built.events)), built.links, built.failures)

    def build_compact(self, record: LogRecord) -> CompactRows:
        """The record's rows as the worker holds them: a tuple of values in column order each
        (``pipelines.warehouse.columns``), less than half the memory of a dict."""
        site = self._site_of(record.site_id)
        base = list(EMPTY_ROW)
        for run, values in zip(_RECORD_RUNS, self._record_values(record, site), strict=True):
            base[run] = values
        internal_hosts = site.internal_hosts if site else ()
        result = CompactRows([], [], [])
        for index, event in enumerate(record.events):
            try:
                row = self._event_row(event, base, record, site, internal_hosts)
            except (TypeError, ValueError, KeyError, AttributeError) as exc:
                result.failures.append(EventFailure(index, f"event {index}: {exc!r}"))
                continue
            result.events.append(row)
            result.links += _links(row)
        return result

    def _record_values(self, record: LogRecord, site: Site | None) -> tuple[tuple[Any, ...], ...]:
        clock = perf_counter
        started = clock()
        geo = self._geo.locate(record.ip)
        located = clock()
        device = self._devices.detect(record.user_agent)
        self.seconds["geo"] += located - started
        self.seconds["device"] += clock() - located
        values = (
            record.site_id,
            record.visitor_id,
            record.schema,
            record.id_source,
            record.replaced_visitor_id or "",
            record.sent_at or 0,
            record.received_at,
            self._truncated_ip(record.ip, id(site), site) if record.ip else "",
            geo.country,
            geo.region,
            geo.city,
            geo.postal,
            geo.latitude,
            geo.longitude,
            geo.accuracy_km,
            geo.time_zone,
            device.browser,
            device.browser_version,
            device.os,
            device.os_version,
            device.device_type,
            device.brand,
            device.model,
            int(device.is_bot),
        )
        return _cut(values, _RECORD_RUNS)

    @staticmethod
    def _truncate_ip(ip: str, site_key: int, site: Site | None) -> str:
        return site.truncate_ip(ip) if site else _fallback_truncate(ip)

    def _parse_url_facts(
        self,
        url: str | None,
        referrer: str | None,
        site_key: int,
        site: Site | None,
        internal_hosts: tuple[str, ...],
    ) -> tuple[Page, tuple[tuple[Any, ...], ...]]:
        clock = perf_counter
        started = clock()
        page = page_fields(url, site)
        paged = clock()
        campaign = parse_campaign(url)
        campaigned = clock()
        found = classify_referrer(referrer, page.host, internal_hosts, campaign)
        seconds = self.seconds
        seconds["page"] += paged - started
        seconds["campaign"] += campaigned - paged
        seconds["referrer"] += clock() - campaigned
        values = (
            page.host,
            page.path,
            found.medium,
            found.source,
            found.term,
            campaign.source,
            campaign.medium,
            campaign.name,
            campaign.term,
            campaign.content,
            campaign.click_id,
            campaign.click_id_kind,
        )
        # Kept cut into runs of adjacent columns: a row takes each with one slice assignment.
        return page, _cut(values, _URL_RUNS)

    def _event_row(
        self,
        event: dict[str, Any],
        base: list[Any],
        record: LogRecord,
        site: Site | None,
        internal_hosts: tuple[str, ...],
    ) -> EventRow:
        # The base row is the record's (empty columns and request facts), as a list to fill;
        # the row is its tuple.
        row = base.copy()
        copied = _COPIED
        for name, value in event.items():
            if value is not None:
                column = copied.get(name)
                if column is not None:
                    row[column] = value
        created = event["created_at"]
        if not isinstance(created, int) or not isinstance(row[_EVENT_ID], str):
            raise ValueError("created_at and event_id are required")
        row[_CREATED] = created
        for flag, column in _FLAGS:
            if event.get(flag) is True:
                row[column] = 1
        row[_DERIVED] = derived_time(created, record.sent_at, record.received_at)
        started = perf_counter()
        page, url_values = self._url_facts(
            event.get("url"), event.get("referrer"), id(site), site, internal_hosts
        )
        self.seconds["url"] += perf_counter() - started
        for run, values in zip(_URL_RUNS, url_values, strict=True):
            row[run] = values
        if not row[_SKU] and page.sku:
            row[_SKU] = page.sku
        category = event.get("category")
        # Tuples, not lists: a row holding only atomic values and tuples of them is untracked
        # by the cyclic garbage collector after its first pass, which then stops rescanning
        # every row of every batch in flight (measured: a third of the worker's CPU).
        row[_CATEGORY] = tuple(category) if category else page.category
        items = event.get("items")
        if items:
            row[_ITEMS] = (
                tuple(item["sku"] for item in items),
                tuple(item.get("name") or "" for item in items),
                tuple(item.get("price") or 0 for item in items),
                tuple(item.get("quantity") or 1 for item in items),
                tuple("/".join(item.get("category") or ()) for item in items),
            )
        else:
            row[_ITEMS] = _NO_ITEMS
        event_name = event.get("name")
        if event_name:
            row[_EVENT_NAME] = event_name
        properties = event.get("properties")
        if properties:
            row[_PROPERTIES] = _json(properties)
        context = event.get("context")
        newer = event.keys() - _DECLARED
        if newer:
            # in the event's own order: the same event always gives the same text
            later = {field: value for field, value in event.items() if field in newer}
            context = {**(context or {}), **later}
        if context:
            row[_CONTEXT] = _json(context)
        return tuple(row)


_VISITOR = COLUMN["visitor_id"]
_SITE = COLUMN["site_id"]
_TYPE = COLUMN["event_type"]
_USER = COLUMN["user_id"]
_REPLACED = COLUMN["replaced_visitor_id"]


def _links(row: EventRow) -> list[Row]:
    links = []
    if row[_TYPE] == "identify" and row[_USER]:
        links.append(_link(row, "user", row[_USER]))
    if row[_REPLACED] and row[_REPLACED] != row[_VISITOR]:
        links.append(_link(row, "visitor", row[_REPLACED]))
    return links


def _link(row: EventRow, kind: str, linked_id: str) -> Row:
    return {
        "site_id": row[_SITE],
        "visitor_id": row[_VISITOR],
        "link_kind": kind,
        "linked_id": linked_id,
        "created_ms": row[_CREATED],
        "event_id": row[_EVENT_ID],
    }


def _json(value: Any) -> str:
    if not value:
        return ""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # lone surrogates, which orjson refuses: the standard encoder escapes them
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _fallback_truncate(ip: str) -> str:
    # A record of a site removed from the registry since: truncate with the default policy.
    return Site("_").truncate_ip(ip)
