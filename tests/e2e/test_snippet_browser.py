"""The snippet in Chromium, end to end: pages on real host names over https, the bundle served
by the real collector, events read back from the real event log."""

from __future__ import annotations

import time
import urllib.parse

import pytest

from bench.harness.browser import SITE_PORT, origin
from clicktrail.contract.linker import check_linker, make_linker

pytestmark = [pytest.mark.redis, pytest.mark.browser, pytest.mark.slow]

SHOP = origin("shop.example.test")


def cookie(browser, name: str) -> dict | None:
    return next((c for c in browser.cookies() if c["name"] == name), None)


def landed_visitor(browser, domain: str, expected: str, wait_s: float = 10) -> str | None:
    deadline = time.monotonic() + wait_s
    while True:
        found = next(
            (
                c["value"]
                for c in browser.cookies()
                if c["name"] == "_ct_id" and c["domain"] == domain
            ),
            None,
        )
        if found == expected or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def of_type(pairs, event_type: str) -> list:
    return [(r, e) for r, e in pairs if e["event_type"] == event_type]


def test_page_view_and_product_view_arrive_with_their_ids(browser, event_log):
    browser.goto(f"{SHOP}/product")
    pairs = event_log.events(lambda p: of_type(p, "page_view") and of_type(p, "product_view"))
    [(view_record, view)] = of_type(pairs, "page_view")
    [(product_record, product)] = of_type(pairs, "product_view")
    visitor = cookie(browser, "_ct_id")["value"]
    session_id, index, _ = cookie(browser, "_ct_ses")["value"].split(".")
    for record, event in ((view_record, view), (product_record, product)):
        assert (record.visitor_id, record.id_source) == (visitor, "cookie")
        assert (event["session_id"], event["session_index"]) == (session_id, int(index))
    assert product["page_view_id"] == view["page_view_id"]
    assert (product["sku"], product["price"], product["currency"]) == ("SKU-1", 4999, "EUR")
    assert view["url"] == f"{SHOP}/product" and view["title"] == "Page /product"
    screen = browser.evaluate("[screen.width+'x'+screen.height,innerWidth+'x'+innerHeight]")
    for event in (view, product):
        assert [event["screen"], event["viewport"]] == screen
        assert event["language"] == browser.evaluate("navigator.language")
    assert browser.evaluate("localStorage._ct_q") == "[]"  # confirmed by 202, so gone


def test_second_load_keeps_the_visitor_and_30_minutes_idle_start_a_session(browser, event_log):
    start = int(time.time() * 1000)
    browser.clockInstall(start)
    browser.goto(f"{SHOP}/")
    browser.goto(f"{SHOP}/again")
    browser.clockSetSystemTime(start + 31 * 60 * 1000)
    browser.goto(f"{SHOP}/later")
    # (The log is at least once: a page view still unanswered when its page was left is sent
    # again by the next page, so count addresses, not events.)
    wanted = {f"{SHOP}/", f"{SHOP}/again", f"{SHOP}/later"}
    pairs = event_log.events(lambda p: wanted <= {e["url"] for _, e in of_type(p, "page_view")})
    by_url = {
        e["url"].removeprefix(SHOP): (r.visitor_id, e) for r, e in of_type(pairs, "page_view")
    }
    first, again, later = by_url["/"], by_url["/again"], by_url["/later"]
    assert first[0] == again[0] == later[0]
    assert first[1]["session_id"] == again[1]["session_id"]
    assert (first[1]["session_index"], later[1]["session_index"]) == (1, 2)
    assert later[1]["session_id"] != first[1]["session_id"]


def test_visitor_cookie_lands_on_the_registrable_domain(browser, event_log):
    browser.goto(f"{origin('www.shop.example.test')}/")
    visitor = cookie(browser, "_ct_id")
    assert visitor["domain"] == ".example.test"
    assert visitor["secure"] is True
    assert visitor["expires"] > time.time() + 399 * 86400
    # The same registrable domain: another subdomain sees the same visitor.
    browser.goto(f"{origin('other.example.test')}/")
    pairs = event_log.events(lambda p: len(of_type(p, "page_view")) >= 2)
    assert {record.visitor_id for record, _ in pairs} == {visitor["value"]}


