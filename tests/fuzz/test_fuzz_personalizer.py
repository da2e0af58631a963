"""schemathesis against the running personalizer, from its own /openapi.json: no 5xx other than
the described 503s, every answer as described; browsers (an allowed origin, a foreign one) and
ad servers (tokens of every role, of another site, made up) both played. Then the inputs the
property tests found to crash it, over HTTP."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request

import pytest

from personalizer.openapi import document
from personalizer.signing import FIELDS, SIGNATURE
from tests.fuzz.conftest import (
    FUZZ_SETTINGS,
    ORIGIN,
    SITE,
    bearer,
    excluded_checks,
    load_schema,
    pick,
    request,
)

pytestmark = [pytest.mark.redis, pytest.mark.clickhouse, pytest.mark.slow]

positive = load_schema(document(), "positive")
negative = load_schema(document(), "negative")


CREATIVE = {
    "id": "a",
    "placement": "top",
    "image_url": "https://cdn.example.test/a.png",
    "alt": "A",
    "landing_url": "https://shop.example.test/a",
    "width": 300,
    "height": 250,
}


@pytest.fixture(scope="module")
def stocked(services):
    """A default campaign and a small catalog, so decisions have something to choose."""
    auth = {"Authorization": f"Bearer {services.tokens['admin']}"}
    url = f"{services.personalizer}/v1/manage/sites/{SITE}"
    campaign = {"name": "Everyone", "default": True, "creatives": [CREATIVE]}
    assert request("PUT", f"{url}/campaigns/everyone", campaign, auth) in (200, 201)
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
    assert request("POST", f"{url}/catalog?kind=json", feed, auth) == 200
    return services


@pytest.mark.parametrize("path", ["/openapi.json", "/v1/openapi.json"])
def test_served_document(services, path):
    with urllib.request.urlopen(f"{services.personalizer}{path}", timeout=10) as served:
        assert json.load(served) == json.loads(json.dumps(document()))


@positive.parametrize()
@FUZZ_SETTINGS
def test_the_personalizer_keeps_its_description(case, stocked):
    keeps_description(case, stocked)


@negative.parametrize()
@FUZZ_SETTINGS
def test_invalid_requests_to_the_personalizer(case, stocked):
    keeps_description(case, stocked)


def keeps_description(case, stocked):
    services = stocked
    if case.path_parameters and "site_id" in case.path_parameters:
        case.path_parameters["site_id"] = pick(
            case, "site", [SITE, SITE, case.path_parameters["site_id"]]
        )
    if isinstance(case.body, dict) and "site_id" in case.body:
        case.body["site_id"] = pick(case, "site", [SITE, SITE, case.body["site_id"]])
    if case.query and "site_id" in case.query:
        case.query["site_id"] = pick(case, "site", [SITE, case.query["site_id"]])
    origin = pick(case, "origin", [ORIGIN, ORIGIN, "https://evil.example.test", None])
    headers = {"Origin": origin} if origin else {}
    case.call_and_validate(
        base_url=services.personalizer,
        headers={**headers, **bearer(case, services)},
        excluded_checks=excluded_checks(case),
    )


# --- what the property tests found, over HTTP ---------------------------------------------------


def test_a_rule_number_past_float_is_a_422_not_a_500(stocked):
    """tests/unit/properties/test_rules_properties.py: an integer past 1e308 in a rule raised
    OverflowError while validating the campaign."""
    campaign = {
        "name": "Far",
        "rules": {"near": {"lat": 10**400, "lon": 0, "km": 1}},
        "creatives": [CREATIVE],
    }
    auth = {"Authorization": f"Bearer {stocked.tokens['marketer']}"}
    url = f"{stocked.personalizer}/v1/manage/sites/{SITE}/campaigns/far"
    assert request("PUT", url, campaign, auth) == 422


@pytest.mark.parametrize("path", ["/v1/pz/i", "/v1/pz/c"])
def test_a_non_ascii_signature_is_a_400_not_a_500(stocked, path):
    """tests/unit/properties/test_signing_properties.py: a signature naming a real key id with
    a non-ASCII MAC raised TypeError in the constant-time comparison."""
    decided = urllib.request.Request(
        f"{stocked.personalizer}/v1/decide",
        data=json.dumps({"site_id": SITE, "placements": ["top"]}).encode(),
        headers={"Origin": ORIGIN, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(decided, timeout=10) as answer:
        signed = json.load(answer)["placements"]["top"]["impression_url"]
    query = dict(
        urllib.parse.parse_qsl(urllib.parse.urlsplit(signed).query, keep_blank_values=True)
    )
    assert set(query) >= {key for key, _ in FIELDS} | {SIGNATURE}
    key_id = query[SIGNATURE].split(".")[0]
    query[SIGNATURE] = f"{key_id}.\u00e9t\u00e9"
    url = f"{stocked.personalizer}{path}?{urllib.parse.urlencode(query)}"
    assert request("GET", url) == 400


def test_a_control_character_in_a_refusal_is_a_400_not_a_500(stocked):
    """Found by schemathesis: X-Clicktrail-Error quoted an unexpected parameter's name, control
    characters included, and gunicorn answers 500 rather than send such a header."""
    assert request("GET", f"{stocked.personalizer}/v1/pz/i?%05=1") == 400
