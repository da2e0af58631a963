"""The dashboard's pages through the reports app on both engines: sign-in with an account or
a token (rate-limited, CSRF-protected), the security headers, roles and sites, the filters
giving the reports API's figures for the same parameters, the empty site, bad filters."""

from __future__ import annotations

import json
import random
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest

from clicktrail import ports
from clicktrail.accounts.model import new_account
from clicktrail.accounts.registry import edit_accounts
from clicktrail.settings import Settings
from clicktrail.simulator.devices import load_user_agents
from clicktrail.simulator.geography import load_network_pool
from clicktrail.simulator.output import write_batches
from clicktrail.simulator.simulation import SimulationConfig, run_simulation
from clicktrail.sites.model import Site
from clicktrail.sites.registry import edit_sites
from clicktrail.tokens.model import new_token
from clicktrail.tokens.registry import edit_tokens
from pipelines.warehouse.base import WarehouseError, WarehouseUnavailable
from pipelines.warehouse.factory import open_warehouse
from pipelines.warehouse.migrate import migrate
from pipelines.warehouse.reader import WarehouseEventStore
from pipelines.warehouse.rollups import RollupBuilder
from pipelines.warehouse.sink import WarehouseSink
from reports.app import create_app
from tests.integration.conftest import ENGINES, warehouse_target
from tests.unit.reports import expected

pytestmark = pytest.mark.redis  # the sign-in limit counts in the state Redis
# Sign-in, headers and roles do not depend on the warehouse: one engine is enough for them.
ONE_ENGINE = pytest.mark.parametrize("loaded", ["chdb"], indirect=True)

SIMULATION = SimulationConfig(seed=41, visitors=60, days=3, site_id="shop")
ZONE = "Asia/Tehran"
NOW = datetime(2025, 1, 8, 21, tzinfo=UTC).timestamp()  # 00:30 on the 9th in Tehran
PERIOD = {"since": "2025-01-05", "until": "2025-01-09"}
PASSWORD = "a long password"
PERSIAN = "کفش ورزشی"  # a top category renamed: the page must keep it right-to-left


def persian_category(rows: list[dict]) -> str:
    """Rename the commonest top category to ``PERSIAN`` in every row; its old name."""
    counts: dict[str, int] = {}
    for row in rows:
        if row["category"]:
            counts[row["category"][0]] = counts.get(row["category"][0], 0) + 1
    old = max(counts, key=lambda name: counts[name])
    for row in rows:
        if row["category"] and row["category"][0] == old:
            row["category"] = [PERSIAN, *row["category"][1:]]
        row["item_categories"] = [
            PERSIAN + path[len(old) :] if path == old or path.startswith(old + "/") else path
            for path in row["item_categories"]
        ]
    return old


@pytest.fixture(scope="module")
def rows(shared_small_geoip_db: Path, tmp_path_factory) -> list[dict]:
    networks = load_network_pool(shared_small_geoip_db, SIMULATION.seed)
    simulation = run_simulation(SIMULATION, networks, load_user_agents())
    path = tmp_path_factory.mktemp("sim") / "shop.jsonl"
    write_batches(path, simulation.batches)
    rows = expected.rows_from_jsonl(
        path, shared_small_geoip_db, {"tehran": Site("tehran", timezone=ZONE)}
    )
    persian_category(rows)
    return rows + campaign_rows() + sales_rows()


def campaign_rows() -> list[dict]:
    """The campaigns report's hand-built personalizer events (decisions, impressions, clicks,
    holdouts, orders), on this site: the campaigns page has something to show."""
    from tests.integration.test_reports_campaigns import simulate

    state = random.getstate()
    try:
        made = simulate(seed=43)
    finally:
        random.setstate(state)
    return [{**row, "site_id": "tehran"} for row in made]


SALES_SINCE = "2024-12-08"  # four weeks of orders before the period: the sales page forecasts


