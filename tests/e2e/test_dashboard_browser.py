"""The dashboard in Chromium, through the real reports service (gunicorn) on the ClickHouse
server with simulator data: sign in, every page loads without an error in the console, each
chart draws, a filter changes the figures to the reports API's, a Persian category renders
right-to-left in the left-to-right page, an empty site shows the embed code, and the pages fit
a phone. Screenshots go to .cache/artifacts/dashboard/ (docs/ keeps two of them)."""

from __future__ import annotations

import json
import shutil
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

import pytest
import redis

from bench.harness.browser import CHROMIUM, Driver
from bench.harness.engine import Engine
from clicktrail import ports
from clicktrail.accounts.model import new_account
from clicktrail.accounts.registry import edit_accounts
from clicktrail.settings import Settings
from clicktrail.sites.model import Site
from clicktrail.sites.registry import edit_sites
from clicktrail.tokens.model import new_token
from clicktrail.tokens.registry import edit_tokens
from personalizer.campaign_store import campaigns_key, history_key, version_key
from pipelines.warehouse.factory import open_warehouse
from pipelines.warehouse.migrate import migrate
from pipelines.warehouse.rollups import RollupBuilder
from pipelines.warehouse.sink import WarehouseSink
from tests.integration.conftest import warehouse_target
from tests.integration.test_dashboard_pages import PASSWORD, PERSIAN, SALES_SINCE, ZONE
from tests.integration.test_dashboard_pages import rows as rows  # noqa: F401 - the fixture
from tests.served_apps import ServedApp

pytestmark = [pytest.mark.redis, pytest.mark.clickhouse, pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).parents[2]
ARTIFACTS = ROOT / ".cache" / "artifacts" / "dashboard"
PORT = ports.port("reports") + 750  # this test's own
PERSONALIZER_PORT = ports.port("personalizer") + 750
MANAGED = f"pz{uuid.uuid4().hex[:8]}"  # campaigns live in the shared durable Redis
ORIGIN = "https://managed.example.test"
PERIOD = {"site": "tehran", "since": "2025-01-05", "until": "2025-01-09"}
PAGES = ("overview", "interests", "audience", "products")
# The report pages after them, and the charts each must draw (a forecast band needs three weeks
# of closed days: this world has five days, so the sales page draws its actual days).
REPORT_PAGES = {
    "campaigns": ("chart-ctr", "chart-lift"),
    "funnels": ("chart-funnel",),
    "retention": ("chart-cohorts", "chart-lifecycle"),
    "rfm": ("chart-segments",),
    "sales": ("chart-orders-EUR", "chart-revenue-EUR"),
}
# Pixels of a canvas that are not transparent: a drawn chart has thousands (axes, labels, data);
# an empty one (no data, or a failed draw) none.
DRAWN = """(id) => {
  const canvas = document.getElementById(id)
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data
  let painted = 0
  for (let i = 3; i < data.length; i += 4) if (data[i]) painted++
  return painted
}"""


def dashboard_chromium() -> Driver:
    """One Chromium; each call is a command of tests/e2e/dashboard_driver.mjs. (Its
    ``waitForFunction`` evaluates a string in the page, which a page's Content-Security-Policy
    may forbid: tests poll with ``evaluate``, which runs outside the page's policy.)"""
    return Driver(["node", str(Path(__file__).with_name("dashboard_driver.mjs"))])


