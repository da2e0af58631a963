"""The snippet where the browser lacks something: no fetch, no sendBeacon, cookies blocked,
localStorage missing or throwing; and engaged time counted only while the page is visible.
Features are removed by init scripts in the test pages (run before any page script), never in
the bundle; time is Playwright's clock, visibility the driver's override of
``document.visibilityState``."""

from __future__ import annotations

import time

import pytest

from bench.harness.browser import COLLECTOR, origin

pytestmark = [pytest.mark.redis, pytest.mark.browser, pytest.mark.slow]

SHOP = origin("shop.example.test")

NO_FETCH = "delete window.fetch"
NO_BEACON = "delete Navigator.prototype.sendBeacon"
# What blocked cookies look like to a page: reads give nothing and writes are dropped.
NO_COOKIES = (
    "Object.defineProperty(Document.prototype,'cookie',{get:()=>'',set:()=>{},configurable:true})"
)
STORAGE = {
    "missing": "Object.defineProperty(window,'localStorage',{value:undefined,configurable:true})",
    # Blocked site data (and sandboxed frames): every access throws.
    "throws": (
        "Object.defineProperty(window,'localStorage',{configurable:true,"
        "get(){throw new DOMException('The operation is insecure.','SecurityError')}})"
    ),
    # A full quota: reads work, every write throws.
    "full": (
        "(()=>{const real=localStorage;const full=new Proxy(real,{"
        "get:(t,k)=>{const v=Reflect.get(t,k,t);return typeof v==='function'?v.bind(t):v},"
        "set(){throw new DOMException('quota','QuotaExceededError')},"
        "deleteProperty:(t,k)=>Reflect.deleteProperty(t,k)});"
        "Object.defineProperty(window,'localStorage',{value:full,configurable:true})})()"
    ),
}
QUEUE_EMPTY = "localStorage._ct_q === '[]'"
BYE = "ct('custom',{name:'bye',properties:{reason:'hidden'}})"


def of_type(pairs, event_type: str) -> list:
    return [(r, e) for r, e in pairs if e["event_type"] == event_type]


def viewed(pairs, *paths: str) -> bool:
    """Have page views of all these paths arrived? (The log is at least once: a page view still
    unanswered when its page was left comes again from the next page, so count addresses.)"""
    return {f"{SHOP}{path}" for path in paths} <= {
        e.get("url") for _, e in of_type(pairs, "page_view")
    }


def named(pairs, name: str) -> list:
    return [(r, e) for r, e in pairs if e.get("name") == name]


def sends(browser) -> list[tuple[str, str, str]]:
    """(method, collector path, resource type) of every request to the collector's endpoints."""
    return [
        (r["method"], r["url"].removeprefix(COLLECTOR).split("?")[0], r["type"])
        for r in browser.requests()
        if r["url"].startswith(COLLECTOR) and "/v1/clicktrail" not in r["url"]
    ]


def test_without_fetch_the_pixel_sends_and_the_hidden_page_beacons(browser, event_log):
    browser.addInitScript(NO_FETCH)
    browser.goto(f"{SHOP}/product")
    assert browser.evaluate("typeof fetch") == "undefined"
    pairs = event_log.events(lambda p: of_type(p, "page_view") and of_type(p, "product_view"))
    [(view_record, view)] = of_type(pairs, "page_view")
    [(_, product)] = of_type(pairs, "product_view")
    visitor = browser.evaluate("localStorage._ct_id")
    assert view_record.visitor_id == visitor and view_record.id_source == "cookie"
    assert view["url"] == f"{SHOP}/product" and product["sku"] == "SKU-1"
    assert product["page_view_id"] == view["page_view_id"]
    browser.waitForFunction(QUEUE_EMPTY)  # each image's load confirmed its event
    assert ("POST", "/v1/events", "fetch") not in sends(browser)

    # Hidden: sendBeacon still exists, and carries what the pixel cannot (properties).
    browser.hide(BYE)
    [(_, bye)] = named(event_log.events(lambda p: named(p, "bye")), "bye")
    assert bye["properties"] == {"reason": "hidden"}
    assert {("GET", "/v1/pixel.gif"), ("POST", "/v1/events")} <= {s[:2] for s in sends(browser)}
    assert browser.errors() == []