def sales_rows() -> list[dict]:
    """Orders on every day of the four weeks before the period (a weekly rhythm), so the sales
    page has the 21 closed days a forecast needs."""
    from tests.integration.test_reports_campaigns import Events, local_ms

    rng = random.Random(47)
    events = Events()
    day = date.fromisoformat(SALES_SINCE)
    n = 0
    while day < date(2025, 1, 5):
        for _ in range(2 + day.weekday() % 3 + rng.randint(0, 2)):
            n += 1
            buyer = {"id": f"buyer{n:04d}", "country": "IR", "device": "desktop"}
            ms = local_ms(day, rng.randint(1, 22), rng.randint(0, 59))
            events.purchase(buyer, ms, [(rng.choice((999, 2500, 4000)), rng.randint(1, 2))])
        day += timedelta(days=1)
    return [{**row, "site_id": "tehran"} for row in events.rows]


@pytest.fixture(scope="module", params=ENGINES)
def loaded(request, rows, chdb_folder):  # noqa: ANN001, ANN201
    target = warehouse_target(request.param, chdb_folder)
    with open_warehouse(target) as warehouse:
        migrate(warehouse)
        WarehouseSink(warehouse).write(rows)
        builder = RollupBuilder(warehouse)
        for day in ("2025-01-05", "2025-01-06", "2025-01-07"):
            builder.build("tehran", datetime.fromisoformat(day).date(), ZONE)
        yield warehouse
        warehouse.execute(f"DROP DATABASE IF EXISTS {target.database}")


def make_app(loaded, tmp_path: Path, limit: str = "1000 per minute"):  # noqa: ANN001, ANN201
    settings = Settings.from_env(
        {},
        port_offset=ports.port_offset(),  # the run's own services (CLICKTRAIL_PORT_OFFSET)
        data_dir=tmp_path,
        sites_file=tmp_path / "sites.json",
        tokens_file=tmp_path / "tokens.json",
        accounts_file=tmp_path / "accounts.json",
        dashboard_session_key_file=tmp_path / "session.key",
        dashboard_signin_limit=limit,
        sites_reload_seconds=0.0,
    )
    with edit_sites(settings.sites_file) as sites:
        sites["tehran"] = Site("tehran", timezone=ZONE)
        sites["empty"] = Site("empty", timezone="America/Los_Angeles")
    with edit_accounts(settings.accounts_file) as accounts:
        for name, role, site_ids in (
            ("ana", "marketer", ("tehran", "empty")),
            ("root", "admin", ("*",)),
            ("elsewhere", "read", ("empty",)),
        ):
            accounts[name] = new_account(name, PASSWORD, role, site_ids, 0)
    secrets = {}
    with edit_tokens(settings.tokens_file) as entries:
        for label, site, role in (("read", "tehran", "read"), ("adserver", "tehran", "adserver")):
            secret, token = new_token(site, role, 0)
            entries[token.token_id] = token
            secrets[label] = secret
    app = create_app(settings, store=WarehouseEventStore(loaded), clock=lambda: NOW)
    app.secrets = secrets
    app.settings = settings
    return app


@pytest.fixture
def app(loaded, tmp_path: Path):  # noqa: ANN001, ANN201
    return make_app(loaded, tmp_path)


