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
from pipelines.warehouse.columns import EVENT_COLUMNS, Row, empty_value

_EMPTY_ROW: Row = {name: empty_value(kind) for name, kind in EVENT_COLUMNS.items()}

# Event fields copied unchanged (same name in the event and the row).
_COPIED = (
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
_COPIED_SET = frozenset(_COPIED)
# Every field this release's contract declares; an event field beyond them (from a newer
# schema) is kept in the context column, as the contract's policy says.
_DECLARED = frozenset(Event.model_fields)
# Event booleans stored as UInt8 (0 where the event does not say).
_FLAGS = ("viewable", "holdout")


@dataclass(frozen=True)
class EventFailure:
    """An event of a record that could not be turned into a row (it is dead-lettered alone;
    the record's other events are kept)."""

    index: int
    reason: str


@dataclass
class RecordRows:
    events: list[Row]
    links: list[Row]  # identity_links rows
    failures: list[EventFailure]


class RowBuilder:
    def __init__(
        self,
        geo: GeoLocator,
        devices: DeviceDetector,
        site_of: Callable[[str], Site | None],
        url_cache_size: int = 32768,
    ) -> None:
        self._geo = geo
        self._devices = devices
        self._site_of = site_of
        # Seconds spent per step, for the benchmark's µs/event (a few clock reads per event).
        # "url": the cached page/campaign/referrer lookup; "page", "campaign", "referrer": the
        # parsing done on its misses.
        self.seconds = dict.fromkeys(("geo", "device", "url", "page", "campaign", "referrer"), 0.0)
        # A page view's pings and clicks repeat its URL and referrer: parse each pair once.
        # Keyed by the Site object's id, and the value holds the Site, so a reloaded registry
        # (new objects) never meets a stale entry and an id cannot be reused while cached.
        self._url_facts = functools.lru_cache(maxsize=url_cache_size)(self._parse_url_facts)
        self._truncated_ip = functools.lru_cache(maxsize=url_cache_size)(self._truncate_ip)

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
        site = self._site_of(record.site_id)
        base = {**_EMPTY_ROW, **self._record_fields(record, site)}
        internal_hosts = site.internal_hosts if site else ()
        result = RecordRows([], [], [])
        for index, event in enumerate(record.events):
            try:
                row = self._event_row(event, base, record, site, internal_hosts)
            except (TypeError, ValueError, KeyError, AttributeError) as exc:
                result.failures.append(EventFailure(index, f"event {index}: {exc!r}"))
                continue
            result.events.append(row)
            result.links += _links(row)
        return result

    def _record_fields(self, record: LogRecord, site: Site | None) -> Row:
        clock = perf_counter
        started = clock()
        geo = self._geo.locate(record.ip)
        located = clock()
        device = self._devices.detect(record.user_agent)
        self.seconds["geo"] += located - started
        self.seconds["device"] += clock() - located
        return {
            "site_id": record.site_id,
            "visitor_id": record.visitor_id,
            "id_source": record.id_source,
            "replaced_visitor_id": record.replaced_visitor_id or "",
            "schema_version": record.schema,
            "received_ms": record.received_at,
            "sent_ms": record.sent_at or 0,
            "ip": self._truncated_ip(record.ip, id(site), site) if record.ip else "",
            "country": geo.country,
            "region": geo.region,
            "city": geo.city,
            "postal": geo.postal,
            "latitude": geo.latitude,
            "longitude": geo.longitude,
            "accuracy_km": geo.accuracy_km,
            "time_zone": geo.time_zone,
            "browser": device.browser,
            "browser_version": device.browser_version,
            "os": device.os,
            "os_version": device.os_version,
            "device_type": device.device_type,
            "device_brand": device.brand,
            "device_model": device.model,
            "is_bot": int(device.is_bot),
        }

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
    ) -> tuple[Page, Row]:
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
        columns = {
            "host": page.host,
            "path": page.path,
            "utm_source": campaign.source,
            "utm_medium": campaign.medium,
            "utm_campaign": campaign.name,
            "utm_term": campaign.term,
            "utm_content": campaign.content,
            "click_id": campaign.click_id,
            "click_id_kind": campaign.click_id_kind,
            "ref_medium": found.medium,
            "ref_source": found.source,
            "ref_term": found.term,
        }
        return page, columns

    def _event_row(
        self,
        event: dict[str, Any],
        base: Row,
        record: LogRecord,
        site: Site | None,
        internal_hosts: tuple[str, ...],
    ) -> Row:
        # The base row is the record's (empty columns and request facts); every list column
        # is assigned below, so the copy shares no list with another row.
        row = base.copy()
        copied = _COPIED_SET
        for name, value in event.items():
            if name in copied and value is not None:
                row[name] = value
        created = event["created_at"]
        if not isinstance(created, int) or not isinstance(row["event_id"], str):
            raise ValueError("created_at and event_id are required")
        row["created_ms"] = created
        for flag in _FLAGS:
            if event.get(flag) is True:
                row[flag] = 1
        row["derived_ms"] = derived_time(created, record.sent_at, record.received_at)
        started = perf_counter()
        page, url_columns = self._url_facts(
            event.get("url"), event.get("referrer"), id(site), site, internal_hosts
        )
        self.seconds["url"] += perf_counter() - started
        row.update(url_columns)
        if not row["sku"] and page.sku:
            row["sku"] = page.sku
        category = event.get("category")
        # Tuples, not lists: a row holding only atomic values and tuples of them is untracked
        # by the cyclic garbage collector after its first pass, which then stops rescanning
        # every row of every batch in flight (measured: a third of the worker's CPU).
        row["category"] = tuple(category) if category else page.category
        items = event.get("items")
        if items:
            row["item_skus"] = tuple(item["sku"] for item in items)
            row["item_names"] = tuple(item.get("name") or "" for item in items)
            row["item_prices"] = tuple(item.get("price") or 0 for item in items)
            row["item_quantities"] = tuple(item.get("quantity") or 1 for item in items)
            row["item_categories"] = tuple("/".join(item.get("category") or ()) for item in items)
        else:
            row["item_skus"] = row["item_names"] = row["item_prices"] = ()
            row["item_quantities"] = row["item_categories"] = ()
        name = event.get("name")
        if name:
            row["event_name"] = name
        properties = event.get("properties")
        if properties:
            row["properties"] = _json(properties)
        context = event.get("context")
        newer = event.keys() - _DECLARED
        if newer:
            # in the event's own order: the same event always gives the same text
            later = {field: value for field, value in event.items() if field in newer}
            context = {**(context or {}), **later}
        if context:
            row["context"] = _json(context)
        return row


def _links(row: Row) -> list[Row]:
    links = []
    if row["event_type"] == "identify" and row["user_id"]:
        links.append(_link(row, "user", row["user_id"]))
    if row["replaced_visitor_id"] and row["replaced_visitor_id"] != row["visitor_id"]:
        links.append(_link(row, "visitor", row["replaced_visitor_id"]))
    return links


def _link(row: Row, kind: str, linked_id: str) -> Row:
    return {
        "site_id": row["site_id"],
        "visitor_id": row["visitor_id"],
        "link_kind": kind,
        "linked_id": linked_id,
        "created_ms": row["created_ms"],
        "event_id": row["event_id"],
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
