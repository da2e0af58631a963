"""The OpenAPI document: valid OpenAPI 3.1, and every route the app serves is described (with
its methods), so the description cannot silently fall behind the code."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from personalizer.openapi import document
from personalizer.views import decide, health, manage, openapi, track


def test_the_document_is_valid_openapi():
    validate(document())


def test_every_route_is_described_with_its_methods():
    app = Flask(__name__)
    for blueprint in (decide.bp, track.bp, manage.bp, health.bp, openapi.bp):
        app.register_blueprint(blueprint)
    paths = document()["paths"]
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        assert path in paths, f"{path} is served but not described"
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            assert method.lower() in paths[path], f"{method} {path} is not described"


def schema(name: str) -> Draft202012Validator:
    return Draft202012Validator(
        {"$ref": f"#/components/schemas/{name}", "components": document()["components"]}
    )


@pytest.mark.parametrize(
    "body, valid",
    [
        ({"site_id": "shop", "placements": ["top"], "offers": 4}, True),
        ({"site_id": "shop", "placements": ["top"], "surprise": 1}, False),  # extra="forbid"
        ({"placements": ["top"]}, False),
    ],
)
def test_the_request_schema_is_the_validating_model(body, valid):
    assert schema("DecideRequest").is_valid(body) is valid