def client_at(app, address: str = ""):  # noqa: ANN001, ANN201
    """A test client with an address of its own (the sign-in limit counts per address)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = (
        address or f"10.{uuid.uuid4().int % 250}.7.{uuid.uuid4().int % 250}"
    )
    return client


def csrf_token(client) -> str:  # noqa: ANN001
    page = client.get("/dashboard/sign-in").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def sign_in(client, username: str = "ana", password: str = PASSWORD, **form):  # noqa: ANN001, ANN201
    data = {"method": "account", "username": username, "password": password, **form}
    return client.post("/dashboard/sign-in", data={"csrf_token": csrf_token(client), **data})


def values(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-figure="([^"]+)" data-value="([^"]*)"', html))


def api(app, name: str, **params) -> dict:  # noqa: ANN001
    headers = {"Authorization": f"Bearer {app.secrets['read']}"}
    answer = app.test_client().get(
        f"/v1/reports/{name}", query_string={"site": "tehran", **params}, headers=headers
    )
    assert answer.status_code == 200, answer.json
    return answer.json


@ONE_ENGINE
def test_pages_need_a_sign_in_and_an_account_signs_in(app):
    client = client_at(app)
    answer = client.get("/dashboard/interests?site=tehran")
    assert answer.status_code == 302
    assert answer.location == "/dashboard/sign-in?next=/dashboard/interests?site%3Dtehran"
    wrong = sign_in(client, password="not the password")
    assert wrong.status_code == 401 and "wrong" in wrong.get_data(as_text=True)
    answer = sign_in(client, next="/dashboard/interests?site=tehran")
    assert answer.status_code == 302 and answer.location == "/dashboard/interests?site=tehran"
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/dashboard" in cookie
    assert "Secure" not in cookie  # plain http here; see the TLS test
    assert client.get("/dashboard/interests?site=tehran").status_code == 200
    # A next page elsewhere is not followed (no open redirect).
    assert sign_in(client, next="//evil.example/x").location == "/dashboard/overview"
    # Signing out ends it, by a form with the CSRF token.
    token = re.search(
        r'name="csrf_token" value="([^"]+)"',
        client.get("/dashboard/overview").get_data(as_text=True),
    ).group(1)
    assert client.post("/dashboard/sign-out", data={"csrf_token": token}).status_code == 302
    assert client.get("/dashboard/overview").status_code == 302


@ONE_ENGINE
def test_a_form_without_its_csrf_token_is_refused(app):
    client = client_at(app)
    answer = client.post(
        "/dashboard/sign-in", data={"method": "account", "username": "ana", "password": PASSWORD}
    )
    assert answer.status_code == 400 and "CSRF token is missing" in answer.get_data(as_text=True)
    answer = client.post(
        "/dashboard/sign-in",
        data={"csrf_token": "forged", "method": "account", "username": "ana", "password": PASSWORD},
    )
    assert answer.status_code == 400
    assert sign_in(client).status_code == 302
    assert client.post("/dashboard/sign-out").status_code == 400  # signed in, still no token
    assert client.get("/dashboard/overview").status_code == 200


@ONE_ENGINE
def test_security_headers_and_a_csp_without_inline_scripts(app):
    client = client_at(app)
    sign_in(client)
    for path in ("/dashboard/sign-in", "/dashboard/overview", "/dashboard/static/dashboard.min.js"):
        answer = client.get(path)
        assert answer.status_code == 200, path
        policy = answer.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert "unsafe-eval" not in policy and "frame-ancestors 'none'" in policy
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["X-Frame-Options"] == "DENY"
        answer.close()  # the static file's handle
    page = client.get("/dashboard/overview").get_data(as_text=True)
    scripts = re.findall(r"<script([^>]*)>", page)
    # Every script is the bundle (src) or data (application/json): nothing inline runs.
    assert scripts and all("src=" in s or 'type="application/json"' in s for s in scripts)
    assert client.get("/dashboard/overview").headers["Cache-Control"] == "no-store"
    # The API is untouched: no cookie, its JSON errors.
    assert client.get("/v1/reports/audience").json["error"]


@ONE_ENGINE
def test_behind_tls_the_cookie_is_secure(app):
    secure = client_at(app)
    page = secure.get("/dashboard/sign-in", base_url="https://dash.example")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    answer = secure.post(
        "/dashboard/sign-in",
        base_url="https://dash.example",
        headers={"Referer": "https://dash.example/dashboard/sign-in"},
        data={"csrf_token": token, "method": "account", "username": "ana", "password": PASSWORD},
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)
    assert "Secure" in answer.headers["Set-Cookie"]
    assert answer.headers["Strict-Transport-Security"].startswith("max-age=")


@ONE_ENGINE
def test_a_token_signs_in_with_its_role_and_site(app):
    client = client_at(app)
    answer = client.post(
        "/dashboard/sign-in",
        data={
            "csrf_token": csrf_token(client),
            "method": "token",
            "token": app.secrets["adserver"],
        },
    )
    assert answer.status_code == 401 and "adserver token may not" in answer.get_data(as_text=True)
    answer = client.post(
        "/dashboard/sign-in",
        data={"csrf_token": csrf_token(client), "method": "token", "token": app.secrets["read"]},
    )
    assert answer.status_code == 302
    assert client.get("/dashboard/overview").status_code == 200
    assert client.get("/dashboard/overview?site=empty").status_code == 403
    # Revoked: the session stops working.
    with edit_tokens(app.settings.tokens_file) as entries:
        entries.clear()
    assert client.get("/dashboard/overview").status_code == 302


@ONE_ENGINE
def test_roles_and_sites_are_enforced(app):
    client = client_at(app)
    sign_in(client, "elsewhere")
    answer = client.get("/dashboard/overview?site=tehran")
    assert answer.status_code == 403 and "tehran" in answer.get_data(as_text=True)
    assert 'value="tehran"' not in client.get("/dashboard/overview").get_data(as_text=True)
    assert client.get("/dashboard/overview?site=nope").status_code == 404
    root = client_at(app)
    sign_in(root, "root")
    html = root.get("/dashboard/overview").get_data(as_text=True)
    assert 'value="tehran"' in html and 'value="empty"' in html
    # A removed account, or a changed password, ends its sessions.
    with edit_accounts(app.settings.accounts_file) as accounts:
        accounts["root"] = new_account("root", "another password", "admin", ("*",), 0)
    assert root.get("/dashboard/overview").status_code == 302


FILTERS = [{"country": "DE"}, {"device": "desktop", "since": "3d", "until": "2025-01-09"}]


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: urlencode(f) or "none")
def test_each_page_shows_the_api_figures_for_the_same_filters(app, filters):
    client = client_at(app)
    sign_in(client)
    params = {**PERIOD, **filters, "site": "tehran"}
    audience = api(app, "audience", **{**PERIOD, **filters})
    if not audience["totals"]["visitors"]:
        pytest.fail(f"the simulation has no visitor for {filters}: choose another filter")
    overview = client.get("/dashboard/overview", query_string=params)
    assert overview.status_code == 200
    shown = values(overview.get_data(as_text=True))
    for name in ("visitors", "sessions", "page_views", "engaged_ms"):
        assert int(shown[name]) == audience["totals"][name], name
    assert float(shown["bounce_rate"]) == pytest.approx(audience["totals"]["bounce_rate"])

    products = api(app, "products", **{**PERIOD, **filters})["totals"]
    shown = values(client.get("/dashboard/products", query_string=params).get_data(as_text=True))
    for name in ("viewers", "carters", "buyers"):
        assert int(shown[name]) == products[name], name
    for currency, revenue in products["revenue"].items():
        assert int(shown[f"revenue-{currency}"]) == revenue

    interests = api(app, "interests", by="country,region", **{**PERIOD, **filters})["rows"]
    html = client.get("/dashboard/interests", query_string=params).get_data(as_text=True)
    table = html.split("<tbody>")[1].split("</tbody>")[0]
    assert table.count("<tr>") == len(interests) > 0

    audience_page = client.get("/dashboard/audience", query_string=params).get_data(as_text=True)
    countries = api(app, "audience", breakdown="country", limit="20", **{**PERIOD, **filters})
    table = audience_page.split('data-table="country">')[1].split("</tbody>")[0]
    assert table.count("<tr>") == len(countries["rows"]) + 1  # and the header row


def test_filters_change_the_figures(app):
    client = client_at(app)
    sign_in(client)
    everyone = values(
        client.get("/dashboard/overview", query_string={**PERIOD, "site": "tehran"}).get_data(
            as_text=True
        )
    )
    desktop = values(
        client.get(
            "/dashboard/overview", query_string={**PERIOD, "site": "tehran", "device": "desktop"}
        ).get_data(as_text=True)
    )
    assert 0 < int(desktop["visitors"]) < int(everyone["visitors"])


def test_user_text_keeps_its_direction(app):
    client = client_at(app)
    sign_in(client)
    for name in ("overview", "interests", "products"):
        html = client.get(f"/dashboard/{name}", query_string={**PERIOD, "site": "tehran"}).get_data(
            as_text=True
        )
        assert '<html lang="en" dir="ltr">' in html
        assert f'<td dir="auto">{PERSIAN}</td>' in html or f"{PERSIAN}</td>" in html, name
        assert re.search(rf'<td dir="auto">[^<]*{PERSIAN}', html), name
    assert "Asia/Tehran" in client.get("/dashboard/overview?site=tehran").get_data(as_text=True)


def test_an_empty_site_shows_the_embed_code(app):
    client = client_at(app)
    sign_in(client)
    answer = client.get("/dashboard/overview?site=empty")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "data-empty" in html
    assert "ct(&#39;init&#39;, {site: &#39;empty&#39;" in html or "site: 'empty'" in html
    assert "/v1/clicktrail.js" in html and "<canvas" not in html
    for name in ("interests", "audience", "products"):
        assert "data-empty" in client.get(f"/dashboard/{name}?site=empty").get_data(as_text=True)


@ONE_ENGINE
def test_bad_filters_are_a_clear_400_and_unknown_pages_404(app):
    client = client_at(app)
    sign_in(client)
    for params, words in (
        ({"country": "XYZ"}, "country must be a two-letter"),
        ({"device": "fridge"}, "device must be one of"),
        ({"since": "2025-02-01", "until": "2025-01-01"}, "is after until"),
        ({"since": "yesterday"}, "since must be"),
    ):
        answer = client.get("/dashboard/overview", query_string={"site": "tehran", **params})
        assert answer.status_code == 400, params
        assert words in answer.get_data(as_text=True), params
    answer = client.get("/dashboard/nothing?site=tehran")
    assert answer.status_code == 404 and "text/html" in answer.content_type


@ONE_ENGINE
def test_sign_in_attempts_are_limited_per_address(loaded, tmp_path: Path):
    app = make_app(loaded, tmp_path, limit="3 per minute")
    client = client_at(app)
    for _ in range(3):
        assert sign_in(client, password="guess guess").status_code == 401
    refused = sign_in(client)  # the right password, but one attempt too many
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Too many sign-in attempts" in refused.get_data(as_text=True)
    assert sign_in(client_at(app)).status_code == 302  # another address is not held up


class AwayStore(WarehouseEventStore):
    """The warehouse's read side, failing as a slow or absent warehouse does."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def run(self, query, /, **params):  # noqa: ANN001, ANN003, ANN201
        raise self.error


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (WarehouseUnavailable("connection refused"), "The warehouse is unavailable"),
        (WarehouseError("timeout: 30 s"), "Try a shorter period"),
    ],
)
def test_a_failing_warehouse_gives_a_page_that_says_so(tmp_path: Path, error, words):
    settings = Settings.from_env(
        {},
        port_offset=ports.port_offset(),  # the run's own services (CLICKTRAIL_PORT_OFFSET)
        data_dir=tmp_path,
        sites_file=tmp_path / "sites.json",
        accounts_file=tmp_path / "accounts.json",
        dashboard_session_key_file=tmp_path / "session.key",
        dashboard_signin_limit="1000 per minute",
    )
    with edit_sites(settings.sites_file) as sites:
        sites["tehran"] = Site("tehran", timezone=ZONE)
    with edit_accounts(settings.accounts_file) as accounts:
        accounts["ana"] = new_account("ana", PASSWORD, "read", ("*",), 0)
    app = create_app(settings, store=AwayStore(error), clock=lambda: NOW)
    client = client_at(app)
    sign_in(client)
    answer = client.get("/dashboard/overview?site=tehran")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 503 and words in html and "data-problem" in html
    assert "Sign out" in html  # the page, its filters and navigation, with the message


