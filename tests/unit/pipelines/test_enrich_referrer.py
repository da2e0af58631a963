"""classify_referrer: medium, source and search terms."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from pipelines.enrich import MEDIA, Referrer, classify_referrer, parse_campaign
from pipelines.enrich.referrer import CLICK_ID_SOURCES, _known_host, _table

PAGE = "shop.example.test"
INTERNAL = ("shop-checkout.example", "pay.example.net")


@pytest.mark.parametrize(
    ("referrer", "expected"),
    [
        (None, Referrer("direct", "", "")),
        ("", Referrer("direct", "", "")),
        ("   ", Referrer("direct", "", "")),
        # The site's own host family, or a host the site lists as its own.
        ("https://shop.example.test/c/shoes", Referrer("internal", "shop.example.test", "")),
        ("https://www.example.test/", Referrer("internal", "example.test", "")),
        ("http://SHOP.EXAMPLE.TEST./x", Referrer("internal", "shop.example.test", "")),
        ("https://shop-checkout.example/done", Referrer("internal", "shop-checkout.example", "")),
        ("https://www.shop-checkout.example/", Referrer("internal", "shop-checkout.example", "")),
        ("https://pay.example.net/", Referrer("internal", "pay.example.net", "")),
        # Search engines, with the terms where the referrer still has them.
        ("https://www.google.com/", Referrer("search", "Google", "")),
        ("https://www.google.co.uk/search?q=red+shoes", Referrer("search", "Google", "red shoes")),
        ("https://www.google.de/url?sa=t&q=&url=x", Referrer("search", "Google", "")),
        ("https://www.bing.com/search?q=caf%C3%A9%20%20au%20lait", Referrer("search", "Bing",
                                                                          "café au lait")),
        ("https://duckduckgo.com/", Referrer("search", "DuckDuckGo", "")),
        ("https://search.yahoo.com/search?p=boots", Referrer("search", "Yahoo!", "boots")),
        ("https://yandex.ru/search/?text=%D0%BE%D0%B1%D1%83%D0%B2%D1%8C",
         Referrer("search", "Yandex", "обувь")),
        ("https://www.baidu.com/s?wd=%E9%9E%8B", Referrer("search", "Baidu", "鞋")),
        ("https://www.ecosia.org/search?q=x", Referrer("search", "Ecosia", "x")),
        ("android-app://com.google.android.googlequicksearchbox/",
         Referrer("search", "Google", "")),
        # Social networks, their link shorteners and redirectors.
        ("https://l.facebook.com/l.php?u=https%3A%2F%2Fshop", Referrer("social", "Facebook", "")),
        ("https://m.facebook.com/", Referrer("social", "Facebook", "")),
        ("https://t.co/AbCdEf1234", Referrer("social", "X", "")),
        ("https://www.instagram.com/", Referrer("social", "Instagram", "")),
        ("https://www.pinterest.co.uk/pin/1", Referrer("social", "Pinterest", "")),
        ("https://old.reddit.com/r/shoes", Referrer("social", "Reddit", "")),
        ("https://www.youtube.com/watch?v=1", Referrer("social", "YouTube", "")),
        ("https://news.ycombinator.com/item?id=1", Referrer("social", "Hacker News", "")),
        # Webmail: the most specific entry wins (mail.google.com is not Google search).
        ("https://mail.google.com/mail/u/0/", Referrer("email", "Gmail", "")),
        ("https://outlook.live.com/mail/0/", Referrer("email", "Outlook.com", "")),
        ("https://mail.yahoo.co.jp/", Referrer("email", "Yahoo! Mail", "")),
        ("https://mail.yandex.ru/", Referrer("email", "Yandex Mail", "")),
        ("android-app://com.google.android.gm/", Referrer("email", "Gmail", "")),
        # Anything else: the host, readable.
        ("https://www.deal-hunters.example/abc", Referrer("other", "deal-hunters.example", "")),
        ("https://blog.homewithstyle.example/p?q=x", Referrer("other",
                                                              "blog.homewithstyle.example", "")),
        ("https://google.example/", Referrer("search", "Google", "")),  # google.* under any TLD
        ("https://notgoogle.com/", Referrer("other", "notgoogle.com", "")),
        ("https://google.com.evil.example/", Referrer("other", "google.com.evil.example", "")),
        ("https://www.example.co.uk/", Referrer("other", "example.co.uk", "")),
        ("https://münchen.example/straße", Referrer("other", "münchen.example", "")),
        ("http://81.2.69.142:8080/x", Referrer("other", "81.2.69.142", "")),
        ("http://[2a02:cf40::1]/", Referrer("other", "2a02:cf40::1", "")),
        # There is a referrer, but no host in it.
        ("not a url", Referrer("other", "", "")),
        ("http://[::1/", Referrer("other", "", "")),
        ("\x00\ud800", Referrer("other", "", "")),
    ],
)  # fmt: skip
def test_classifies(referrer: str | None, expected: Referrer):
    assert classify_referrer(referrer, PAGE, INTERNAL) == expected


def test_same_registrable_domain_only_under_the_public_suffix_list():
    # Two sites on a shared hosting suffix are not one family; two hosts of one company are.
    assert classify_referrer("https://a.github.io/", "b.github.io").medium == "other"
    assert classify_referrer("https://a.example.co.uk/", "b.example.co.uk").medium == "internal"
    assert classify_referrer("https://example.co.uk/", "other.co.uk").medium == "other"
    assert classify_referrer("http://localhost:3000/", "localhost").medium == "internal"
    assert classify_referrer("https://x.test/", "").medium == "other"  # no page host


@pytest.mark.parametrize(
    ("url", "referrer", "expected"),
    [
        ("?utm_source=google&utm_medium=cpc&gclid=x", "https://www.google.com/",
         Referrer("paid", "Google", "")),
        ("?gclid=x", None, Referrer("paid", "Google", "")),
        ("?msclkid=x", "https://www.bing.com/search?q=boots", Referrer("paid", "Bing", "boots")),
        ("?utm_source=google&utm_medium=cpc&utm_term=red+boots", "https://www.google.com/",
         Referrer("paid", "Google", "red boots")),
        ("?utm_source=facebook&utm_medium=paid_social&fbclid=x", "https://l.facebook.com/",
         Referrer("paid", "Facebook", "")),
        ("?utm_source=partner&utm_medium=PPC", None, Referrer("paid", "partner", "")),
        ("?utm_medium=paidsearch", "https://duckduckgo.com/", Referrer("paid", "DuckDuckGo", "")),
        # fbclid alone is organic: Facebook adds it to every outbound link.
        ("?fbclid=x", "https://l.facebook.com/", Referrer("social", "Facebook", "")),
        ("?utm_source=newsletter&utm_medium=email&utm_campaign=w", None,
         Referrer("email", "newsletter", "")),
        ("?utm_medium=email", "https://mail.google.com/", Referrer("email", "Gmail", "")),
        ("?utm_source=fb&utm_medium=social", "https://l.facebook.com/",
         Referrer("social", "Facebook", "")),
        ("?utm_source=fb&utm_medium=social", None, Referrer("social", "fb", "")),
        # Tagged with a medium we do not map: the referrer decides, or "other" without one.
        ("?utm_source=partner&utm_medium=affiliate", None, Referrer("other", "partner", "")),
        ("?utm_source=partner&utm_medium=affiliate", "https://www.partner.example/",
         Referrer("other", "partner.example", "")),
        ("?utm_campaign=spring", None, Referrer("direct", "", "")),
        # A campaign beats an internal referrer (an ad landing reloaded).
        ("?utm_medium=cpc&utm_source=google", "https://shop.example.test/",
         Referrer("paid", "google", "")),
    ],
)  # fmt: skip
def test_campaign_parameters_come_first(url: str, referrer: str | None, expected: Referrer):
    campaign = parse_campaign(f"https://{PAGE}/landing{url}")
    assert classify_referrer(referrer, PAGE, (), campaign) == expected


def test_every_answer_has_a_known_medium():
    for referrer in ("", "https://www.google.com/", "x", "https://shop.example.test/"):
        assert classify_referrer(referrer, PAGE).medium in MEDIA


def test_the_packaged_list_is_consistent():
    data = json.loads(
        (resources.files("pipelines.enrich") / "data" / "referrers.json").read_text("utf-8")
    )
    assert set(data) == {"about", "search", "social", "email"}
    for medium in ("search", "social", "email"):
        for source, entry in data[medium].items():
            assert entry["hosts"], source
            assert bool(entry.get("params")) == (medium == "search"), source
            for host in entry["hosts"]:
                assert host == host.lower().strip() and "/" not in host, host
                assert _known_host(host.replace("*", "com")).source == source, host
    exact, wildcard = _table()
    assert len(exact) + len(wildcard) == sum(
        len(entry["hosts"]) for medium in ("search", "social", "email")
        for entry in data[medium].values()
    )  # fmt: skip
    # Every ad platform a click id names is a source the list knows.
    sources = {known.source for known in (*exact.values(), *wildcard.values())}
    assert set(CLICK_ID_SOURCES.values()) <= sources
