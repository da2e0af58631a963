"""The demo shop on the reports service (gunicorn, CLICKTRAIL_DEMO on) in front of a real
collector (gunicorn) that trusts only the demo front's loopback address: the pages, the
"browse from" picker, and events relayed with the chosen place's address — which no other
client can state. Without CLICKTRAIL_DEMO there is no /demo at all."""

from __future__ import annotations

import ipaddress
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator

import pytest

from bench.harness.browser import EventLogReader
from bench.harness.engine import Engine, make_engine
from clicktrail import ports
from clicktrail.sites.model import Site
from clicktrail.sites.registry import edit_sites
from pipelines.eventlog import open_event_log
from reports.demo.places import COOKIE, PLACES
from tests.served_apps import ServedApp

pytestmark = [pytest.mark.redis]

COLLECTOR_PORT = ports.port("collector") + 770  # not the fuzzing's 760
REPORTS_PORT = ports.port("reports") + 770
SHOP = f"http://127.0.0.1:{REPORTS_PORT}"
BERLIN = PLACES[0]


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> Engine:
    engine = make_engine(
        tmp_path_factory.mktemp("demo"),
        "redis",
        ack_timeout_ms=2000,
        demo=True,
        collector_bind=f"127.0.0.1:{COLLECTOR_PORT}",
        trusted_proxies=(ipaddress.ip_network("127.0.0.2/32"),),  # what make up gives it
    )
    with edit_sites(engine.settings.sites_file) as sites:
        sites["demo"] = Site("demo", origins=(SHOP,))
    return engine


@pytest.fixture(scope="module")
def served(engine: Engine) -> Iterator[None]:
    collector = ServedApp("collector", engine, COLLECTOR_PORT)
    reports = ServedApp("reports", engine, REPORTS_PORT)
    collector.start()
    try:
        reports.start()
        try:
            yield
        finally:
            reports.stop()
    finally:
        collector.stop()


@pytest.fixture
def log(engine: Engine, served) -> Iterator[EventLogReader]:  # noqa: ANN001
    event_log = open_event_log(engine.settings)
    reader = event_log.reader(f"demo-{uuid.uuid4().hex[:6]}", "c1")
    yield EventLogReader(reader)
    reader.close()
    event_log.close()