@pytest.fixture(scope="module")
def chromium() -> Iterator[Driver]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: run `make snippet-deps` (apt package chromium)")
    assert shutil.which("node"), "node is not installed"
    browser = dashboard_chromium()
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def reports(rows, tmp_path_factory) -> Iterator[tuple[str, str]]:  # noqa: F811
    """The reports service under gunicorn over this test's own database on the ClickHouse
    server; its URL and a read token of the site."""
    folder = tmp_path_factory.mktemp("dashboard")
    target = warehouse_target("server", folder)
    with open_warehouse(target) as warehouse:
        migrate(warehouse)
        WarehouseSink(warehouse).write(rows)
        builder = RollupBuilder(warehouse)
        for day in ("2025-01-05", "2025-01-06", "2025-01-07", "2025-01-08"):
            builder.build("tehran", date.fromisoformat(day), ZONE)
        settings = Settings.from_env(
            {},
            port_offset=ports.port_offset(),  # the run's own services (CLICKTRAIL_PORT_OFFSET)
            data_dir=folder,
            sites_file=folder / "sites.json",
            tokens_file=folder / "tokens.json",
            accounts_file=folder / "accounts.json",
            clickhouse_url=target,
            reports_bind=f"127.0.0.1:{PORT}",
            reports_workers=1,
            personalizer_bind=f"127.0.0.1:{PERSONALIZER_PORT}",
            dashboard_signin_limit="1000 per minute",
        )
        with edit_sites(settings.sites_file) as sites:
            sites["tehran"] = Site("tehran", timezone=ZONE)
            sites["empty"] = Site("empty")
            sites[MANAGED] = Site(MANAGED, origins=(ORIGIN,))
        with edit_accounts(settings.accounts_file) as accounts:
            accounts["ana"] = new_account(
                "ana", PASSWORD, "marketer", ("tehran", "empty", MANAGED), 0
            )
        with edit_tokens(settings.tokens_file) as tokens:
            secret, token = new_token("tehran", "read", 0)
            tokens[token.token_id] = token
        engine = Engine(settings, "", folder)
        served = ServedApp("reports", engine, PORT)
        personalizer = ServedApp("personalizer", engine, PERSONALIZER_PORT)
        served.start()
        personalizer.start(ready="/readyz")
        try:
            yield served.url, secret
        finally:
            personalizer.stop()
            served.stop()
            client = redis.Redis.from_url(settings.state_url.url)
            client.delete(campaigns_key(MANAGED), history_key(MANAGED), version_key(MANAGED))
            client.srem("pz:campaign-sites", MANAGED)
            client.close()
            warehouse.execute(f"DROP DATABASE IF EXISTS {target.database}")


def api(reports: tuple[str, str], name: str, **params: str) -> dict:
    url, secret = reports
    request = urllib.request.Request(
        f"{url}/v1/reports/{name}?{urlencode(params)}",
        headers={"Authorization": f"Bearer {secret}"},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read())


def signed_in(chromium: Driver, url: str, **context: object) -> None:
    chromium.newContext(context)
    chromium.goto(f"{url}/dashboard/overview?{urlencode(PERIOD)}")
    assert "/dashboard/sign-in" in chromium.url()
    chromium.fill("#account-form input[name=username]", "ana")
    chromium.fill("#account-form input[name=password]", PASSWORD)
    chromium.click("#account-form button")
    chromium.waitForURL(r"/dashboard/overview\?")


def test_every_page_loads_and_draws_its_charts(chromium: Driver, reports):
    url, _ = reports
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    signed_in(chromium, url, viewport={"width": 1280, "height": 900})
    cookie = next(c for c in chromium.cookies() if c["name"] == "clicktrail_dashboard")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    for name in (*PAGES, *REPORT_PAGES):
        assert chromium.goto(f"{url}/dashboard/{name}?{urlencode(PERIOD)}") == 200, name
        charts = chromium.waitForFunction(
            "window.clicktrailCharts && window.clicktrailCharts.map(c => c.canvas.id)"
        )
        ids = chromium.evaluate("[...document.querySelectorAll('canvas')].map(c => c.id)")
        assert charts == ids and len(ids) >= 2 - (name in REPORT_PAGES), name
        assert set(REPORT_PAGES.get(name, ())) <= set(ids), (name, ids)
        for chart_id in ids:
            points = chromium.evaluate(
                f"window.clicktrailCharts.find(c => c.canvas.id === {chart_id!r})"
                ".data.datasets.reduce((n, d) => n + d.data.length, 0)"
            )
            assert points > 0, (name, chart_id)
            assert chromium.evaluate(f"({DRAWN})({chart_id!r})") > 1000, (name, chart_id)
        chromium.screenshot(str(ARTIFACTS / f"{name}.png"))
        chromium.screenshot(str(ARTIFACTS / f"{name}-full.png"), True)
    # Four weeks of orders before the period: the forecast, its band, drawn.
    chromium.goto(f"{url}/dashboard/sales?{urlencode({**PERIOD, 'since': SALES_SINCE})}")
    chromium.waitForFunction("window.clicktrailCharts && window.clicktrailCharts.length")
    drawn = chromium.evaluate(
        """(() => {
          const chart = window.clicktrailCharts.find(c => c.canvas.id === 'chart-orders-EUR')
          const points = (i) => chart.data.datasets[i].data.filter(v => v !== null).length
          const band = chart.getDatasetMeta(3).dataset
          return [points(0), points(1), points(3), chart.data.datasets[3].fill, !!band]
        })()"""
    )
    assert drawn[1] == drawn[2] == 28 and drawn[0] > 21 and drawn[3] == "-1" and drawn[4], drawn
    chromium.screenshot(str(ARTIFACTS / "sales-forecast.png"))
    assert chromium.problems() == []


