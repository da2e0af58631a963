"""Real answers of the personalizer match the schemas its OpenAPI document states, and the
document is served."""

from __future__ import annotations

import json
import uuid

import pytest
from jsonschema import Draft202012Validator

from bench.harness.engine import make_engine
from clicktrail.sites.model import Site
from personalizer.app import create_app
from tests.sites import site_with_marketer

pytestmark = pytest.mark.redis

ORIGIN = "https://shop.example.test"


def check(document: dict, name: str, value: object) -> None:
    validator = Draft202012Validator(
        {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    )
    errors = [error.message for error in validator.iter_errors(value)]
    assert not errors, f"{name}: {errors}"


def test_answers_match_the_described_schemas(tmp_path, small_geoip_db):
    site_id = f"s{uuid.uuid4().hex[:10]}"
    engine = make_engine(tmp_path, "redis", geoip_db=small_geoip_db)
    secret = site_with_marketer(engine.settings, Site(site_id, origins=(ORIGIN,)))
    client = create_app(engine.settings).test_client()
    auth = {"Authorization": f"Bearer {secret}"}

    served = client.get("/v1/openapi.json")
    assert served.status_code == 200
    document = served.get_json()

    campaign = {
        "name": "Everyone",
        "default": True,
        "creatives": [
            {
                "id": "a",
                "placement": "top",
                "image_url": "https://cdn.example.test/a.png",
                "alt": "A",
                "landing_url": "https://shop.example.test/a",
                "width": 300,
                "height": 250,
            }
        ],
    }
    check(document, "Campaign", {**campaign, "id": "everyone", "site_id": site_id})
    put = client.put(f"/v1/manage/sites/{site_id}/campaigns/everyone", json=campaign, headers=auth)
    assert put.status_code == 201
    check(document, "Changes", put.get_json())
    listed = client.get(f"/v1/manage/sites/{site_id}/campaigns", headers=auth).get_json()
    for stored in listed["campaigns"]:
        check(document, "Campaign", stored)
    feed = [
        {
            "sku": f"p{n}",
            "title": f"Product {n}",
            "category": "Shoes/Running",
            "price": 1000 + n,
            "currency": "EUR",
            "url": f"https://shop.example.test/p{n}",
        }
        for n in range(5)
    ]
    for product in feed:
        check(document, "Product", product)
    assert (
        client.post(
            f"/v1/manage/sites/{site_id}/catalog?kind=json", data=json.dumps(feed), headers=auth
        ).status_code
        == 200
    )

    for body in (
        {"site_id": site_id, "visitor_id": "v1", "placements": ["top", "side"], "offers": 3},
        {"site_id": site_id, "placements": ["top"], "explain": True},
    ):
        check(document, "DecideRequest", body)
        answer = client.post("/v1/decide", json=body, headers={"Origin": ORIGIN})
        assert answer.status_code == 200
        check(document, "Decision", answer.get_json())
        assert answer.get_json()["placements"]["top"] is not None
        assert len(answer.get_json()["offers"]) <= body.get("offers", 0)
    refused = client.post("/v1/decide", json={"placements": ["top"]}, headers={"Origin": ORIGIN})
    assert refused.status_code == 400
    check(document, "Error", refused.get_json())
