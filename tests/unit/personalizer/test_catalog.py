from __future__ import annotations

import json

import pytest

from personalizer.catalog import Catalog, parse_feed

CSV = """sku,title,category,price,currency,image_url,url,available,regions
S1,Trail shoe,Shoes/Trail,8999,EUR,https://cdn.example.test/s1.png,https://shop.example.test/s1,true,"DE,AT"
S2,Road shoe,Shoes / Road ,7999,EUR,,https://shop.example.test/s2,out of stock,
B1,Novel,Books,1299,EUR,,javascript:alert(1),true,
B2,Atlas,Books,abc,EUR,,https://shop.example.test/b2,true,
S1,Duplicate,Shoes,1,EUR,,https://shop.example.test/s1b,true,
B3,Guide,Books,999,EUR,,https://shop.example.test/b3,maybe,
B4,Map,Books,999,EUR,,https://shop.example.test/b4,true,DEU
"""


def test_csv_feed_keeps_good_rows_and_says_why_for_the_rest():
    result = parse_feed(CSV, "csv")
    assert [p.sku for p in result.products] == ["S1", "S2"]
    assert result.products[1].category == "Shoes/Road"
    assert result.products[1].available is False
    assert result.products[0].regions == {"DE", "AT"}
    reasons = {(r.line, r.sku): r.reason for r in result.rejected}
    assert "url: must be an absolute http(s) URL" in reasons[(4, "B1")]
    assert "price: whole minor units" in reasons[(5, "B2")]
    assert "listed twice" in reasons[(6, "S1")]
    assert "available: must be true or false" in reasons[(7, "B3")]
    assert "not ISO country codes: DEU" in reasons[(8, "B4")]


def test_json_feed():
    rows = [
        {"sku": "A", "title": "A", "url": "https://shop.example.test/a", "price": 100},
        {"sku": "", "title": "no sku", "url": "https://shop.example.test/x"},
        "not an object",
    ]
    result = parse_feed(json.dumps({"products": rows}), "json")
    assert [p.sku for p in result.products] == ["A"]
    assert [r.line for r in result.rejected] == [2, 3]


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        ("sku,title\nA,B\n", "csv", "lacks url"),
        ("{", "json", "not JSON"),
        ('{"items": []}', "json", "a JSON feed is a list"),
        ("", "xml", "csv or json"),
    ],
)
def test_unreadable_feeds(text, kind, message):
    with pytest.raises(ValueError, match=message):
        parse_feed(text, kind)


def test_catalog_lists_products_under_every_level_of_their_category():
    catalog = Catalog(parse_feed(CSV, "csv").products)
    assert catalog.in_category("Shoes") == ["S1", "S2"]
    assert catalog.in_category("Shoes/Trail") == ["S1"]
    assert catalog.get("S1").sold_in("at") and not catalog.get("S1").sold_in("FR")
    assert catalog.get("S2").sold_in("FR")
