"""``ct('personalize', ...)`` in Chromium, end to end: a visitor from a targeted country (their
address given by a proxy the collector trusts, ``X-Forwarded-For``) sees the geo-targeted
banner, decided through the collector's origin (``/v1/decide`` relayed to a real personalizer
under gunicorn); the impression is requested once, with ``vw=1``, only after half the banner
was in view for a second; the click goes through the signed URL to the landing page; and the
decision, the viewable impression and the click land in ClickHouse (``events FINAL``) with the
same ``decision_id``. A visitor from elsewhere gets the default banner."""

from __future__ import annotations

import base64
import contextlib
import http.server
import ipaddress
import json
import ssl
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator

import pytest

from bench.harness.browser import COLLECTOR, COLLECTOR_PORT, HOSTS, origin
from bench.harness.engine import Engine, make_engine
from clicktrail import ports
from clicktrail.serving.relay import Upstream, forwarded_headers
from clicktrail.settings import ClickHouseServerTarget
from clicktrail.sites.model import Site
from clicktrail.sites.registry import edit_sites
from pipelines.runner import run_worker
from pipelines.warehouse.factory import open_warehouse
from tests.served_apps import ServedApp
from tests.sites import site_with_marketer

pytestmark = [pytest.mark.redis, pytest.mark.clickhouse, pytest.mark.browser, pytest.mark.slow]

PERSONALIZER_PORT = ports.port("personalizer") + 740  # this test's own
BEHIND_PORT = ports.port("collector") + 740  # the collector, behind this test's https front
SHOP_PORT = ports.port("test_site") + 740  # this test's shop: pages and banner images
SHOP = f"https://shop.example.test:{SHOP_PORT}"
IMAGES = f"https://other.example.test:{SHOP_PORT}"
BERLIN_IP = "91.1.2.3"  # DE in the small test database
LONDON_IP = "81.2.69.160"  # GB
GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def creative(cid: str) -> dict:
    return {
        "id": cid,
        "placement": "top",
        "image_url": f"{IMAGES}/{cid}.gif",
        "alt": f"banner {cid}",
        "headline": f"Offer <b>{cid}</b>",
        "landing_url": f"{SHOP}/landing/{cid}",
        "width": 300,
        "height": 250,
    }


@pytest.fixture
def engine(tmp_path, shared_small_geoip_db) -> Engine:
    """The browser tests' engine (conftest's collector uses it), with the personalizer behind
    the collector's origin and 127.0.0.1 (the browser's side of the test) a trusted proxy."""
    engine = make_engine(
        tmp_path,
        "redis",
        ack_timeout_ms=2000,
        geoip_db=shared_small_geoip_db,
        trusted_proxies=(ipaddress.ip_network("127.0.0.0/8"),),
        personalizer_bind=f"127.0.0.1:{PERSONALIZER_PORT}",
        personalizer_public_url=COLLECTOR,
    )
    with edit_sites(engine.settings.sites_file) as sites:
        sites["shop"] = Site("shop", origins=tuple(origin(h) for h in HOSTS))
    return engine


