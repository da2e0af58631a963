"""The decision endpoint's rate limits over the real app and Redis: a browser's address (behind
a trusted proxy) and an ad-server token each get their own count, a 429 with Retry-After, and
the fast path and the Flask view count the same requests once."""

from __future__ import annotations

import ipaddress
import json
import uuid

import pytest

from bench.harness.engine import make_engine
from clicktrail.sites.model import Site
from clicktrail.sites.registry import edit_sites
from clicktrail.tokens.model import new_token
from clicktrail.tokens.registry import edit_tokens
from personalizer.app import create_app

pytestmark = pytest.mark.redis

ORIGIN = "https://shop.example.test"


@pytest.fixture
def limited(tmp_path, small_geoip_db):
    site = f"r{uuid.uuid4().hex[:10]}"
    engine = make_engine(
        tmp_path,
        "redis",
        geoip_db=small_geoip_db,
        trusted_proxies=(ipaddress.ip_network("127.0.0.0/8"),),
        personalizer_rate_limit="2/minute",
        personalizer_adserver_rate_limit="3/minute",
    )
    with edit_sites(engine.settings.sites_file) as sites:
        sites[site] = Site(site, origins=(ORIGIN,))
    secrets = []
    with edit_tokens(engine.settings.tokens_file) as tokens:
        for _ in range(2):
            secret, token = new_token("*", "adserver", 0)
            tokens[token.token_id] = token
            secrets.append(secret)
    return create_app(engine.settings).test_client(), site, secrets


def ask(client, site: str, address: str, token: str | None = None):
    headers = {"X-Forwarded-For": address, "User-Agent": "Mozilla/5.0"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    else:
        headers["Origin"] = ORIGIN
    body = {"site_id": site, "visitor_id": "v1", "placements": ["top"]}
    if token:
        body = {"site_id": site, "user_id": "u1", "ip": address}
    return client.post(
        "/v1/decide", data=json.dumps(body), headers=headers, content_type="application/json"
    )


def test_a_browser_address_over_its_limit_gets_429(limited):
    client, site, _ = limited
    answers = [ask(client, site, "203.0.113.7") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    refused = answers[-1]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "too many decisions asked for by this address" in refused.get_json()["error"]
    assert refused.headers["Access-Control-Allow-Origin"] == ORIGIN  # the page can read it
    assert ask(client, site, "203.0.113.8").status_code == 200  # another user behind the proxy
    # the query-string form shares the count
    again = client.get(
        f"/v1/decide?site_id={site}&placements=top",
        headers={"X-Forwarded-For": "203.0.113.7", "Origin": ORIGIN},
    )
    assert again.status_code == 429


def test_an_ad_server_token_is_limited_by_itself_not_by_the_addresses_it_names(limited):
    client, site, (first, second) = limited
    statuses = [ask(client, site, f"198.51.100.{n}", first).status_code for n in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert ask(client, site, "198.51.100.9", second).status_code == 200  # its own count