def test_cross_domain_link_carries_the_id_and_the_landing_page_adopts_it(browser, event_log, site):
    browser.goto(f"{origin('other.test')}/before")  # other.test has its own visitor first
    before = cookie(browser, "_ct_id")
    assert before["domain"] == ".other.test"
    browser.goto(f"{SHOP}/")
    shop_visitor = next(c for c in browser.cookies() if c["domain"] == ".example.test")["value"]
    browser.click("#other")
    browser.waitForURL("other\\.test.*/landing$")
    assert any("/landing?_ct=" in r for r in site.requests)  # the link carried it
    assert "_ct=" not in browser.url()  # and the landing page removed it from the address
    # The landing page adopts the id when the collector's answer names it: after the load event.
    assert landed_visitor(browser, ".other.test", shop_visitor) == shop_visitor
    pairs = event_log.events(lambda p: any(e.get("url", "").endswith("/landing") for _, e in p))
    [(record, _)] = [(r, e) for r, e in pairs if e.get("url", "").endswith("/landing")]
    assert (record.visitor_id, record.id_source) == (shop_visitor, "url")
    assert record.replaced_visitor_id == before["value"]


def test_an_expired_linker_is_not_adopted(browser, event_log):
    user_agent = browser.userAgent()
    stale = make_linker("v_someone_else", int(time.time()) - 400, user_agent)
    browser.goto(f"{origin('other.test')}/landing?_ct={stale}")
    assert "_ct=" not in browser.url()
    assert cookie(browser, "_ct_id")["value"] != "v_someone_else"
    [(record, _)] = of_type(event_log.events(lambda p: of_type(p, "page_view")), "page_view")
    assert record.visitor_id != "v_someone_else" and record.id_source == "cookie"


def test_spa_navigation_and_marked_clicks_make_events(browser, event_log):
    browser.goto(f"{SHOP}/spa/1")
    browser.click("#spa")
    browser.click("#buy")
    pairs = event_log.events(lambda p: len(of_type(p, "page_view")) >= 2 and of_type(p, "custom"))
    urls = [e["url"].removeprefix(SHOP) for _, e in of_type(pairs, "page_view")]
    assert urls == ["/spa/1", "/spa/2"]
    [(_, second)] = [
        (r, e) for r, e in of_type(pairs, "page_view") if e.get("url", "").endswith("/2")
    ]
    assert second["referrer"] == f"{SHOP}/spa/1"
    [(_, custom)] = of_type(pairs, "custom")
    assert custom["name"] == "signup" and custom["page_view_id"] == second["page_view_id"]
    # The element's other data-ct-* attributes are the event's properties.
    assert custom["properties"] == {"plan": "pro", "plan-id": "p-7"}


# Links the test adds to the page: none of them has a host to leave for (an SVG link has no
# hostname at all). A click listener keeps every link from navigating away.
HOSTLESS = (
    "document.body.insertAdjacentHTML('beforeend', '<a id=mail href=mailto:a@example.org>m</a>"
    "<a id=tel href=tel:+100>t</a><a id=js href=javascript:void(0)>j</a><svg width=60 height=30>"
    "<a id=svg href=https://example.org/svg><text y=20>svg</text></a></svg>');"
    "addEventListener('click', (event) => event.preventDefault())"
)


def test_a_link_to_another_host_is_a_click_and_a_link_without_a_host_is_not(browser, event_log):
    browser.goto(f"{SHOP}/")
    browser.evaluate(HOSTLESS)
    for link in ("#mail", "#tel", "#js", "#svg", "#out"):
        browser.click(link)
    browser.evaluate("ct('custom', {name: 'after the clicks'})")  # queued after them all
    pairs = event_log.events(lambda p: of_type(p, "custom"))
    assert [e["target_url"] for _, e in of_type(pairs, "click")] == ["https://example.org/away"]


def test_events_survive_a_collector_outage_with_their_creation_time(browser, event_log, collector):
    browser.goto(f"{SHOP}/")  # the bundle is now in the browser's cache (max-age 1 h)
    event_log.events(lambda p: of_type(p, "page_view"))
    collector.stop()
    browser.goto(f"{SHOP}/product")
    browser.goto(f"{SHOP}/offline-2")
    browser.wait(500)
    import json

    queued = json.loads(browser.evaluate("localStorage._ct_q"))
    assert {e["event_type"] for e in queued} >= {"page_view", "product_view"}
    collector.start()
    browser.goto(f"{SHOP}/back")  # the next page load sends what is queued
    wanted = {e["event_id"]: e["created_at"] for e in queued}
    pairs = event_log.events(lambda p: wanted.keys() <= {e["event_id"] for _, e in p}, 20)
    for _, event in pairs:
        if event["event_id"] in wanted:
            assert event["created_at"] == wanted[event["event_id"]]