class Front(http.server.BaseHTTPRequestHandler):
    """The site's https front (a load balancer, say) on the collector's public address: it
    relays every request to the collector, saying in ``X-Forwarded-For`` that it came from
    ``visitor_ip``. (A browser cannot be given another address; a header added to its requests
    would be a CORS header of the page's.)"""

    upstream: Upstream
    visitor_ip = ""

    def relay(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = forwarded_headers(
            self.headers.items(), Front.visitor_ip, "https", self.headers["Host"]
        )
        relayed = Front.upstream.relay(self.command, self.path, headers, body)
        self.send_response_only(relayed.status)
        for name, value in relayed.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(relayed.body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(relayed.body)

    do_GET = do_POST = do_OPTIONS = relay

    def log_message(self, *args) -> None:
        pass


class QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:  # noqa: ANN001
        pass  # a browser closing a connection it no longer needs (a page left) is no error


@contextlib.contextmanager
def https_server(port: int, handler: type, tls) -> Iterator[None]:
    server = QuietServer(("127.0.0.1", port), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls[0], tls[1])
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def collector(engine: Engine, tls) -> Iterator[ServedApp]:
    """The collector under gunicorn, behind the https front on its public address."""
    served = ServedApp("collector", engine, BEHIND_PORT)
    served.start()
    Front.upstream = Upstream("127.0.0.1", BEHIND_PORT)
    try:
        with https_server(COLLECTOR_PORT, Front, tls):
            yield served
    finally:
        Front.upstream.close()
        served.stop()


# The embed code of docs/snippet.md ("Personalization"), the placement below a screen and a
# half of text, its call made inline, before the deferred files have run.
PAGE = """<!doctype html><html><head><title>Shop</title><script>
window.ct=window.ct||function(){(ct.q=ct.q||[]).push(arguments)};
ct('init', {site: '{site}', collector: '{collector}'{options}});
</script>
<script defer src="{collector}/v1/clicktrail-personalize.js"></script>
<script defer src="{collector}/v1/clicktrail.js"></script>
</head><body><div id="filler" style="height:2500px">text</div>
<div id="slot"></div>
<script>ct('personalize', 'top', '#slot')</script>
<p>end</p></body></html>"""


class Shop(http.server.BaseHTTPRequestHandler):
    """The shop's pages, with the embed code, and the banners' images."""

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        url = urllib.parse.urlsplit(self.path)
        if url.path.endswith(".gif"):
            body, kind = GIF, "image/gif"
        elif url.path.startswith("/landing/"):
            body, kind = b"<!doctype html><title>Landed</title>", "text/html; charset=utf-8"
        else:
            query = dict(urllib.parse.parse_qsl(url.query))
            options = ", consent: 'required'" if query.get("consent") == "required" else ""
            page = PAGE.replace("{site}", query.get("site", "")).replace("{collector}", COLLECTOR)
            page = page.replace("{options}", options)
            body, kind = page.encode(), "text/html; charset=utf-8"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def shop(tls) -> Iterator[None]:
    with https_server(SHOP_PORT, Shop, tls):
        yield


@pytest.fixture
def campaigns(engine: Engine) -> Iterator[str]:
    """A personalizer under gunicorn, and a site of this test's own (campaigns live in the
    shared durable Redis) with a campaign for Germany and a default."""
    site_id = f"p{uuid.uuid4().hex[:10]}"
    secret = site_with_marketer(engine.settings, Site(site_id, origins=(SHOP,)))
    personalizer = ServedApp("personalizer", engine, PERSONALIZER_PORT)
    personalizer.start(ready="/readyz")
    try:
        for campaign in (
            {"id": "germany", "rules": {"country": ["DE"]}, "creatives": [creative("de-a")]},
            {"id": "world", "default": True, "creatives": [creative("world-a")]},
        ):
            campaign = {"site_id": site_id, "name": campaign["id"], **campaign}
            request = urllib.request.Request(
                f"{personalizer.url}/v1/manage/sites/{site_id}/campaigns/{campaign['id']}",
                data=json.dumps(campaign).encode(),
                headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
                method="PUT",
            )
            with urllib.request.urlopen(request, timeout=10) as answer:
                assert answer.status == 201
        yield site_id
    finally:
        personalizer.stop()


def visit(browser, site_id: str, ip: str, query: str = "") -> dict:
    """The banner's image and link once it has loaded, for a visitor at ``ip``."""
    Front.visitor_ip = ip
    browser.goto(f"{SHOP}/personalized?site={site_id}{query}")
    try:
        return browser.waitForFunction(
            "(() => { const image = document.querySelector('#slot a.ct-banner img');"
            " return image && image.complete && image.naturalWidth > 0 && {src: image.src,"
            " alt: image.alt, href: image.parentNode.href,"
            " headline: document.querySelector('#slot .ct-headline').textContent,"
            " markup: document.querySelectorAll('#slot b').length} })()"
        )
    except AssertionError as exc:
        seen = [r["url"][:120] for r in browser.requests()]
        raise AssertionError(f"no banner: {browser.console()} {browser.errors()} {seen}") from exc


def requested(browser, path: str) -> list[str]:
    return [r["url"] for r in browser.requests() if urllib.parse.urlsplit(r["url"]).path == path]


def test_a_visitor_from_germany_sees_its_banner_and_the_loop_lands_in_clickhouse(
    browser, engine, shop, campaigns
):
    banner = visit(browser, campaigns, BERLIN_IP)
    assert banner["src"] == f"{IMAGES}/de-a.gif" and banner["alt"] == "banner de-a"
    assert banner["headline"] == "Offer <b>de-a</b>" and banner["markup"] == 0  # text, not HTML
    assert banner["href"].startswith(f"{COLLECTOR}/v1/pz/c?")
    assert len(requested(browser, "/v1/decide")) == 1
    assert browser.errors() == []

    # Out of view: no impression, however long it stays there.
    browser.wait(1500)
    assert requested(browser, "/v1/pz/i") == []
    # In view: not before a second has passed, then once, marked viewable.
    scrolled = browser.evaluate(
        "document.getElementById('slot').scrollIntoView(), performance.now()"
    )
    browser.wait(500)
    assert requested(browser, "/v1/pz/i") == []
    started = browser.waitForFunction(
        "performance.getEntriesByType('resource')"
        ".find((entry) => entry.name.includes('/v1/pz/i?'))?.startTime"
    )
    assert started - scrolled >= 1000  # page time, in milliseconds
    browser.wait(1500)
    [impression] = requested(browser, "/v1/pz/i")
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(impression).query))
    assert query["vw"] == "1" and query["c"] == "germany" and query["r"] == "de-a"
    decision_id = query["d"]

    # The click goes through the signed URL, and on to the registered landing page.
    browser.click("#slot a.ct-banner")
    browser.waitForURL("/landing/de-a")
    assert len(requested(browser, "/v1/pz/c")) == 1

    # The loop in ClickHouse: decision, viewable impression and click, one decision_id.
    rows = warehouse_rows(engine, decision_id)
    assert {row["event_type"] for row in rows} >= {"decision", "banner_impression", "banner_click"}
    by_type = {row["event_type"]: row for row in rows}
    assert by_type["banner_impression"]["viewable"] == 1
    assert by_type["banner_impression"]["creative_id"] == "de-a"
    assert by_type["banner_click"]["creative_id"] == "de-a"
    # The address the front vouched for reached the personalizer's events too.
    assert by_type["banner_impression"]["country"] == by_type["banner_click"]["country"] == "DE"


