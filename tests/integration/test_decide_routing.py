"""``/v1/decide``, ``/v1/pz/i`` and ``/v1/pz/c`` under the collector's origin, over real HTTP:
the collector and the personalizer as gunicorn processes on the real Redis. The collector's
cookie and the client address (through a proxy the collector trusts) reach the decision; CORS
is the site's, with credentials; signed links keep working through the relay; the personalizer
away is a 503 the page can read."""

from __future__ import annotations

import ipaddress
import json
import uuid
from urllib.parse import urlsplit

import pytest

from bench.harness.engine import make_engine
from clicktrail import ports
from clicktrail.sites.model import Site
from tests.served_apps import ServedApp, call
from tests.sites import site_with_marketer

pytestmark = [pytest.mark.redis, pytest.mark.services, pytest.mark.slow]

OFFSET = 730  # ports of this test's own
COLLECTOR_PORT = ports.port("collector") + OFFSET
PERSONALIZER_PORT = ports.port("personalizer") + OFFSET
ORIGIN = "https://routed.example.test"
BERLIN_IP = "91.1.2.3"  # DE in the small test database
LONDON_IP = "81.2.69.160"  # GB


def creative(cid: str) -> dict:
    return {
        "id": cid,
        "placement": "top",
        "image_url": f"https://cdn.example.test/{cid}.png",
        "alt": cid,
        "landing_url": f"{ORIGIN}/landing/{cid}",
        "width": 300,
        "height": 250,
    }


@pytest.fixture
def served(tmp_path, small_geoip_db):
    engine = make_engine(
        tmp_path,
        "redis",
        geoip_db=small_geoip_db,
        trusted_proxies=(ipaddress.ip_network("127.0.0.0/8"),),
        collector_bind=f"127.0.0.1:{COLLECTOR_PORT}",
        personalizer_bind=f"127.0.0.1:{PERSONALIZER_PORT}",
        personalizer_public_url=f"http://127.0.0.1:{COLLECTOR_PORT}",  # links via the collector
    )
    site_id = f"r{uuid.uuid4().hex[:10]}"  # campaigns live in the shared durable Redis
    secret = site_with_marketer(engine.settings, Site(site_id, origins=(ORIGIN,)))
    personalizer = ServedApp("personalizer", engine, PERSONALIZER_PORT)
    collector = ServedApp("collector", engine, COLLECTOR_PORT)
    personalizer.start(ready="/readyz")
    try:
        collector.start()
        try:
            for campaign in (
                {"id": "germany", "rules": {"country": ["DE"]}, "creatives": [creative("de-a")]},
                {"id": "world", "default": True, "creatives": [creative("world-a")]},
            ):
                status, _, text = call(
                    PERSONALIZER_PORT,
                    "PUT",
                    f"/v1/manage/sites/{site_id}/campaigns/{campaign['id']}",
                    json.dumps({"site_id": site_id, "name": campaign["id"], **campaign}).encode(),
                    Authorization=f"Bearer {secret}",
                    Content_Type="application/json",
                )
                assert status == 201, text
            yield collector, personalizer, site_id
        finally:
            collector.stop()
    finally:
        personalizer.stop()


def decide(site_id: str, ip: str, origin: str = ORIGIN, **headers: str):
    body = {"site_id": site_id, "placements": ["top"]}
    return call(
        COLLECTOR_PORT,
        "POST",
        "/v1/decide",
        json.dumps(body).encode(),
        Origin=origin,
        Content_Type="text/plain;charset=UTF-8",
        X_Forwarded_For=ip,
        User_Agent="Mozilla/5.0 Chrome/120",
        **headers,
    )


def test_decisions_links_and_cors_through_the_collector(served):
    _, _, site_id = served
    # The collector's cookie is the visitor; the address the collector believed, the country.
    status, headers, body = decide(site_id, BERLIN_IP, Cookie="ct_vid=collector-cookie-id")
    assert status == 200, body
    answer = json.loads(body)
    assert answer["visitor_id"] == "collector-cookie-id"
    placed = answer["placements"]["top"]
    assert placed["campaign_id"] == "germany"
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    assert headers["Access-Control-Allow-Credentials"] == "true"
    assert "Origin" in headers["Vary"]
    london = json.loads(decide(site_id, LONDON_IP, Cookie="ct_vid=collector-cookie-id")[2])
    assert london["placements"]["top"]["campaign_id"] == "world"

    # The simple-request GET of ad tags, with its query string as sent.
    status, _, body = call(
        COLLECTOR_PORT,
        "GET",
        f"/v1/decide?site_id={site_id}&placements=top",
        Origin=ORIGIN,
        X_Forwarded_For=BERLIN_IP,
    )
    assert status == 200 and json.loads(body)["placements"]["top"]["campaign_id"] == "germany"

    # A preflight, for pages that send JSON.
    status, headers, _ = call(
        COLLECTOR_PORT,
        "OPTIONS",
        "/v1/decide",
        Origin=ORIGIN,
        Access_Control_Request_Method="POST",
        Access_Control_Request_Headers="content-type",
    )
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    assert headers["Access-Control-Allow-Credentials"] == "true"

    # Signed links point at the collector and are answered through it, byte for byte.
    impression = urlsplit(placed["impression_url"])
    assert impression.netloc == f"127.0.0.1:{COLLECTOR_PORT}"
    status, headers, body = call(COLLECTOR_PORT, "GET", f"{impression.path}?{impression.query}")
    assert status == 200 and headers["Content-Type"] == "image/gif" and body.startswith(b"GIF")
    click = urlsplit(placed["click_url"])
    status, headers, _ = call(COLLECTOR_PORT, "GET", f"{click.path}?{click.query}")
    assert status == 302 and headers["Location"] == f"{ORIGIN}/landing/de-a"
    tampered = click.query.replace("r=de-a", "r=world-a")
    status, headers, _ = call(COLLECTOR_PORT, "GET", f"{click.path}?{tampered}")
    assert status == 400 and "Location" not in headers


def test_refusals_come_through_as_the_personalizer_gave_them(served):
    _, _, site_id = served
    status, headers, body = decide(site_id, BERLIN_IP, origin="https://elsewhere.example.test")
    assert status == 403 and "not allowed" in json.loads(body)["error"]
    assert "Access-Control-Allow-Origin" not in headers
    status, _, body = call(COLLECTOR_PORT, "POST", "/v1/decide", b"{", Origin=ORIGIN)
    assert status == 400 and "not valid JSON" in json.loads(body)["error"]


def test_an_untrusted_peer_cannot_choose_its_country(served):
    """The personalizer believes the address the collector forwards, not one a client wrote:
    without a trusted proxy in front, the collector forwards the peer's own address."""
    collector, _, site_id = served
    collector.stop()
    collector.env["CLICKTRAIL_TRUSTED_PROXIES"] = "10.0.0.0/8"  # not the test's 127.0.0.1
    collector.start()
    status, _, body = decide(site_id, BERLIN_IP)
    assert status == 200 and json.loads(body)["placements"]["top"]["campaign_id"] == "world"


def test_the_personalizer_away_is_a_503_the_page_can_read(served):
    _, personalizer, site_id = served
    personalizer.stop()
    status, headers, body = decide(site_id, BERLIN_IP)
    assert status == 503 and "not reachable" in json.loads(body)["error"]
    assert headers["Retry-After"] == "5"
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