def test_consent_required_stores_nothing_and_opt_out_sticks(browser, event_log):
    browser.goto(f"{SHOP}/?site=strict&consent=required")
    browser.wait(300)
    assert browser.cookies() == []
    assert browser.evaluate("localStorage.length") == 0
    [(record, event)] = of_type(event_log.events(lambda p: of_type(p, "page_view")), "page_view")
    assert record.id_source == "cookieless" and event["consent"] == "denied"
    assert "visitor_id" not in event

    browser.goto(f"{SHOP}/")  # an opt-out site: stores ids until the visitor says no
    assert cookie(browser, "_ct_id")
    browser.evaluate("ct('consent', false)")
    browser.goto(f"{SHOP}/after")
    assert cookie(browser, "_ct_id") is None and cookie(browser, "_ct_c")["value"] == "0"
    pairs = event_log.events(lambda p: any(e.get("url", "").endswith("/after") for _, e in p))
    [(after, event)] = [(r, e) for r, e in pairs if e.get("url", "").endswith("/after")]
    assert after.id_source == "cookieless" and event["consent"] == "denied"


def test_errors_inside_the_snippet_never_reach_the_page(browser, event_log):
    browser.goto(f"{SHOP}/broken")
    assert browser.evaluate("window.afterSnippetCalls") == 1
    pairs = event_log.events(lambda p: any(e.get("name") == "fine" for _, e in p))
    assert not [e for _, e in pairs if e.get("name") == "cyclic"]
    browser.click("#buy")
    assert browser.evaluate("document.getElementById('status').textContent") == "ok"
    assert browser.errors() == []


def warned(browser, text: str) -> bool:
    return any(m["type"] == "warning" and text in m["text"] for m in browser.console())


def landings(site) -> list[str]:
    return [r for r in site.requests if r.startswith(f"other.test:{SITE_PORT}/landing")]


# The linker file has arrived (the core imports it after init): a link to one of the domains,
# pressed by a script, gets `_ct`.
LINKER_READY = f"""(() => {{
  const a = document.createElement('a')
  a.href = 'https://other.test:{SITE_PORT}/probe'
  document.body.append(a)
  a.dispatchEvent(new PointerEvent('pointerdown', {{bubbles: true}}))
  a.remove()
  return a.href.includes('_ct=')
}})()"""


def linker_requests(browser) -> list[str]:
    return [r["url"] for r in browser.requests() if "/v1/clicktrail-linker" in r["url"]]


def opened_linker(site, before: int) -> str:
    """The `_ct` of the next landing page requested after the first ``before``."""
    deadline = time.monotonic() + 10
    while len(landings(site)) == before and time.monotonic() < deadline:
        time.sleep(0.1)
    [opened] = landings(site)[before:]
    return urllib.parse.parse_qs(urllib.parse.urlsplit(opened).query).get("_ct", [""])[0]


def shop_page_with_linker(browser, event_log) -> str:
    """The shop's page, its page view sent and the linker file arrived; the visitor id."""
    browser.goto(f"{SHOP}/")
    event_log.events(lambda p: of_type(p, "page_view"))
    browser.waitForFunction(LINKER_READY)
    return cookie(browser, "_ct_id")["value"]


@pytest.mark.parametrize(
    "press",
    [
        pytest.param({"button": "middle"}, id="middle click"),
        pytest.param({"modifiers": ["Control"]}, id="ctrl click"),
        pytest.param("target=_blank", id="target=_blank"),
    ],
)
def test_a_cross_domain_link_opened_in_a_new_tab_carries_the_id(browser, event_log, site, press):
    """Regression: a middle click opened the link without `_ct` (no click event fires)."""
    shop_visitor = shop_page_with_linker(browser, event_log)
    before = len(landings(site))
    if press == "target=_blank":
        browser.evaluate("document.querySelector('#other').target = '_blank'")
        browser.click("#other")
    else:
        browser.click("#other", press)
    value = opened_linker(site, before)
    user_agent = browser.userAgent()
    assert check_linker(value, user_agent, int(time.time())).visitor_id == shop_visitor
    assert browser.url() == f"{SHOP}/"  # this tab stayed


