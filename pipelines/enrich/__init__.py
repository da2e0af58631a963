"""Enrichment: pure steps that turn an event's raw fields into what reports and profiles read.

Each step is a function or a small class with an LRU cache, does no I/O after it is built and
never raises for bad input (docs/enrichment.md):

- ``GeoLocator.locate(ip) -> Geo``: country, region, city, postal code, coordinates, time zone
- ``DeviceDetector.detect(user_agent) -> Device``: browser, OS, device type, bot flag
- ``parse_campaign(url) -> Campaign``: ``utm_*`` parameters and ad click ids
- ``classify_referrer(referrer, page_host, internal_hosts, campaign) -> Referrer``
- ``page_fields(url, site) -> Page``: host, path, and SKU/category from the site's URL rules
"""

from pipelines.enrich.cache import CacheStats
from pipelines.enrich.campaign import NO_CAMPAIGN, Campaign, parse_campaign
from pipelines.enrich.device import DEVICE_TYPES, Device, DeviceDetector
from pipelines.enrich.geo import NO_GEO, Geo, GeoLocator
from pipelines.enrich.page import NO_PAGE, Page, page_fields
from pipelines.enrich.referrer import MEDIA, Referrer, classify_referrer

__all__ = [
    "DEVICE_TYPES",
    "MEDIA",
    "NO_CAMPAIGN",
    "NO_GEO",
    "NO_PAGE",
    "CacheStats",
    "Campaign",
    "Device",
    "DeviceDetector",
    "Geo",
    "GeoLocator",
    "Page",
    "Referrer",
    "classify_referrer",
    "page_fields",
    "parse_campaign",
]