def test_without_fetch_and_sendbeacon_everything_goes_by_pixel(browser, event_log):
    browser.addInitScript(f"{NO_FETCH};{NO_BEACON}")
    browser.goto(f"{SHOP}/product")
    assert browser.evaluate("typeof navigator.sendBeacon") == "undefined"
    browser.hide(BYE)
    pairs = event_log.events(lambda p: of_type(p, "product_view") and named(p, "bye"))
    [(_, view)] = of_type(pairs, "page_view")
    [(_, bye)] = named(pairs, "bye")
    assert bye["page_view_id"] == view["page_view_id"]
    assert {s[:2] for s in sends(browser)} == {("GET", "/v1/pixel.gif")}
    browser.waitForFunction(QUEUE_EMPTY)
    assert browser.errors() == []


def test_without_sendbeacon_the_hidden_page_sends_with_fetch(browser, event_log):
    browser.addInitScript(NO_BEACON)
    browser.goto(f"{SHOP}/")
    event_log.events(lambda p: of_type(p, "page_view"))
    browser.hide(BYE)
    [(_, bye)] = named(event_log.events(lambda p: named(p, "bye")), "bye")
    assert bye["properties"] == {"reason": "hidden"}
    # fetch got an answer, so the hidden page's events left the queue (a beacon's would not).
    browser.waitForFunction(QUEUE_EMPTY)
    assert ("POST", "/v1/events", "fetch") in sends(browser)
    assert browser.errors() == []


def test_with_cookies_blocked_local_storage_keeps_the_visitor(browser, event_log):
    browser.addInitScript(NO_COOKIES)
    browser.goto(f"{SHOP}/")
    browser.goto(f"{SHOP}/again")
    assert browser.evaluate("document.cookie") == ""
    pairs = event_log.events(lambda p: viewed(p, "/", "/again"))
    views = {e["url"].removeprefix(SHOP): (r, e) for r, e in of_type(pairs, "page_view")}
    (first, first_view), (again, again_view) = views["/"], views["/again"]
    visitor = browser.evaluate("localStorage._ct_id")
    assert first.visitor_id == again.visitor_id == visitor
    assert first.id_source == again.id_source == "cookie"  # the snippet's own id, not the server's
    assert first_view["session_id"] == again_view["session_id"]
    assert (first_view["session_index"], again_view["session_index"]) == (1, 1)
    assert not [c for c in browser.cookies() if c["name"].startswith("_ct")]


@pytest.mark.parametrize("storage", sorted(STORAGE))
def test_without_local_storage_events_still_arrive_and_the_cookie_keeps_the_visitor(
    browser, event_log, storage
):
    browser.addInitScript(STORAGE[storage])
    browser.goto(f"{SHOP}/product")
    browser.goto(f"{SHOP}/again")
    pairs = event_log.events(
        lambda p: viewed(p, "/product", "/again") and of_type(p, "product_view")
    )
    visitor = next(c for c in browser.cookies() if c["name"] == "_ct_id")["value"]
    assert {r.visitor_id for r, _ in pairs} == {visitor}
    assert len({e["session_id"] for _, e in pairs}) == 1
    [(_, product)] = of_type(pairs, "product_view")
    assert product["sku"] == "SKU-1"
    assert browser.errors() == []


def test_with_cookies_and_local_storage_blocked_events_still_arrive(browser, event_log):
    # What blocking all site data does in Chromium: cookies silently gone, storage throws.
    browser.addInitScript(f"{NO_COOKIES};{STORAGE['throws']}")
    browser.goto(f"{SHOP}/product")
    pairs = event_log.events(lambda p: of_type(p, "page_view") and of_type(p, "product_view"))
    [(view_record, view)] = of_type(pairs, "page_view")
    [(product_record, product)] = of_type(pairs, "product_view")
    # No way to keep an id across pages, but within the page it holds.
    assert view_record.visitor_id == product_record.visitor_id
    assert product["page_view_id"] == view["page_view_id"]
    assert browser.errors() == []