def test_a_cross_domain_link_followed_with_enter_carries_the_id(browser, event_log, site):
    shop_visitor = shop_page_with_linker(browser, event_log)
    user_agent = browser.userAgent()
    before = len(landings(site))
    browser.evaluate("document.querySelector('#other').focus()")
    key = {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13}
    browser.cdp("Input.dispatchKeyEvent", {"type": "keyDown", "text": "\r", **key})
    browser.cdp("Input.dispatchKeyEvent", {"type": "keyUp", **key})
    value = opened_linker(site, before)
    assert check_linker(value, user_agent, int(time.time())).visitor_id == shop_visitor


def test_a_get_form_to_another_domain_carries_the_id(browser, event_log, site):
    shop_visitor = shop_page_with_linker(browser, event_log)
    user_agent = browser.userAgent()
    before = len(landings(site))
    browser.evaluate(
        f"document.body.insertAdjacentHTML('beforeend', '<form method=get "
        f"action=https://other.test:{SITE_PORT}/landing><input name=q value=shoes>"
        "<button id=search>search</button></form>')"
    )
    browser.click("#search")
    value = opened_linker(site, before)
    assert check_linker(value, user_agent, int(time.time())).visitor_id == shop_visitor
    assert "q=shoes" in landings(site)[before]


def test_without_the_linker_file_a_link_is_followed_as_it_is(browser, event_log, site):
    """As a press before the linker file has arrived: the file blocked, the link goes without
    `_ct`, the failed import is warned (not thrown into the page), the page's events go on."""
    browser.goto(f"{SHOP}/blank")  # a page of the origin, for the DevTools session
    browser.cdp("Network.enable")
    browser.cdp("Network.setBlockedURLs", {"urls": ["*/v1/clicktrail-linker*"]})
    browser.goto(f"{SHOP}/")
    event_log.events(lambda p: any(e.get("url") == f"{SHOP}/" for _, e in p))
    deadline = time.monotonic() + 10
    while not warned(browser, "clicktrail-linker.js") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert warned(browser, "clicktrail-linker.js"), browser.console()
    assert not browser.evaluate(LINKER_READY)
    before = len(landings(site))
    browser.click("#other")
    assert opened_linker(site, before) == ""
    assert browser.errors() == []


def test_a_page_without_domains_does_not_load_the_linker_file(browser, event_log):
    # The embed's init, without `domains` (the stub is wrapped as the page defines it).
    browser.addInitScript(
        "(() => { let value; Object.defineProperty(window, 'ct', {configurable: true,"
        " get: () => value, set(v) { value = value ? v : function (command, config) {"
        " if (command == 'init') delete config.domains; return v.apply(this, arguments) } }})"
        " })()"
    )
    browser.goto(f"{SHOP}/")
    event_log.events(lambda p: of_type(p, "page_view"))
    browser.click("#other")  # not one of the site's domains now: an outbound click
    pairs = event_log.events(lambda p: of_type(p, "click"))
    assert of_type(pairs, "click")[0][1]["target_url"] == f"{origin('other.test')}/landing"
    assert linker_requests(browser) == []


def test_a_new_browser_landing_with_a_valid_link_takes_its_id(browser, event_log):
    """The collector judges `_ct` (hash, age, user agent) and names the link's visitor in its
    answer; a link made for another browser is not taken."""
    user_agent = browser.userAgent()
    other_agent = make_linker("v_elsewhere", int(time.time()), user_agent + " other")
    browser.goto(f"{origin('other.test')}/landing?_ct={other_agent}")
    event_log.events(lambda p: of_type(p, "page_view"))
    assert cookie(browser, "_ct_id")["value"] != "v_elsewhere"
    browser.closeContext()
    browser.newContext()
    valid = make_linker("v_linked", int(time.time()), user_agent)
    browser.goto(f"{origin('other.test')}/landing?_ct={valid}")
    assert "_ct=" not in browser.url()
    browser.waitForFunction("document.cookie.includes('_ct_id=v_linked')")
    pairs = event_log.events(lambda p: len(of_type(p, "page_view")) == 2)
    [first, second] = [r for r, _ in of_type(pairs, "page_view")]
    assert first.visitor_id != "v_elsewhere" and first.id_source == "cookie"
    assert (second.visitor_id, second.id_source) == ("v_linked", "url")
    assert browser.evaluate("localStorage._ct_id") == "v_linked"