def test_a_filter_changes_the_figures_to_the_api_values(chromium: Driver, reports):
    url, _ = reports
    signed_in(chromium, url)
    everyone = chromium.evaluate("+document.querySelector('[data-figure=visitors]').dataset.value")
    assert everyone == api(reports, "audience", **PERIOD)["totals"]["visitors"]
    chromium.selectOption("form.filters select[name=device]", "desktop")  # applies at once
    chromium.waitForURL("device=desktop")
    shown = {
        name: chromium.evaluate(f"+document.querySelector('[data-figure={name}]').dataset.value")
        for name in ("visitors", "sessions", "page_views")
    }
    totals = api(reports, "audience", device="desktop", **PERIOD)["totals"]
    assert shown == {name: totals[name] for name in shown}
    assert 0 < shown["visitors"] < everyone
    places = api(reports, "audience", device="desktop", breakdown="country", **PERIOD)["rows"]
    country = max(places, key=lambda row: row["visitors"])["country"]
    chromium.fill("form.filters input[name=country]", country.lower())  # read as upper case
    chromium.click("form.filters button")
    chromium.waitForURL(f"country={country.lower()}")
    shown = chromium.evaluate("+document.querySelector('[data-figure=visitors]').dataset.value")
    totals = api(reports, "audience", device="desktop", country=country, **PERIOD)["totals"]
    assert shown == totals["visitors"]
    assert chromium.problems() == []


def test_a_persian_category_renders_right_to_left_in_the_ltr_page(chromium: Driver, reports):
    url, _ = reports
    signed_in(chromium, url)
    for name in ("overview", "interests", "products"):
        chromium.goto(f"{url}/dashboard/{name}?{urlencode(PERIOD)}")
        found = chromium.evaluate(
            f"""[...document.querySelectorAll('td')]
              .filter(td => td.textContent.includes({PERSIAN!r}))
              .map(td => [getComputedStyle(td).direction, td.getAttribute('dir')])"""
        )
        assert found and all(cell == ["rtl", "auto"] for cell in found), (name, found)
        assert chromium.evaluate("getComputedStyle(document.body).direction") == "ltr"
        # Its words keep their order: the first word is drawn to the right of the second.
        first, second = PERSIAN.split(" ")
        order = chromium.evaluate(
            f"""(() => {{
              const td = [...document.querySelectorAll('td')]
                .find(td => td.textContent.trim() === {PERSIAN!r})
              if (!td) return null
              const range = document.createRange(), text = td.firstChild
              range.setStart(text, 0); range.setEnd(text, {len(first)})
              const a = range.getBoundingClientRect().left
              range.setStart(text, {len(first) + 1}); range.setEnd(text, {len(PERSIAN)})
              return [a, range.getBoundingClientRect().left]
            }})()"""
        )
        if order is not None:
            assert order[0] > order[1], (name, order, second)
    assert chromium.problems() == []


