"""schemathesis against the running reports service (ClickHouse 18.16 behind it), from its own
/openapi.json: no 5xx other than the described 503s, every answer as described, with tokens
of every role, of another site, made up and none."""

from __future__ import annotations

import json
import urllib.request

import pytest
from schemathesis.checks import missing_required_header

from reports.openapi import document
from tests.fuzz.conftest import (
    FUZZ_SETTINGS,
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

# Reported to the lead: a report reads its site= before the token (tokens are per site), so a
# request with neither is a 400 (no site), not a 401.
PER_OPERATION = tuple(
    (f"GET {path}", missing_required_header)
    for path in document()["paths"]
    if path.startswith("/v1/reports/")
)


@pytest.mark.parametrize("path", ["/openapi.json", "/v1/openapi.json"])
def test_served_document(services, path):
    with urllib.request.urlopen(f"{services.reports}{path}", timeout=10) as served:
        assert json.load(served) == json.loads(json.dumps(document()))


@positive.parametrize()
@FUZZ_SETTINGS
def test_the_reports_keep_their_description(case, services):
    keeps_description(case, services)


@negative.parametrize()
@FUZZ_SETTINGS
def test_invalid_requests_to_the_reports(case, services):
    keeps_description(case, services)


def keeps_description(case, services):
    if case.query and "site" in case.query:
        case.query["site"] = pick(case, "site", [SITE, SITE, case.query["site"]])
    case.call_and_validate(
        base_url=services.reports,
        headers=bearer(case, services),
        excluded_checks=excluded_checks(case, *PER_OPERATION),
    )


@pytest.mark.parametrize(
    "query",
    [
        "until=0543-12-10&since=540d",
        "until=0001-01-01&since=5d",
        "until=9999-12-31",
        "since=1969-12-30&until=1969-12-31",
    ],
)
@pytest.mark.parametrize("path", ["/v1/reports/audience", "/v1/reports/rfm/export"])
def test_a_day_no_event_can_have_is_a_400_not_a_500(services, path, query):
    """Found by schemathesis: a date before 1970 reached ClickHouse (which refused the query:
    500), one near year 1 or 9999 overflowed Python's date (500)."""
    auth = {"Authorization": f"Bearer {services.tokens['read']}"}
    segment = "&segment=new" if path.endswith("export") else ""
    url = f"{services.reports}{path}?site={SITE}{segment}&{query}"
    assert request("GET", url, headers=auth) == 400