# --- campaigns, funnels, retention, RFM, sales, the segment filter ------------------------------


def page_of(client, name: str, **params: str) -> str:  # noqa: ANN001
    answer = client.get(f"/dashboard/{name}", query_string={**PERIOD, "site": "tehran", **params})
    assert answer.status_code == 200, (name, answer.get_data(as_text=True)[-800:])
    return answer.get_data(as_text=True)


def cells(html: str, attribute: str) -> list[str]:
    return re.findall(rf'{attribute}="([^"]*)"', html)


def test_the_report_pages_show_the_api_figures(app):
    client = client_at(app)
    sign_in(client)

    api_campaigns = api(app, "campaigns", window="7", **PERIOD)
    assert api_campaigns["rows"], "the world has campaign events"
    html = page_of(client, "campaigns")
    shown = values(html)
    for name in ("decisions", "impressions", "clicks", "conversions"):
        assert int(shown[name]) == api_campaigns["totals"][name], name
    assert cells(html, "data-campaign") == [row["campaign"] for row in api_campaigns["rows"]]
    assert [float(v) for v in cells(html, "data-ctr")] == pytest.approx(
        [row["ctr"] for row in api_campaigns["rows"]]
    )
    lifts = [row["lift"] for row in api_campaigns["rows"]]
    assert any(lift is not None for lift in lifts), "a campaign with a lift"
    assert cells(html, "data-lift") == [str(lift) for lift in lifts]
    assert 'data-chart="chart-lift"' in html and 'data-chart="chart-ctr"' in html
    narrow = values(page_of(client, "campaigns", window="1"))
    assert (
        int(narrow["conversions"])
        == api(app, "campaigns", window="1", **PERIOD)["totals"]["conversions"]
    )

    steps = "page_view,product_view,add_to_cart"
    api_funnel = api(app, "funnels", steps=steps, within="2h", **PERIOD)["totals"]
    html = page_of(client, "funnels", steps=steps, within="2h")
    assert [int(v) for v in cells(html, "data-visitors")] == [
        step["visitors"] for step in api_funnel["steps"]
    ]
    assert api_funnel["entrants"] > 0 and int(values(html)["entrants"]) == api_funnel["entrants"]
    assert f'value="{steps}"' in html  # the steps stay in the form (and the address)

    cohorts = api(app, "retention", **PERIOD)
    html = page_of(client, "retention")
    assert [int(v) for v in cells(html, "data-visitors")] == [
        row["visitors"] for row in cohorts["rows"]
    ]
    assert 'data-chart="chart-cohorts"' in html

    segments = api(app, "rfm", **PERIOD)
    html = page_of(client, "rfm")
    assert int(values(html)["customers"]) == segments["totals"]["customers"]
    assert [int(v) for v in cells(html, "data-customers")] == [
        row["customers"] for row in segments["rows"]
    ]

    sales = api(app, "sales", **PERIOD)["totals"]
    shown = values(page_of(client, "sales"))
    assert sales["orders"], "the world has orders"
    for currency, orders in sales["orders"].items():
        assert int(shown[f"orders-{currency}"]) == orders
        assert int(shown[f"revenue-{currency}"]) == sales["revenue"][currency]