def test_a_page_s_own_ct_is_left_alone(browser, event_log):
    """Regression: the snippet replaced a page's own `window.ct` (the embed's init had gone to
    the page's function; tracking stopped silently)."""
    browser.goto(f"{SHOP}/?own=function")
    deadline = time.monotonic() + 10  # the snippet loads async: wait until it has spoken
    while time.monotonic() < deadline and not warned(browser, "ct is taken: see data-global"):
        time.sleep(0.1)
    assert warned(browser, "ct is taken: see data-global")
    assert browser.evaluate("ct('x')") == "own"  # still the page's
    assert browser.evaluate("window.ownCalls") == 2  # the embed's init, and this call
    assert browser.errors() == []


def test_another_global_name_tracks_beside_the_page_s_own_ct(browser, event_log):
    """The page's `ct` is an object: the embed names the snippet `clicktrail` instead."""
    browser.goto(f"{SHOP}/product?own=object&global=clicktrail")
    pairs = event_log.events(lambda p: of_type(p, "page_view") and of_type(p, "product_view"))
    assert of_type(pairs, "product_view")[0][1]["sku"] == "SKU-1"
    browser.evaluate("clicktrail('custom',{name:'later'})")
    event_log.events(lambda p: any(e.get("name") == "later" for _, e in p))
    assert browser.evaluate("JSON.stringify(window.ct)") == '{"own":true}'
    assert browser.errors() == []


def test_withdrawing_consent_expires_the_collector_cookie(browser, event_log):
    """Regression: after `ct('consent', false)` the collector's ct_vid (HttpOnly, 400 days)
    stayed, and went along with every later request that carries cookies."""
    browser.addInitScript("delete window.fetch")  # the pixel carries cookies, so ct_vid is set
    browser.goto(f"{SHOP}/")
    [(record, _)] = of_type(event_log.events(lambda p: of_type(p, "page_view")), "page_view")
    assert cookie(browser, "ct_vid")["value"] == record.visitor_id
    browser.evaluate("ct('consent', false)")
    deadline = time.monotonic() + 10
    while cookie(browser, "ct_vid") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert cookie(browser, "ct_vid") is None
    assert cookie(browser, "_ct_id") is None and cookie(browser, "_ct_c")["value"] == "0"
    browser.evaluate("ct('custom',{name:'after'})")
    pairs = event_log.events(lambda p: any(e.get("name") == "after" for _, e in p))
    [(after, event)] = [(r, e) for r, e in pairs if e.get("name") == "after"]
    assert after.id_source == "cookieless" and event["consent"] == "denied"
    assert "visitor_id" not in event and "session_id" not in event
    assert cookie(browser, "ct_vid") is None  # and no new one
    assert browser.errors() == []


def test_pagehide_alone_sends_what_is_queued(browser, event_log):
    """Browsers that unload without a visibilitychange (pagehide only): the queue still goes,
    by beacon, with no timer left to run (the clock is paused)."""
    browser.clockInstall(int(time.time() * 1000))
    browser.goto(f"{SHOP}/")
    event_log.events(lambda p: of_type(p, "page_view"))
    browser.clockPauseAt(int(time.time() * 1000) + 60_000)
    browser.evaluate("ct('custom',{name:'bye'});dispatchEvent(new PageTransitionEvent('pagehide'))")
    pairs = event_log.events(lambda p: any(e.get("name") == "bye" for _, e in p))
    assert [e for _, e in pairs if e.get("name") == "bye"]
    assert ("POST", "ping") in {
        (r["method"], r["type"]) for r in browser.requests() if r["url"].endswith("/v1/events")
    }


def test_a_refusal_is_read_and_not_retried(browser, event_log):
    """Regression: an unknown site's 403 came without CORS headers, so the snippet could not
    read it and retried for ever."""
    browser.goto(f"{SHOP}/?site=nosuch")
    browser.wait(4000)  # retries would have come after 1 and 2 s
    posts = [r for r in browser.requests() if r["url"].endswith("/v1/events")]
    assert len(posts) == 1
    assert warned(browser, "unknown site 'nosuch'"), browser.console()
    assert browser.evaluate("localStorage._ct_q") == "[]"
    assert not [m for m in browser.console() if "CORS" in m["text"]]
