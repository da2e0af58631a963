"""Enrichment's pure parts on any input: user agents, referrers, page URLs and addresses give a
result (empty fields when nothing is recognised), never an exception; the same input always
gives the same result."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clicktrail.sites.model import Site, UrlRule
from pipelines.enrich import (
    DEVICE_TYPES,
    MEDIA,
    DeviceDetector,
    GeoLocator,
    classify_referrer,
    page_fields,
    parse_campaign,
)
from tests.unit.properties.strategies import ANY_TEXT

HOSTS = st.sampled_from(
    ["www.google.com", "google.co.uk", "t.co", "shop.example.test", "[::1]", "127.0.0.1", "co.uk"]
) | st.text(max_size=20)
QUERIES = st.lists(
    st.tuples(
        st.sampled_from(["utm_source", "UTM_Medium", "utm_campaign", "gclid", "q", "fbclid"])
        | st.text(max_size=6),
        ANY_TEXT,
    ),
    max_size=4,
).map(lambda pairs: "&".join(f"{key}={value}" for key, value in pairs))
URLS = (
    st.builds(
        lambda scheme, host, port, path, query: f"{scheme}://{host}{port}{path}?{query}",
        st.sampled_from(["http", "https", "ftp", "", "javascript"]),
        HOSTS,
        st.sampled_from(["", ":8080", ":99999", ":x", ":"]),
        st.sampled_from(["", "/", "/p/sku-1", "/c/shoes/running/", "/c/%E2%82%AC/%ZZ", "/item/12"])
        | ANY_TEXT,
        QUERIES,
    )
    | ANY_TEXT
    | st.none()
)
SITE = Site(
    "shop",
    url_rules=(
        UrlRule("product", r"^/p/(?P<sku>[^/]+)"),
        UrlRule("category", r"^/c/(?P<category>[^?]+)"),
        UrlRule("product", r"^/item/(?P<sku>\d+)"),
    ),
    internal_hosts=("checkout.example.test",),
)
DETECTOR = DeviceDetector(cache_size=64)
AGENTS = (
    st.sampled_from(
        [
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0.0.0 Safari/537.36",
            "Googlebot/2.1 (+http://www.google.com/bot.html)",
        ]
    ).flatmap(
        lambda agent: st.builds(lambda cut, tail: agent[:cut] + tail, st.integers(0, 90), ANY_TEXT)
    )
    | ANY_TEXT
    | st.text(min_size=500, max_size=3000)
    | st.none()
)


@given(URLS)
def test_any_url_has_a_campaign_or_none(url):
    campaign = parse_campaign(url)
    assert campaign == parse_campaign(url)
    assert all(len(value) <= 256 for value in (campaign.source, campaign.medium, campaign.name))


@given(URLS, HOSTS, st.booleans())
def test_any_referrer_is_classified(referrer, page_host, with_campaign):
    campaign = parse_campaign(referrer) if with_campaign else None
    found = classify_referrer(referrer, page_host, SITE.internal_hosts, campaign)
    assert found.medium in MEDIA
    assert found == classify_referrer(referrer, page_host, SITE.internal_hosts, campaign)


@given(URLS, st.sampled_from([SITE, None, Site("bare")]))
def test_any_page_url_has_page_fields(url, site):
    page = page_fields(url, site)
    assert page == page_fields(url, site)
    assert len(page.category) <= 8


@given(AGENTS)
def test_any_user_agent_has_a_device(agent):
    device = DETECTOR.detect(agent)
    assert device.device_type in DEVICE_TYPES
    assert device.is_bot == (device.device_type == "bot")
    assert DETECTOR.detect(agent) == device


@pytest.fixture(scope="module")
def locator(shared_small_geoip_db):
    with GeoLocator(shared_small_geoip_db, cache_size=64) as opened:
        yield opened


@given(st.ip_addresses().map(str) | ANY_TEXT | HOSTS | st.none())
def test_any_address_is_located_or_unknown(locator, address):
    geo = locator.locate(address)
    assert geo == locator.locate(address)
    assert isinstance(geo.country, str)