@ONE_ENGINE
def test_the_segment_filter_applies_where_the_report_takes_it(app):
    client = client_at(app)
    sign_in(client)
    segments = api(app, "rfm", **PERIOD)["rows"]
    chosen = max(segments, key=lambda row: row["customers"])["segment"]
    audience = api(app, "audience", segment=chosen, **PERIOD)["totals"]
    shown = values(page_of(client, "overview", segment=chosen))
    assert int(shown["visitors"]) == audience["visitors"]
    assert f'<option value="{chosen}" selected>' in page_of(client, "overview", segment=chosen)
    # The campaigns report takes no segment: the page says so and shows every visitor's.
    html = page_of(client, "campaigns", segment=chosen, device="desktop")
    assert 'data-ignored="campaigns"' in html and "no segment filter" in html
    assert (
        int(values(html)["decisions"])
        == (api(app, "campaigns", device="desktop", **PERIOD)["totals"]["decisions"])
    )
    # RFM segments are people: no country or device (the API would refuse them).
    html = page_of(client, "rfm", device="desktop")
    assert 'data-ignored="rfm"' in html
    bad = client.get("/dashboard/overview", query_string={"site": "tehran", "segment": "vips"})
    assert bad.status_code == 400 and "segment must be one of" in bad.get_data(as_text=True)