def test_engaged_time_pings_only_while_the_page_is_visible(browser, event_log):
    start = int(time.time() * 1000)
    browser.clockInstall(start)
    browser.goto(f"{SHOP}/")
    browser.clockPauseAt(start + 5_000)  # from here on, time moves only when the test says
    browser.clockRunFor(31_000)  # visible: two 15-second ticks
    hidden_at = browser.evaluate("Date.now()")
    browser.hide()  # a ping
    browser.clockRunFor(60_000)  # hidden for a minute: four ticks, which must say nothing
    shown_at = browser.evaluate("Date.now()")
    browser.show()
    browser.clockRunFor(16_000)  # visible again: one tick
    hidden_again_at = browser.evaluate("Date.now()")
    browser.hide()  # a ping
    browser.clockRunFor(31_000)  # hidden again: two more silent ticks
    # Answers arrive in real time, possibly after the paused clock moved: from here on time
    # flows again, so a send retried after a 503 leaves; the hidden page makes no more pings.
    browser.clockResume()
    pairs = event_log.events(
        lambda p: len({e["event_id"] for _, e in of_type(p, "page_ping")}) >= 5, 40
    )

    # The log is at least once: a send retried after a lost answer may repeat an event.
    once = {
        e["event_id"]: (e["created_at"], e["engaged_ms"]) for _, e in of_type(pairs, "page_ping")
    }
    pings = sorted(once.values())
    stamps = [t for t, _ in pings]
    assert [t for t in stamps if hidden_at < t <= shown_at or t > hidden_again_at] == [], pings
    # Two ticks while visible, the ping of hiding, one tick after showing, the ping of hiding.
    assert len(pings) == 5, pings
    first, second, hide, tick, hide_again = pings
    assert second[0] < hidden_at == hide[0] and shown_at < tick[0] < hidden_again_at, pings
    # engaged_ms grows by exactly the visible time between pings, never by the hidden minute.
    assert hide[1] - second[1] == hidden_at - second[0]
    assert tick[1] - hide[1] == tick[0] - shown_at
    assert hide_again[1] - tick[1] == hidden_again_at - tick[0]
    [(_, view)] = of_type(pairs, "page_view")
    assert {e["page_view_id"] for _, e in of_type(pairs, "page_ping")} == {view["page_view_id"]}


# --- where the page's own code gets in the way ----------------------------------------------

BIG_PURCHASE = (
    "ct('purchase',{order_id:'O-BIG',currency:'EUR',total:100,items:Array.from({length:40},"
    "(_,i)=>({sku:'SKU-'+i,name:'A long product name, number '+i,price:1,quantity:1}))})"
)


def test_without_fetch_commerce_events_arrive_complete(browser, event_log):
    """Regression: the pixel carried a subset, so a product view lost its price and a purchase,
    refused for want of order_id and items, left the queue for good."""
    browser.addInitScript(NO_FETCH)
    browser.goto(f"{SHOP}/purchase")
    pairs = event_log.events(lambda p: of_type(p, "product_view") and of_type(p, "purchase"))
    [(_, product)] = of_type(pairs, "product_view")
    assert (product["price"], product["currency"]) == (4999, "EUR")
    assert product["category"] == ["Shoes", "Running"]
    [(_, purchase)] = of_type(pairs, "purchase")
    assert purchase["order_id"] == "O-1" and purchase["total"] == 9998
    assert purchase["items"] == [{"sku": "SKU-1", "name": "Shoe", "price": 4999, "quantity": 2}]
    assert purchase["properties"] == {"coupon": "WINTER", "first": True}  # typed, not strings
    browser.waitForFunction(QUEUE_EMPTY)
    assert ("POST", "/v1/events", "fetch") not in sends(browser)

    # Too long for an address: the beacon carries it, whole. A beacon is no answer, so it stays
    # queued until a page that can hear the collector sends it again.
    browser.evaluate(BIG_PURCHASE)
    pairs = event_log.events(lambda p: any(e.get("order_id") == "O-BIG" for _, e in p))
    [big] = [e for _, e in pairs if e.get("order_id") == "O-BIG"]
    assert len(big["items"]) == 40 and big["items"][39]["sku"] == "SKU-39"
    assert "O-BIG" in browser.evaluate("localStorage._ct_q")
    assert ("POST", "/v1/events") in {s[:2] for s in sends(browser)}
    assert browser.errors() == []


