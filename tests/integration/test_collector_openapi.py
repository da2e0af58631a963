"""The collector's OpenAPI description is valid, served, describes every route of the real app
(with its methods), and the collector's real answers match it: each status is described, with
its content type and schema."""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from clicktrail.contract.envelope import MAX_BODY_BYTES
from clicktrail.settings import parse_event_log_url
from tests.integration.conftest import make_engine
from tests.protocol_fixtures import load
from tracker.app import create_app
from tracker.openapi import document

pytestmark = pytest.mark.redis

SHOP = "https://shop.example.test"


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule)


def conforms(path: str, method: str, response: Any) -> None:
    """Fails unless ``response`` (a Flask test response) is one the document describes for
    ``method path``: its status (or ``default``), its content type, its body's schema."""
    operation = document()["paths"][path][method.lower()]
    described = operation["responses"]
    status = str(response.status_code)
    assert status in described or "default" in described, f"{method} {path}: {status}"
    answer = described.get(status, described.get("default"))
    content = answer.get("content")
    if not content:
        return
    media = response.mimetype
    assert media in content, f"{method} {path} {status}: {media} not in {list(content)}"
    schema = content[media].get("schema")
    if schema is None or media != "application/json":
        return
    validator = Draft202012Validator({**schema, "components": document()["components"]})
    errors = [error.message for error in validator.iter_errors(response.get_json())]
    assert not errors, f"{method} {path} {status}: {errors}"


def event(**fields: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": "page_view",
        "created_at": int(time.time() * 1000),
        "url": f"{SHOP}/",
        **fields,
    }


@pytest.fixture
def engine(redis_engine):
    return redis_engine


@pytest.fixture
def app(engine):
    app = create_app(engine.settings)
    yield app
    app.extensions["clicktrail"].event_log.close()


def test_the_document_is_valid_openapi_and_served(app):
    validate(document())
    served = app.test_client().get("/openapi.json")
    assert served.status_code == 200
    assert served.get_json() == json.loads(json.dumps(document()))
    assert served.headers["Access-Control-Allow-Origin"] == "*"


def test_every_route_of_the_app_is_described_with_its_methods(app):
    paths = document()["paths"]
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"]
    assert len(rules) >= 10
    for rule in rules:
        path = openapi_path(rule.rule)
        assert path in paths, f"{path} is served but not described in tracker/openapi.py"
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            assert method.lower() in paths[path], f"{method} {path} is not described"
        if "OPTIONS" in (rule.methods or set()) and not rule.provide_automatic_options:
            assert "options" in paths[path], f"OPTIONS {path} (the app's own) is not described"


def test_every_described_path_is_served(app):
    served = {openapi_path(rule.rule) for rule in app.url_map.iter_rules()}
    assert set(document()["paths"]) <= served


def test_the_event_schema_is_the_contract(app):
    """The shared fixtures' valid events match the described Event; the events the contract
    refuses for a rule JSON Schema can state (types, patterns, bounds) do not."""
    events = load("events.json")
    schema = Draft202012Validator(
        {"$ref": "#/components/schemas/Event", "components": document()["components"]}
    )
    for case in events["valid"]:
        assert schema.is_valid(case["event"]), case["name"]
    refused = [case for case in events["invalid"] if not schema.is_valid(case["event"])]
    # the rest break rules across fields (a page view needs a url, ...): the model's validator
    assert len(refused) >= len(events["invalid"]) // 2


def test_answers_of_the_events_endpoint_match(app):
    client = app.test_client()
    browser = {"Origin": SHOP}

    def post(body: Any, **headers: str) -> Any:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return client.post("/v1/events", data=data, headers=headers, content_type="text/plain")

    accepted = post({"site_id": "shop", "events": [event(), {"event_id": "x"}]}, **browser)
    assert accepted.status_code == 202
    assert accepted.get_json()["rejected"][0]["index"] == 1
    answers = [
        accepted,
        post(b"{not json", **browser),
        post({"site_id": "shop", "events": [{"event_id": "x"}]}, **browser),
        post({"site_id": "nowhere", "events": [event()]}, **browser),
        post({"site_id": "shop", "events": [event()]}),  # no Origin, no key
        post({"site_id": "shop", "events": [event()]}, **{"X-Clicktrail-Key": "wrong"}),
        post(b" " * (MAX_BODY_BYTES + 1), **browser),
    ]
    assert [answer.status_code for answer in answers] == [202, 400, 400, 403, 403, 403, 413]
    for answer in answers:
        conforms("/v1/events", "POST", answer)
    for origin in (SHOP, "https://evil.example.test"):
        preflight = client.options("/v1/events", headers={"Origin": origin})
        conforms("/v1/events", "OPTIONS", preflight)


def test_answers_of_the_other_routes_match(app):
    client = app.test_client()
    envelope = json.dumps({"site_id": "shop", "events": [event()]})
    for query, status in (
        ({"j": envelope}, 200),
        ({"s": "shop", "e": "page_view", "eid": str(uuid.uuid4()), "ct": "1764000000000"}, 400),
        ({"s": "nowhere", "e": "page_view"}, 403),
        ({"s": "shop", "ct": "soon"}, 400),
        ({}, 400),
    ):
        pixel = client.get(f"/v1/pixel.gif?{urlencode(query)}")
        assert pixel.status_code == status, query
        conforms("/v1/pixel.gif", "GET", pixel)
    for method in ("GET", "POST"):
        conforms("/v1/withdraw", method, client.open("/v1/withdraw?s=shop", method=method))
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
        conforms(path, "GET", client.get(path))
    stable = client.get("/v1/clicktrail.js")
    conforms("/v1/clicktrail.js", "GET", stable)
    versioned = stable.headers["Link"].split(">")[0].lstrip("<")
    conforms("/v1/clicktrail.{version}.js", "GET", client.get(versioned))
    conforms("/v1/clicktrail.{version}.js", "GET", client.get("/v1/clicktrail.0000.js"))
    again = client.get(versioned, headers={"If-None-Match": stable.headers["ETag"]})
    assert again.status_code in (200, 304)
    conforms("/v1/clicktrail.{version}.js", "GET", again)


def test_the_unavailable_answers_match(tmp_path):
    engine = make_engine(tmp_path, "redis")
    settings = engine.settings.replace(
        event_log_url=parse_event_log_url("redis://127.0.0.1:1/0?stream=x"),
        personalizer_bind="127.0.0.1:1",
    )
    client = create_app(settings).test_client()
    body = json.dumps({"site_id": "shop", "events": [event()]})
    answer = client.post("/v1/events", data=body, headers={"Origin": SHOP})
    assert answer.status_code == 503
    conforms("/v1/events", "POST", answer)
    pixel = client.get(f"/v1/pixel.gif?{urlencode({'j': body})}")
    assert pixel.status_code == 503
    conforms("/v1/pixel.gif", "GET", pixel)
    conforms("/readyz", "GET", client.get("/readyz"))
    relayed = client.post("/v1/decide", json={"site_id": "shop"}, headers={"Origin": SHOP})
    assert relayed.status_code == 503
    conforms("/v1/decide", "POST", relayed)


def test_an_undeclared_method_is_a_405_with_allow(app):
    """Found by schemathesis: the JSON error handler dropped the 405's Allow header."""
    answer = app.test_client().open("/healthz", method="TRACE")
    assert answer.status_code == 405
    assert set(answer.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    assert answer.get_json()["error"]