@ONE_ENGINE
def test_bad_page_options_are_a_clear_400(app):
    client = client_at(app)
    sign_in(client)
    for name, params, words in (
        ("funnels", {"steps": "page_view,teleport"}, "unknown event type"),
        ("funnels", {"steps": "page_view"}, "steps must list 2 to"),
        ("funnels", {"within": "forever"}, "within must be"),
        ("campaigns", {"window": "365"}, "window must be a whole number"),
    ):
        answer = client.get(f"/dashboard/{name}", query_string={"site": "tehran", **params})
        assert answer.status_code == 400, (name, params)
        assert words in answer.get_data(as_text=True), (name, params)


class Offers:
    """An ``OfferSource`` in place of the personalizer's command (the export's own seam)."""

    def offers(self, site_id, user_ids, count):  # noqa: ANN001, ANN201
        return {user: [f"sku-{n}" for n in range(count)] for user in user_ids}


@ONE_ENGINE
def test_a_segment_exports_as_the_api_does(app):
    from reports.views.segments import OFFERS_EXTENSION

    app.extensions[OFFERS_EXTENSION] = Offers()
    client = client_at(app)
    sign_in(client)
    segments = api(app, "rfm", **PERIOD)["rows"]
    chosen = max(segments, key=lambda row: row["customers"])
    assert chosen["customers"] > 0, "the world has customers"
    html = page_of(client, "rfm")
    link = re.search(
        rf'<tr data-segment="{chosen["segment"]}">.*?<a data-export href="([^"]+)"', html
    ).group(1)
    answer = client.get(link.replace("&amp;", "&"))
    assert answer.status_code == 200 and answer.content_type.startswith("text/csv")
    headers = {"Authorization": f"Bearer {app.secrets['read']}"}
    by_api = app.test_client().get(
        "/v1/reports/rfm/export",
        query_string={"site": "tehran", "segment": chosen["segment"], "until": PERIOD["until"]},
        headers=headers,
    )
    assert answer.get_data(as_text=True) == by_api.get_data(as_text=True)
    assert answer.get_data(as_text=True).count("\n") == chosen["customers"] + 1
    assert client_at(app).get(link).status_code == 302  # signed out: to the sign-in
    other = client_at(app)
    sign_in(other, "elsewhere")
    assert other.get(link).status_code == 404  # a site it may not see