THROWING_FETCH = "window.fetch=function(){throw new TypeError('blocked by the page')}"


def test_a_page_fetch_that_throws_falls_back(browser, event_log):
    """Regression: a fetch that throws kept every event queued while the page was visible."""
    browser.addInitScript(THROWING_FETCH)
    browser.goto(f"{SHOP}/product")
    # Longer than an address may be (five properties at their bound of 1,024 characters).
    browser.evaluate(
        "ct('custom',{name:'long',properties:Object.fromEntries("
        "['a','b','c','d','e'].map(k=>[k,k.repeat(1024)]))})"
    )
    pairs = event_log.events(lambda p: of_type(p, "product_view") and named(p, "long"))
    [(_, long)] = named(pairs, "long")
    assert long["properties"] == {k: k * 1024 for k in "abcde"}
    assert browser.evaluate("document.visibilityState") == "visible"
    methods = {s[:2] for s in sends(browser)}
    # What an address can carry goes by pixel (confirmed), the rest by beacon.
    assert {("GET", "/v1/pixel.gif"), ("POST", "/v1/events")} <= methods
    assert browser.errors() == []


# Prototype.js 1.6 gives arrays a toJSON that returns a string.
PROTOTYPE_TO_JSON = (
    "Array.prototype.toJSON=function(){return '['+this.map(function(v){"
    "return JSON.stringify(v)}).join(', ')+']'}"
)
# A queue that an older snippet corrupted into a string on such a page, stored once.
CORRUPTED_QUEUE = (
    "if(!sessionStorage.corrupted){sessionStorage.corrupted=1;"
    'localStorage._ct_q=JSON.stringify(\'[{"event_id":"x"}]\')}'
)


def test_a_page_s_array_to_json_does_not_break_the_queue(browser, event_log):
    """Regression: with Prototype.js's Array.prototype.toJSON the queue became a string and
    nothing was tracked (`filter is not a function` on every load)."""
    browser.addInitScript(f"{PROTOTYPE_TO_JSON};{CORRUPTED_QUEUE}")
    browser.goto(f"{SHOP}/purchase")
    pairs = event_log.events(lambda p: of_type(p, "purchase") and of_type(p, "page_view"))
    [(_, purchase)] = of_type(pairs, "purchase")
    assert purchase["items"][0]["sku"] == "SKU-1"
    [(_, product)] = of_type(pairs, "product_view")
    assert product["category"] == ["Shoes", "Running"]
    browser.waitForFunction(QUEUE_EMPTY)
    browser.goto(f"{SHOP}/again")
    event_log.events(lambda p: viewed(p, "/purchase", "/again"))
    assert browser.evaluate("Array.isArray(JSON.parse(localStorage._ct_q))")
    warnings = [m["text"] for m in browser.console() if m["type"] == "warning"]
    assert not [w for w in warnings if "clicktrail" in w], warnings
    assert browser.errors() == []


# What a sandboxed frame or a blocking extension can do: every cookie access throws.
THROWING_COOKIES = (
    "Object.defineProperty(Document.prototype,'cookie',{configurable:true,"
    "get(){throw new DOMException('The operation is insecure.','SecurityError')},"
    "set(){throw new DOMException('The operation is insecure.','SecurityError')}})"
)


def test_with_cookies_throwing_local_storage_keeps_the_visitor(browser, event_log):
    """Regression: a throwing document.cookie lost the visitor id although localStorage works."""
    browser.addInitScript(THROWING_COOKIES)
    browser.goto(f"{SHOP}/")
    browser.goto(f"{SHOP}/again")
    pairs = event_log.events(lambda p: viewed(p, "/", "/again"))
    visitor = browser.evaluate("localStorage._ct_id")
    assert visitor
    assert {r.visitor_id for r, _ in of_type(pairs, "page_view")} == {visitor}
    assert {r.id_source for r, _ in pairs} == {"cookie"}
    assert len({e["session_id"] for _, e in pairs}) == 1
    assert browser.errors() == []