def test_an_empty_site_and_a_phone(chromium: Driver, reports):
    url, _ = reports
    signed_in(chromium, url, viewport={"width": 390, "height": 844}, is_mobile=True)
    addresses = [f"{url}/dashboard/{name}?{urlencode(PERIOD)}" for name in (*PAGES, *REPORT_PAGES)]
    addresses += [
        f"{url}/dashboard/manage/campaigns?site={MANAGED}",
        f"{url}/dashboard/manage/campaigns/new?site={MANAGED}",
    ]
    for address in addresses:
        chromium.goto(address)
        width = chromium.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (address, width)  # wide tables scroll inside their own box
    chromium.screenshot(str(ARTIFACTS / "products-phone.png"), True)
    chromium.goto(f"{url}/dashboard/overview?site=empty")
    assert chromium.evaluate("!!document.querySelector('[data-empty]')")
    assert chromium.evaluate("document.querySelectorAll('canvas').length") == 0
    code = chromium.evaluate("document.querySelector('[data-empty] pre').textContent")
    assert "ct('init', {site: 'empty'" in code and "/v1/clicktrail.js" in code
    chromium.screenshot(str(ARTIFACTS / "empty-phone.png"), True)
    assert chromium.problems() == []


def served_campaign(placement: str) -> str | None:
    """The campaign the running personalizer shows in ``placement`` to a visitor of the site."""
    body = json.dumps({"site_id": MANAGED, "visitor_id": "e2e-visitor", "placements": [placement]})
    request = urllib.request.Request(
        f"http://127.0.0.1:{PERSONALIZER_PORT}/v1/decide",
        data=body.encode(),
        headers={"Origin": ORIGIN, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        shown = json.loads(answer.read())["placements"][placement]
    return shown["campaign_id"] if shown else None


def until_served(placement: str, wanted: str | None, seconds: float = 5.0) -> float:
    """Seconds until the personalizer serves ``wanted``; fails after ``seconds``."""
    started = time.monotonic()
    while (found := served_campaign(placement)) != wanted:
        elapsed = time.monotonic() - started
        assert elapsed < seconds, f"after {elapsed:.1f} s the personalizer serves {found!r}"
        time.sleep(0.1)
    return time.monotonic() - started


def test_a_campaign_made_in_the_ui_is_served_by_the_personalizer(chromium: Driver, reports):
    url, _ = reports
    signed_in(chromium, url)
    assert served_campaign("hero") is None
    chromium.goto(f"{url}/dashboard/manage/campaigns?site={MANAGED}")
    chromium.click("a[data-new]")
    chromium.waitForURL("/manage/campaigns/new")
    # First with a mistake: the personalizer's message, in the form, nothing saved.
    for selector, value in (
        ("input[name=id]", "winter"),
        ("input[name=name]", "زمستان — Winter"),
        ("input[name=creative_id]", "winter-a"),
        ("input[name=creative_placement]", "hero"),
        ("input[name=creative_image_url]", "https://cdn.example.test/winter.png"),
        ("input[name=creative_landing_url]", "https://managed.example.test/winter"),
        ("input[name=creative_width]", "728"),
        ("input[name=creative_height]", "90"),
    ):
        chromium.fill(f"#campaign-form {selector}", value)
    chromium.click("#campaign-form button[type=submit]")
    problem = chromium.waitForFunction("document.querySelector('[data-problem]')?.textContent")
    assert "creatives.0.alt" in problem, problem
    chromium.fill("#campaign-form input[name=creative_alt]", "Winter")
    chromium.click("#campaign-form button[type=submit]")
    chromium.waitForURL(r"/manage/campaigns\?site=")
    took = until_served("hero", "winter")
    assert chromium.evaluate("document.querySelector('[data-flash]').textContent").startswith(
        "Saved winter"
    )
    # The preview says the same.
    chromium.fill("#preview-form input[name=country]", "DE")
    chromium.click("#preview-form button[type=submit]")
    chromium.waitForURL("/manage/campaigns/preview")
    assert (
        chromium.evaluate("document.querySelector('[data-placement=hero]').dataset.shows")
        == "winter"
    )
    chromium.screenshot(str(ARTIFACTS / "manage-campaigns.png"), True)
    # Paused in the UI: no longer served.
    chromium.goto(f"{url}/dashboard/manage/campaigns?site={MANAGED}")
    chromium.click("tr[data-campaign=winter] button[data-pause]")
    chromium.waitForURL(r"/manage/campaigns\?site=")
    until_served("hero", None)
    # The refused form is a 422 (Chromium logs it as a failed load); nothing else went wrong.
    refused = "status of 422 (UNPROCESSABLE ENTITY)"
    assert [p for p in chromium.problems() if refused not in p] == []
    assert len(chromium.problems()) == 1
    print(f"served {took:.2f} s after the save")