class CountingStore(WarehouseEventStore):
    """The real read side, counting the queries it runs by name."""

    def __init__(self, warehouse) -> None:  # noqa: ANN001
        super().__init__(warehouse)
        self.counts: dict[str, int] = {}

    def run(self, query, /, **params):  # noqa: ANN001, ANN003, ANN201
        self.counts[query.name] = self.counts.get(query.name, 0) + 1
        return super().run(query, **params)


@ONE_ENGINE
def test_a_page_asks_each_query_once(loaded, tmp_path: Path):
    app = make_app(loaded, tmp_path)
    counting = CountingStore(loaded)
    app.extensions["reports"].source.store = counting
    client = client_at(app)
    sign_in(client)
    page = page_of(client, "audience")
    # Six audience reports (the totals and five breakdowns), each asking for the built days,
    # the totals and the days: each of those is asked of the warehouse once.
    breakdowns = {name: n for name, n in counting.counts.items() if "breakdown" in name}
    assert list(breakdowns.values()) == [5], counting.counts  # one a dimension
    others = {name: n for name, n in counting.counts.items() if name not in breakdowns}
    assert counting.counts["report_rolled_days"] == 1, counting.counts
    assert set(others.values()) == {1}, counting.counts
    totals = api(app, "audience", **PERIOD)["totals"]
    assert int(values(page)["visitors"]) == totals["visitors"]
    countries = api(app, "audience", breakdown="country", limit="20", **PERIOD)["rows"]
    table = page.split('data-table="country">')[1].split("</tbody>")[0]
    assert table.count("<tr>") == len(countries) + 1


def test_the_sales_page_draws_the_forecast_band_of_the_api(app):
    client = client_at(app)
    sign_in(client)
    period = {"since": SALES_SINCE, "until": PERIOD["until"]}
    answer = api(app, "sales", **period)
    assert answer["forecast"]["method"], answer["forecast"]
    html = page_of(client, "sales", **period)
    assert "data-forecast-note" not in html
    spec = json.loads(re.search(r'data-chart="chart-orders-EUR">([^<]+)</script>', html).group(1))
    predicted = [
        row for row in answer["rows"] if row["kind"] == "forecast" and row["currency"] == "EUR"
    ]
    assert len(predicted) == 28
    assert [v for v in spec["forecast"] if v is not None] == [row["orders"] for row in predicted]
    assert [v for v in spec["high"] if v is not None] == [row["orders_high"] for row in predicted]
    assert [v for v in spec["low"] if v is not None] == [row["orders_low"] for row in predicted]
    actual = [
        row for row in answer["rows"] if row["kind"] != "forecast" and row["currency"] == "EUR"
    ]
    assert [v for v in spec["actual"] if v is not None] == [row["orders"] for row in actual]
