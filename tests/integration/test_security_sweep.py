"""A sweep over every route of every service (the collector, the personalizer, the reports with
the dashboard and the demo shop), read from the apps' own URL maps so a new route is swept
without a word here:

- every answer in HTML carries the security headers and a Content-Security-Policy that allows
  no inline script;
- no route redirects to another origin, whatever it is given (hostile ``next``, ``back``,
  ``url``, ``to`` ... parameters, and path values), except the personalizer's click, which may
  only send to the creative's registered landing URL and refuses anything unsigned.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from werkzeug.routing import Rule

from clicktrail.sites.model import Site
from clicktrail.sites.registry import edit_sites
from tests.integration.conftest import make_engine

pytestmark = pytest.mark.redis

HOSTILE = [
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example",
    "https:evil.example",
    "javascript:alert(1)",
    "%2F%2Fevil.example",
    "http://127.0.0.1.evil.example/",
]
PARAMETERS = ("next", "back", "url", "to", "target", "return", "redirect", "r", "u", "landing")
HTML_HEADERS = ("X-Content-Type-Options", "Referrer-Policy")


@pytest.fixture(scope="module")
def apps(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("sweep")
    engine = make_engine(tmp_path, "redis", demo=True)
    with edit_sites(engine.settings.sites_file) as sites:
        sites["shop"] = Site("shop", origins=("https://shop.example.test",))
    from personalizer.app import create_app as personalizer
    from reports.app import create_app as reports
    from tracker.app import create_app as collector

    built = {
        "collector": collector(engine.settings),
        "personalizer": personalizer(engine.settings),
        "reports": reports(engine.settings),
    }
    yield built
    built["collector"].extensions["clicktrail"].event_log.close()


def sample_path(rule: Rule, value: str) -> str:
    """The rule's path with every variable set to ``value`` (a known page name where the
    rule takes a name)."""
    values = {name: value for name in rule.arguments}
    try:
        return rule.build(values, append_unknown=False)[1]
    except Exception:  # noqa: BLE001 - a converter refused the value: try a plain one
        return rule.build({name: "x" for name in rule.arguments}, append_unknown=False)[1]


def get_routes(app) -> list[Rule]:
    return [
        rule
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or ()) and rule.endpoint != "static"
    ]


def same_origin(location: str) -> bool:
    """A path on this server, or an absolute URL of the test client's own host (werkzeug's
    308s that tidy a path are absolute)."""
    if location.startswith(("//", "/\\")):
        return False
    parts = urlsplit(location)
    return (parts.scheme, parts.netloc) in (("", ""), ("http", "localhost"))


@pytest.mark.parametrize("service", ["collector", "personalizer", "reports"])
def test_no_route_redirects_elsewhere_and_every_page_has_the_headers(apps, service):
    app = apps[service]
    client = app.test_client()
    html_pages, redirects, requests = 0, 0, 0
    for rule in get_routes(app):
        for value in ("overview", HOSTILE[1]):
            path = sample_path(rule, value)
            for name in PARAMETERS:
                for hostile in HOSTILE[:3] if name != "next" else HOSTILE:
                    answer = client.get(path, query_string={name: hostile, "site": "shop"})
                    requests += 1
                    location = answer.headers.get("Location")
                    if location is not None:
                        redirects += 1
                        allowed = service == "personalizer" and rule.rule.endswith("/c")
                        assert allowed or same_origin(location), (
                            f"{rule.rule} ?{name}={hostile} -> {answer.status_code} {location}"
                        )
                    if answer.mimetype == "text/html" and answer.get_data():
                        html_pages += 1
                        check_html_headers(rule.rule, answer)
    print(f"{service}: {requests} requests, {html_pages} HTML answers, {redirects} redirects")
    assert requests > 0


def check_html_headers(route: str, answer) -> None:  # noqa: ANN001
    for name in HTML_HEADERS:
        assert answer.headers.get(name), f"{route}: no {name}"
    policy = answer.headers.get("Content-Security-Policy", "")
    assert policy, f"{route}: no Content-Security-Policy"
    directives = {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}
    scripts = directives.get("script-src", directives.get("default-src", []))
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts, route
    assert "frame-ancestors" in directives or answer.headers.get("X-Frame-Options"), route


def test_the_click_redirects_only_with_a_valid_signature(apps):
    client = apps["personalizer"].test_client()
    for hostile in HOSTILE:
        for query in ({"to": hostile}, {"u": hostile, "sig": "x"}, {"landing": hostile}):
            answer = client.get("/v1/pz/c", query_string=query)
            assert answer.status_code == 400 and "Location" not in answer.headers, query
