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

from clicktrail.contract.record import LogRecord
from clicktrail.contract.timing import derived_time
from clicktrail.sites.model import Site
from pipelines.enrich import (
    Campaign,
    DeviceDetector,
    GeoLocator,
    Page,
    Referrer,
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
)


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
        shared = self._record_fields(record, site)
        internal_hosts = site.internal_hosts if site else ()
        result = RecordRows([], [], [])
        for index, event in enumerate(record.events):
            try:
                row = self._event_row(event, shared, record, site, internal_hosts)
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
            "ip": (site.truncate_ip(record.ip) if site else _fallback_truncate(record.ip))
            if record.ip
            else "",
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

    def _parse_url_facts(
        self,
        url: str | None,
        referrer: str | None,
        site_key: int,
        site: Site | None,
        internal_hosts: tuple[str, ...],
    ) -> tuple[Site | None, Page, Campaign, Referrer]:
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
        return site, page, campaign, found

    def _event_row(
        self,
        event: dict[str, Any],
        shared: Row,
        record: LogRecord,
        site: Site | None,
        internal_hosts: tuple[str, ...],
    ) -> Row:
        row = {**_EMPTY_ROW, **shared}
        for name in _COPIED:
            value = event.get(name)
            if value is not None:
                row[name] = value
        created = event["created_at"]
        if not isinstance(created, int) or not isinstance(row["event_id"], str):
            raise ValueError("created_at and event_id are required")
        row["created_ms"] = created
        row["derived_ms"] = derived_time(created, record.sent_at, record.received_at)
        started = perf_counter()
        _, page, campaign, referrer = self._url_facts(
            event.get("url"), event.get("referrer"), id(site), site, internal_hosts
        )
        self.seconds["url"] += perf_counter() - started
        row["host"], row["path"] = page.host, page.path
        if not row["sku"] and page.sku:
            row["sku"] = page.sku
        category = event.get("category")
        row["category"] = list(category) if category else list(page.category)
        row["utm_source"] = campaign.source
        row["utm_medium"] = campaign.medium
        row["utm_campaign"] = campaign.name
        row["utm_term"] = campaign.term
        row["utm_content"] = campaign.content
        row["click_id"] = campaign.click_id
        row["click_id_kind"] = campaign.click_id_kind
        row["ref_medium"], row["ref_source"], row["ref_term"] = (
            referrer.medium,
            referrer.source,
            referrer.term,
        )
        items = event.get("items") or ()
        row["item_skus"] = [item["sku"] for item in items]
        row["item_names"] = [item.get("name") or "" for item in items]
        row["item_prices"] = [item.get("price") or 0 for item in items]
        row["item_quantities"] = [item.get("quantity") or 1 for item in items]
        row["event_name"] = event.get("name") or ""
        row["properties"] = _json(event.get("properties"))
        row["context"] = _json(event.get("context"))
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
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _fallback_truncate(ip: str) -> str:
    # A record of a site removed from the registry since: truncate with the default policy.
    return Site("_").truncate_ip(ip)
