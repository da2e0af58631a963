"""parse_campaign: utm parameters and click ids of a landing URL."""

from __future__ import annotations

import pytest

from pipelines.enrich import NO_CAMPAIGN, Campaign, parse_campaign

SHOP = "https://shop.example.test/p/SKU-1"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"{SHOP}?utm_source=google&utm_medium=cpc&utm_campaign=shoes-promo&utm_term=red+shoes"
         "&utm_content=ad-2&gclid=Cj0KCQ",
         Campaign("google", "cpc", "shoes-promo", "red shoes", "ad-2", "Cj0KCQ", "gclid")),
        (f"{SHOP}?utm_source=newsletter&utm_medium=email&utm_campaign=winter-sale",
         Campaign("newsletter", "email", "winter-sale", "", "", "", "")),
        (f"{SHOP}?fbclid=IwAR3x", Campaign("", "", "", "", "", "IwAR3x", "fbclid")),
        (f"{SHOP}?msclkid=abc123", Campaign("", "", "", "", "", "abc123", "msclkid")),
        (f"{SHOP}?ttclid=t1&gclid=g1", Campaign("", "", "", "", "", "t1", "ttclid")),  # first wins
        (f"{SHOP}?li_fat_id=l1", Campaign("", "", "", "", "", "l1", "li_fat_id")),
        (f"{SHOP}?dclid=d1", Campaign("", "", "", "", "", "d1", "dclid")),
        # Names in any case, values percent-decoded and trimmed, the first occurrence wins.
        (f"{SHOP}?UTM_Source=Google%20Ads&utm_source=other&Utm_Medium=%20CPC%20",
         Campaign("Google Ads", "CPC", "", "", "", "", "")),
        (f"{SHOP}?utm_campaign=%E2%98%83+f%C3%BCr+alle",
         Campaign("", "", "☃ für alle", "", "", "", "")),
        # Empty values are absent values.
        (f"{SHOP}?utm_source=&gclid=&utm_medium=social",
         Campaign("", "social", "", "", "", "", "")),
        (f"{SHOP}?utm_source=x#utm_medium=email", Campaign("x", "", "", "", "", "", "")),
        (f"{SHOP}?utm_source=" + "a" * 1000, Campaign("a" * 256, "", "", "", "", "", "")),
    ],
)  # fmt: skip
def test_parses(url: str, expected: Campaign):
    assert parse_campaign(url) == expected


@pytest.mark.parametrize(
    "url",
    [None, "", SHOP, f"{SHOP}?", f"{SHOP}?q=shoes&page=2", f"{SHOP}#utm_source=x",
     "http://[::1?utm_source=x", "?utm_medium", "%%%?%%%=%%%", "\x00?\x00"],
)  # fmt: skip
def test_no_campaign(url: str | None):
    assert parse_campaign(url) == NO_CAMPAIGN


def test_only_the_query_needs_to_be_readable():
    # A bad port or odd characters elsewhere do not hide the parameters.
    assert parse_campaign("https://shop.example.test:99999/?utm_source=x").source == "x"
    assert parse_campaign("\ud800?utm_source=\u2603").source == "\u2603"
