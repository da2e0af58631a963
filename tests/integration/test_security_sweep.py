"""A sweep over every route of every service (the collector, the personalizer, the reports with
the dashboard and the demo shop), read from the apps' own URL maps so a new route is swept
without a word here:

- every answer in HTML carries the security headers and a Content-Security-Policy that allows
  no inline script;
- no route redirects to another origin, whatever it is given (hostile ``next``, ``back``,
  ``url``, ``to`` ... parameters, and path values), except the personalizer's click, which may
  only send to the creative's registered landing URL and refuses anything unsigned;
- no form (a POST that redirects: sign-in, sign-out, a campaign's save and status, the demo
  shop's place picker) redirects to another origin, whatever target it is given, read as a
  browser reads a ``Location``.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import parse_qsl, urlsplit

import pytest
from werkzeug.routing import Rule

from clicktrail.accounts.model import new_account
from clicktrail.accounts.registry import edit_accounts
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


# Targets a form may be handed, each read by some browser as another origin: a scheme, two
# slashes, a backslash (a slash to browsers), a tab or line break (dropped by browsers, so
# they hide a second slash from a check; a line break would also start a header of its own),
# leading space (stripped).
HOSTILE_TARGETS = [
    "//evil.example",
    "https://evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "javascript:alert(1)",
    "http:evil.example",
    "%2F%2Fevil.example",
    " //evil.example",
    "/%09/evil.example",
    "https:/evil.example",
    "///evil.example",
    "\t//evil.example",
    "/dashboard/\t/evil.example",
    "/dashboard/\\evil.example",
    "/dashboard/\r\nRefresh: 0; url=https:evil.example",
    "/demo/\t//evil.example",
    "/demo\\evil.example",
    "/demo/\r\nRefresh: 0; url=https:evil.example",
]
PASSWORD = "a sweep's long password"
MANAGED_SITE = f"sweep{uuid.uuid4().hex[:8]}"  # its campaigns live in the shared durable Redis


@pytest.fixture(scope="module")
def apps(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("sweep")
    engine = make_engine(tmp_path, "redis", demo=True, dashboard_signin_limit="10000 per minute")
    with edit_sites(engine.settings.sites_file) as sites:
        sites["shop"] = Site("shop", origins=("https://shop.example.test",))
        sites[MANAGED_SITE] = Site(MANAGED_SITE)
    with edit_accounts(engine.settings.accounts_file) as accounts:
        accounts["sweep"] = new_account("sweep", PASSWORD, "admin", ("*",), 0)
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
    import redis

    from personalizer.campaign_store import campaigns_key, history_key, version_key

    durable = redis.Redis.from_url(engine.settings.state_url.url)
    site_keys = (campaigns_key(MANAGED_SITE), history_key(MANAGED_SITE))
    durable.delete(*site_keys, version_key(MANAGED_SITE))
    durable.srem("pz:campaign-sites", MANAGED_SITE)
    durable.close()


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


# The forms that answer with a redirect, each filled so that it succeeds (a refused form
# answers with its page, not a redirect); the status form needs the campaign saved first.
CAMPAIGN_FORM = {
    "mode": "edit",
    "original": "sweep",
    "id": "sweep",
    "name": "Sweep",
    "status": "active",
    "priority": "1",
    "holdout_percent": "0",
    "rules": "",
    "creative_id": "sweep-a",
    "creative_placement": "top",
    "creative_image_url": "https://cdn.example.test/a.png",
    "creative_alt": "a",
    "creative_headline": "",
    "creative_landing_url": "https://shop.example.test/a",
    "creative_width": "300",
    "creative_height": "250",
}
REDIRECTING_FORMS = {  # route -> (the path posted to, the fields)
    "/dashboard/sign-in": (
        "/dashboard/sign-in",
        {"method": "account", "username": "sweep", "password": PASSWORD},
    ),
    "/dashboard/sign-out": ("/dashboard/sign-out", {}),
    "/dashboard/manage/campaigns/save": (
        f"/dashboard/manage/campaigns/save?site={MANAGED_SITE}",
        CAMPAIGN_FORM,
    ),
    "/dashboard/manage/campaigns/<campaign_id>/status": (
        f"/dashboard/manage/campaigns/sweep/status?site={MANAGED_SITE}",
        {"status": "active"},
    ),
    "/demo/from": ("/demo/from", {"place": ""}),
}
# POST routes that never redirect: the preview answers with its page; the demo's relay
# answers with the collector's answer (the collector's routes are swept above).
NOT_REDIRECTING = {"/dashboard/manage/campaigns/preview", "/demo/ct/v1/<path:rest>"}


def browser_target(location: str) -> tuple[str, str, str]:
    """(scheme, host, path) a browser goes to on ``location``, as the WHATWG URL parser reads
    it: leading and trailing controls and spaces stripped, tabs and line breaks dropped, a
    backslash a slash. Scheme and host are "" for a path of this server."""
    read = location.strip("".join(map(chr, range(0x21))))
    read = re.sub(r"[\t\n\r]", "", read).replace("\\", "/")
    parts = urlsplit(read)
    return parts.scheme, parts.netloc, parts.path


def lands_here(location: str) -> bool:
    scheme, host, path = browser_target(location)
    if scheme or host:
        return (scheme, host) == ("http", "localhost")  # the test client's own, absolute
    return path.startswith("/")


def signed_in(app, address: str):  # noqa: ANN001, ANN201
    """A client signed in as the sweep's admin, and a CSRF token of its session."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    answer = client.post(
        "/dashboard/sign-in",
        data={"csrf_token": csrf_token(client), **REDIRECTING_FORMS["/dashboard/sign-in"][1]},
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return client, csrf_token(client)