def fetch(
    url: str, data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        return None


def page_view(base: str, headers: dict[str, str]) -> tuple[int, str]:
    """One page view sent to ``base``/v1/events; its visitor id."""
    visitor = f"v_{uuid.uuid4().hex[:12]}"
    event = {
        "event_id": str(uuid.uuid4()),
        "event_type": "page_view",
        "visitor_id": visitor,
        "created_at": int(time.time() * 1000),
        "url": f"{SHOP}/demo/",
    }
    body = json.dumps({"site_id": "demo", "events": [event]}).encode()
    status, _, _ = fetch(
        f"{base}/v1/events",
        body,
        {"Origin": SHOP, "Content-Type": "text/plain", **headers},
    )
    return status, visitor


def address_of(log: EventLogReader, visitor: str) -> str | None:
    pairs = log.events(lambda pairs: any(r.visitor_id == visitor for r, _ in pairs))
    return next(r.ip for r, _ in pairs if r.visitor_id == visitor)


def test_the_front_states_the_chosen_place_and_nobody_else_can(log: EventLogReader) -> None:
    front = f"{SHOP}/demo/ct"
    status, chosen = page_view(front, {"Cookie": f"{COOKIE}={BERLIN.code}"})
    assert status == 202
    assert address_of(log, chosen) == BERLIN.address

    # no place chosen: the browser's own address, whatever it wrote in the header
    status, unchosen = page_view(front, {"X-Forwarded-For": BERLIN.address})
    assert status == 202
    assert address_of(log, unchosen) == "127.0.0.1"

    # straight to the collector from 127.0.0.1: the header is not believed
    collector = f"http://127.0.0.1:{COLLECTOR_PORT}"
    status, direct = page_view(collector, {"X-Forwarded-For": BERLIN.address})
    assert status == 202
    assert address_of(log, direct) == "127.0.0.1"


def test_the_snippet_comes_through_the_front(served) -> None:  # noqa: ANN001
    status, headers, body = fetch(f"{SHOP}/demo/ct/v1/clicktrail.js")
    assert status == 200, body
    assert headers["Content-Type"].startswith(("application/javascript", "text/javascript"))
    assert "init" in body


def test_the_pages_embed_the_snippet_and_personalize(served) -> None:  # noqa: ANN001
    status, _, home = fetch(f"{SHOP}/demo/")
    assert status == 200
    assert f'collector: "{SHOP}/demo/ct"' in home
    assert "ct('personalize', 'top', '#banner')" in home
    assert 'data-ct-offers="6"' in home

    status, headers, _ = fetch(f"{SHOP}/demo/")
    policy = headers["Content-Security-Policy"]
    nonce = policy.split("'nonce-", 1)[1].split("'", 1)[0]
    assert "'unsafe-inline'" not in policy and "frame-ancestors 'none'" in policy
    assert f"img-src 'self' data: http://127.0.0.1:{COLLECTOR_PORT}" in policy  # impressions
    assert headers["X-Content-Type-Options"] == "nosniff"
    status, headers, again = fetch(f"{SHOP}/demo/")
    assert nonce not in headers["Content-Security-Policy"]  # a nonce an answer
    assert again.count('<script nonce="') == 2 and again.count("<script>") == 0

    status, _, shelf = fetch(f"{SHOP}/demo/c/electronics")
    assert status == 200
    assert 'data-ct-category="Electronics"' in shelf
    product = shelf.split('href="/demo/p/', 1)[1].split('"', 1)[0]
    status, _, detail = fetch(f"{SHOP}/demo/p/{product}")
    assert status == 200
    assert "ct('product_view', {" in detail and '"category": ["Electronics", ' in detail


@pytest.mark.parametrize(
    ("path", "status"),
    [("/demo/c/no-such-thing", 404), ("/demo/p/no-such-thing", 404), ("/demo/c/books?page=0", 400)]
    + [("/demo/c/books?page=x", 400), ("/demo/c/books?page=999", 400)],
)
def test_bad_addresses_get_a_clear_4xx(served, path: str, status: int) -> None:  # noqa: ANN001
    answered, _, body = fetch(SHOP + path)
    assert answered == status
    assert "Back to the shop" in body


def test_the_picker_remembers_a_place_and_goes_back_only_to_the_shop(served) -> None:  # noqa: ANN001
    status, headers, _ = fetch(f"{SHOP}/demo/from", b"place=DE&next=/demo/c/books")
    assert status == 303
    assert headers["Location"].endswith("/demo/c/books")
    assert headers["Set-Cookie"].startswith(f"{COOKIE}=DE;")

    status, headers, _ = fetch(f"{SHOP}/demo/from", b"place=FR&next=https://evil.example/")
    assert status == 303 and headers["Location"].endswith("/demo/")

    status, _, body = fetch(f"{SHOP}/demo/from", b"place=1.2.3.4")
    assert status == 400 and "place must be one of DE, FR, SE, US" in body


def test_a_link_chooses_the_place_before_the_pages_first_event(served) -> None:  # noqa: ANN001
    status, headers, page = fetch(f"{SHOP}/demo/c/books?page=2&from=SE")
    assert status == 200
    assert headers["Set-Cookie"].startswith(f"{COOKIE}=SE;")
    assert '<option value="SE" selected>' in page
    assert 'name="next" value="/demo/c/books?page=2"' in page  # the picker drops the link's own

    status, headers, _ = fetch(f"{SHOP}/demo/?from=", headers={"Cookie": f"{COOKIE}=SE"})
    assert status == 200 and "Max-Age=0" in headers["Set-Cookie"]
    status, _, body = fetch(f"{SHOP}/demo/?from=XX")
    assert status == 400 and "from must be one of DE, FR, SE, US" in body


def test_without_the_demo_setting_there_is_no_shop(tmp_path) -> None:  # noqa: ANN001
    engine = make_engine(tmp_path, "redis")
    reports = ServedApp("reports", engine, REPORTS_PORT + 1)
    reports.start()
    try:
        assert fetch(f"http://127.0.0.1:{REPORTS_PORT + 1}/demo/")[0] == 404
        assert fetch(f"http://127.0.0.1:{REPORTS_PORT + 1}/demo/ct/v1/clicktrail.js")[0] == 404
    finally:
        reports.stop()
