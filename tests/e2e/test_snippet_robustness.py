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
    pairs = event_log.events(lambda p: len(of_type(p, "page_view")) >= 2)
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
        lambda p: len(of_type(p, "page_view")) >= 2 and of_type(p, "product_view")
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