def signed_visitor(banner: dict) -> str:
    """The visitor the decision was made for, as its signed click URL says."""
    query = urllib.parse.urlsplit(banner["href"]).query
    return dict(urllib.parse.parse_qsl(query, keep_blank_values=True))["v"]


def first_party_id(browser) -> str | None:
    return next((c["value"] for c in browser.cookies() if c["name"] == "_ct_id"), None)


def test_a_visitor_from_elsewhere_sees_the_default(browser, shop, campaigns):
    banner = visit(browser, campaigns, LONDON_IP)
    assert banner["src"] == f"{IMAGES}/world-a.gif"
    # A new visitor's first decision is made for the id the snippet gave them on this page.
    assert first_party_id(browser) and signed_visitor(banner) == first_party_id(browser)
    second = visit(browser, campaigns, LONDON_IP)
    assert signed_visitor(second) == signed_visitor(banner)


def test_without_consent_the_decision_knows_no_visitor(browser, shop, campaigns):
    """Consent required and not given: no id is stored or sent, the collector's cookie stays
    home, and the decision is made for the day's cookieless id, from geography alone."""
    banner = visit(browser, campaigns, BERLIN_IP, "&consent=required")
    assert banner["src"] == f"{IMAGES}/de-a.gif"  # geography still counts
    assert first_party_id(browser) is None
    visitor = signed_visitor(banner)
    assert len(visitor) == 32 and int(visitor, 16) >= 0  # the cookieless hash


def warehouse_rows(engine: Engine, decision_id: str) -> list[dict]:
    """The events of one decision in ``events FINAL`` on the ClickHouse server, after a
    pipeline worker of the test's own read the event log to its end."""
    target = ClickHouseServerTarget(
        "127.0.0.1", ports.port("clickhouse_native"), f"t_{uuid.uuid4().hex[:10]}"
    )
    settings = engine.settings.replace(
        clickhouse_url=target, pipeline_group=f"e2e-{uuid.uuid4().hex[:8]}"
    )
    deadline = time.monotonic() + 30
    with contextlib.ExitStack() as stack:
        while True:
            worker = run_worker(
                settings, threading.Event(), idle_exit_seconds=1.0, steps=["warehouse"]
            )
            assert worker.stats.dead_letters == 0
            warehouse = stack.enter_context(open_warehouse(target))
            stack.callback(warehouse.execute, f"DROP DATABASE IF EXISTS {target.database}")
            columns = ["event_type", "decision_id", "creative_id", "viewable", "country"]
            result = warehouse.query(
                f"SELECT {', '.join(columns)} FROM {target.database}.events FINAL "
                f"WHERE decision_id = '{decision_id}'"
            )
            rows = [dict(zip(columns, row, strict=True)) for row in result.rows]
            if len(rows) >= 3 or time.monotonic() > deadline:
                return rows
            time.sleep(1)
