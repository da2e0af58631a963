"""page_fields: host, path, and SKU/category from the site's URL rules."""

from __future__ import annotations

import pytest

from clicktrail.sites.model import Site, UrlRule
from pipelines.enrich import NO_PAGE, Page, page_fields

SHOP = Site(
    "shop",
    url_rules=(
        UrlRule("product", r"^/p/(?P<sku>[^/]+)"),
        UrlRule("category", r"^/c/(?P<category>[^?]+)"),
        UrlRule("product", r"^/item/(?P<sku>\d+)"),
        UrlRule("category", r"^/shop/(?P<category>[^/]+)/"),
    ),
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://shop.example.test/", Page("shop.example.test", "/", "", ())),
        ("https://shop.example.test", Page("shop.example.test", "/", "", ())),
        ("https://Shop.Example.TEST:8443/p/SKU-1/reviews?utm_source=x#top",
         Page("shop.example.test", "/p/SKU-1/reviews", "SKU-1", ())),
        ("https://shop.example.test/item/42", Page("shop.example.test", "/item/42", "42", ())),
        ("https://shop.example.test/c/shoes/running/",
         Page("shop.example.test", "/c/shoes/running/", "", ("shoes", "running"))),
        ("https://shop.example.test/c/men%27s%20shoes//trail%2Frunning",
         Page("shop.example.test", "/c/men%27s%20shoes//trail%2Frunning", "",
              ("men's shoes", "trail/running"))),
        ("https://shop.example.test/shop/garden/tools",
         Page("shop.example.test", "/shop/garden/tools", "", ("garden",))),
        ("https://shop.example.test/p/%E2%98%83", Page("shop.example.test", "/p/%E2%98%83", "☃",
                                                       ())),
        ("https://shop.example.test/c/" + "/".join("abcdefghij"),
         Page("shop.example.test", "/c/" + "/".join("abcdefghij"), "", tuple("abcdefgh"))),
        ("https://shop.example.test/p/" + "x" * 300,
         Page("shop.example.test", "/p/" + "x" * 300, "x" * 128, ())),
        ("https://shop.example.test/about/p/1", Page("shop.example.test", "/about/p/1", "", ())),
        ("https://bücher.example/c/Bücher", Page("bücher.example", "/c/Bücher", "", ("Bücher",))),
        ("http://[2a02:cf40::1]:8080/p/A", Page("2a02:cf40::1", "/p/A", "A", ())),
        ("/p/relative", Page("", "/p/relative", "relative", ())),
    ],
)  # fmt: skip
def test_page_fields(url: str, expected: Page):
    assert page_fields(url, SHOP) == expected


@pytest.mark.parametrize("url", [None, "", "http://[::1/p/1", "https://[bad/"])
def test_unreadable_urls_give_no_page(url: str | None):
    assert page_fields(url, SHOP) == NO_PAGE


def test_without_a_site_or_rules_only_host_and_path():
    expected = Page("shop.example.test", "/p/SKU-1", "", ())
    assert page_fields("https://shop.example.test/p/SKU-1?x=1", None) == expected
    assert page_fields("https://shop.example.test/p/SKU-1", Site("shop")) == expected


def test_the_first_matching_rule_of_each_kind_wins():
    site = Site(
        "s",
        url_rules=(
            UrlRule("product", r"/(?P<sku>A\d+)"),
            UrlRule("product", r"/(?P<sku>\d+)"),
            UrlRule("category", r"^/(?P<category>[a-z]+)/"),
        ),
    )
    assert page_fields("https://s.example/kids/A12/34", site) == Page(
        "s.example", "/kids/A12/34", "A12", ("kids",)
    )
