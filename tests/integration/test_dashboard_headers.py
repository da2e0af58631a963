"""Every answer of the dashboard to a signed-in browser carries the security headers: each
route of its URL map (every report page, the export, campaign management, the static files,
the forms' answers, the error pages, the redirects and where they lead), read with a
principal who may manage and one who may not."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from reports.dashboard.pages import PAGES
from tests.integration.test_dashboard_pages import (  # noqa: F401 - loaded, rows: fixtures
    PASSWORD,
    PERIOD,
    client_at,
    csrf_token,
    loaded,
    make_app,
    rows,
    sign_in,
)

pytestmark = [pytest.mark.redis, pytest.mark.parametrize("loaded", ["chdb"], indirect=True)]

STRICT_REFERRERS = {
    "no-referrer",
    "same-origin",
    "strict-origin",
    "strict-origin-when-cross-origin",
}


def check_headers(said: str, answer) -> None:  # noqa: ANN001
    """The headers every dashboard answer carries, whatever its status or type."""
    headers = answer.headers
    policy = headers.get("Content-Security-Policy", "")
    directives = {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}
    assert directives.get("default-src") == ["'none'"], f"{said}: {policy!r}"
    scripts = directives.get("script-src", directives.get("default-src"))
    assert scripts in (["'self'"], ["'none'"]), f"{said}: scripts from elsewhere or inline"
    assert directives.get("frame-ancestors") == ["'none'"], said
    assert directives.get("base-uri") == ["'none'"], said
    assert directives.get("form-action") in (["'self'"], ["'none'"]), said
    assert headers.get("X-Frame-Options") == "DENY", said
    assert headers.get("X-Content-Type-Options") == "nosniff", said
    assert headers.get("Referrer-Policy") in STRICT_REFERRERS, said
    assert headers.get("Cross-Origin-Opener-Policy") == "same-origin", said
    assert "camera=()" in headers.get("Permissions-Policy", ""), said
    if answer.mimetype == "text/html":
        assert headers.get("Cache-Control") == "no-store", f"{said}: a page may be cached"
    for cookie in headers.get_all("Set-Cookie"):
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie, f"{said}: {cookie}"


class Sweep:
    """Requests of one signed-in client, each answer's headers checked, redirects followed."""

    def __init__(self, client) -> None:  # noqa: ANN001
        self.client = client
        self.statuses: dict[str, int] = {}

    def get(self, target: str) -> int:
        return self._checked("GET", target, lambda: self.client.get(target))

    def post(self, target: str, **form: str) -> int:
        data = {"csrf_token": csrf_token(self.client), **form}
        return self._checked("POST", target, lambda: self.client.post(target, data=data))

    def _checked(self, method: str, target: str, send) -> int:  # noqa: ANN001
        answer = send()
        first = answer.status_code
        for _ in range(5):  # a redirect's own headers, then where it leads
            check_headers(f"{method} {target} -> {answer.status_code}", answer)
            answer.close()
            location = answer.headers.get("Location")
            if location is None:
                break
            assert not urlsplit(location).netloc, f"{target} -> {location}"
            target, method = location, "GET"
            answer = self.client.get(location)
        self.statuses[f"{method} {target}"] = first
        return first


@pytest.fixture
def app(loaded, tmp_path):  # noqa: ANN001, ANN201, F811 - the imported fixture, by name
    return make_app(loaded, tmp_path)


def test_every_signed_in_answer_carries_the_headers(app):
    routes = {rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/dashboard")}
    swept: set[str] = set()
    sweep = Sweep(client_at(app))
    assert (
        sweep.post("/dashboard/sign-in", method="account", username="ana", password=PASSWORD) == 302
    )
    swept.add("/dashboard/sign-in")

    period = f"since={PERIOD['since']}&until={PERIOD['until']}"
    for name in PAGES:
        assert sweep.get(f"/dashboard/{name}?site=tehran&{period}") == 200, name
        sweep.get(f"/dashboard/{name}?site=empty")  # the embed code instead of figures
    for target, status in (
        ("/dashboard/", 302),
        ("/dashboard/sign-in", 200),
        ("/dashboard/nope?site=tehran", 404),
        ("/dashboard/overview?site=elsewhere", 404),
        ("/dashboard/overview?site=tehran&since=yesterday-ish", 400),
        ("/dashboard/export/rfm?site=tehran&segment=champions", 200),
        ("/dashboard/export/rfm?site=tehran&segment=nope", 400),
        ("/dashboard/manage/campaigns?site=tehran", 200),
        ("/dashboard/manage/campaigns/new?site=tehran", 200),
        ("/dashboard/manage/campaigns/nope/edit?site=tehran", 404),
    ):
        assert sweep.get(target) == status, target
    swept |= {"/dashboard/", "/dashboard/<name>", "/dashboard/export/rfm"}
    swept |= {"/dashboard/manage/campaigns", "/dashboard/manage/campaigns/new"}
    swept.add("/dashboard/manage/campaigns/<campaign_id>/edit")

    # The forms' answers: a preview, a refused save and status (nothing is written), a form
    # without its token; sign-out last.
    assert sweep.post("/dashboard/manage/campaigns/preview?site=tehran", country="DE") == 200
    assert sweep.post("/dashboard/manage/campaigns/save?site=tehran", id="x") == 422
    assert sweep.post("/dashboard/manage/campaigns/nope/status?site=tehran", status="gone") == 400
    refused = sweep.client.post("/dashboard/manage/campaigns/preview?site=tehran")
    assert refused.status_code == 400
    check_headers("POST without a CSRF token", refused)
    swept |= {f"/dashboard/manage/campaigns/{end}" for end in ("preview", "save")}
    swept.add("/dashboard/manage/campaigns/<campaign_id>/status")
    assert sweep.post("/dashboard/sign-out") == 302
    swept.add("/dashboard/sign-out")
    assert sweep.get("/dashboard/overview?site=tehran") == 302  # to the sign-in page

    # Static files: the bundle and its style sheet.
    for name in ("dashboard.min.js", "dashboard.css"):
        assert sweep.get(f"/dashboard/static/{name}") == 200
    swept.add("/dashboard/static/<path:filename>")

    assert swept == routes, f"not swept: {sorted(routes - swept)}"


def test_a_reader_is_refused_management_with_the_headers(app):
    sweep = Sweep(client_at(app))
    sign_in(sweep.client, "elsewhere")
    assert sweep.get("/dashboard/manage/campaigns?site=empty") == 403
    assert sweep.get("/dashboard/overview?site=tehran") == 403
    assert sweep.get("/dashboard/overview?site=empty") == 200