def csrf_token(client) -> str:  # noqa: ANN001
    page = client.get("/dashboard/sign-in").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_every_redirecting_form_is_known(apps):
    routes = {
        rule.rule
        for rule in apps["reports"].url_map.iter_rules()
        if "POST" in (rule.methods or ()) and not rule.rule.startswith("/v1/")
    }
    assert routes == REDIRECTING_FORMS.keys() | NOT_REDIRECTING, (
        "a new form: add it to REDIRECTING_FORMS or NOT_REDIRECTING"
    )


@pytest.mark.parametrize("where", ["query", "form"])
def test_no_form_redirects_to_another_origin(apps, where):
    app = apps["reports"]
    checked = 0
    for n, hostile in enumerate(HOSTILE_TARGETS):
        for path, fields in REDIRECTING_FORMS.values():
            client, token = signed_in(app, f"10.77.{n}.{len(path) % 250}")
            targets = {name: hostile for name in PARAMETERS}
            url = urlsplit(path)
            query = {**dict(parse_qsl(url.query)), **(targets if where == "query" else {})}
            form = {**fields, "csrf_token": token, **(targets if where == "form" else {})}
            answer = client.post(url.path, query_string=query, data=form)
            said = f"{path} {where} next={hostile!r} -> {answer.status_code}"
            assert answer.status_code in (302, 303), said + answer.get_data(as_text=True)[:300]
            location = answer.headers["Location"]
            assert lands_here(location), f"{said} {location!r}"
            checked += 1
    assert checked == len(HOSTILE_TARGETS) * len(REDIRECTING_FORMS)


def test_a_safe_next_is_still_followed(apps):
    """The checks refuse what they must and no more: a page of the dashboard or the shop is
    where sign-in and the picker go back to."""
    client, _ = signed_in(apps["reports"], "10.78.0.1")
    answer = client.post(
        "/dashboard/sign-in?next=/dashboard/interests?site=shop",
        data={"csrf_token": csrf_token(client), **REDIRECTING_FORMS["/dashboard/sign-in"][1]},
    )
    assert answer.headers["Location"] == "/dashboard/interests?site=shop"
    answer = client.post("/demo/from", data={"place": "", "next": "/demo/c/shoes?page=2"})
    assert answer.status_code == 303 and answer.headers["Location"] == "/demo/c/shoes?page=2"


def test_the_browser_reading_of_a_location(apps):
    """The checker itself: what a browser takes for another origin, it does too."""
    for location in ("//evil.example", "/\\evil.example", "\t//evil.example", " //e.example"):
        assert not lands_here(location), location
    for location in ("http:evil.example", "javascript:alert(1)", "https:/evil.example"):
        assert not lands_here(location), location
    for location in ("/dashboard/overview", "/demo/", "http://localhost/dashboard/"):
        assert lands_here(location), location
