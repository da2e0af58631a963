"""``FastDecide`` (the decision endpoint before Flask's request machinery) answers as the Flask
view does: the same status, headers and answer for a decision, and every request it does not
answer (a bad body, an unknown site, a token, a refused origin, other paths) goes on to the
view, whose answers are the ones the other tests pin."""

from __future__ import annotations

import io
import ipaddress
import json
import uuid

import pytest

from bench.harness.engine import make_engine
from clicktrail.sites.model import Site
from personalizer.app import create_app
from personalizer.views.decide import FastDecide
from tests.sites import site_with_marketer

pytestmark = pytest.mark.redis

ORIGIN = "https://shop.example.test"
BERLIN_IP = "91.1.2.3"  # DE in the small test database


@pytest.fixture
def shop(tmp_path, small_geoip_db):
    site_id = f"s{uuid.uuid4().hex[:10]}"
    engine = make_engine(
        tmp_path,
        "redis",
        geoip_db=small_geoip_db,
        trusted_proxies=(ipaddress.ip_network("127.0.0.0/8"),),
    )
    secret = site_with_marketer(
        engine.settings, Site(site_id, origins=(ORIGIN,), timezone="Europe/Berlin")
    )
    app = create_app(engine.settings)
    client = app.test_client()
    campaign = {
        "id": "germany",
        "site_id": site_id,
        "name": "Germany",
        "rules": {"country": ["DE"]},
        "frequency_cap": {"impressions": 50, "hours": 24},
        "creatives": [
            {
                "id": "de-a",
                "placement": "top",
                "image_url": "https://cdn.example.test/de-a.png",
                "alt": "de-a",
                "landing_url": "https://shop.example.test/landing/de-a",
                "width": 300,
                "height": 250,
            }
        ],
    }
    answer = client.put(
        f"/v1/manage/sites/{site_id}/campaigns/germany",
        data=json.dumps(campaign),
        headers={"Authorization": f"Bearer {secret}"},
        content_type="application/json",
    )
    assert answer.status_code == 201, answer.get_json()
    fast = app.wsgi_app
    assert isinstance(fast, FastDecide)
    passed: list[str] = []  # the paths the fast path handed on to Flask
    flask = fast.wsgi_app

    def counted(environ, start_response):
        passed.append(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}")
        return flask(environ, start_response)

    fast.wsgi_app = counted
    yield app, client, site_id, secret, passed
    app.extensions["personalizer"].attribution.close(1.0)


def post(client, body, **headers):
    sent = {"X-Forwarded-For": BERLIN_IP, "User-Agent": "Mozilla/5.0 Chrome/120", **headers}
    return client.post(
        "/v1/decide",
        data=body if isinstance(body, str) else json.dumps(body),
        headers={k: v for k, v in sent.items() if v is not None},
        content_type="application/json",
    )


def comparable(answer) -> tuple:
    body = answer.get_json()
    for placed in (body.get("placements") or {}).values():
        if placed:
            placed.pop("impression_url")
            placed.pop("click_url")
    body.pop("decision_id", None)
    headers = [(k, v) for k, v in answer.headers.items() if k != "Content-Length"]
    return answer.status_code, headers, body


@pytest.mark.parametrize("origin", [ORIGIN, None])
def test_a_decision_is_answered_before_flask_as_the_view_answers_it(shop, origin):
    app, client, site_id, _, passed = shop
    body = {"site_id": site_id, "visitor_id": "v1", "placements": ["top", "side"], "offers": 2}
    fast = post(client, body, Origin=origin)
    assert passed == []  # answered by the fast path
    assert fast.status_code == 200
    assert fast.get_json()["placements"]["top"]["campaign_id"] == "germany"
    assert int(fast.headers["Content-Length"]) == len(fast.data)
    middleware = app.wsgi_app
    app.wsgi_app = middleware.wsgi_app  # Flask alone
    try:
        viewed = post(client, body, Origin=origin)
    finally:
        app.wsgi_app = middleware
    assert comparable(fast) == comparable(viewed)
    if origin:
        assert fast.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert fast.headers["Vary"] == "Origin"
    else:
        assert "Access-Control-Allow-Origin" not in fast.headers


def test_what_it_does_not_answer_goes_to_the_view(shop):
    _, client, site_id, secret, passed = shop
    good = {"site_id": site_id, "visitor_id": "v1", "placements": ["top"]}
    cases = [
        (post(client, "{not json", Origin=ORIGIN), 400),
        (post(client, {**good, "offers": -1}, Origin=ORIGIN), 400),
        (post(client, {**good, "site_id": "nosuchsite"}, Origin=ORIGIN), 403),
        (post(client, good, Origin="https://evil.example.test"), 403),
        (post(client, {**good, "ip": "81.2.69.160"}, Origin=ORIGIN), 403),  # no token
        (post(client, {**good, "ip": "81.2.69.160"}, Authorization=f"Bearer {secret}"), 403),
        (post(client, "", Origin=ORIGIN), 400),
    ]
    for answer, status in cases:
        assert answer.status_code == status, answer.get_data(as_text=True)
        assert "error" in answer.get_json()
    assert passed == ["POST /v1/decide"] * len(cases)
    # a body read by the fast path reaches the view whole: its message quotes the field
    assert "offers" in cases[1][0].get_json()["error"]
    assert client.get(f"/v1/decide?site_id={site_id}&placements=top").status_code == 200
    assert client.options("/v1/decide", headers={"Origin": ORIGIN}).status_code == 204
    assert passed[-2:] == ["GET /v1/decide", "OPTIONS /v1/decide"]


def test_an_oversized_body_gets_the_views_413(shop):
    _, client, site_id, _, passed = shop
    body = json.dumps({"site_id": site_id, "page": {"url": "x" * 300_000}})
    assert post(client, body, Origin=ORIGIN).status_code == 413
    assert passed == ["POST /v1/decide"]


def test_a_length_of_non_ascii_digits_goes_to_the_view(shop):
    """``"²".isdigit()`` is true and ``int("²")`` refuses it: the fast path must not read such
    a length (it raised and was answered 500)."""
    app, _, site_id, _, passed = shop
    body = json.dumps({"site_id": site_id, "visitor_id": "v1", "placements": ["top"]}).encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/v1/decide",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": "\u00b2",
        "REMOTE_ADDR": "127.0.0.1",
    }
    statuses: list[str] = []
    b"".join(app.wsgi_app(environ, lambda status, headers, *_: statuses.append(status)))
    assert passed == ["POST /v1/decide"]  # handed on, not answered (nor failed) here
    assert not statuses[0].startswith("5"), statuses


def test_an_error_in_a_decision_is_flasks_json_500(shop, monkeypatch):
    app, client, site_id, _, passed = shop
    app.testing = False  # as under gunicorn: Flask answers an error instead of raising it

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(app.extensions["personalizer"].service, "decide", broken)
    answer = post(client, {"site_id": site_id, "placements": ["top"]}, Origin=ORIGIN)
    assert answer.status_code == 500
    assert "error" in answer.get_json()
    assert passed == []  # answered where it failed, not decided a second time by the view
